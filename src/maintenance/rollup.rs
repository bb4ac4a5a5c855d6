//! Rollups of raw readings into `readings_1m`, and of those into `readings_1h`.
//!
//! Each run rolls the closed buckets from its watermark to now, starting a late window
//! before the watermark so readings that arrived late (a gateway's replayed buffer) are
//! re-rolled: every bucket is recomputed whole from its source and upserted, so a run is
//! idempotent and a repeated or overlapping run changes nothing. Readings later than the
//! late window are not rolled (documented in `docs/operations.md`). The first run starts at
//! the raw retention horizon. Work goes in chunks (bounded statements, bounded memory).

use chrono::{DateTime, Duration, DurationRound as _, TimeZone as _, Utc};
use entity::rollup_watermark;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, Set, Statement,
    sea_query::OnConflict,
};

use crate::error::AppResult;

/// Which rollup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Raw readings → one-minute buckets.
    Minute,
    /// One-minute buckets → one-hour buckets.
    Hour,
}

impl Level {
    /// The bucket width.
    pub fn width(self) -> Duration {
        match self {
            Self::Minute => Duration::minutes(1),
            Self::Hour => Duration::hours(1),
        }
    }

    /// The watermark's name and the target table.
    fn name(self) -> &'static str {
        match self {
            Self::Minute => "readings_1m",
            Self::Hour => "readings_1h",
        }
    }

    /// How much one statement rolls at most.
    fn chunk(self) -> Duration {
        match self {
            Self::Minute => Duration::hours(1),
            Self::Hour => Duration::days(1),
        }
    }
}

/// What a rollup run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRun {
    /// The range rolled, `[from, to)`; empty when there was nothing closed to roll.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Buckets written (inserted or recomputed).
    pub buckets: u64,
}

/// The rollup's watermark: the exclusive end of what it has rolled.
pub async fn watermark(
    db: &impl ConnectionTrait,
    level: Level,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(
        rollup_watermark::Entity::find_by_id(level.name().to_owned())
            .one(db)
            .await?
            .map(|w| w.watermark),
    )
}

/// Rolls `level` up to the last closed bucket before `now`.
///
/// `late` is how far before the watermark a run starts again; `horizon` is where the first
/// run starts (the raw retention).
pub async fn run(
    db: &DatabaseConnection,
    level: Level,
    now: DateTime<Utc>,
    late: Duration,
    horizon: Duration,
) -> AppResult<RollupRun> {
    let width = level.width();
    // Only closed buckets: the hour rollup also waits for the minutes it reads.
    let mut end = now.duration_trunc(width).unwrap_or(now);
    if level == Level::Hour {
        let minutes = watermark(db, Level::Minute).await?.unwrap_or(end);
        end = end.min(minutes.duration_trunc(width).unwrap_or(minutes));
    }
    let start = match watermark(db, level).await? {
        Some(w) => w - late,
        None => now - horizon,
    };
    let start = start.duration_trunc(width).unwrap_or(start);
    let mut buckets = 0;
    let mut from = start;
    while from < end {
        let to = (from + level.chunk()).min(end);
        buckets += roll(db, level, from, to).await?;
        from = to;
    }
    if start < end {
        let row = rollup_watermark::ActiveModel {
            name: Set(level.name().to_owned()),
            watermark: Set(end),
            updated_at: Set(Utc::now()),
        };
        rollup_watermark::Entity::insert(row)
            .on_conflict(
                OnConflict::column(rollup_watermark::Column::Name)
                    .update_columns([
                        rollup_watermark::Column::Watermark,
                        rollup_watermark::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(db)
            .await?;
    }
    Ok(RollupRun {
        from: start,
        to: end.max(start),
        buckets,
    })
}

/// Recomputes the buckets of `[from, to)` whole from their source, in one statement.
async fn roll(
    db: &DatabaseConnection,
    level: Level,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let sql = match (backend, level) {
        (DatabaseBackend::Postgres, Level::Minute) => {
            "INSERT INTO readings_1m (sensor_id, bucket, min, max, avg, last, count) \
             SELECT sensor_id, to_timestamp(floor(date_part('epoch', ts) / 60) * 60), \
             min(value), max(value), avg(value), (array_agg(value ORDER BY ts DESC))[1], count(*) \
             FROM sensor_readings WHERE ts >= $1 AND ts < $2 GROUP BY 1, 2 \
             ON CONFLICT (sensor_id, bucket) DO UPDATE SET min = EXCLUDED.min, \
             max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count"
        }
        (DatabaseBackend::Postgres, Level::Hour) => {
            "INSERT INTO readings_1h (sensor_id, bucket, min, max, avg, last, count) \
             SELECT sensor_id, to_timestamp(floor(date_part('epoch', bucket) / 3600) * 3600), \
             min(min), max(max), sum(avg * count) / sum(count), \
             (array_agg(last ORDER BY bucket DESC))[1], sum(count) \
             FROM readings_1m WHERE bucket >= $1 AND bucket < $2 GROUP BY 1, 2 \
             ON CONFLICT (sensor_id, bucket) DO UPDATE SET min = EXCLUDED.min, \
             max = EXCLUDED.max, avg = EXCLUDED.avg, last = EXCLUDED.last, count = EXCLUDED.count"
        }
        // SQLite keeps timestamps as RFC 3339 text; buckets are written in the same shape.
        (_, Level::Minute) => {
            "INSERT INTO readings_1m (sensor_id, bucket, min, max, avg, last, count) \
             SELECT sensor_id, strftime('%Y-%m-%dT%H:%M:%S+00:00', b * 60, 'unixepoch'), \
             min(value), max(value), avg(value), max(CASE WHEN rn = 1 THEN value END), count(*) \
             FROM (SELECT sensor_id, CAST(strftime('%s', ts) AS INTEGER) / 60 AS b, value, \
             row_number() OVER (PARTITION BY sensor_id, CAST(strftime('%s', ts) AS INTEGER) / 60 \
             ORDER BY ts DESC) AS rn FROM sensor_readings WHERE ts >= ?1 AND ts < ?2) t \
             WHERE true GROUP BY sensor_id, b \
             ON CONFLICT (sensor_id, bucket) DO UPDATE SET min = excluded.min, \
             max = excluded.max, avg = excluded.avg, last = excluded.last, count = excluded.count"
        }
        (_, Level::Hour) => {
            "INSERT INTO readings_1h (sensor_id, bucket, min, max, avg, last, count) \
             SELECT sensor_id, strftime('%Y-%m-%dT%H:%M:%S+00:00', b * 3600, 'unixepoch'), \
             min(min), max(max), sum(avg * count) / sum(count), \
             max(CASE WHEN rn = 1 THEN last END), sum(count) \
             FROM (SELECT sensor_id, CAST(strftime('%s', bucket) AS INTEGER) / 3600 AS b, \
             min, max, avg, last, count, row_number() OVER (PARTITION BY sensor_id, \
             CAST(strftime('%s', bucket) AS INTEGER) / 3600 ORDER BY bucket DESC) AS rn \
             FROM readings_1m WHERE bucket >= ?1 AND bucket < ?2) t \
             WHERE true GROUP BY sensor_id, b \
             ON CONFLICT (sensor_id, bucket) DO UPDATE SET min = excluded.min, \
             max = excluded.max, avg = excluded.avg, last = excluded.last, count = excluded.count"
        }
    };
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [from.into(), to.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// The start of the bucket `t` falls in.
pub fn bucket_of(t: DateTime<Utc>, level: Level) -> DateTime<Utc> {
    let w = level.width().num_seconds();
    Utc.timestamp_opt(t.timestamp().div_euclid(w) * w, 0)
        .single()
        .unwrap_or(t)
}
