//! `productionOrderProgress` and the progress it sends.

use async_graphql::{Context, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt as _};

use crate::{
    events::{self, Event},
    graphql::{
        context::{ContextExt, parse_opt_id},
        enums::OrderStatus,
    },
    service::live,
};

/// How far a production order is.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrderProgress {
    /// The order.
    pub order_id: ID,
    /// Its line.
    pub line_id: ID,
    /// Its state.
    pub status: OrderStatus,
    /// Quantity to make.
    pub qty_planned: i32,
    /// Good parts made so far.
    pub qty_good: i32,
    /// Parts scrapped so far.
    pub qty_scrap: i32,
    /// Good parts as a percentage of the plan (may pass 100).
    pub percent: f64,
    /// Good parts per hour since the order started (null before it has).
    pub rate_per_hour: Option<f64>,
    /// When the plan is met at that rate (only while running or paused, with something
    /// left to make).
    pub eta: Option<DateTime<Utc>>,
}

impl From<&events::OrderProgress> for OrderProgress {
    fn from(p: &events::OrderProgress) -> Self {
        Self {
            order_id: p.order_id.into(),
            line_id: p.line_id.into(),
            status: p.status.into(),
            qty_planned: p.qty_planned,
            qty_good: p.qty_good,
            qty_scrap: p.qty_scrap,
            percent: p.percent,
            rate_per_hour: p.rate_per_hour,
            eta: p.eta,
        }
    }
}

/// Production subscriptions.
#[derive(Default)]
pub struct ProductionSubscription;

/// Production subscriptions.
#[Subscription]
impl ProductionSubscription {
    /// An order's progress each time it moves or production is reported on it. Give at
    /// most one of `lineId`, `orderId`; none means every line you may see (viewers and
    /// above; ids outside your workshops are `FORBIDDEN`).
    async fn production_order_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the orders of this line.")] line_id: Option<ID>,
        #[graphql(desc = "Only this order.")] order_id: Option<ID>,
    ) -> Result<impl Stream<Item = OrderProgress>> {
        let state = ctx.state();
        let interest = live::production(
            &state.db.read,
            ctx.caller()?,
            parse_opt_id("lineId", line_id.as_ref())?,
            parse_opt_id("orderId", order_id.as_ref())?,
        )
        .await?;
        let events = state.hub.production(interest).into_stream();
        ctx.established();
        Ok(events.filter_map(|event| {
            std::future::ready(match &*event {
                Event::OrderProgress(progress) => Some(OrderProgress::from(progress)),
                _ => None,
            })
        }))
    }
}
