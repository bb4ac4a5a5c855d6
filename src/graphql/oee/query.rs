//! `oee` and `downtimePareto`.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{OeeBucket, OeeGranularity, OeeScope, ReasonDuration};
use crate::{graphql::context::ContextExt, service::oee};

/// OEE queries.
#[derive(Default)]
pub struct OeeQuery;

/// OEE queries.
#[Object]
impl OeeQuery {
    /// OEE per bucket of `[from, to)` for one machine, line (at its bottleneck) or workshop
    /// (its lines' bottlenecks summed); buckets that have not started are left out
    /// (managers and admins).
    async fn oee(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Exactly one of a machine, a line or a workshop.")] scope: OeeScope,
        #[graphql(desc = "Start of the range.")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (after `from`).")] to: DateTime<Utc>,
        #[graphql(desc = "How the range is cut into buckets.")] granularity: OeeGranularity,
    ) -> Result<Vec<OeeBucket>> {
        let buckets = oee::oee(
            &ctx.state().db.read,
            ctx.caller()?,
            scope.parse()?,
            from,
            to,
            granularity.into(),
        )
        .await?;
        Ok(buckets.into_iter().map(OeeBucket::from).collect())
    }

    /// Non-running time of every machine in the scope over `[from, to)` (at most 366 days)
    /// by downtime reason, largest first; time without a reason is a row of its own
    /// (managers and admins).
    async fn downtime_pareto(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Exactly one of a machine, a line or a workshop.")] scope: OeeScope,
        #[graphql(desc = "Start of the range.")] from: DateTime<Utc>,
        #[graphql(desc = "End of the range (after `from`).")] to: DateTime<Utc>,
    ) -> Result<Vec<ReasonDuration>> {
        let rows = oee::downtime_pareto(
            &ctx.state().db.read,
            ctx.caller()?,
            scope.parse()?,
            from,
            to,
        )
        .await?;
        Ok(rows.into_iter().map(ReasonDuration::from).collect())
    }
}
