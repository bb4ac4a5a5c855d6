//! Equipment (work units): machines on a line, with their status and static attributes.

use std::collections::HashMap;

use entity::{
    enums::{EquipmentKind, EquipmentStatus, Role},
    equipment, production_line as line,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set,
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

/// Filters of the `equipment` list.
#[derive(Clone, Debug, Default)]
pub struct EquipmentFilter {
    pub workshop_id: Option<i64>,
    pub line_id: Option<i64>,
    pub kind: Option<EquipmentKind>,
    pub status: Option<Vec<EquipmentStatus>>,
    /// Case-insensitive match on code, name or model.
    pub search: Option<String>,
}

/// Orderings of the `equipment` list.
pub const BY_CODE: Ordering<equipment::Entity> = Ordering {
    key: "code",
    column: equipment::Column::Code,
    descending: false,
    value: |m| SortValue::Text(m.code.clone()),
    id_column: equipment::Column::Id,
    id: |m| m.id,
};
pub const BY_NAME: Ordering<equipment::Entity> = Ordering {
    key: "name",
    column: equipment::Column::Name,
    descending: false,
    value: |m| SortValue::Text(m.name.clone()),
    id_column: equipment::Column::Id,
    id: |m| m.id,
};
pub const BY_STATUS_SINCE: Ordering<equipment::Entity> = Ordering {
    key: "status_since",
    column: equipment::Column::StatusSince,
    descending: true,
    value: |m| SortValue::Time(m.status_since),
    id_column: equipment::Column::Id,
    id: |m| m.id,
};

/// One page of the equipment the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &EquipmentFilter,
    ordering: &Ordering<equipment::Entity>,
    request: &PageRequest,
) -> AppResult<Page<equipment::Model>> {
    let mut condition = caller.scope.condition(equipment::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        condition = condition.add(equipment::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.line_id {
        condition = condition.add(equipment::Column::LineId.eq(id));
    }
    if let Some(kind) = filter.kind {
        condition = condition.add(equipment::Column::Kind.eq(kind));
    }
    if let Some(statuses) = &filter.status {
        condition = condition.add(equipment::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        condition = condition.add(
            Condition::any()
                .add(contains(equipment::Column::Code, search))
                .add(contains(equipment::Column::Name, search))
                .add(contains(equipment::Column::Model, search)),
        );
    }
    page::fetch(
        db,
        equipment::Entity::find().filter(condition),
        ordering,
        request,
    )
    .await
}

/// Equipment by id within the caller's scope.
pub async fn by_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[i64],
) -> AppResult<HashMap<i64, equipment::Model>> {
    let rows = equipment::Entity::find()
        .filter(equipment::Column::Id.is_in(ids.iter().copied()))
        .filter(caller.scope.condition(equipment::Column::WorkshopId))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The equipment of each line, by code; one statement for all lines.
pub async fn by_lines(
    db: &DatabaseConnection,
    caller: &Caller,
    line_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<equipment::Model>>> {
    let rows = equipment::Entity::find()
        .filter(equipment::Column::LineId.is_in(line_ids.iter().copied()))
        .filter(caller.scope.condition(equipment::Column::WorkshopId))
        .order_by_asc(equipment::Column::Code)
        .all(db)
        .await?;
    Ok(group_by_key(line_ids, rows, |e| e.line_id))
}

/// One machine, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<equipment::Model> {
    equipment::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|e| caller.scope.allows(e.workshop_id))
        .ok_or_else(|| AppError::not_found("equipment", id))
}

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewEquipment {
    pub line_id: i64,
    pub code: String,
    pub name: String,
    pub kind: EquipmentKind,
    pub model: Option<String>,
    pub serial_no: Option<String>,
    pub ideal_cycle_time_s: Option<f64>,
    pub attributes: Option<serde_json::Value>,
}

/// Changes of `update`.
#[derive(Clone, Debug, Default)]
pub struct EquipmentPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<EquipmentKind>,
    pub model: Option<Option<String>>,
    pub serial_no: Option<Option<String>>,
    pub ideal_cycle_time_s: Option<Option<f64>>,
    pub attributes: Option<serde_json::Value>,
}

const CODE_TAKEN: &str = "equipment with this code already exists in the workshop";
/// Largest accepted ideal cycle time: one day.
const MAX_CYCLE_S: f64 = 86_400.0;

/// Whether a JSON value holds NUL in any string or key (PostgreSQL's jsonb cannot store it).
fn has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn check_attributes(value: Option<serde_json::Value>) -> AppResult<Option<serde_json::Value>> {
    match value {
        None => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => {
            if v.to_string().len() > 16 * 1024 {
                return Err(AppError::invalid(
                    "attributes",
                    "`attributes` must be under 16 KiB",
                ));
            }
            if has_nul(&v) {
                return Err(AppError::invalid(
                    "attributes",
                    "`attributes` must not contain NUL characters",
                ));
            }
            Ok(Some(v))
        }
        Some(_) => Err(AppError::invalid(
            "attributes",
            "`attributes` must be a JSON object",
        )),
    }
}

/// Creates a machine on a line (engineer, in scope).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    input: NewEquipment,
) -> AppResult<equipment::Model> {
    caller.require(Role::Engineer)?;
    let code = validate::code("code", &input.code, 32)?;
    let name = validate::name("name", &input.name, 200)?;
    let model_name = validate::text("model", input.model.as_deref(), 100)?;
    let serial_no = validate::text("serialNo", input.serial_no.as_deref(), 100)?;
    let cycle = validate::opt_number(
        "idealCycleTimeS",
        input.ideal_cycle_time_s,
        0.0,
        MAX_CYCLE_S,
    )?;
    if cycle == Some(0.0) {
        return Err(AppError::invalid(
            "idealCycleTimeS",
            "`idealCycleTimeS` must be positive",
        ));
    }
    let attributes = check_attributes(input.attributes)?;
    let txn = super::begin_write(db).await?;
    let line = line::Entity::find_by_id(input.line_id)
        .one(&txn)
        .await?
        .filter(|l| caller.scope.allows(l.workshop_id))
        .ok_or_else(|| AppError::not_found("line", input.line_id))?;
    let now = chrono::Utc::now();
    let model = equipment::ActiveModel {
        line_id: Set(line.id),
        workshop_id: Set(line.workshop_id),
        code: Set(code),
        name: Set(name),
        kind: Set(input.kind),
        model: Set(model_name),
        serial_no: Set(serial_no),
        ideal_cycle_time_s: Set(cycle),
        status: Set(EquipmentStatus::Offline),
        status_since: Set(now),
        attributes: Set(attributes.unwrap_or_else(|| serde_json::json!({}))),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::equipment_row(&model)).await;
    Ok(model)
}

/// Updates a machine (engineer, in scope).
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    id: i64,
    patch: EquipmentPatch,
) -> AppResult<equipment::Model> {
    caller.require(Role::Engineer)?;
    let code = patch
        .code
        .map(|c| validate::code("code", &c, 32))
        .transpose()?;
    let name = patch
        .name
        .map(|n| validate::name("name", &n, 200))
        .transpose()?;
    let model_name = patch
        .model
        .map(|m| validate::text("model", m.as_deref(), 100))
        .transpose()?;
    let serial_no = patch
        .serial_no
        .map(|s| validate::text("serialNo", s.as_deref(), 100))
        .transpose()?;
    let cycle = match patch.ideal_cycle_time_s {
        Some(Some(v)) if v <= 0.0 || !v.is_finite() => {
            return Err(AppError::invalid(
                "idealCycleTimeS",
                "`idealCycleTimeS` must be a positive finite number",
            ));
        }
        Some(v) => Some(validate::opt_number(
            "idealCycleTimeS",
            v,
            0.0,
            MAX_CYCLE_S,
        )?),
        None => None,
    };
    let attributes = check_attributes(patch.attributes)?;
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    let mut active: equipment::ActiveModel = current.into();
    if let Some(v) = code {
        active.code = Set(v);
    }
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = patch.kind {
        active.kind = Set(v);
    }
    if let Some(v) = model_name {
        active.model = Set(v);
    }
    if let Some(v) = serial_no {
        active.serial_no = Set(v);
    }
    if let Some(v) = cycle {
        active.ideal_cycle_time_s = Set(v);
    }
    if let Some(v) = attributes {
        active.attributes = Set(v);
    }
    active.updated_at = Set(chrono::Utc::now());
    let model = active.update(&txn).await.on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::equipment_row(&model)).await;
    Ok(model)
}

/// Deletes a machine that has no sensors, orders or history left (admin); a line it paced
/// is left without a bottleneck.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    // `bottleneck_equipment_id` has no foreign key (lines and equipment refer to each other).
    line::Entity::update_many()
        .col_expr(
            line::Column::BottleneckEquipmentId,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(line::Column::BottleneckEquipmentId.eq(id))
        .exec(&txn)
        .await?;
    equipment::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("the equipment still has sensors, work orders or maintenance orders")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    // The machine, its line's list, and the line whose bottleneck it may have been.
    let [row, list] = Tag::equipment_row(&current);
    cache
        .invalidate(&[
            row,
            list,
            Tag::Line(current.line_id),
            Tag::WorkshopLines(current.workshop_id),
        ])
        .await;
    Ok(id)
}
