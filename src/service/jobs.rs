//! `jobs`, `runMaintenance` and `retryJob` (admins only): the queues, the schedules and
//! their runs, recent failures, and the operator's levers.

use chrono::{DateTime, Utc};
use entity::{enums::Role, schedule_run};

use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    jobs::{
        Queue,
        maintenance::MaintenanceJob,
        scheduler,
        storage::{self, EnqueueOptions, JobRow, QueueCounts},
    },
    maintenance::{self, Report, Task},
    service::audit::Audit,
    state::AppState,
};

/// Most recent failures `jobs` lists.
pub const MAX_FAILURES: u32 = 50;

/// A schedule as `jobs` shows it.
#[derive(Clone, Debug)]
pub struct ScheduleView {
    pub task: Task,
    pub expression: String,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run: Option<schedule_run::Model>,
}

/// Everything `jobs` shows.
#[derive(Clone, Debug)]
pub struct Overview {
    pub queues: Vec<(Queue, QueueCounts)>,
    pub schedules: Vec<ScheduleView>,
    pub failures: Vec<JobRow>,
}

/// The queues, the schedules and the newest failures.
pub async fn overview(state: &AppState, caller: &Caller, failures: u32) -> AppResult<Overview> {
    caller.require(Role::Admin)?;
    if failures > MAX_FAILURES {
        return Err(AppError::invalid(
            "failures",
            format!("`failures` must be 0 to {MAX_FAILURES}"),
        ));
    }
    let db = &state.db.write;
    let queues = storage::counts(db).await?;
    let configured = &state.config.jobs.schedules;
    let names: Vec<&str> = configured.iter().map(|s| s.task.name()).collect();
    let mut runs = scheduler::last_runs(db, &names).await?;
    let now = Utc::now();
    let schedules = configured
        .iter()
        .map(|s| ScheduleView {
            task: s.task,
            expression: s.expression.clone(),
            next_run_at: s.cron.after(&now).next(),
            last_run: runs
                .iter()
                .position(|r| r.schedule == s.task.name())
                .map(|i| runs.swap_remove(i)),
        })
        .collect();
    let failures = if failures == 0 {
        Vec::new()
    } else {
        storage::failures(db, failures).await?
    };
    Ok(Overview {
        queues,
        schedules,
        failures,
    })
}

/// What `runMaintenance` did: ran the task (`wait`) or queued it.
pub enum MaintenanceRun {
    Ran(Report),
    Queued(String),
}

/// Runs `task` now in this request (`wait`), or queues it for a worker.
pub async fn run_maintenance(
    state: &AppState,
    caller: &Caller,
    audit: &Audit,
    task: Task,
    wait: bool,
) -> AppResult<MaintenanceRun> {
    caller.require(Role::Admin)?;
    let db = &state.db.write;
    if wait {
        audit.write(db, task.name()).await?;
        return Ok(MaintenanceRun::Ran(maintenance::run(state, task).await?));
    }
    let id = storage::enqueue(db, &MaintenanceJob { task }, EnqueueOptions::default())
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a job without a key was refused")))?;
    audit
        .write(db, format!("{} as job {id}", task.name()))
        .await?;
    Ok(MaintenanceRun::Queued(id))
}

/// Puts a failed job back in its queue with fresh attempts.
pub async fn retry(
    state: &AppState,
    caller: &Caller,
    audit: &Audit,
    id: &str,
) -> AppResult<JobRow> {
    caller.require(Role::Admin)?;
    let db = &state.db.write;
    if id.is_empty() || id.len() > 64 {
        return Err(AppError::invalid("id", "not a job id"));
    }
    if !storage::retry(db, id).await? {
        return Err(AppError::not_found("job", id));
    }
    audit.write(db, id).await?;
    storage::find(db, id)
        .await?
        .ok_or_else(|| AppError::not_found("job", id))
}
