//! Production lines: the work centers of a workshop, in order of their code.

use std::collections::HashMap;

use entity::{
    enums::{LineStatus, Role},
    production_line as line, workshop,
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

/// Filters of the `lines` list.
#[derive(Clone, Debug, Default)]
pub struct LineFilter {
    pub workshop_id: Option<i64>,
    pub status: Option<Vec<LineStatus>>,
    pub search: Option<String>,
}

/// The `lines` list ordering.
pub const BY_CODE: Ordering<line::Entity> = Ordering {
    key: "code",
    column: line::Column::Code,
    descending: false,
    value: |m| SortValue::Text(m.code.clone()),
    id_column: line::Column::Id,
    id: |m| m.id,
};

/// One page of the lines the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &LineFilter,
    request: &PageRequest,
) -> AppResult<Page<line::Model>> {
    let mut condition = caller.scope.condition(line::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        condition = condition.add(line::Column::WorkshopId.eq(id));
    }
    if let Some(statuses) = &filter.status {
        condition = condition.add(line::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        condition = condition.add(
            Condition::any()
                .add(contains(line::Column::Code, search))
                .add(contains(line::Column::Name, search)),
        );
    }
    page::fetch(
        db,
        line::Entity::find().filter(condition),
        &BY_CODE,
        request,
    )
    .await
}

/// Lines by id within the caller's scope.
pub async fn by_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[i64],
) -> AppResult<HashMap<i64, line::Model>> {
    let rows = line::Entity::find()
        .filter(line::Column::Id.is_in(ids.iter().copied()))
        .filter(caller.scope.condition(line::Column::WorkshopId))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The lines of each workshop, by code; one statement for all of them.
pub async fn by_workshops(
    db: &DatabaseConnection,
    caller: &Caller,
    workshop_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<line::Model>>> {
    let rows = line::Entity::find()
        .filter(line::Column::WorkshopId.is_in(workshop_ids.iter().copied()))
        .filter(caller.scope.condition(line::Column::WorkshopId))
        .order_by_asc(line::Column::Code)
        .all(db)
        .await?;
    Ok(group_by_key(workshop_ids, rows, |l| l.workshop_id))
}

/// One line, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> AppResult<line::Model> {
    line::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|l| caller.scope.allows(l.workshop_id))
        .ok_or_else(|| AppError::not_found("line", id))
}

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewLine {
    pub workshop_id: i64,
    pub code: String,
    pub name: String,
    pub status: Option<LineStatus>,
}

/// Changes of `update`.
#[derive(Clone, Debug, Default)]
pub struct LinePatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub status: Option<LineStatus>,
    /// `Some(None)` clears the bottleneck.
    pub bottleneck_equipment_id: Option<Option<i64>>,
}

const CODE_TAKEN: &str = "a line with this code already exists in the workshop";

/// Creates a line (admin).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    input: NewLine,
) -> AppResult<line::Model> {
    caller.require(Role::Admin)?;
    let code = validate::code("code", &input.code, 32)?;
    let name = validate::name("name", &input.name, 200)?;
    let txn = super::begin_write(db).await?;
    let workshop = workshop::Entity::find_by_id(input.workshop_id)
        .one(&txn)
        .await?
        .filter(|w| caller.scope.allows(w.id))
        .ok_or_else(|| AppError::not_found("workshop", input.workshop_id))?;
    let now = chrono::Utc::now();
    let model = line::ActiveModel {
        workshop_id: Set(workshop.id),
        code: Set(code),
        name: Set(name),
        status: Set(input.status.unwrap_or(LineStatus::Idle)),
        bottleneck_equipment_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache
        .invalidate(&[Tag::WorkshopLines(model.workshop_id)])
        .await;
    Ok(model)
}

/// Updates a line (admin).
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    cache: &crate::cache::Cache,
    id: i64,
    patch: LinePatch,
) -> AppResult<line::Model> {
    caller.require(Role::Admin)?;
    let code = patch
        .code
        .map(|c| validate::code("code", &c, 32))
        .transpose()?;
    let name = patch
        .name
        .map(|n| validate::name("name", &n, 200))
        .transpose()?;
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    if let Some(Some(equipment_id)) = patch.bottleneck_equipment_id {
        let on_line = entity::equipment::Entity::find_by_id(equipment_id)
            .one(&txn)
            .await?
            .is_some_and(|e| e.line_id == id);
        if !on_line {
            return Err(AppError::invalid(
                "bottleneckEquipmentId",
                "the bottleneck must be equipment of this line",
            ));
        }
    }
    let mut active: line::ActiveModel = current.into();
    if let Some(code) = code {
        active.code = Set(code);
    }
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(status) = patch.status {
        active.status = Set(status);
    }
    if let Some(bottleneck) = patch.bottleneck_equipment_id {
        active.bottleneck_equipment_id = Set(bottleneck);
    }
    active.updated_at = Set(chrono::Utc::now());
    let model = active.update(&txn).await.on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::line_row(&model)).await;
    Ok(model)
}

/// Deletes a line without equipment (admin).
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
    line::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("the line still has equipment or production orders")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    cache.invalidate(&Tag::line_row(&current)).await;
    Ok(id)
}
