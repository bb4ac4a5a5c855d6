//! Plant structure as the API shows it: sites, workshops, lines, equipment, sensors.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::{equipment, production_line, sensor, sensor_latest, site, workshop};

use crate::graphql::{
    alarm::types::Alarm,
    context::ContextExt,
    enums::{EquipmentKind, EquipmentStatus, LineStatus, SensorMetric},
    telemetry::types::Reading,
};

/// A plant site (ISA-95 site).
pub struct Site(pub site::Model);

/// A plant site (ISA-95 site).
#[Object]
impl Site {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Short unique code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone of the site, used for shift boundaries.
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
}

/// A workshop (ISA-95 area): a hall of lines, and the unit of access scope.
pub struct Workshop(pub workshop::Model);

/// A workshop (ISA-95 area): a hall of lines, and the unit of access scope.
#[Object]
impl Workshop {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Short unique code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Free text.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When the workshop was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The site the workshop belongs to.
    async fn site(&self, ctx: &Context<'_>) -> Result<Option<Site>> {
        let site = ctx.loaders().site_by_id.load_one(self.0.site_id).await?;
        Ok(site.map(Site))
    }
    /// The workshop's lines, by code.
    #[graphql(complexity = "5 * child_complexity")]
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<Line>> {
        let lines = ctx.loaders().lines_by_workshop.load_one(self.0.id).await?;
        Ok(lines.map_or_else(Vec::new, |l| l.iter().cloned().map(Line).collect()))
    }
}

/// A production line (ISA-95 work center).
pub struct Line(pub production_line::Model);

/// A production line (ISA-95 work center).
#[Object]
impl Line {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Code, unique within the workshop.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Current state.
    async fn status(&self) -> LineStatus {
        self.0.status.into()
    }
    /// Id of the machine that paces the line (line OEE is measured there).
    async fn bottleneck_equipment_id(&self) -> Option<ID> {
        self.0.bottleneck_equipment_id.map(ID::from)
    }
    /// The workshop the line stands in.
    async fn workshop(&self, ctx: &Context<'_>) -> Result<Option<Workshop>> {
        let w = ctx
            .loaders()
            .workshop_by_id
            .load_one(self.0.workshop_id)
            .await?;
        Ok(w.map(Workshop))
    }
    /// The line's machines, by code.
    #[graphql(complexity = "10 * child_complexity")]
    async fn equipment(&self, ctx: &Context<'_>) -> Result<Vec<Equipment>> {
        let list = ctx.loaders().equipment_by_line.load_one(self.0.id).await?;
        Ok(list.map_or_else(Vec::new, |l| l.iter().cloned().map(Equipment).collect()))
    }
}

/// A machine (ISA-95 work unit).
pub struct Equipment(pub equipment::Model);

/// A machine (ISA-95 work unit).
#[Object]
impl Equipment {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Code, unique within the workshop.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Kind of machine.
    async fn kind(&self) -> EquipmentKind {
        self.0.kind.into()
    }
    /// Manufacturer's model.
    async fn model(&self) -> Option<&str> {
        self.0.model.as_deref()
    }
    /// Serial number.
    async fn serial_no(&self) -> Option<&str> {
        self.0.serial_no.as_deref()
    }
    /// Ideal time for one unit, in seconds (OEE performance).
    async fn ideal_cycle_time_s(&self) -> Option<f64> {
        self.0.ideal_cycle_time_s
    }
    /// Current operating state.
    async fn status(&self) -> EquipmentStatus {
        self.0.status.into()
    }
    /// Since when the machine is in its current state.
    async fn status_since(&self) -> DateTime<Utc> {
        self.0.status_since
    }
    /// Free-form static attributes (JSON object).
    async fn attributes(&self) -> Json<serde_json::Value> {
        Json(self.0.attributes.clone())
    }
    /// Id of the line.
    async fn line_id(&self) -> ID {
        self.0.line_id.into()
    }
    /// Id of the workshop.
    async fn workshop_id(&self) -> ID {
        self.0.workshop_id.into()
    }
    /// The line the machine stands on.
    async fn line(&self, ctx: &Context<'_>) -> Result<Option<Line>> {
        let line = ctx.loaders().line_by_id.load_one(self.0.line_id).await?;
        Ok(line.map(Line))
    }
    /// The workshop.
    async fn workshop(&self, ctx: &Context<'_>) -> Result<Option<Workshop>> {
        let w = ctx
            .loaders()
            .workshop_by_id
            .load_one(self.0.workshop_id)
            .await?;
        Ok(w.map(Workshop))
    }
    /// The machine's sensors, by tag. Asking for their `latest` reading joins it into the same
    /// statement.
    #[graphql(complexity = "10 * child_complexity")]
    async fn sensors(&self, ctx: &Context<'_>) -> Result<Vec<Sensor>> {
        let with_latest = ctx.look_ahead().field("latest").exists();
        let loaders = ctx.loaders();
        let list = if with_latest {
            loaders
                .sensors_with_latest_by_equipment
                .load_one(self.0.id)
                .await?
        } else {
            loaders.sensors_by_equipment.load_one(self.0.id).await?
        };
        Ok(list.map_or_else(Vec::new, |l| {
            l.iter()
                .map(|(s, latest)| Sensor::with_latest(s.clone(), latest.clone(), with_latest))
                .collect()
        }))
    }
    /// Uncleared alarms of the machine, most severe first.
    #[graphql(complexity = "5 * child_complexity")]
    async fn open_alarms(&self, ctx: &Context<'_>) -> Result<Vec<Alarm>> {
        let list = ctx
            .loaders()
            .alarms_open_by_equipment
            .load_one(self.0.id)
            .await?;
        Ok(list.map_or_else(Vec::new, |l| l.iter().cloned().map(Alarm).collect()))
    }
}

/// A sensor (tag) on a machine, with its alarm thresholds.
pub struct Sensor {
    model: sensor::Model,
    /// `Some` when the latest reading was joined in (its value may still be absent).
    latest: Option<Option<sensor_latest::Model>>,
}

impl Sensor {
    /// A sensor whose latest reading is loaded on demand.
    pub fn new(model: sensor::Model) -> Self {
        Self {
            model,
            latest: None,
        }
    }

    fn with_latest(
        model: sensor::Model,
        latest: Option<sensor_latest::Model>,
        joined: bool,
    ) -> Self {
        Self {
            model,
            latest: joined.then_some(latest),
        }
    }
}

/// A sensor (tag) on a machine, with its alarm thresholds.
#[Object]
impl Sensor {
    /// Identifier.
    async fn id(&self) -> ID {
        self.model.id.into()
    }
    /// Unique tag, as gateways address it.
    async fn tag(&self) -> &str {
        &self.model.tag
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// What the sensor measures.
    async fn metric(&self) -> SensorMetric {
        self.model.metric.into()
    }
    /// Unit of the values.
    async fn unit(&self) -> &str {
        &self.model.unit
    }
    /// Expected interval between readings, in milliseconds.
    async fn sample_interval_ms(&self) -> i32 {
        self.model.sample_interval_ms
    }
    /// Low-low (critical) threshold.
    async fn lo_lo(&self) -> Option<f64> {
        self.model.lo_lo
    }
    /// Low (major) threshold.
    async fn lo(&self) -> Option<f64> {
        self.model.lo
    }
    /// High (major) threshold.
    async fn hi(&self) -> Option<f64> {
        self.model.hi
    }
    /// High-high (critical) threshold.
    async fn hi_hi(&self) -> Option<f64> {
        self.model.hi_hi
    }
    /// How far a value must return inside a threshold before its alarm clears.
    async fn deadband(&self) -> Option<f64> {
        self.model.deadband
    }
    /// Whether readings are expected.
    async fn active(&self) -> bool {
        self.model.active
    }
    /// Id of the machine.
    async fn equipment_id(&self) -> ID {
        self.model.equipment_id.into()
    }
    /// The machine the sensor is mounted on.
    async fn equipment(&self, ctx: &Context<'_>) -> Result<Option<Equipment>> {
        let e = ctx
            .loaders()
            .equipment_by_id
            .load_one(self.model.equipment_id)
            .await?;
        Ok(e.map(Equipment))
    }
    /// The newest reading, if any arrived.
    async fn latest(&self, ctx: &Context<'_>) -> Result<Option<Reading>> {
        let latest = match &self.latest {
            Some(joined) => joined.clone(),
            None => {
                ctx.loaders()
                    .latest_reading_by_sensor
                    .load_one(self.model.id)
                    .await?
            }
        };
        Ok(latest.map(Reading::from))
    }
}
