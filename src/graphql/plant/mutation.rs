//! Writes of the plant structure: create, update and delete workshops, lines, equipment and
//! sensors. Each mutation takes one `input` and returns a payload.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};

use super::types::{Equipment, Line, Sensor, Workshop};
use crate::{
    graphql::{
        context::{ContextExt, parse_id, parse_opt_id},
        enums::{EquipmentKind, LineStatus, SensorMetric},
    },
    service::{
        equipment as equipment_service, line as line_service, sensor as sensor_service,
        workshop as workshop_service,
    },
};

/// `MaybeUndefined` → "leave" (`None`), "clear" (`Some(None)`) or "set" (`Some(Some(v))`).
pub(crate) fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Input of `deleteWorkshop`, `deleteLine`, `deleteEquipment`, `deleteSensor`, `deleteProduct`.
#[derive(InputObject)]
pub struct DeleteInput {
    /// Id of the row to delete.
    pub id: ID,
}

/// Result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// Id of the deleted row.
    pub deleted_id: ID,
}

/// Input of `createWorkshop`.
#[derive(InputObject)]
pub struct CreateWorkshopInput {
    /// The site; may be omitted while the plant has exactly one.
    pub site_id: Option<ID>,
    /// Unique code: letters, digits and `_ - . : /`, at most 32.
    pub code: String,
    /// Display name, at most 200 characters.
    pub name: String,
    /// Free text, at most 2,000 characters.
    pub description: Option<String>,
}

/// Input of `updateWorkshop`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWorkshopInput {
    /// The workshop to change.
    pub id: ID,
    /// New code.
    pub code: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
}

/// Result of a workshop write.
#[derive(SimpleObject)]
pub struct WorkshopPayload {
    /// The workshop as stored.
    pub workshop: Workshop,
}

/// Input of `createLine`.
#[derive(InputObject)]
pub struct CreateLineInput {
    /// The workshop the line stands in.
    pub workshop_id: ID,
    /// Code, unique within the workshop.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Initial state (default IDLE).
    pub status: Option<LineStatus>,
}

/// Input of `updateLine`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateLineInput {
    /// The line to change.
    pub id: ID,
    /// New code.
    pub code: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New state.
    pub status: Option<LineStatus>,
    /// The machine pacing the line; `null` clears it.
    pub bottleneck_equipment_id: MaybeUndefined<ID>,
}

/// Result of a line write.
#[derive(SimpleObject)]
pub struct LinePayload {
    /// The line as stored.
    pub line: Line,
}

/// Input of `createEquipment`.
#[derive(InputObject)]
pub struct CreateEquipmentInput {
    /// The line the machine stands on.
    pub line_id: ID,
    /// Code, unique within the workshop.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Kind of machine.
    pub kind: EquipmentKind,
    /// Manufacturer's model.
    pub model: Option<String>,
    /// Serial number.
    pub serial_no: Option<String>,
    /// Ideal time for one unit, seconds (0 < t ≤ 86,400).
    pub ideal_cycle_time_s: Option<f64>,
    /// Static attributes: a JSON object under 16 KiB.
    pub attributes: Option<Json<serde_json::Value>>,
}

/// Input of `updateEquipment`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateEquipmentInput {
    /// The machine to change.
    pub id: ID,
    /// New code.
    pub code: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<EquipmentKind>,
    /// New model; `null` clears it.
    pub model: MaybeUndefined<String>,
    /// New serial number; `null` clears it.
    pub serial_no: MaybeUndefined<String>,
    /// New ideal cycle time; `null` clears it.
    pub ideal_cycle_time_s: MaybeUndefined<f64>,
    /// Replaces the attributes object.
    pub attributes: Option<Json<serde_json::Value>>,
}

/// Result of an equipment write.
#[derive(SimpleObject)]
pub struct EquipmentPayload {
    /// The machine as stored.
    pub equipment: Equipment,
}

/// Alarm thresholds of a sensor, ordered loLo ≤ lo ≤ hi ≤ hiHi; each optional.
#[derive(InputObject, Default, Clone, Copy)]
pub struct ThresholdsInput {
    /// Low-low (critical).
    pub lo_lo: Option<f64>,
    /// Low (major).
    pub lo: Option<f64>,
    /// High (major).
    pub hi: Option<f64>,
    /// High-high (critical).
    pub hi_hi: Option<f64>,
    /// Hysteresis before an alarm clears (≥ 0).
    pub deadband: Option<f64>,
}

impl From<ThresholdsInput> for sensor_service::Thresholds {
    fn from(t: ThresholdsInput) -> Self {
        Self {
            lo_lo: t.lo_lo,
            lo: t.lo,
            hi: t.hi,
            hi_hi: t.hi_hi,
            deadband: t.deadband,
        }
    }
}

/// Input of `createSensor`.
#[derive(InputObject)]
pub struct CreateSensorInput {
    /// The machine the sensor is mounted on.
    pub equipment_id: ID,
    /// Unique tag: letters, digits and `_ - . : /`, at most 64.
    pub tag: String,
    /// Display name.
    pub name: String,
    /// What it measures.
    pub metric: SensorMetric,
    /// Unit of the values, at most 16 characters.
    pub unit: String,
    /// Expected interval between readings, 10 ms to one day.
    pub sample_interval_ms: i32,
    /// Alarm thresholds.
    pub thresholds: Option<ThresholdsInput>,
}

/// Input of `updateSensor`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateSensorInput {
    /// The sensor to change.
    pub id: ID,
    /// New tag.
    pub tag: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New metric.
    pub metric: Option<SensorMetric>,
    /// New unit.
    pub unit: Option<String>,
    /// New sampling interval.
    pub sample_interval_ms: Option<i32>,
    /// Whether readings are expected.
    pub active: Option<bool>,
    /// Replaces all five threshold values (omitted ones become unset).
    pub thresholds: Option<ThresholdsInput>,
}

/// Result of a sensor write.
#[derive(SimpleObject)]
pub struct SensorPayload {
    /// The sensor as stored.
    pub sensor: Sensor,
}

/// Plant structure mutations.
#[derive(Default)]
pub struct PlantMutation;

/// Plant structure mutations.
#[Object]
impl PlantMutation {
    /// Creates a workshop (admin).
    async fn create_workshop(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkshopInput,
    ) -> Result<WorkshopPayload> {
        let input = workshop_service::NewWorkshop {
            site_id: parse_opt_id("siteId", input.site_id.as_ref())?,
            code: input.code,
            name: input.name,
            description: input.description,
        };
        let state = ctx.state();
        let model = workshop_service::create(
            &state.db.write,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            input,
        )
        .await?;
        Ok(WorkshopPayload {
            workshop: Workshop(model),
        })
    }

    /// Changes a workshop (admin).
    async fn update_workshop(
        &self,
        ctx: &Context<'_>,
        input: UpdateWorkshopInput,
    ) -> Result<WorkshopPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = workshop_service::WorkshopPatch {
            code: input.code,
            name: input.name,
            description: patch(input.description),
        };
        let state = ctx.state();
        let model = workshop_service::update(
            &state.db.write,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            id,
            changes,
        )
        .await?;
        Ok(WorkshopPayload {
            workshop: Workshop(model),
        })
    }

    /// Deletes a workshop that has no lines (admin).
    async fn delete_workshop(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let state = ctx.state();
        let id = workshop_service::delete(
            &state.db.write,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }

    /// Creates a line (admin).
    async fn create_line(&self, ctx: &Context<'_>, input: CreateLineInput) -> Result<LinePayload> {
        let input = line_service::NewLine {
            workshop_id: parse_id("workshopId", &input.workshop_id)?,
            code: input.code,
            name: input.name,
            status: input.status.map(Into::into),
        };
        let model = line_service::create(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            input,
        )
        .await?;
        Ok(LinePayload { line: Line(model) })
    }

    /// Changes a line (admin).
    async fn update_line(&self, ctx: &Context<'_>, input: UpdateLineInput) -> Result<LinePayload> {
        let id = parse_id("id", &input.id)?;
        let bottleneck = match patch(input.bottleneck_equipment_id) {
            Some(Some(eid)) => Some(Some(parse_id("bottleneckEquipmentId", &eid)?)),
            Some(None) => Some(None),
            None => None,
        };
        let changes = line_service::LinePatch {
            code: input.code,
            name: input.name,
            status: input.status.map(Into::into),
            bottleneck_equipment_id: bottleneck,
        };
        let model = line_service::update(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
            changes,
        )
        .await?;
        Ok(LinePayload { line: Line(model) })
    }

    /// Deletes a line without equipment (admin).
    async fn delete_line(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let id = line_service::delete(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }

    /// Creates a machine (engineer).
    async fn create_equipment(
        &self,
        ctx: &Context<'_>,
        input: CreateEquipmentInput,
    ) -> Result<EquipmentPayload> {
        let input = equipment_service::NewEquipment {
            line_id: parse_id("lineId", &input.line_id)?,
            code: input.code,
            name: input.name,
            kind: input.kind.into(),
            model: input.model,
            serial_no: input.serial_no,
            ideal_cycle_time_s: input.ideal_cycle_time_s,
            attributes: input.attributes.map(|j| j.0),
        };
        let model = equipment_service::create(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            input,
        )
        .await?;
        Ok(EquipmentPayload {
            equipment: Equipment(model),
        })
    }

    /// Changes a machine (engineer).
    async fn update_equipment(
        &self,
        ctx: &Context<'_>,
        input: UpdateEquipmentInput,
    ) -> Result<EquipmentPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = equipment_service::EquipmentPatch {
            code: input.code,
            name: input.name,
            kind: input.kind.map(Into::into),
            model: patch(input.model),
            serial_no: patch(input.serial_no),
            ideal_cycle_time_s: patch(input.ideal_cycle_time_s),
            attributes: input.attributes.map(|j| j.0),
        };
        let model = equipment_service::update(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
            changes,
        )
        .await?;
        Ok(EquipmentPayload {
            equipment: Equipment(model),
        })
    }

    /// Deletes a machine without sensors or history (admin).
    async fn delete_equipment(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let id = equipment_service::delete(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }

    /// Creates a sensor (engineer).
    async fn create_sensor(
        &self,
        ctx: &Context<'_>,
        input: CreateSensorInput,
    ) -> Result<SensorPayload> {
        let input = sensor_service::NewSensor {
            equipment_id: parse_id("equipmentId", &input.equipment_id)?,
            tag: input.tag,
            name: input.name,
            metric: input.metric.into(),
            unit: input.unit,
            sample_interval_ms: input.sample_interval_ms,
            thresholds: input.thresholds.unwrap_or_default().into(),
        };
        let model = sensor_service::create(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            input,
        )
        .await?;
        Ok(SensorPayload {
            sensor: Sensor::new(model),
        })
    }

    /// Changes a sensor or its thresholds (engineer).
    async fn update_sensor(
        &self,
        ctx: &Context<'_>,
        input: UpdateSensorInput,
    ) -> Result<SensorPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = sensor_service::SensorPatch {
            tag: input.tag,
            name: input.name,
            metric: input.metric.map(Into::into),
            unit: input.unit,
            sample_interval_ms: input.sample_interval_ms,
            active: input.active,
            thresholds: input.thresholds.map(Into::into),
        };
        let model = sensor_service::update(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
            changes,
        )
        .await?;
        Ok(SensorPayload {
            sensor: Sensor::new(model),
        })
    }

    /// Deletes a sensor (engineer).
    async fn delete_sensor(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let id = sensor_service::delete(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            &ctx.state().cache,
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }
}
