//! Background jobs: workers, schedules (cron expressions), retention periods, rollups and the
//! series thresholds that choose raw readings or a rollup.

use std::{str::FromStr, time::Duration};

use super::{EnvSource, EnvSourceExt as _, Flag};
use crate::maintenance::Task;

/// Jobs, schedules and maintenance settings.
#[derive(Clone, Debug)]
pub struct JobsConfig {
    /// `SF_JOBS_WORKERS`: whether `serve` also runs the job workers (`worker` always does).
    pub workers: bool,
    /// `SF_JOBS_SCHEDULER`: whether `serve` runs the schedules (each slot runs once across
    /// instances however many have it on).
    pub scheduler: bool,
    /// `SF_JOBS_POLL_MS`: how often an idle worker looks for work.
    pub poll: Duration,
    /// `SF_JOBS_HEARTBEAT_S`: a running job's heartbeat; a job whose worker misses three is
    /// handed to another worker.
    pub heartbeat: Duration,
    /// `SF_SCHEDULE_<TASK>` (e.g. `SF_SCHEDULE_ROLLUP_1M`): a cron expression with seconds
    /// (`sec min hour day-of-month month day-of-week`), or `off`.
    pub schedules: Vec<Schedule>,
    pub retention: RetentionConfig,
    /// `SF_ROLLUP_LATE_WINDOW_S`: how far before its watermark each rollup run starts again,
    /// so late readings are rolled up.
    pub rollup_late_window: chrono::Duration,
    /// `SF_SERIES_RAW_MAX_H`: `readingSeries` over at most this many hours reads raw readings.
    pub series_raw_max: chrono::Duration,
    /// `SF_SERIES_1M_MAX_D`: up to this many days it reads one-minute rollups, beyond them the
    /// hourly ones.
    pub series_1m_max: chrono::Duration,
}

/// A task on a cron schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub task: Task,
    /// The expression as configured (shown in `jobs`).
    pub expression: String,
    pub cron: cron::Schedule,
}

/// How long data is kept.
#[derive(Clone, Debug)]
pub struct RetentionConfig {
    /// `SF_RETENTION_RAW_DAYS` (30).
    pub raw: chrono::Duration,
    /// `SF_RETENTION_1M_DAYS` (365).
    pub rollup_1m: chrono::Duration,
    /// `SF_RETENTION_1H_DAYS` (1825).
    pub rollup_1h: chrono::Duration,
    /// `SF_RETENTION_SNAPSHOT_DAYS` (30): `metric_snapshots`.
    pub metric_snapshots: chrono::Duration,
    /// `SF_RETENTION_SESSION_DAYS` (7): ended sessions.
    pub sessions: chrono::Duration,
    /// `SF_RETENTION_JOB_DAYS` (7): finished jobs and schedule runs; failed jobs are kept
    /// four times as long.
    pub jobs: chrono::Duration,
}

/// The default schedule of each task.
pub fn default_expression(task: Task) -> &'static str {
    match task {
        Task::Partitions => "0 5 0 * * *",
        Task::Rollup1m => "10 * * * * *",
        Task::Rollup1h => "0 3 * * * *",
        Task::Retention => "0 30 1 * * *",
        Task::Analyze => "0 0 2 * * *",
        Task::Vacuum => "0 0 3 * * Sun",
        Task::Sessions => "0 15 * * * *",
        Task::PruneJobs => "0 45 * * * *",
    }
}

fn days(env: &dyn EnvSource, name: &str, default: u32) -> anyhow::Result<chrono::Duration> {
    let n: u32 = env.parse_or(name, default)?;
    if n == 0 || n > 36_500 {
        anyhow::bail!("{name} must be 1 to 36500 days");
    }
    Ok(chrono::Duration::days(i64::from(n)))
}

impl JobsConfig {
    /// The settings from their variables, defaults in code.
    pub fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let poll_ms: u64 = env.parse_or("SF_JOBS_POLL_MS", 500)?;
        if !(10..=60_000).contains(&poll_ms) {
            anyhow::bail!("SF_JOBS_POLL_MS must be 10 to 60000");
        }
        let heartbeat_s: u64 = env.parse_or("SF_JOBS_HEARTBEAT_S", 10)?;
        if !(1..=3_600).contains(&heartbeat_s) {
            anyhow::bail!("SF_JOBS_HEARTBEAT_S must be 1 to 3600");
        }
        let mut schedules = Vec::new();
        for task in Task::ALL {
            let name = format!("SF_SCHEDULE_{}", task.env_suffix());
            let expression = env
                .get(&name)
                .unwrap_or_else(|| default_expression(task).to_owned());
            let expression = expression.trim().to_owned();
            if expression.eq_ignore_ascii_case("off") {
                continue;
            }
            let cron = cron::Schedule::from_str(&expression).map_err(|e| {
                anyhow::anyhow!(
                    "{name}: `{expression}` is not a cron expression (sec min hour day month weekday): {e}"
                )
            })?;
            schedules.push(Schedule {
                task,
                expression,
                cron,
            });
        }
        let retention = RetentionConfig {
            raw: days(env, "SF_RETENTION_RAW_DAYS", 30)?,
            rollup_1m: days(env, "SF_RETENTION_1M_DAYS", 365)?,
            rollup_1h: days(env, "SF_RETENTION_1H_DAYS", 1_825)?,
            metric_snapshots: days(env, "SF_RETENTION_SNAPSHOT_DAYS", 30)?,
            sessions: days(env, "SF_RETENTION_SESSION_DAYS", 7)?,
            jobs: days(env, "SF_RETENTION_JOB_DAYS", 7)?,
        };
        let late_s: u32 = env.parse_or("SF_ROLLUP_LATE_WINDOW_S", 120)?;
        if late_s > 86_400 {
            anyhow::bail!("SF_ROLLUP_LATE_WINDOW_S must be at most 86400");
        }
        let raw_max_h: u32 = env.parse_or("SF_SERIES_RAW_MAX_H", 6)?;
        let one_m_max_d: u32 = env.parse_or("SF_SERIES_1M_MAX_D", 14)?;
        if raw_max_h == 0 || one_m_max_d == 0 || i64::from(raw_max_h) > i64::from(one_m_max_d) * 24
        {
            anyhow::bail!(
                "SF_SERIES_RAW_MAX_H and SF_SERIES_1M_MAX_D must be positive, the raw range within the one-minute range"
            );
        }
        Ok(Self {
            workers: env.parse_or("SF_JOBS_WORKERS", Flag(true))?.0,
            scheduler: env.parse_or("SF_JOBS_SCHEDULER", Flag(true))?.0,
            poll: Duration::from_millis(poll_ms),
            heartbeat: Duration::from_secs(heartbeat_s),
            schedules,
            retention,
            rollup_late_window: chrono::Duration::seconds(i64::from(late_s)),
            series_raw_max: chrono::Duration::hours(i64::from(raw_max_h)),
            series_1m_max: chrono::Duration::days(i64::from(one_m_max_d)),
        })
    }
}
