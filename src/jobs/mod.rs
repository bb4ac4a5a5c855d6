//! Background jobs on apalis, stored in the database the data lives in (apalis-sqlite or
//! apalis-postgres), so a job is as durable as the write that caused it.
//!
//! - Four queues ([`Queue`]), one apalis worker each, with their own concurrency.
//! - Typed jobs, one file each ([`maintenance`], [`probe`]), registered in one place
//!   ([`registry`]) with their queue, attempts, back-off and timeout.
//! - [`enqueue`] writes the job row through SeaORM, so a job caused by a write goes into that
//!   write's transaction (and a rolled-back write enqueues nothing).
//! - Retries: a failed attempt moves the job's `run_at` forward by an exponential back-off
//!   before apalis records the failure; apalis picks it again when due, until its attempts are
//!   spent; then it stays `failed` with its error until `retryJob` or the pruning.
//! - A worker that dies: its heartbeats stop and another worker of the queue re-enqueues the
//!   job (apalis' orphan rescue), so it runs again, never twice at once.
//! - Schedules ([`scheduler`]): each instance computes the cron slots; the first to insert a
//!   slot's row in `schedule_runs` enqueues it, in the same transaction, so a slot runs once.

pub mod maintenance;
pub mod probe;
pub mod registry;
pub mod scheduler;
pub mod storage;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use storage::{enqueue, prune};

/// A job queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Queue {
    Default,
    Notifications,
    Maintenance,
    Rollups,
}

impl Queue {
    pub const ALL: [Queue; 4] = [
        Queue::Default,
        Queue::Notifications,
        Queue::Maintenance,
        Queue::Rollups,
    ];

    /// The queue's name (apalis' `job_type` column).
    pub fn name(self) -> &'static str {
        match self {
            Queue::Default => "default",
            Queue::Notifications => "notifications",
            Queue::Maintenance => "maintenance",
            Queue::Rollups => "rollups",
        }
    }

    /// Jobs of this queue one worker runs at once. Maintenance is one at a time (two
    /// vacuums or a vacuum and a retention would only fight over locks).
    pub fn concurrency(self) -> usize {
        match self {
            Queue::Default => 4,
            Queue::Notifications => 4,
            Queue::Maintenance => 1,
            Queue::Rollups => 1,
        }
    }

    pub fn from_name(name: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.name() == name)
    }
}

/// What a queue row holds: which registered job, its arguments, and the schedule slot it
/// runs for, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub job: String,
    pub args: serde_json::Value,
    #[serde(default)]
    pub slot: Option<Slot>,
}

/// A schedule's run at one scheduled time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub schedule: String,
    pub at: DateTime<Utc>,
}
