//! Maintenance and job control (admins only).

use async_graphql::{Context, ID, Object, Result};

use super::types::{Job, MaintenanceRun, MaintenanceTask};
use crate::{
    graphql::context::ContextExt,
    service::jobs::{self as jobs_service, MaintenanceRun as Run},
};

/// Job mutations.
#[derive(Default)]
pub struct JobsMutation;

/// Job mutations.
#[Object]
impl JobsMutation {
    /// Runs a maintenance task: queued for a worker (default), or in this request with
    /// `wait: true` (then the operation timeout applies). The same code as the schedules and
    /// `smart-factory maintenance` (admins only).
    async fn run_maintenance(
        &self,
        ctx: &Context<'_>,
        task: MaintenanceTask,
        #[graphql(desc = "Run in the request and return the report.", default = false)] wait: bool,
    ) -> Result<MaintenanceRun> {
        let run = jobs_service::run_maintenance(
            ctx.state(),
            ctx.caller()?,
            &ctx.audit(),
            task.into(),
            wait,
        )
        .await?;
        Ok(match run {
            Run::Ran(report) => MaintenanceRun {
                task,
                job_id: None,
                report: Some(report.into()),
            },
            Run::Queued(id) => MaintenanceRun {
                task,
                job_id: Some(id),
                report: None,
            },
        })
    }

    /// Puts a failed job back in its queue with fresh attempts (admins only). A job that is
    /// pending, running or done is a `CONFLICT`; an unknown id `NOT_FOUND`.
    async fn retry_job(&self, ctx: &Context<'_>, id: ID) -> Result<Job> {
        Ok(
            jobs_service::retry(ctx.state(), ctx.caller()?, &ctx.audit(), &id)
                .await?
                .into(),
        )
    }
}
