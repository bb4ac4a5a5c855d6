//! `systemMetrics`: the cluster aggregate every `intervalMs`.

use async_graphql::{Context, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::types::SystemMetrics;
use crate::{graphql::context::ContextExt, service::metrics};

/// System metrics subscriptions.
#[derive(Default)]
pub struct SystemSubscription;

/// System metrics subscriptions.
#[Subscription]
impl SystemSubscription {
    /// The cluster aggregate (as `systemMetrics` without `instance`), first at once and then
    /// every `intervalMs` (admins only). It reads the collector's latest snapshot: however
    /// many subscribe, nothing is sampled for them, and identical subscriptions share one
    /// execution (one encoding per interval).
    async fn system_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Milliseconds between messages, 500 to 3,600,000.",
            default = 5000
        )]
        interval_ms: i32,
    ) -> Result<impl Stream<Item = SystemMetrics>> {
        let period = metrics::check_subscription(ctx.caller()?, interval_ms)?;
        let monitor = ctx.state().monitor.clone();
        let guard = monitor.stream_started();
        ctx.established();
        let mut ticks = tokio::time::interval(period);
        // A subscriber that stalls gets the latest view when it catches up, not a burst.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ticks = futures::stream::unfold(ticks, |mut ticks| async move {
            ticks.tick().await;
            Some(((), ticks))
        });
        Ok(ticks.map(move |()| {
            let _running = &guard;
            SystemMetrics::from(metrics::Current::from(monitor.cluster()))
        }))
    }
}
