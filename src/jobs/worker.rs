//! The workers: one apalis worker per queue on this instance, polling the queue's rows in
//! the database, running each job through the registry, and handing results back to apalis.

use std::{future::Future, pin::Pin};

use apalis::prelude::*;
use chrono::Utc;
use sea_orm::DatabaseBackend;
use tokio::{sync::watch, task::JoinHandle};

use super::{
    Envelope, Queue,
    registry::{self, DispatchError, JobContext},
    scheduler, storage,
};
use crate::{state::AppState, telemetry::job_metrics::JobOutcomeLabels};

/// Starts a worker for every queue; each stops when `shutdown` turns true (a running job is
/// given the worker's grace to finish; one that does not is rescued by another worker after
/// its heartbeats lapse).
pub fn start(state: &AppState, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    Queue::ALL
        .into_iter()
        .map(|queue| {
            let state = state.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                if let Err(err) = run(state, queue, shutdown).await {
                    tracing::error!(queue = queue.name(), error = %err, "job worker stopped");
                }
            })
        })
        .collect()
}

/// Runs the worker of `queue` until shutdown.
async fn run(
    state: AppState,
    queue: Queue,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let signal = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
        Ok::<(), std::io::Error>(())
    };
    worker(&state, queue, Box::pin(signal)).await?;
    Ok(())
}

type Signal = Pin<Box<dyn Future<Output = Result<(), std::io::Error>> + Send>>;
type WorkerRun = Pin<Box<dyn Future<Output = Result<(), WorkerError>> + Send>>;

/// A worker of `queue` on one engine's storage (`$storage`, `$config`: the apalis crate's
/// types; `$pool`: the SeaORM pool getter). The two storages share no trait the builder
/// accepts as a value, so the one construction is written once, for both.
macro_rules! worker_on {
    ($storage:ty, $config:ty, $pool:ident, $state:expr, $queue:expr, $name:expr, $signal:expr) => {{
        let jobs = &$state.config.jobs;
        let config = <$config>::default()
            .queue($queue.name())
            .batch_size($queue.concurrency())
            .heartbeat_interval(jobs.heartbeat)
            .missed_heartbeats(3);
        let backend = <$storage>::new($state.db.write.$pool())
            .with_config(config)
            .poll_with_interval(jobs.poll);
        Box::pin(
            WorkerBuilder::new($name)
                .backend(backend)
                .data($state.clone())
                .catch_panic()
                .concurrency($queue.concurrency())
                .parallelize(tokio::spawn)
                .build(handle)
                .run_until($signal),
        )
    }};
}

/// The worker of `queue` on this engine's storage, as a boxed future. Built outside an async
/// block: proving apalis' worker future `Send` inside one trips a compiler limitation with
/// higher-ranked lifetimes (rust-lang/rust#102211).
fn worker(state: &AppState, queue: Queue, signal: Signal) -> WorkerRun {
    let name = format!("{}:{}", state.instance_id, queue.name());
    match state.db.write.get_database_backend() {
        DatabaseBackend::Postgres => worker_on!(
            apalis_postgres::PostgresStorage<Envelope>,
            apalis_postgres::Config,
            get_postgres_connection_pool,
            state,
            queue,
            name,
            signal
        ),
        _ => worker_on!(
            apalis_sqlite::SqliteStorage<Envelope>,
            apalis_sqlite::Config,
            get_sqlite_connection_pool,
            state,
            queue,
            name,
            signal
        ),
    }
}

/// One attempt of one job: dispatch, then on failure push the next attempt out by the
/// job's back-off (apalis records the failure and picks the job again when it is due).
async fn handle(
    envelope: Envelope,
    attempt: Attempt,
    id: TaskId,
    state: Data<AppState>,
) -> Result<String, BoxDynError> {
    let state: AppState = (*state).clone();
    let id = id.to_string();
    let attempt_no = u32::try_from(attempt.current()).unwrap_or(u32::MAX).max(1);
    let ctx = JobContext {
        state: state.clone(),
        id: id.clone(),
        attempt: attempt_no,
    };
    if let Some(slot) = &envelope.slot {
        scheduler::mark_running(&state.db.write, slot, &id).await;
    }
    let started = std::time::Instant::now();
    let (spec, result) = registry::dispatch(&envelope.job, envelope.args, &ctx).await;
    let job_name = spec.map_or("unknown", |s| s.name);
    let outcome = if result.is_ok() { "done" } else { "failed" };
    state
        .metrics
        .jobs
        .attempts
        .get_or_create(&JobOutcomeLabels {
            job: job_name,
            outcome,
        })
        .inc();
    let last = spec.is_none_or(|s| attempt_no >= s.max_attempts)
        || matches!(
            result,
            Err(DispatchError::Unknown | DispatchError::Malformed(_))
        );
    if let Some(slot) = &envelope.slot
        && (result.is_ok() || last)
    {
        let detail = match &result {
            Ok(done) => done.clone(),
            Err(e) => e.to_string(),
        };
        scheduler::mark_finished(
            &state.db.write,
            slot,
            result.is_ok(),
            started.elapsed(),
            &detail,
        )
        .await;
    }
    match result {
        Ok(done) => Ok(done),
        Err(err @ (DispatchError::Unknown | DispatchError::Malformed(_))) => {
            tracing::warn!(job = %envelope.job, id, error = %err, "job cannot run: not retried");
            Err(Box::new(AbortError::new(err)))
        }
        Err(err) => {
            tracing::warn!(job = job_name, id, attempt = attempt_no, error = %err, "job attempt failed");
            if let Some(spec) = spec
                && !last
            {
                let at = Utc::now()
                    + chrono::Duration::from_std(spec.backoff_after(attempt_no))
                        .unwrap_or_else(|_| chrono::Duration::hours(1));
                if let Err(db) = storage::defer(&state.db.write, &id, at).await {
                    tracing::warn!(id, error = %db, "could not defer the retry: it runs at once");
                }
            }
            Err(Box::new(err))
        }
    }
}
