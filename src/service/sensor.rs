//! Sensors (tags) of a machine and their alarm thresholds.

use std::collections::HashMap;

use entity::{
    enums::{Role, SensorMetric},
    equipment, sensor, sensor_latest,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set, sea_query::Query,
};

use super::{
    audit::Audit,
    contains, group_by_key,
    page::{self, Ordering, Page, PageRequest, SortValue},
    validate,
};
use crate::{
    auth::Caller,
    cache::Tag,
    error::{AppError, AppResult, DbResultExt},
};

/// A sensor with its latest reading, when one was asked for and exists.
pub type SensorWithLatest = (sensor::Model, Option<sensor_latest::Model>);

/// Filters of the `sensors` list.
#[derive(Clone, Debug, Default)]
pub struct SensorFilter {
    pub workshop_id: Option<i64>,
    pub line_id: Option<i64>,
    pub equipment_id: Option<i64>,
    pub metric: Option<SensorMetric>,
    pub active: Option<bool>,
    /// Case-insensitive match on tag or name.
    pub search: Option<String>,
}

/// The `sensors` list ordering.
pub const BY_TAG: Ordering<sensor::Entity> = Ordering {
    key: "tag",
    column: sensor::Column::Tag,
    descending: false,
    value: |m| SortValue::Text(m.tag.clone()),
    id_column: sensor::Column::Id,
    id: |m| m.id,
};

/// Sensors on the equipment of one line, as a sub-query.
fn on_line(line_id: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(equipment::Column::Id)
        .from(equipment::Entity)
        .and_where(equipment::Column::LineId.eq(line_id))
        .to_owned()
}

/// One page of the sensors the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &SensorFilter,
    request: &PageRequest,
) -> AppResult<Page<sensor::Model>> {
    let mut condition = caller.scope.condition(sensor::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        condition = condition.add(sensor::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.equipment_id {
        condition = condition.add(sensor::Column::EquipmentId.eq(id));
    }
    if let Some(id) = filter.line_id {
        condition = condition.add(sensor::Column::EquipmentId.in_subquery(on_line(id)));
    }
    if let Some(metric) = filter.metric {
        condition = condition.add(sensor::Column::Metric.eq(metric));
    }
    if let Some(active) = filter.active {
        condition = condition.add(sensor::Column::Active.eq(active));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        condition = condition.add(
            Condition::any()
                .add(contains(sensor::Column::Tag, search))
                .add(contains(sensor::Column::Name, search)),
        );
    }
    page::fetch(
        db,
        sensor::Entity::find().filter(condition),
        &BY_TAG,
        request,
    )
    .await
}

/// Sensors by id within the caller's scope.
pub async fn by_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[i64],
) -> AppResult<HashMap<i64, sensor::Model>> {
    let rows = sensor::Entity::find()
        .filter(sensor::Column::Id.is_in(ids.iter().copied()))
        .filter(caller.scope.condition(sensor::Column::WorkshopId))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The sensors of each machine, by tag; with `with_latest` their latest readings come from
/// the same statement (a left join), so a dashboard tree costs one statement per level.
pub async fn by_equipment(
    db: &DatabaseConnection,
    caller: &Caller,
    equipment_ids: &[i64],
    with_latest: bool,
) -> AppResult<HashMap<i64, Vec<SensorWithLatest>>> {
    let select = sensor::Entity::find()
        .filter(sensor::Column::EquipmentId.is_in(equipment_ids.iter().copied()))
        .filter(caller.scope.condition(sensor::Column::WorkshopId))
        .order_by_asc(sensor::Column::Tag);
    let rows: Vec<SensorWithLatest> = if with_latest {
        select
            .find_also_related(sensor_latest::Entity)
            .all(db)
            .await?
    } else {
        select
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s, None))
            .collect()
    };
    Ok(group_by_key(equipment_ids, rows, |(s, _)| s.equipment_id))
}

/// One sensor, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> AppResult<sensor::Model> {
    sensor::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| caller.scope.allows(s.workshop_id))
        .ok_or_else(|| AppError::not_found("sensor", id))
}

/// Alarm thresholds; each may be absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Thresholds {
    pub lo_lo: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub hi_hi: Option<f64>,
    pub deadband: Option<f64>,
}

impl Thresholds {
    fn check(&self) -> AppResult<()> {
        validate::thresholds([self.lo_lo, self.lo, self.hi, self.hi_hi])?;
        validate::opt_number("deadband", self.deadband, 0.0, 1e12)?;
        Ok(())
    }
}

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewSensor {
    pub equipment_id: i64,
    pub tag: String,
    pub name: String,
    pub metric: SensorMetric,
    pub unit: String,
    pub sample_interval_ms: i32,
    pub thresholds: Thresholds,
}

/// Changes of `update`; `thresholds`, when given, replaces all five values.
#[derive(Clone, Debug, Default)]
pub struct SensorPatch {
    pub tag: Option<String>,
    pub name: Option<String>,
    pub metric: Option<SensorMetric>,
    pub unit: Option<String>,
    pub sample_interval_ms: Option<i32>,
    pub active: Option<bool>,
    pub thresholds: Option<Thresholds>,
}

const TAG_TAKEN: &str = "a sensor with this tag already exists";
/// Sampling between 10 ms and one day.
const INTERVAL_MS: (i64, i64) = (10, 86_400_000);

/// Creates a sensor on a machine (engineer, in scope).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    input: NewSensor,
) -> AppResult<sensor::Model> {
    caller.require(Role::Engineer)?;
    let tag = validate::code("tag", &input.tag, 64)?;
    let name = validate::name("name", &input.name, 200)?;
    let unit = validate::name("unit", &input.unit, 16)?;
    let interval = validate::int(
        "sampleIntervalMs",
        i64::from(input.sample_interval_ms),
        INTERVAL_MS.0,
        INTERVAL_MS.1,
    )?;
    input.thresholds.check()?;
    let txn = super::begin_write(db).await?;
    let machine = equipment::Entity::find_by_id(input.equipment_id)
        .one(&txn)
        .await?
        .filter(|e| caller.scope.allows(e.workshop_id))
        .ok_or_else(|| AppError::not_found("equipment", input.equipment_id))?;
    let now = chrono::Utc::now();
    let t = input.thresholds;
    let model = sensor::ActiveModel {
        equipment_id: Set(machine.id),
        workshop_id: Set(machine.workshop_id),
        tag: Set(tag),
        name: Set(name),
        metric: Set(input.metric),
        unit: Set(unit),
        sample_interval_ms: Set(i32::try_from(interval).unwrap_or(i32::MAX)),
        lo_lo: Set(t.lo_lo),
        lo: Set(t.lo),
        hi: Set(t.hi),
        hi_hi: Set(t.hi_hi),
        deadband: Set(t.deadband),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(TAG_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::sensor_row(&model)).await;
    Ok(model)
}

/// Updates a sensor and its thresholds (engineer, in scope).
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    id: i64,
    patch: SensorPatch,
) -> AppResult<sensor::Model> {
    caller.require(Role::Engineer)?;
    let tag = patch
        .tag
        .map(|t| validate::code("tag", &t, 64))
        .transpose()?;
    let name = patch
        .name
        .map(|n| validate::name("name", &n, 200))
        .transpose()?;
    let unit = patch
        .unit
        .map(|u| validate::name("unit", &u, 16))
        .transpose()?;
    let interval = patch
        .sample_interval_ms
        .map(|i| {
            validate::int(
                "sampleIntervalMs",
                i64::from(i),
                INTERVAL_MS.0,
                INTERVAL_MS.1,
            )
        })
        .transpose()?;
    if let Some(t) = &patch.thresholds {
        t.check()?;
    }
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    let before = Tag::sensor_row(&current);
    let mut active: sensor::ActiveModel = current.into();
    if let Some(v) = tag {
        active.tag = Set(v);
    }
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = patch.metric {
        active.metric = Set(v);
    }
    if let Some(v) = unit {
        active.unit = Set(v);
    }
    if let Some(v) = interval {
        active.sample_interval_ms = Set(i32::try_from(v).unwrap_or(i32::MAX));
    }
    if let Some(v) = patch.active {
        active.active = Set(v);
    }
    if let Some(t) = patch.thresholds {
        active.lo_lo = Set(t.lo_lo);
        active.lo = Set(t.lo);
        active.hi = Set(t.hi);
        active.hi_hi = Set(t.hi_hi);
        active.deadband = Set(t.deadband);
    }
    active.updated_at = Set(chrono::Utc::now());
    let model = active.update(&txn).await.on_constraint(TAG_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    // Both machines' lists, should the sensor have moved.
    let after = Tag::sensor_row(&model);
    cache.invalidate(&[before[0], before[1], after[1]]).await;
    Ok(model)
}

/// Deletes a sensor and its latest value (engineer, in scope); raw history is kept until
/// retention removes it.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Engineer)?;
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    sensor::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("the sensor is still referenced")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::sensor_row(&current)).await;
    Ok(id)
}
