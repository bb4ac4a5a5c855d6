//! Products: what the lines make, with the ideal cycle time OEE's performance is measured by.

use std::collections::HashMap;

use entity::{enums::Role, product};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};

use super::{
    audit::Audit,
    contains,
    page::{self, Ordering, Page, PageRequest, SortValue},
    validate,
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult, DbResultExt},
};

/// The `products` list ordering.
pub const BY_SKU: Ordering<product::Entity> = Ordering {
    key: "sku",
    column: product::Column::Sku,
    descending: false,
    value: |m| SortValue::Text(m.sku.clone()),
    id_column: product::Column::Id,
    id: |m| m.id,
};

/// One page of products, optionally matching `search` in SKU or name.
pub async fn list(
    db: &DatabaseConnection,
    search: Option<&str>,
    request: &PageRequest,
) -> AppResult<Page<product::Model>> {
    let mut condition = Condition::all();
    if let Some(search) = search.filter(|s| !s.is_empty()) {
        condition = condition.add(
            Condition::any()
                .add(contains(product::Column::Sku, search))
                .add(contains(product::Column::Name, search)),
        );
    }
    page::fetch(
        db,
        product::Entity::find().filter(condition),
        &BY_SKU,
        request,
    )
    .await
}

/// Products by id.
pub async fn by_ids(
    db: &DatabaseConnection,
    ids: &[i64],
) -> AppResult<HashMap<i64, product::Model>> {
    let rows = product::Entity::find()
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// One product, or `NOT_FOUND`.
pub async fn get(db: &impl ConnectionTrait, id: i64) -> AppResult<product::Model> {
    product::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("product", id))
}

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub unit: Option<String>,
    pub ideal_cycle_time_s: f64,
}

/// Changes of `update`.
#[derive(Clone, Debug, Default)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub ideal_cycle_time_s: Option<f64>,
}

const SKU_TAKEN: &str = "a product with this SKU already exists";

fn cycle_time(value: f64) -> AppResult<f64> {
    let v = validate::number("idealCycleTimeS", value, 0.0, 86_400.0)?;
    if v == 0.0 {
        return Err(AppError::invalid(
            "idealCycleTimeS",
            "`idealCycleTimeS` must be positive",
        ));
    }
    Ok(v)
}

/// Creates a product (manager).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    input: NewProduct,
) -> AppResult<product::Model> {
    caller.require(Role::Manager)?;
    let now = chrono::Utc::now();
    let model = product::ActiveModel {
        sku: Set(validate::code("sku", &input.sku, 64)?),
        name: Set(validate::name("name", &input.name, 200)?),
        unit: Set(validate::name(
            "unit",
            input.unit.as_deref().unwrap_or("pcs"),
            16,
        )?),
        ideal_cycle_time_s: Set(cycle_time(input.ideal_cycle_time_s)?),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let txn = super::begin_write(db).await?;
    let model = model.insert(&txn).await.on_constraint(SKU_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Updates a product (manager).
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: ProductPatch,
) -> AppResult<product::Model> {
    caller.require(Role::Manager)?;
    let sku = patch
        .sku
        .map(|v| validate::code("sku", &v, 64))
        .transpose()?;
    let name = patch
        .name
        .map(|v| validate::name("name", &v, 200))
        .transpose()?;
    let unit = patch
        .unit
        .map(|v| validate::name("unit", &v, 16))
        .transpose()?;
    let cycle = patch.ideal_cycle_time_s.map(cycle_time).transpose()?;
    let txn = super::begin_write(db).await?;
    let mut active: product::ActiveModel = get(&txn, id).await?.into();
    if let Some(v) = sku {
        active.sku = Set(v);
    }
    if let Some(v) = name {
        active.name = Set(v);
    }
    if let Some(v) = unit {
        active.unit = Set(v);
    }
    if let Some(v) = cycle {
        active.ideal_cycle_time_s = Set(v);
    }
    active.updated_at = Set(chrono::Utc::now());
    let model = active.update(&txn).await.on_constraint(SKU_TAKEN)?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Deletes a product no order refers to (manager).
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Manager)?;
    let txn = super::begin_write(db).await?;
    get(&txn, id).await?;
    product::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("production orders still refer to the product")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    Ok(id)
}
