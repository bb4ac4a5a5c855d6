//! Maintenance tasks: what the old stack's guide told an operator to run by hand. Each runs
//! the same code from a schedule (through the job queue), from `runMaintenance` and from
//! `smart-factory maintenance <task>`.

pub mod database;
pub mod retention;
pub mod rollup;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::{error::AppResult, state::AppState};

/// A maintenance task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Daily partitions of raw readings for today and the next 7 days (PostgreSQL).
    Partitions,
    /// Roll raw readings up into one-minute buckets.
    #[value(name = "rollup-1m")]
    #[serde(rename = "rollup-1m")]
    Rollup1m,
    /// Roll one-minute buckets up into one-hour buckets.
    #[value(name = "rollup-1h")]
    #[serde(rename = "rollup-1h")]
    Rollup1h,
    /// Remove raw readings, rollups and metric snapshots past their keep periods.
    Retention,
    /// Refresh planner statistics (`ANALYZE`; `PRAGMA optimize` on SQLite).
    Analyze,
    /// `VACUUM (ANALYZE)` (PostgreSQL); a WAL checkpoint and `PRAGMA optimize` on SQLite.
    Vacuum,
    /// Delete sessions that ended longer ago than their keep period.
    #[value(alias = "cleanup-sessions")]
    Sessions,
    /// Delete finished jobs and schedule runs past their keep period.
    PruneJobs,
}

impl Task {
    /// Every task, in the order `jobs` lists their schedules.
    pub const ALL: [Task; 8] = [
        Task::Partitions,
        Task::Rollup1m,
        Task::Rollup1h,
        Task::Retention,
        Task::Analyze,
        Task::Vacuum,
        Task::Sessions,
        Task::PruneJobs,
    ];

    /// The task's name, as the CLI, the schedules and `jobs` show it.
    pub fn name(self) -> &'static str {
        match self {
            Task::Partitions => "partitions",
            Task::Rollup1m => "rollup-1m",
            Task::Rollup1h => "rollup-1h",
            Task::Retention => "retention",
            Task::Analyze => "analyze",
            Task::Vacuum => "vacuum",
            Task::Sessions => "sessions",
            Task::PruneJobs => "prune-jobs",
        }
    }

    /// The end of the task's schedule variable, `SF_SCHEDULE_<this>`.
    pub fn env_suffix(self) -> String {
        self.name().replace('-', "_").to_ascii_uppercase()
    }

    /// The task of `name`.
    pub fn from_name(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// What a task did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub task: Task,
    /// Rows (or buckets, or partitions) the task wrote or removed.
    pub rows: u64,
    /// One line for people: what was done.
    pub detail: String,
    pub duration_ms: u64,
}

/// Runs `task` now, on this instance.
pub async fn run(state: &AppState, task: Task) -> AppResult<Report> {
    let started = Instant::now();
    let now = Utc::now();
    let db = &state.db.write;
    let jobs = &state.config.jobs;
    let (rows, detail) = match task {
        Task::Partitions => {
            let n = database::partitions(db, now.date_naive()).await?;
            (u64::from(n), format!("{n} daily partitions ensured"))
        }
        Task::Rollup1m | Task::Rollup1h => {
            let level = if task == Task::Rollup1m {
                rollup::Level::Minute
            } else {
                rollup::Level::Hour
            };
            let run =
                rollup::run(db, level, now, jobs.rollup_late_window, jobs.retention.raw).await?;
            (
                run.buckets,
                format!("{} buckets over [{}, {})", run.buckets, run.from, run.to),
            )
        }
        Task::Retention => {
            let run = retention::run(db, &jobs.retention, now).await?;
            (
                run.rows() + run.partitions_dropped,
                format!(
                    "raw: {} rows and {} partitions before {}; 1m: {}; 1h: {}; snapshots: {}",
                    run.raw_rows,
                    run.partitions_dropped,
                    run.raw_cutoff.map(|c| c.to_rfc3339()).unwrap_or_default(),
                    run.rollup_1m_rows,
                    run.rollup_1h_rows,
                    run.snapshot_rows
                ),
            )
        }
        Task::Analyze => {
            database::analyze(db).await?;
            (0, "statistics refreshed".to_owned())
        }
        Task::Vacuum => {
            database::vacuum(db).await?;
            (0, "vacuumed".to_owned())
        }
        Task::Sessions => {
            let n = crate::service::session::cleanup_expired(db, jobs.retention.sessions).await?;
            (n, format!("{n} ended sessions deleted"))
        }
        Task::PruneJobs => {
            let n = crate::jobs::prune(db, now, jobs.retention.jobs).await?;
            (n, format!("{n} finished jobs and schedule runs deleted"))
        }
    };
    let duration = started.elapsed();
    state
        .metrics
        .jobs
        .maintenance_runs
        .get_or_create(&crate::telemetry::job_metrics::TaskLabels { task: task.name() })
        .inc();
    tracing::info!(
        task = task.name(),
        rows,
        ms = duration.as_millis() as u64,
        "{detail}"
    );
    Ok(Report {
        task,
        rows,
        detail,
        duration_ms: duration_ms(duration),
    })
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
