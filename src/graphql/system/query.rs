//! System metrics queries (admins only).

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{MetricPoint, SystemMetrics};
use crate::{graphql::context::ContextExt, service::metrics};

/// System metrics queries.
#[derive(Default)]
pub struct SystemQuery;

/// System metrics queries.
#[Object]
impl SystemQuery {
    /// The latest metrics of one instance, or without `instance` the cluster aggregate with
    /// each instance listed (admins only). An instance not heard from for three collector
    /// intervals is `NOT_FOUND`.
    async fn system_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An instance id (as listed in the cluster's `instances`).")]
        instance: Option<String>,
    ) -> Result<SystemMetrics> {
        let state = ctx.state();
        let current = metrics::current(&state.monitor, ctx.caller()?, instance.as_deref())?;
        Ok(current.into())
    }

    /// Stored snapshots (one per instance per minute) in `[from, to)`, oldest first, thinned
    /// to one per instance and `stepS` (admins only). The range is at most 7 days; at most
    /// 20,000 points are returned.
    async fn system_metrics_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the range (inclusive).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (exclusive).")] to: DateTime<Utc>,
        #[graphql(desc = "Only this instance.")] instance: Option<String>,
        #[graphql(desc = "Seconds between points, 60 to 86,400.", default = 60)] step_s: i32,
    ) -> Result<Vec<MetricPoint>> {
        let state = ctx.state();
        let points = metrics::history(
            &state.db.read,
            ctx.caller()?,
            from,
            to,
            instance.as_deref(),
            step_s,
        )
        .await?;
        Ok(points
            .into_iter()
            .map(|p| MetricPoint {
                instance: p.instance,
                at: p.at,
                metrics: SystemMetrics::of(&p.snapshot, Vec::new()),
            })
            .collect())
    }
}
