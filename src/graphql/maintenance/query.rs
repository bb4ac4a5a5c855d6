//! Maintenance order queries.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::types::MaintenanceOrder;
use crate::{
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, Selection, parse_id, parse_opt_id},
        enums::{MaintenanceKind, MaintenanceStatus, convert_list},
        page_request, prefetch,
    },
    service::maintenance as maintenance_service,
};

/// Filters of `maintenanceOrders`.
#[derive(InputObject, Default)]
pub struct MaintenanceOrderFilter {
    /// Only this workshop.
    pub workshop_id: Option<ID>,
    /// Only this machine.
    pub equipment_id: Option<ID>,
    /// Only these states.
    pub status: Option<Vec<MaintenanceStatus>>,
    /// Only this kind.
    pub kind: Option<MaintenanceKind>,
    /// Only orders assigned to this user.
    pub assignee_id: Option<ID>,
}

/// Orderings of `maintenanceOrders`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum MaintenanceOrderOrder {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Most urgent first.
    PriorityAsc,
}

/// Maintenance queries.
#[derive(Default)]
pub struct MaintenanceQuery;

/// Maintenance queries.
#[Object]
impl MaintenanceQuery {
    /// Maintenance orders the caller may see.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn maintenance_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<MaintenanceOrderFilter>,
        #[graphql(desc = "Order (default newest first).")] order_by: Option<MaintenanceOrderOrder>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<MaintenanceOrder>> {
        let f = filter.unwrap_or_default();
        let filter = maintenance_service::MaintenanceFilter {
            workshop_id: parse_opt_id("workshopId", f.workshop_id.as_ref())?,
            equipment_id: parse_opt_id("equipmentId", f.equipment_id.as_ref())?,
            status: convert_list(f.status.as_deref()),
            kind: f.kind.map(Into::into),
            assignee_id: parse_opt_id("assigneeId", f.assignee_id.as_ref())?,
        };
        let ordering = match order_by.unwrap_or_default() {
            MaintenanceOrderOrder::CreatedDesc => &maintenance_service::NEWEST_FIRST,
            MaintenanceOrderOrder::PriorityAsc => &maintenance_service::BY_PRIORITY,
        };
        let request = page_request(ctx, "maintenance_orders", first, after)?;
        let page = maintenance_service::list(
            &ctx.state().db.read,
            ctx.caller()?,
            &filter,
            ordering,
            &request,
        )
        .await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::maintenance_orders(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows)
            .await?;
        Ok(connection(page, MaintenanceOrder))
    }

    /// One maintenance order by id.
    async fn maintenance_order_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id.")] id: ID,
    ) -> Result<MaintenanceOrder> {
        let id = parse_id("id", &id)?;
        let model = maintenance_service::get(&ctx.state().db.read, ctx.caller()?, id).await?;
        Ok(MaintenanceOrder(model))
    }
}
