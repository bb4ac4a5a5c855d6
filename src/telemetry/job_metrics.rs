//! Metrics of the job queue and the maintenance tasks.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// A maintenance task's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    /// `rollup-1m`, `retention`, … (`maintenance::Task::name`).
    pub task: &'static str,
}

/// A job's kind and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobOutcomeLabels {
    /// The registered job name.
    pub job: &'static str,
    /// `done` or `failed` (a failed attempt; it may be retried).
    pub outcome: &'static str,
}

/// A queue and a job state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueStateLabels {
    /// `default`, `notifications`, `maintenance`, `rollups`.
    pub queue: &'static str,
    /// `pending`, `running`, `failed`.
    pub state: &'static str,
}

/// The job metrics, registered in the instance's registry.
#[derive(Clone)]
pub struct JobMetrics {
    /// Maintenance task runs, by task (from any path: schedule, GraphQL, CLI).
    pub maintenance_runs: Family<TaskLabels, Counter>,
    /// Job attempts by job and outcome.
    pub attempts: Family<JobOutcomeLabels, Counter>,
    /// Seconds from a job's due time to its start.
    pub start_delay: Histogram,
    /// Jobs per queue and state, as last sampled.
    pub depth: Family<QueueStateLabels, Gauge>,
    /// Schedule slots this instance claimed (one instance claims each slot).
    pub slots_claimed: Counter,
}

impl Default for JobMetrics {
    fn default() -> Self {
        Self {
            maintenance_runs: Family::default(),
            attempts: Family::default(),
            start_delay: Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0]),
            depth: Family::default(),
            slots_claimed: Counter::default(),
        }
    }
}

impl JobMetrics {
    /// Registers every job metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "maintenance_runs",
            "Maintenance task runs, by task",
            m.maintenance_runs.clone(),
        );
        registry.register(
            "job_attempts",
            "Job attempts, by job and outcome",
            m.attempts.clone(),
        );
        registry.register(
            "job_start_delay_seconds",
            "Seconds from a job's due time to its start on a worker",
            m.start_delay.clone(),
        );
        registry.register(
            "jobs",
            "Jobs per queue and state, as last sampled",
            m.depth.clone(),
        );
        registry.register(
            "schedule_slots_claimed",
            "Schedule slots this instance claimed and enqueued",
            m.slots_claimed.clone(),
        );
        m
    }
}
