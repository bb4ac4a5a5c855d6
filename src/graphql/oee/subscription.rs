//! `oeeUpdated`: the current shift's OEE, recomputed once a minute per subscription.

use std::time::Duration;

use async_graphql::{Context, Result, Subscription};
use futures::{Stream, StreamExt as _};

use super::types::{OeeBucket, OeeScope};
use crate::{graphql::context::ContextExt, service::oee};

/// Time between two `oeeUpdated` messages.
pub const PERIOD: Duration = Duration::from_secs(60);

/// OEE subscriptions.
#[derive(Default)]
pub struct OeeSubscription;

/// OEE subscriptions.
#[Subscription]
impl OeeSubscription {
    /// The current shift's OEE so far (the UTC day's when no shift is on) for one machine,
    /// line or workshop: first at once, then every 60 s (managers and admins). Each message
    /// costs the statements of one `oee` call; a failed recomputation ends the stream.
    async fn oee_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Exactly one of a machine, a line or a workshop.")] scope: OeeScope,
    ) -> Result<impl Stream<Item = Result<OeeBucket>>> {
        let state = ctx.state();
        let caller = ctx.caller()?.clone();
        let scope = scope.parse()?;
        let db = state.db.read.clone();
        // Checks role and scope before the stream starts, and is the first message.
        let first = oee::current(&db, &caller, scope).await?;
        ctx.established();
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let rest = futures::stream::unfold(
            (ticks, db, caller, false),
            move |(mut ticks, db, caller, failed)| async move {
                if failed {
                    return None;
                }
                ticks.tick().await;
                let next = oee::current(&db, &caller, scope).await;
                let failed = next.is_err();
                let item: Result<OeeBucket> = next.map(OeeBucket::from).map_err(Into::into);
                Some((item, (ticks, db, caller, failed)))
            },
        );
        let first: Result<OeeBucket> = Ok(OeeBucket::from(first));
        Ok(futures::stream::once(std::future::ready(first)).chain(rest))
    }
}
