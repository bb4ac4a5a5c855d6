//! The queue's rows: apalis' tables (`Jobs` on SQLite, `apalis.jobs` on PostgreSQL), written
//! and read here through SeaORM so enqueueing can join the caller's transaction, and so
//! `jobs`, `retryJob` and the pruning see one schema per engine.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, FromQueryResult, Statement, Value,
};

use super::{Envelope, Queue, Slot, registry::Job};
use crate::error::{AppError, AppResult};

/// Creates or upgrades apalis' tables (its own migrations, tracked in `_sqlx_migrations`).
pub async fn setup(db: &DatabaseConnection) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            apalis_postgres::PostgresStorage::migrations()
                .run(db.get_postgres_connection_pool())
                .await?;
        }
        _ => {
            // Only the migrations: `SqliteStorage::setup` would also set `synchronous = OFF`
            // on whichever pooled connection ran it.
            apalis_sqlite::SqliteStorage::migrations()
                .run(db.get_sqlite_connection_pool())
                .await?;
        }
    }
    Ok(())
}

/// How to enqueue.
#[derive(Clone, Debug, Default)]
pub struct EnqueueOptions {
    /// Not before this time (now when unset).
    pub run_at: Option<DateTime<Utc>>,
    /// A second enqueue with the same key (per queue) is a no-op.
    pub idempotency_key: Option<String>,
    /// The schedule slot the job runs for.
    pub slot: Option<Slot>,
}

/// Enqueues `job` through `db` (a connection or the caller's transaction). Returns the new
/// row's id, or `None` when the idempotency key was already taken.
pub async fn enqueue<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    options: EnqueueOptions,
) -> AppResult<Option<String>> {
    let spec = job.spec();
    let envelope = Envelope {
        job: spec.name.to_owned(),
        args: serde_json::to_value(job).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?,
        slot: options.slot,
    };
    let payload =
        serde_json::to_vec(&envelope).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let id = ulid::Ulid::generate().to_string();
    let run_at = options.run_at.unwrap_or_else(Utc::now);
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, \
             priority, metadata, idempotency_key) \
             VALUES ($1, $2, $3, 'Pending', 0, $4, $5, 0, ''::hstore, $6) \
             ON CONFLICT (job_type, idempotency_key) DO NOTHING"
        }
        _ => {
            "INSERT INTO Jobs (id, job_type, job, status, attempts, max_attempts, run_at, \
             priority, metadata, idempotency_key) \
             VALUES (?, ?, ?, 'Pending', 0, ?, ?, 0, '{}', ?) \
             ON CONFLICT (job_type, idempotency_key) DO NOTHING"
        }
    };
    let run_at: Value = match backend {
        DatabaseBackend::Postgres => run_at.into(),
        _ => run_at.timestamp().into(),
    };
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                id.clone().into(),
                spec.queue.name().into(),
                payload.into(),
                i32::try_from(spec.max_attempts).unwrap_or(i32::MAX).into(),
                run_at,
                options.idempotency_key.into(),
            ],
        ))
        .await?;
    Ok((done.rows_affected() == 1).then_some(id))
}

/// Moves a failed attempt's next run to `at` (the back-off), before apalis records the
/// failure; apalis only picks failed jobs that are due.
pub async fn defer(db: &DatabaseConnection, id: &str, at: DateTime<Utc>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (sql, at): (&str, Value) = match backend {
        DatabaseBackend::Postgres => (
            "UPDATE apalis.jobs SET run_at = $1 WHERE id = $2",
            at.into(),
        ),
        // Whole seconds on SQLite: rounded up, so a back-off is never cut short.
        _ => (
            "UPDATE Jobs SET run_at = ? WHERE id = ?",
            (at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)).into(),
        ),
    };
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [at, id.to_owned().into()],
        ))
        .await?;
    if done.rows_affected() == 0 {
        tracing::warn!(id, "deferring a retry: no such job row");
    }
    Ok(())
}

/// A job row as `jobs` shows it.
#[derive(Clone, Debug, FromQueryResult)]
pub struct JobRow {
    pub id: String,
    pub queue: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Epoch seconds (both engines, converted in SQL).
    pub run_at: i64,
    pub done_at: Option<i64>,
    pub last_result: Option<String>,
    pub job: Vec<u8>,
}

impl JobRow {
    /// The registered job's name, from the stored envelope.
    pub fn name(&self) -> Option<String> {
        serde_json::from_slice::<Envelope>(&self.job)
            .ok()
            .map(|e| e.job)
    }

    /// `pending`, `running`, `retrying` (failed, attempts left), `failed`, `done` or `killed`.
    pub fn state(&self) -> &'static str {
        state_of(&self.status, self.attempts, self.max_attempts)
    }
}

/// The state `jobs` reports for an apalis status.
pub fn state_of(status: &str, attempts: i32, max_attempts: i32) -> &'static str {
    match status {
        "Pending" => "pending",
        "Queued" | "Running" => "running",
        "Failed" if attempts < max_attempts => "retrying",
        "Failed" => "failed",
        "Done" => "done",
        _ => "killed",
    }
}

fn select_rows(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "SELECT id, job_type AS queue, status, attempts, max_attempts, \
             CAST(date_part('epoch', run_at) AS BIGINT) AS run_at, \
             CAST(date_part('epoch', done_at) AS BIGINT) AS done_at, \
             CAST(last_result AS TEXT) AS last_result, job FROM apalis.jobs"
        }
        _ => {
            "SELECT id, job_type AS queue, status, attempts, max_attempts, run_at, done_at, \
             CAST(last_result AS TEXT) AS last_result, job FROM Jobs"
        }
    }
}

/// One job by id.
pub async fn find(db: &DatabaseConnection, id: &str) -> AppResult<Option<JobRow>> {
    let backend = db.get_database_backend();
    let p = if backend == DatabaseBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    Ok(JobRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!("{} WHERE id = {p}", select_rows(backend)),
        [id.to_owned().into()],
    ))
    .one(db)
    .await?)
}

/// The newest failed (and retrying) jobs, at most `limit`.
pub async fn failures(db: &DatabaseConnection, limit: u32) -> AppResult<Vec<JobRow>> {
    let backend = db.get_database_backend();
    Ok(JobRow::find_by_statement(Statement::from_string(
        backend,
        format!(
            "{} WHERE status IN ('Failed', 'Killed') ORDER BY done_at DESC, id DESC LIMIT {limit}",
            select_rows(backend)
        ),
    ))
    .all(db)
    .await?)
}

/// Jobs per queue and state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub pending: i64,
    pub running: i64,
    pub retrying: i64,
    pub failed: i64,
    pub done: i64,
    pub killed: i64,
    /// Seconds the oldest due pending job has waited.
    pub oldest_pending_s: Option<i64>,
}

#[derive(FromQueryResult)]
struct CountRow {
    queue: String,
    status: String,
    exhausted: bool,
    n: i64,
    oldest_run_at: Option<i64>,
}

/// Counts of every queue, in [`Queue::ALL`] order.
pub async fn counts(db: &DatabaseConnection) -> AppResult<Vec<(Queue, QueueCounts)>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT job_type AS queue, status, attempts >= max_attempts AS exhausted, \
             count(*) AS n, CAST(min(date_part('epoch', run_at)) AS BIGINT) AS oldest_run_at \
             FROM apalis.jobs GROUP BY 1, 2, 3"
        }
        _ => {
            "SELECT job_type AS queue, status, attempts >= max_attempts AS exhausted, \
             count(*) AS n, min(run_at) AS oldest_run_at FROM Jobs GROUP BY 1, 2, 3"
        }
    };
    let rows = CountRow::find_by_statement(Statement::from_string(backend, sql))
        .all(db)
        .await?;
    let now = Utc::now().timestamp();
    let mut out: Vec<(Queue, QueueCounts)> = Queue::ALL
        .into_iter()
        .map(|q| (q, QueueCounts::default()))
        .collect();
    for row in rows {
        let Some((_, c)) = out.iter_mut().find(|(q, _)| q.name() == row.queue) else {
            continue;
        };
        match state_of(&row.status, i32::from(row.exhausted), 1) {
            "pending" => {
                c.pending += row.n;
                c.oldest_pending_s = row.oldest_run_at.map(|t| (now - t).max(0));
            }
            "running" => c.running += row.n,
            "retrying" => c.retrying += row.n,
            "failed" => c.failed += row.n,
            "done" => c.done += row.n,
            _ => c.killed += row.n,
        }
    }
    Ok(out)
}

/// Puts a failed or killed job back in its queue with fresh attempts. Returns false when the
/// job is unknown; an error when it is not in a state to retry.
pub async fn retry(db: &DatabaseConnection, id: &str) -> AppResult<bool> {
    let Some(row) = find(db, id).await? else {
        return Ok(false);
    };
    if !matches!(row.state(), "failed" | "killed" | "retrying") {
        return Err(AppError::Conflict(format!(
            "job {id} is {}: only failed jobs can be retried",
            row.state()
        )));
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = NOW(), \
             lock_by = NULL, lock_at = NULL, done_at = NULL \
             WHERE id = $1 AND status IN ('Failed', 'Killed')"
        }
        _ => {
            "UPDATE Jobs SET status = 'Pending', attempts = 0, run_at = strftime('%s', 'now'), \
             lock_by = NULL, lock_at = NULL, done_at = NULL \
             WHERE id = ? AND status IN ('Failed', 'Killed')"
        }
    };
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [id.to_owned().into()],
        ))
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!(
            "job {id} changed state; try again"
        )));
    }
    Ok(true)
}

/// Deletes jobs done longer than `keep` ago, failed or killed ones after four times that,
/// and schedule runs older than `keep`. Returns the rows removed.
pub async fn prune(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    keep: chrono::Duration,
) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let done_before = now - keep;
    let failed_before = now - keep * 4;
    let (jobs_sql, runs_sql, a, b): (&str, &str, Value, Value) = match backend {
        DatabaseBackend::Postgres => (
            "DELETE FROM apalis.jobs WHERE (status = 'Done' AND done_at < $1) \
             OR (status IN ('Failed', 'Killed') AND attempts >= max_attempts AND done_at < $2)",
            "DELETE FROM schedule_runs WHERE slot < $1",
            done_before.into(),
            failed_before.into(),
        ),
        _ => (
            "DELETE FROM Jobs WHERE (status = 'Done' AND done_at < ?) \
             OR (status IN ('Failed', 'Killed') AND attempts >= max_attempts AND done_at < ?)",
            "DELETE FROM schedule_runs WHERE slot < ?",
            done_before.timestamp().into(),
            failed_before.timestamp().into(),
        ),
    };
    let jobs = db
        .execute_raw(Statement::from_sql_and_values(backend, jobs_sql, [a, b]))
        .await?
        .rows_affected();
    let runs = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            runs_sql,
            [done_before.into()],
        ))
        .await?
        .rows_affected();
    Ok(jobs + runs)
}
