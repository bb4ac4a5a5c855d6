//! Sites and workshops (ISA-95 areas): the top of the plant and the unit of access scope.

use std::collections::HashMap;

use entity::{enums::Role, site, workshop};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set,
};

use super::{
    audit::Audit,
    contains,
    page::{self, Ordering, Page, PageRequest, SortValue},
    validate,
};
use crate::{
    auth::Caller,
    cache::{Cache, Tag},
    error::{AppError, AppResult, DbResultExt},
};

/// Filters of the `workshops` list.
#[derive(Clone, Debug, Default)]
pub struct WorkshopFilter {
    pub site_id: Option<i64>,
    /// Case-insensitive match on code or name.
    pub search: Option<String>,
}

/// Orderings of the `workshops` list.
pub const BY_CODE: Ordering<workshop::Entity> = Ordering {
    key: "code",
    column: workshop::Column::Code,
    descending: false,
    value: |m| SortValue::Text(m.code.clone()),
    id_column: workshop::Column::Id,
    id: |m| m.id,
};

/// One page of the workshops the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &WorkshopFilter,
    request: &PageRequest,
) -> AppResult<Page<workshop::Model>> {
    let mut condition = caller.scope.condition(workshop::Column::Id);
    if let Some(site_id) = filter.site_id {
        condition = condition.add(workshop::Column::SiteId.eq(site_id));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        condition = condition.add(
            Condition::any()
                .add(contains(workshop::Column::Code, search))
                .add(contains(workshop::Column::Name, search)),
        );
    }
    page::fetch(
        db,
        workshop::Entity::find().filter(condition),
        &BY_CODE,
        request,
    )
    .await
}

/// Workshops by id, limited to the caller's scope (hidden ones are simply absent).
pub async fn by_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[i64],
) -> AppResult<HashMap<i64, workshop::Model>> {
    let rows = workshop::Entity::find()
        .filter(workshop::Column::Id.is_in(ids.iter().copied()))
        .filter(caller.scope.condition(workshop::Column::Id))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Sites by id (sites are not scoped: their names are not sensitive).
pub async fn sites_by_ids(
    db: &DatabaseConnection,
    ids: &[i64],
) -> AppResult<HashMap<i64, site::Model>> {
    let rows = site::Entity::find()
        .filter(site::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// Every site, by code.
pub async fn sites(db: &DatabaseConnection) -> AppResult<Vec<site::Model>> {
    Ok(site::Entity::find()
        .order_by_asc(site::Column::Code)
        .all(db)
        .await?)
}

/// One workshop, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<workshop::Model> {
    workshop::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|w| caller.scope.allows(w.id))
        .ok_or_else(|| AppError::not_found("workshop", id))
}

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewWorkshop {
    /// The site; may be omitted while the plant has exactly one.
    pub site_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
}

/// Changes of `update`; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct WorkshopPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
}

const CODE_TAKEN: &str = "a workshop with this code already exists";

/// Creates a workshop (admin).
pub async fn create(
    db: &DatabaseConnection,
    cache: &Cache,
    caller: &Caller,
    audit: &Audit,
    input: NewWorkshop,
) -> AppResult<workshop::Model> {
    caller.require(Role::Admin)?;
    let code = validate::code("code", &input.code, 32)?;
    let name = validate::name("name", &input.name, 200)?;
    let description = validate::text("description", input.description.as_deref(), 2000)?;
    let txn = super::begin_write(db).await?;
    let site_id = match input.site_id {
        Some(id) => {
            site::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::not_found("site", id))?
                .id
        }
        None => {
            let sites = site::Entity::find().all(&txn).await?;
            match sites.as_slice() {
                [only] => only.id,
                _ => {
                    return Err(AppError::invalid(
                        "siteId",
                        "`siteId` is required unless the plant has exactly one site",
                    ));
                }
            }
        }
    };
    let now = chrono::Utc::now();
    let model = workshop::ActiveModel {
        site_id: Set(site_id),
        code: Set(code),
        name: Set(name),
        description: Set(description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&[Tag::Workshops]).await;
    Ok(model)
}

/// Updates a workshop (admin).
pub async fn update(
    db: &DatabaseConnection,
    cache: &Cache,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: WorkshopPatch,
) -> AppResult<workshop::Model> {
    caller.require(Role::Admin)?;
    let code = patch
        .code
        .map(|c| validate::code("code", &c, 32))
        .transpose()?;
    let name = patch
        .name
        .map(|n| validate::name("name", &n, 200))
        .transpose()?;
    let description = patch
        .description
        .map(|d| validate::text("description", d.as_deref(), 2000))
        .transpose()?;
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    let mut active: workshop::ActiveModel = current.into();
    if let Some(code) = code {
        active.code = Set(code);
    }
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    active.updated_at = Set(chrono::Utc::now());
    let model = active.update(&txn).await.on_constraint(CODE_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    cache.invalidate(&[Tag::Workshops]).await;
    Ok(model)
}

/// Deletes an empty workshop (admin); one that still has lines is refused.
pub async fn delete(
    db: &DatabaseConnection,
    cache: &Cache,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    get(&txn, caller, id).await?;
    workshop::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("the workshop still has lines or equipment")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    cache.invalidate(&[Tag::Workshops]).await;
    Ok(id)
}
