//! `systemMetrics`: the cluster aggregate every `intervalMs`, right after the collector's tick.

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
    /// every `intervalMs` (admins only), each right after a collector tick. It reads the
    /// collector's latest snapshot: however many subscribe, nothing is sampled for them, and
    /// identical subscriptions share one execution (one encoding per interval).
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
        let mut views = monitor.watch_cluster();
        views.mark_changed();
        ctx.established();
        // Driven by the collector: the first view at once, then the first tick after most of
        // `intervalMs` has passed, so a message leaves right after its snapshot was taken
        // (not up to a tick later on a timer of its own). Ticks in between are skipped: a
        // subscriber gets the newest view, never a backlog.
        let rest = period.mul_f64(0.9);
        let views = futures::stream::unfold((views, true), move |(mut views, first)| async move {
            if !first {
                tokio::time::sleep(rest).await;
            }
            views.changed().await.ok()?;
            let view = views.borrow_and_update().clone();
            Some((view, (views, false)))
        });
        Ok(views.map(move |view| {
            let _running = &guard;
            SystemMetrics::from(metrics::Current::from(view))
        }))
    }
}
