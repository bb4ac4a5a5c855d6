//! The jobs query (admins only).

use async_graphql::{Context, Object, Result};

use super::types::Jobs;
use crate::{graphql::context::ContextExt, service::jobs as jobs_service};

/// Job queries.
#[derive(Default)]
pub struct JobsQuery;

/// Job queries.
#[Object]
impl JobsQuery {
    /// Every queue's jobs by state, every schedule with its last run and next slot, and the
    /// newest failures with their errors (admins only).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many recent failures to list (0–50).", default = 20)] failures: i32,
    ) -> Result<Jobs> {
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        Ok(jobs_service::overview(ctx.state(), ctx.caller()?, failures)
            .await?
            .into())
    }
}
