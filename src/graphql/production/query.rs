//! Product, order and shift queries.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{Product, ProductionOrder, Shift};
use crate::{
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, Selection, parse_id, parse_opt_id},
        enums::{OrderStatus, convert_list},
        page_request, prefetch, search_text,
    },
    service::{product as product_service, production as production_service},
};

/// Filters of `productionOrders`.
#[derive(InputObject, Default)]
pub struct ProductionOrderFilter {
    /// Only this workshop.
    pub workshop_id: Option<ID>,
    /// Only this line.
    pub line_id: Option<ID>,
    /// Only these states.
    pub status: Option<Vec<OrderStatus>>,
    /// Only this product.
    pub product_id: Option<ID>,
    /// Planned to start at or after.
    pub planned_from: Option<DateTime<Utc>>,
    /// Planned to start before.
    pub planned_to: Option<DateTime<Utc>>,
}

/// Orderings of `productionOrders`.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ProductionOrderOrder {
    /// By planned start, earliest first.
    #[default]
    PlannedStartAsc,
    /// Newest first.
    CreatedDesc,
}

/// Product, order and shift queries.
#[derive(Default)]
pub struct ProductionQuery;

/// Product, order and shift queries.
#[Object]
impl ProductionQuery {
    /// Products, by SKU.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Case-insensitive text found in SKU or name (matched literally).")]
        search: Option<String>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<Product>> {
        let search = search_text(search)?;
        let request = page_request(ctx, "products", first, after)?;
        let page = product_service::list(&ctx.state().db.read, search.as_deref(), &request).await?;
        Ok(connection(page, Product::from))
    }

    /// One product by id.
    async fn product_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The product's id.")] id: ID,
    ) -> Result<Product> {
        let id = parse_id("id", &id)?;
        Ok(product_service::get(&ctx.state().db.read, id).await?.into())
    }

    /// Production orders the caller may see.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn production_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<ProductionOrderFilter>,
        #[graphql(desc = "Order (default by planned start).")] order_by: Option<
            ProductionOrderOrder,
        >,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<ProductionOrder>> {
        let f = filter.unwrap_or_default();
        let filter = production_service::OrderFilter {
            workshop_id: parse_opt_id("workshopId", f.workshop_id.as_ref())?,
            line_id: parse_opt_id("lineId", f.line_id.as_ref())?,
            status: convert_list(f.status.as_deref()),
            product_id: parse_opt_id("productId", f.product_id.as_ref())?,
            planned_from: f.planned_from,
            planned_to: f.planned_to,
        };
        let ordering = match order_by.unwrap_or_default() {
            ProductionOrderOrder::PlannedStartAsc => &production_service::BY_PLANNED_START,
            ProductionOrderOrder::CreatedDesc => &production_service::NEWEST_FIRST,
        };
        let request = page_request(ctx, "production_orders", first, after)?;
        let page = production_service::list_orders(
            &ctx.state().db.read,
            ctx.caller()?,
            &filter,
            ordering,
            &request,
        )
        .await?;
        let rows: Vec<_> = page.items.iter().map(|(_, m)| m.clone()).collect();
        prefetch::production_orders(ctx, Selection::connection_nodes(ctx.look_ahead()), &rows)
            .await?;
        Ok(connection(page, ProductionOrder))
    }

    /// One production order by id.
    async fn production_order_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's id.")] id: ID,
    ) -> Result<ProductionOrder> {
        let id = parse_id("id", &id)?;
        let model = production_service::get_order(&ctx.state().db.read, ctx.caller()?, id).await?;
        Ok(ProductionOrder(model))
    }

    /// Shifts overlapping `[from, to)` (at most 93 days), by start.
    async fn shifts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this workshop.")] workshop_id: Option<ID>,
        #[graphql(desc = "Start of the range.")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range.")] to: DateTime<Utc>,
    ) -> Result<Vec<Shift>> {
        let workshop_id = parse_opt_id("workshopId", workshop_id.as_ref())?;
        let rows =
            production_service::shifts(&ctx.state().db.read, ctx.caller()?, workshop_id, from, to)
                .await?;
        prefetch::shifts(ctx, Selection::of(ctx.look_ahead()), &rows).await?;
        Ok(rows.into_iter().map(Shift).collect())
    }
}
