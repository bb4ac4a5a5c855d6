//! Production order, report and shift writes: planning and moving orders, reporting counts,
//! planning shifts. Each mutation takes one `input` and returns a payload.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::production_report;

use super::types::{ProductionOrder, Shift};
use crate::{
    graphql::{
        context::{ContextExt, parse_id, parse_opt_id},
        enums::OrderStatus,
        plant::mutation::{DeleteInput, DeletePayload},
    },
    service::production as production_service,
};

/// Counts one machine reported for one order over one period.
pub struct ProductionReport(pub production_report::Model);

/// Counts one machine reported for one order over one period.
#[Object]
impl ProductionReport {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Id of the machine.
    async fn equipment_id(&self) -> ID {
        self.0.equipment_id.into()
    }
    /// Id of the order.
    async fn order_id(&self) -> Option<ID> {
        self.0.order_id.map(ID::from)
    }
    /// Id of the workshop's shift covering the period's start, if one does.
    async fn shift_id(&self) -> Option<ID> {
        self.0.shift_id.map(ID::from)
    }
    /// Start of the period.
    async fn period_start(&self) -> DateTime<Utc> {
        self.0.period_start
    }
    /// End of the period.
    async fn period_end(&self) -> DateTime<Utc> {
        self.0.period_end
    }
    /// Units made.
    async fn total_count(&self) -> i32 {
        self.0.total_count
    }
    /// Of those, good units.
    async fn good_count(&self) -> i32 {
        self.0.good_count
    }
    /// Of those, scrapped units.
    async fn scrap_count(&self) -> i32 {
        self.0.scrap_count
    }
    /// Why units were scrapped.
    async fn scrap_reason(&self) -> Option<&str> {
        self.0.scrap_reason.as_deref()
    }
    /// Id of the person who reported.
    async fn reported_by(&self) -> Option<ID> {
        self.0.reported_by.map(ID::from)
    }
    /// When the report was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Input of `createProductionOrder`.
#[derive(InputObject)]
pub struct CreateProductionOrderInput {
    /// Unique order number: letters, digits and `_ - . : /`, at most 32.
    pub number: String,
    /// The product to make.
    pub product_id: ID,
    /// The line to make it on.
    pub line_id: ID,
    /// Quantity to make, 1 to 10,000,000.
    pub qty_planned: i32,
    /// 0 to 100, higher runs first (default 0).
    pub priority: Option<i32>,
    /// Planned start.
    pub planned_start: DateTime<Utc>,
    /// Planned end, after the start.
    pub planned_end: DateTime<Utc>,
}

/// Input of `updateProductionOrder`; omitted fields stay as they are. The plan (everything but
/// the priority) changes only while the order is DRAFT or RELEASED.
#[derive(InputObject)]
pub struct UpdateProductionOrderInput {
    /// The order to change.
    pub id: ID,
    /// New number.
    pub number: Option<String>,
    /// New product.
    pub product_id: Option<ID>,
    /// New line.
    pub line_id: Option<ID>,
    /// New planned quantity.
    pub qty_planned: Option<i32>,
    /// New priority (also while IN_PROGRESS or PAUSED).
    pub priority: Option<i32>,
    /// New planned start.
    pub planned_start: Option<DateTime<Utc>>,
    /// New planned end.
    pub planned_end: Option<DateTime<Utc>>,
}

/// Input of `transitionProductionOrder`.
#[derive(InputObject)]
pub struct TransitionProductionOrderInput {
    /// The order to move.
    pub id: ID,
    /// Its next state: DRAFT → RELEASED → IN_PROGRESS ⇄ PAUSED → COMPLETED, or CANCELLED from
    /// any open state. Releasing and cancelling need a manager; the rest an operator.
    pub to: OrderStatus,
}

/// Result of a production order write.
#[derive(SimpleObject)]
pub struct ProductionOrderPayload {
    /// The order as stored.
    pub order: ProductionOrder,
}

/// Input of `reportProduction`.
#[derive(InputObject)]
pub struct ReportProductionInput {
    /// The machine, on the order's line.
    pub equipment_id: ID,
    /// The order, IN_PROGRESS or PAUSED.
    pub order_id: ID,
    /// Start of the period, not before the order started.
    pub period_start: DateTime<Utc>,
    /// End of the period, after its start and not in the future; the period must not overlap
    /// an earlier report of the machine.
    pub period_end: DateTime<Utc>,
    /// Units made, 0 to 1,000,000.
    pub total_count: i32,
    /// Good units; good + scrap ≤ total.
    pub good_count: i32,
    /// Scrapped units.
    pub scrap_count: i32,
    /// Why units were scrapped, at most 200 characters.
    pub scrap_reason: Option<String>,
}

/// Result of `reportProduction`.
#[derive(SimpleObject)]
pub struct ReportProductionPayload {
    /// The report as stored.
    pub report: ProductionReport,
    /// The order with its totals after the report.
    pub order: ProductionOrder,
}

/// Input of `createShift`.
#[derive(InputObject)]
pub struct CreateShiftInput {
    /// The workshop.
    pub workshop_id: ID,
    /// Name, 1 to 64 characters, e.g. `Early`.
    pub name: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End: after the start, at most 24 hours later, overlapping no other shift of the
    /// workshop.
    pub ends_at: DateTime<Utc>,
    /// Planned breaks in seconds, 0 to the shift's length (default 0).
    pub planned_break_s: Option<i32>,
}

/// Input of `updateShift`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateShiftInput {
    /// The shift to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New start.
    pub starts_at: Option<DateTime<Utc>>,
    /// New end.
    pub ends_at: Option<DateTime<Utc>>,
    /// New planned breaks.
    pub planned_break_s: Option<i32>,
}

/// Result of a shift write.
#[derive(SimpleObject)]
pub struct ShiftPayload {
    /// The shift as stored.
    pub shift: Shift,
}

/// Production order, report and shift mutations.
#[derive(Default)]
pub struct ProductionOrderMutation;

/// Production order, report and shift mutations.
#[Object]
impl ProductionOrderMutation {
    /// Creates a DRAFT production order (manager).
    async fn create_production_order(
        &self,
        ctx: &Context<'_>,
        input: CreateProductionOrderInput,
    ) -> Result<ProductionOrderPayload> {
        let state = ctx.state();
        let new = production_service::NewOrder {
            number: input.number,
            product_id: parse_id("productId", &input.product_id)?,
            line_id: parse_id("lineId", &input.line_id)?,
            qty_planned: input.qty_planned,
            priority: input.priority,
            planned_start: input.planned_start,
            planned_end: input.planned_end,
        };
        let order = production_service::create_order(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            new,
        )
        .await?;
        Ok(ProductionOrderPayload {
            order: ProductionOrder(order),
        })
    }

    /// Changes a production order (manager).
    async fn update_production_order(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductionOrderInput,
    ) -> Result<ProductionOrderPayload> {
        let state = ctx.state();
        let id = parse_id("id", &input.id)?;
        let patch = production_service::OrderPatch {
            number: input.number,
            product_id: parse_opt_id("productId", input.product_id.as_ref())?,
            line_id: parse_opt_id("lineId", input.line_id.as_ref())?,
            qty_planned: input.qty_planned,
            priority: input.priority,
            planned_start: input.planned_start,
            planned_end: input.planned_end,
        };
        let order = production_service::update_order(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            id,
            patch,
        )
        .await?;
        Ok(ProductionOrderPayload {
            order: ProductionOrder(order),
        })
    }

    /// Moves a production order to its next state; an illegal move is `CONFLICT` naming the
    /// states allowed from here.
    async fn transition_production_order(
        &self,
        ctx: &Context<'_>,
        input: TransitionProductionOrderInput,
    ) -> Result<ProductionOrderPayload> {
        let state = ctx.state();
        let id = parse_id("id", &input.id)?;
        let order = production_service::transition_order(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            id,
            input.to.into(),
        )
        .await?;
        Ok(ProductionOrderPayload {
            order: ProductionOrder(order),
        })
    }

    /// Reports a machine's counts for an order over a period (operator); they are added to
    /// the order's totals.
    async fn report_production(
        &self,
        ctx: &Context<'_>,
        input: ReportProductionInput,
    ) -> Result<ReportProductionPayload> {
        let state = ctx.state();
        let new = production_service::NewReport {
            equipment_id: parse_id("equipmentId", &input.equipment_id)?,
            order_id: parse_id("orderId", &input.order_id)?,
            period_start: input.period_start,
            period_end: input.period_end,
            total_count: input.total_count,
            good_count: input.good_count,
            scrap_count: input.scrap_count,
            scrap_reason: input.scrap_reason,
        };
        let (report, order) = production_service::report(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            new,
        )
        .await?;
        Ok(ReportProductionPayload {
            report: ProductionReport(report),
            order: ProductionOrder(order),
        })
    }

    /// Plans a shift (manager).
    async fn create_shift(
        &self,
        ctx: &Context<'_>,
        input: CreateShiftInput,
    ) -> Result<ShiftPayload> {
        let new = production_service::NewShift {
            workshop_id: parse_id("workshopId", &input.workshop_id)?,
            name: input.name,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            planned_break_s: input.planned_break_s,
        };
        let shift = production_service::create_shift(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            new,
        )
        .await?;
        Ok(ShiftPayload {
            shift: Shift(shift),
        })
    }

    /// Changes a shift (manager).
    async fn update_shift(
        &self,
        ctx: &Context<'_>,
        input: UpdateShiftInput,
    ) -> Result<ShiftPayload> {
        let id = parse_id("id", &input.id)?;
        let patch = production_service::ShiftPatch {
            name: input.name,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            planned_break_s: input.planned_break_s,
        };
        let shift = production_service::update_shift(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            id,
            patch,
        )
        .await?;
        Ok(ShiftPayload {
            shift: Shift(shift),
        })
    }

    /// Deletes a shift (manager); its reports keep their counts.
    async fn delete_shift(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let id = production_service::delete_shift(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }
}
