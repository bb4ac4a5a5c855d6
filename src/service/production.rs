//! Production orders and shifts: the read side; planning and reporting mutations land with the
//! production issue.

use chrono::{DateTime, Utc};
use entity::{enums::OrderStatus, production_order, shift};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::page::{self, Ordering, Page, PageRequest, SortValue};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
};

/// Filters of the `productionOrders` list.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub workshop_id: Option<i64>,
    pub line_id: Option<i64>,
    pub status: Option<Vec<OrderStatus>>,
    pub product_id: Option<i64>,
    /// Orders planned to start at or after this time.
    pub planned_from: Option<DateTime<Utc>>,
    /// Orders planned to start before this time.
    pub planned_to: Option<DateTime<Utc>>,
}

/// Orderings of the `productionOrders` list.
pub const BY_PLANNED_START: Ordering<production_order::Entity> = Ordering {
    key: "planned_start",
    column: production_order::Column::PlannedStart,
    descending: false,
    value: |m| SortValue::Time(m.planned_start),
    id_column: production_order::Column::Id,
    id: |m| m.id,
};
pub const NEWEST_FIRST: Ordering<production_order::Entity> = Ordering {
    key: "created_desc",
    column: production_order::Column::CreatedAt,
    descending: true,
    value: |m| SortValue::Time(m.created_at),
    id_column: production_order::Column::Id,
    id: |m| m.id,
};

/// One page of the orders the caller may see.
pub async fn list_orders(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &OrderFilter,
    ordering: &Ordering<production_order::Entity>,
    request: &PageRequest,
) -> AppResult<Page<production_order::Model>> {
    let mut c = caller.scope.condition(production_order::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        c = c.add(production_order::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.line_id {
        c = c.add(production_order::Column::LineId.eq(id));
    }
    if let Some(statuses) = &filter.status {
        c = c.add(production_order::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(id) = filter.product_id {
        c = c.add(production_order::Column::ProductId.eq(id));
    }
    if let Some(from) = filter.planned_from {
        c = c.add(production_order::Column::PlannedStart.gte(from));
    }
    if let Some(to) = filter.planned_to {
        c = c.add(production_order::Column::PlannedStart.lt(to));
    }
    page::fetch(
        db,
        production_order::Entity::find().filter(c),
        ordering,
        request,
    )
    .await
}

/// One order, or `NOT_FOUND`.
pub async fn get_order(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i64,
) -> AppResult<production_order::Model> {
    production_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("production order", id))
}

/// Most shifts one query returns (a quarter of 3 shifts a day in 20 workshops is ~5,500).
const MAX_SHIFTS: u64 = 10_000;

/// Shifts overlapping `[from, to)`, in the caller's workshops, by start.
pub async fn shifts(
    db: &DatabaseConnection,
    caller: &Caller,
    workshop_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<shift::Model>> {
    super::telemetry::check_range(from, to, 93)?;
    let mut c = caller.scope.condition(shift::Column::WorkshopId);
    if let Some(id) = workshop_id {
        c = c.add(shift::Column::WorkshopId.eq(id));
    }
    Ok(shift::Entity::find()
        .filter(c)
        .filter(shift::Column::StartsAt.lt(to))
        .filter(shift::Column::EndsAt.gt(from))
        .order_by_asc(shift::Column::StartsAt)
        .order_by_asc(shift::Column::WorkshopId)
        .limit(MAX_SHIFTS)
        .all(db)
        .await?)
}
