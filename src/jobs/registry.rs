//! Every job type, registered in one place: its name, queue, attempts, back-off and timeout.

use std::{future::Future, time::Duration};

use serde::{Serialize, de::DeserializeOwned};

use super::{Queue, maintenance::MaintenanceJob, probe::ProbeJob};
use crate::state::AppState;

/// How a job type is run.
#[derive(Clone, Copy, Debug)]
pub struct JobSpec {
    pub name: &'static str,
    pub queue: Queue,
    /// Attempts before the job stays failed.
    pub max_attempts: u32,
    /// The delay before the first retry; each later one doubles it (capped at an hour).
    pub backoff: Duration,
    /// An attempt running longer fails (and is retried while attempts remain).
    pub timeout: Duration,
}

impl JobSpec {
    /// The delay before the retry that follows failed attempt number `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.backoff
            .saturating_mul(1 << doublings)
            .min(Duration::from_secs(3_600))
    }
}

/// What a running job knows about itself.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub state: AppState,
    /// The queue row's id.
    pub id: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// A job type: its arguments are the struct, serialised into the queue row.
pub trait Job: Serialize + DeserializeOwned + Send + 'static {
    /// How it runs; also names it in the queue row.
    fn spec(&self) -> JobSpec;

    /// Runs one attempt; the `Ok` text is kept as the job's result.
    fn run(self, ctx: &JobContext) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// Every registered job type's spec.
pub fn specs() -> Vec<JobSpec> {
    let mut specs = vec![ProbeJob::SPEC];
    specs.extend(MaintenanceJob::SPECS);
    specs
}

/// The spec of the job named `name`.
pub fn spec(name: &str) -> Option<JobSpec> {
    specs().into_iter().find(|s| s.name == name)
}

/// Runs one attempt of the job in `args` named `name` with its timeout; also returns the
/// spec it ran under (which decides the back-off of a retry).
pub async fn dispatch(
    name: &str,
    args: serde_json::Value,
    ctx: &JobContext,
) -> (Option<JobSpec>, Result<String, DispatchError>) {
    let Some(registered) = spec(name) else {
        return (None, Err(DispatchError::Unknown));
    };
    match registered.name {
        ProbeJob::NAME => run_as::<ProbeJob>(registered, args, ctx).await,
        _ => run_as::<MaintenanceJob>(registered, args, ctx).await,
    }
}

async fn run_as<J: Job>(
    registered: JobSpec,
    args: serde_json::Value,
    ctx: &JobContext,
) -> (Option<JobSpec>, Result<String, DispatchError>) {
    let job: J = match serde_json::from_value(args) {
        Ok(job) => job,
        Err(e) => {
            return (
                Some(registered),
                Err(DispatchError::Malformed(e.to_string())),
            );
        }
    };
    let spec = job.spec();
    let result = match tokio::time::timeout(spec.timeout, job.run(ctx)).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(DispatchError::Failed(format!("{e:#}"))),
        Err(_) => Err(DispatchError::Failed(format!(
            "timed out after {} s",
            spec.timeout.as_secs()
        ))),
    };
    (Some(spec), result)
}

/// Why an attempt did not succeed.
#[derive(Debug)]
pub enum DispatchError {
    /// No job of that name is registered (a row written by a newer version): not retried.
    Unknown,
    /// The arguments do not parse: not retried.
    Malformed(String),
    /// The attempt failed or timed out: retried while attempts remain.
    Failed(String),
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown => f.write_str("no job of this name is registered"),
            Self::Malformed(e) => write!(f, "malformed arguments: {e}"),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for DispatchError {}
