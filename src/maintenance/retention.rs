//! Retention: raw readings, rollups and metric snapshots older than their keep periods go.
//!
//! On PostgreSQL whole daily partitions of `sensor_readings` are dropped (no dead tuples, no
//! vacuum debt); what lies in the default partition, and everything on SQLite, is deleted in
//! batches so no statement holds the write lock for long. Raw readings are never removed
//! before the one-minute rollup has covered them.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, FromQueryResult, Statement};

use super::rollup::{Level, watermark};
use crate::{config::RetentionConfig, error::AppResult};

/// Rows per delete statement.
const BATCH: u32 = 5_000;

/// What a retention run removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionRun {
    /// Raw readings removed by deletes (dropped partitions not counted row by row).
    pub raw_rows: u64,
    /// Daily partitions dropped (PostgreSQL).
    pub partitions_dropped: u64,
    pub rollup_1m_rows: u64,
    pub rollup_1h_rows: u64,
    pub snapshot_rows: u64,
    /// Where raw retention cut.
    pub raw_cutoff: Option<DateTime<Utc>>,
}

impl RetentionRun {
    /// Every row removed (partitions aside).
    pub fn rows(&self) -> u64 {
        self.raw_rows + self.rollup_1m_rows + self.rollup_1h_rows + self.snapshot_rows
    }
}

/// Applies every keep period of `config` as of `now`.
pub async fn run(
    db: &DatabaseConnection,
    config: &RetentionConfig,
    now: DateTime<Utc>,
) -> AppResult<RetentionRun> {
    let mut cutoff = now - config.raw;
    if let Some(rolled) = watermark(db, Level::Minute).await? {
        cutoff = cutoff.min(rolled);
    }
    let mut run = RetentionRun {
        raw_cutoff: Some(cutoff),
        ..RetentionRun::default()
    };
    if db.get_database_backend() == DatabaseBackend::Postgres {
        run.partitions_dropped = drop_partitions(db, cutoff).await?;
        run.raw_rows = delete_before(db, "sensor_readings_default", "ts", cutoff).await?;
    } else {
        run.raw_rows = delete_before(db, "sensor_readings", "ts", cutoff).await?;
    }
    run.rollup_1m_rows = delete_before(db, "readings_1m", "bucket", now - config.rollup_1m).await?;
    run.rollup_1h_rows = delete_before(db, "readings_1h", "bucket", now - config.rollup_1h).await?;
    run.snapshot_rows =
        delete_before(db, "metric_snapshots", "ts", now - config.metric_snapshots).await?;
    Ok(run)
}

#[derive(FromQueryResult)]
struct Partition {
    name: String,
}

/// Drops the daily partitions that end at or before `cutoff`.
async fn drop_partitions(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let partitions = Partition::find_by_statement(Statement::from_string(
        backend,
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sensor_readings' \
         AND c.relname LIKE 'sensor_readings_p%'",
    ))
    .all(db)
    .await?;
    let mut dropped = 0;
    for Partition { name } in partitions {
        let Some(day) = name
            .strip_prefix("sensor_readings_p")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        else {
            continue;
        };
        let Some(end) = day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)) else {
            continue;
        };
        if end.and_utc() <= cutoff {
            // The name came from the catalogue and matched `sensor_readings_pYYYYMMDD`.
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {name}"))
                .await?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

/// Deletes the rows of `table` whose `column` is before `cutoff`, a batch at a time.
async fn delete_before(
    db: &DatabaseConnection,
    table: &'static str,
    column: &'static str,
    cutoff: DateTime<Utc>,
) -> AppResult<u64> {
    let backend = db.get_database_backend();
    // Table and column names are constants of this module; the cutoff is bound.
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} \
             WHERE {column} < $1 LIMIT {BATCH})"
        ),
        _ if table == "metric_snapshots" => format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} \
             WHERE {column} < ?1 LIMIT {BATCH})"
        ),
        _ => format!(
            "DELETE FROM {table} WHERE (sensor_id, {column}) IN (SELECT sensor_id, {column} \
             FROM {table} WHERE {column} < ?1 LIMIT {BATCH})"
        ),
    };
    let mut total = 0;
    loop {
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                &sql,
                [cutoff.into()],
            ))
            .await?
            .rows_affected();
        total += done;
        if done < u64::from(BATCH) {
            return Ok(total);
        }
    }
}
