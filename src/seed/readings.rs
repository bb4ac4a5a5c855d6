//! Raw readings for the seeded history, and each sensor's latest value.

use chrono::{DateTime, Duration, DurationRound, Utc};
use entity::sensor;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, Statement, TransactionTrait,
};

use super::Shape;
use crate::{
    error::AppError,
    service::telemetry::{NewReading, write_readings},
};

/// Seeded history is kept at 10 s resolution (as in the tier table of the domain reference);
/// faster sensors sample at their own rate from then on, through the simulator or ingest.
const HISTORY_STEP_MS: i32 = 10_000;

/// A plausible value: a slow wave around the middle of the normal band, with noise.
pub fn synthetic_value(sensor: &sensor::Model, ts: DateTime<Utc>, noise: f64) -> f64 {
    let lo = sensor.lo.unwrap_or(0.0);
    let hi = sensor.hi.unwrap_or(100.0);
    let t = ts.timestamp() as f64;
    (lo + hi) / 2.0
        + (hi - lo) / 4.0 * (t / 600.0 + sensor.id as f64).sin()
        + noise * (hi - lo) / 20.0
}

/// Writes `shape.history_hours` of readings ending now; returns how many.
pub async fn create(
    db: &DatabaseConnection,
    shape: &Shape,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let end = now.duration_trunc(Duration::minutes(1))?;
    let start = end - Duration::hours(shape.history_hours);
    match db.get_database_backend() {
        DatabaseBackend::Postgres => in_postgres(db, start, end).await,
        _ => in_process(db, start, end).await,
    }
}

/// Generates the rows inside PostgreSQL, one workshop per statement, two at a time.
async fn in_postgres(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let days = u32::try_from((end - start).num_days() + 2).unwrap_or(2);
    migration::create_reading_partitions(db, start.date_naive(), days).await?;
    let workshops: Vec<i64> = entity::workshop::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    let insert = "INSERT INTO sensor_readings (sensor_id, ts, value, quality) \
        SELECT s.id, g.ts, \
          (coalesce(s.lo, 0) + coalesce(s.hi, 100)) / 2 \
          + (coalesce(s.hi, 100) - coalesce(s.lo, 0)) / 4 * sin(extract(epoch from g.ts) / 600.0 + s.id) \
          + (random() - 0.5) * (coalesce(s.hi, 100) - coalesce(s.lo, 0)) / 10, \
          192 \
        FROM sensors s CROSS JOIN LATERAL generate_series($1::timestamptz, $2::timestamptz, \
          make_interval(secs => greatest(s.sample_interval_ms, $4) / 1000.0)) AS g(ts) \
        WHERE s.workshop_id = $3";
    let mut total = 0;
    let work = workshops.iter().map(|&workshop_id| async move {
        let txn = db.begin().await?;
        // Seed data can be regenerated: trade durability for speed in this transaction only.
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
        let result = txn
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                insert,
                [
                    start.into(),
                    end.into(),
                    workshop_id.into(),
                    HISTORY_STEP_MS.into(),
                ],
            ))
            .await?;
        txn.commit().await?;
        anyhow::Ok(result.rows_affected())
    });
    let mut pending = futures::stream::iter(work).buffer_unordered(2);
    use futures::StreamExt as _;
    while let Some(rows) = pending.next().await {
        total += rows?;
    }
    db.execute_unprepared(
        "INSERT INTO sensor_latest (sensor_id, ts, value, quality) \
         SELECT s.id, r.ts, r.value, r.quality FROM sensors s \
         CROSS JOIN LATERAL (SELECT ts, value, quality FROM sensor_readings \
           WHERE sensor_id = s.id ORDER BY ts DESC LIMIT 1) r \
         ON CONFLICT (sensor_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, \
           quality = excluded.quality WHERE excluded.ts > sensor_latest.ts",
    )
    .await?;
    db.execute_unprepared("ANALYZE sensor_readings").await?;
    db.execute_unprepared("ANALYZE sensor_latest").await?;
    Ok(total)
}

/// Generates the rows here and writes them in multi-row batches (SQLite).
async fn in_process(
    db: &DatabaseConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let sensors = sensor::Entity::find().all(db).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let mut batch = Vec::with_capacity(50_000);
    let mut total = 0;
    for s in &sensors {
        let step = Duration::milliseconds(i64::from(s.sample_interval_ms.max(HISTORY_STEP_MS)));
        let mut ts = start;
        while ts <= end {
            let noise = rng.random_range(-1.0..1.0);
            batch.push(NewReading {
                sensor_id: s.id,
                ts,
                value: synthetic_value(s, ts, noise),
                quality: 192,
            });
            ts += step;
        }
        if batch.len() >= 40_000 {
            total += write_readings(db, &batch)
                .await
                .map_err(AppError::into_anyhow)?;
            batch.clear();
        }
    }
    total += write_readings(db, &batch)
        .await
        .map_err(AppError::into_anyhow)?;
    Ok(total)
}
