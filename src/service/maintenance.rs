//! Maintenance orders: the read side; the request-to-done workflow lands with the maintenance
//! issue.

use entity::{
    enums::{MaintenanceKind, MaintenanceStatus},
    maintenance_order,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::page::{self, Ordering, Page, PageRequest, SortValue};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
};

/// Filters of the `maintenanceOrders` list.
#[derive(Clone, Debug, Default)]
pub struct MaintenanceFilter {
    pub workshop_id: Option<i64>,
    pub equipment_id: Option<i64>,
    pub status: Option<Vec<MaintenanceStatus>>,
    pub kind: Option<MaintenanceKind>,
    pub assignee_id: Option<i64>,
}

/// Orderings of the `maintenanceOrders` list.
pub const NEWEST_FIRST: Ordering<maintenance_order::Entity> = Ordering {
    key: "created_desc",
    column: maintenance_order::Column::CreatedAt,
    descending: true,
    value: |m| SortValue::Time(m.created_at),
    id_column: maintenance_order::Column::Id,
    id: |m| m.id,
};
pub const BY_PRIORITY: Ordering<maintenance_order::Entity> = Ordering {
    key: "priority",
    column: maintenance_order::Column::Priority,
    descending: false,
    value: |m| SortValue::Int(i64::from(m.priority)),
    id_column: maintenance_order::Column::Id,
    id: |m| m.id,
};

/// One page of the maintenance orders the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &MaintenanceFilter,
    ordering: &Ordering<maintenance_order::Entity>,
    request: &PageRequest,
) -> AppResult<Page<maintenance_order::Model>> {
    let mut c = caller
        .scope
        .condition(maintenance_order::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        c = c.add(maintenance_order::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.equipment_id {
        c = c.add(maintenance_order::Column::EquipmentId.eq(id));
    }
    if let Some(statuses) = &filter.status {
        c = c.add(maintenance_order::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(kind) = filter.kind {
        c = c.add(maintenance_order::Column::Kind.eq(kind));
    }
    if let Some(id) = filter.assignee_id {
        c = c.add(maintenance_order::Column::AssigneeId.eq(id));
    }
    page::fetch(
        db,
        maintenance_order::Entity::find().filter(c),
        ordering,
        request,
    )
    .await
}

/// One maintenance order, or `NOT_FOUND`.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i64,
) -> AppResult<maintenance_order::Model> {
    maintenance_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("maintenance order", id))
}
