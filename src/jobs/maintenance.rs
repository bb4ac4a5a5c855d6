//! `maintenance` and `rollup`: a maintenance task as a job (what the schedules enqueue and
//! `runMaintenance(async: true)` could). Rollups have their own queue so a long vacuum never
//! holds up the minute's rollup.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    Queue,
    registry::{Job, JobContext, JobSpec},
};
use crate::maintenance::Task;

/// Runs one maintenance task.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaintenanceJob {
    pub task: Task,
}

impl MaintenanceJob {
    pub const SPECS: [JobSpec; 2] = [
        JobSpec {
            name: "maintenance",
            queue: Queue::Maintenance,
            max_attempts: 3,
            backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(6 * 3_600),
        },
        JobSpec {
            name: "rollup",
            queue: Queue::Rollups,
            max_attempts: 3,
            backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(3_600),
        },
    ];
}

impl Job for MaintenanceJob {
    fn spec(&self) -> JobSpec {
        match self.task {
            Task::Rollup1m | Task::Rollup1h => Self::SPECS[1],
            _ => Self::SPECS[0],
        }
    }

    async fn run(self, ctx: &JobContext) -> anyhow::Result<String> {
        let report = crate::maintenance::run(&ctx.state, self.task)
            .await
            .map_err(crate::error::AppError::into_anyhow)?;
        Ok(report.detail)
    }
}
