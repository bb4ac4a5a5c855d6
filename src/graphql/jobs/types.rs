//! The GraphQL shapes of the job queues, schedules and maintenance runs.

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, TimeZone as _, Utc};

use crate::{
    jobs::storage::{JobRow, QueueCounts},
    maintenance,
    service::jobs::{Overview, ScheduleView},
};

/// A maintenance task.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::maintenance::Task")]
pub enum MaintenanceTask {
    /// Daily partitions of raw readings for today and the next 7 days (PostgreSQL).
    Partitions,
    /// Roll raw readings up into one-minute buckets.
    #[graphql(name = "ROLLUP_1M")]
    Rollup1m,
    /// Roll one-minute buckets up into one-hour buckets.
    #[graphql(name = "ROLLUP_1H")]
    Rollup1h,
    /// Remove raw readings, rollups and metric snapshots past their keep periods.
    Retention,
    /// Refresh planner statistics.
    Analyze,
    /// `VACUUM (ANALYZE)` on PostgreSQL; a WAL checkpoint and `PRAGMA optimize` on SQLite.
    Vacuum,
    /// Delete ended sessions past their keep period.
    Sessions,
    /// Delete finished jobs and schedule runs past their keep period.
    PruneJobs,
}

/// The queues, the schedules and the recent failures.
#[derive(SimpleObject)]
pub struct Jobs {
    /// Every queue, with its jobs by state.
    pub queues: Vec<JobQueue>,
    /// Every configured schedule.
    pub schedules: Vec<JobSchedule>,
    /// The newest failed jobs (spent or still retrying), newest first.
    pub failures: Vec<Job>,
}

/// Jobs of one queue by state.
#[derive(SimpleObject)]
pub struct JobQueue {
    /// `default`, `notifications`, `maintenance` or `rollups`.
    pub name: String,
    /// Waiting for a worker (due or not yet due).
    pub pending: i64,
    /// Taken by a worker.
    pub running: i64,
    /// Failed attempts that will run again after their back-off.
    pub retrying: i64,
    /// Failed with every attempt spent (kept with the error until pruned or retried).
    pub failed: i64,
    /// Finished (kept until pruned).
    pub done: i64,
    /// Not run: an unknown job or malformed arguments.
    pub killed: i64,
    /// Seconds the oldest pending job has waited past its due time.
    pub oldest_pending_s: Option<i64>,
}

/// A schedule: its expression, the next slot and the last run.
#[derive(SimpleObject)]
pub struct JobSchedule {
    /// The task it runs.
    pub task: MaintenanceTask,
    /// The cron expression (`sec min hour day month weekday`).
    pub cron: String,
    /// The next slot after now.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The newest slot claimed by any instance.
    pub last_run: Option<ScheduleRun>,
}

/// One run of a schedule.
#[derive(SimpleObject)]
pub struct ScheduleRun {
    /// The scheduled time.
    pub slot: DateTime<Utc>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// The instance that claimed the slot.
    pub instance: String,
    /// The job that runs it.
    pub job_id: Option<String>,
    /// When its job started.
    pub started_at: Option<DateTime<Utc>>,
    /// When its job ended (done, or failed with every attempt spent).
    pub finished_at: Option<DateTime<Utc>>,
    /// How long the last attempt took.
    pub duration_ms: Option<i64>,
    /// What it reported, or its error.
    pub detail: Option<String>,
}

/// One job.
#[derive(SimpleObject)]
pub struct Job {
    /// The job's id.
    pub id: String,
    /// Its queue.
    pub queue: String,
    /// The registered job's name (`maintenance`, `rollup`, `probe`).
    pub name: Option<String>,
    /// `pending`, `running`, `retrying`, `failed`, `done` or `killed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts before it stays failed.
    pub max_attempts: i32,
    /// When it is (or was) due.
    pub run_at: Option<DateTime<Utc>>,
    /// When its last attempt ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last attempt's result or error.
    pub last_result: Option<String>,
}

/// What `runMaintenance` did.
#[derive(SimpleObject)]
pub struct MaintenanceRun {
    /// The task.
    pub task: MaintenanceTask,
    /// The queued job, when not run in the request.
    pub job_id: Option<String>,
    /// The run's report, when run in the request (`wait: true`).
    pub report: Option<MaintenanceReport>,
}

/// A maintenance task's report.
#[derive(SimpleObject)]
pub struct MaintenanceReport {
    /// Rows, buckets or partitions written or removed.
    pub rows: f64,
    /// What it did, in words.
    pub detail: String,
    /// How long it took.
    pub duration_ms: f64,
}

fn epoch(s: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(s, 0).single()
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Self {
            name: row.name(),
            state: row.state().to_owned(),
            id: row.id,
            queue: row.queue,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: epoch(row.run_at),
            finished_at: row.done_at.and_then(epoch),
            last_result: row.last_result,
        }
    }
}

impl From<Overview> for Jobs {
    fn from(o: Overview) -> Self {
        Self {
            queues: o
                .queues
                .into_iter()
                .map(|(q, c): (_, QueueCounts)| JobQueue {
                    name: q.name().to_owned(),
                    pending: c.pending,
                    running: c.running,
                    retrying: c.retrying,
                    failed: c.failed,
                    done: c.done,
                    killed: c.killed,
                    oldest_pending_s: c.oldest_pending_s,
                })
                .collect(),
            schedules: o.schedules.into_iter().map(JobSchedule::from).collect(),
            failures: o.failures.into_iter().map(Job::from).collect(),
        }
    }
}

impl From<ScheduleView> for JobSchedule {
    fn from(s: ScheduleView) -> Self {
        Self {
            task: s.task.into(),
            cron: s.expression,
            next_run_at: s.next_run_at,
            last_run: s.last_run.map(|r| ScheduleRun {
                slot: r.slot,
                status: r.status,
                instance: r.instance,
                job_id: r.job_id,
                started_at: r.started_at,
                finished_at: r.finished_at,
                duration_ms: r.duration_ms,
                detail: r.detail,
            }),
        }
    }
}

impl From<maintenance::Report> for MaintenanceReport {
    fn from(r: maintenance::Report) -> Self {
        Self {
            rows: r.rows as f64,
            detail: r.detail,
            duration_ms: r.duration_ms as f64,
        }
    }
}
