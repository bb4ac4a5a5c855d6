//! Products, orders and shifts as the API shows them.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{product, production_order, shift};

use crate::graphql::{
    context::ContextExt,
    enums::OrderStatus,
    plant::types::{Line, Workshop},
};

/// Something the plant makes.
#[derive(SimpleObject)]
pub struct Product {
    /// Identifier.
    pub id: ID,
    /// Unique stock-keeping unit.
    pub sku: String,
    /// Display name.
    pub name: String,
    /// Unit of quantity.
    pub unit: String,
    /// Ideal time to make one unit, in seconds.
    pub ideal_cycle_time_s: f64,
}

impl From<product::Model> for Product {
    fn from(m: product::Model) -> Self {
        Self {
            id: m.id.into(),
            sku: m.sku,
            name: m.name,
            unit: m.unit,
            ideal_cycle_time_s: m.ideal_cycle_time_s,
        }
    }
}

/// An order to make a quantity of one product on one line.
pub struct ProductionOrder(pub production_order::Model);

/// An order to make a quantity of one product on one line.
#[Object]
impl ProductionOrder {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Unique order number.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Lifecycle state.
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    /// Higher runs first.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Quantity to make.
    async fn qty_planned(&self) -> i32 {
        self.0.qty_planned
    }
    /// Good units made so far.
    async fn qty_good(&self) -> i32 {
        self.0.qty_good
    }
    /// Scrapped units so far.
    async fn qty_scrap(&self) -> i32 {
        self.0.qty_scrap
    }
    /// Share of the planned quantity made good, 0–1.
    async fn progress(&self) -> f64 {
        if self.0.qty_planned <= 0 {
            0.0
        } else {
            (f64::from(self.0.qty_good) / f64::from(self.0.qty_planned)).min(1.0)
        }
    }
    /// Planned start.
    async fn planned_start(&self) -> DateTime<Utc> {
        self.0.planned_start
    }
    /// Planned end.
    async fn planned_end(&self) -> DateTime<Utc> {
        self.0.planned_end
    }
    /// Actual start.
    async fn actual_start(&self) -> Option<DateTime<Utc>> {
        self.0.actual_start
    }
    /// Actual end.
    async fn actual_end(&self) -> Option<DateTime<Utc>> {
        self.0.actual_end
    }
    /// The product.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let p = ctx
            .loaders()
            .product_by_id
            .load_one(self.0.product_id)
            .await?;
        Ok(p.map(Product::from))
    }
    /// The line.
    async fn line(&self, ctx: &Context<'_>) -> Result<Option<Line>> {
        let l = ctx.loaders().line_by_id.load_one(self.0.line_id).await?;
        Ok(l.map(Line))
    }
}

/// A concrete shift in one workshop.
pub struct Shift(pub shift::Model);

/// A concrete shift in one workshop.
#[Object]
impl Shift {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Name, e.g. `Early`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Start.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// End.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// Planned breaks, in seconds (they leave planned production time).
    async fn planned_break_s(&self) -> i32 {
        self.0.planned_break_s
    }
    /// The workshop.
    async fn workshop(&self, ctx: &Context<'_>) -> Result<Option<Workshop>> {
        let w = ctx
            .loaders()
            .workshop_by_id
            .load_one(self.0.workshop_id)
            .await?;
        Ok(w.map(Workshop))
    }
}
