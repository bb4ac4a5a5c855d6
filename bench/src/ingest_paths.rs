//! `ingest-paths`: the PostgreSQL write paths an ingest batch could take, measured side by
//! side on one connection — multi-row `VALUES` (chunked under the 65,535-parameter limit),
//! array `unnest` (one statement of four parameters, with and without `RETURNING`) and
//! binary `COPY` into a temporary table followed by `INSERT … SELECT … ON CONFLICT DO
//! NOTHING`. Every path is idempotent on `(sensor_id, ts)` like the server's. Prints one
//! markdown table (rows/s, batch p50/p95) for BENCHMARKS.md.
//!
//! `ingest-paths --database-url postgres://…/scratch [--seconds 8] [--batches 1000,5000]`
//! creates and drops its own table `ingest_paths_readings` in that database.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use hdrhistogram::Histogram;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

#[derive(Parser)]
struct Args {
    /// A PostgreSQL database to write a scratch table into.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Seconds per path and batch size.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Batch sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 5_000])]
    batches: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Values,
    Unnest,
    UnnestReturning,
    Copy,
}

impl Path {
    const ALL: [Path; 4] = [
        Path::Values,
        Path::Unnest,
        Path::UnnestReturning,
        Path::Copy,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Values => "multi-row VALUES (1,000 rows per statement)",
            Self::Unnest => "unnest of 4 arrays",
            Self::UnnestReturning => "unnest + RETURNING (the server's path)",
            Self::Copy => "binary COPY → temp table → INSERT … SELECT",
        }
    }
}

struct Reading {
    sensor_id: i64,
    ts: DateTime<Utc>,
    value: f64,
    quality: i16,
}

const TABLE: &str = "ingest_paths_readings";
const SENSORS: i64 = 2_400;

/// Batch `n` of `size` rows: consecutive seconds across the plant's sensors, never repeating.
fn batch(n: u64, size: usize) -> Vec<Reading> {
    let base = Utc
        .timestamp_opt(1_780_000_000, 0)
        .single()
        .unwrap_or_default();
    (0..size)
        .map(|i| {
            let k = n as i64 * size as i64 + i as i64;
            Reading {
                sensor_id: 1 + k % SENSORS,
                ts: base + chrono::Duration::seconds(k / SENSORS),
                value: (k as f64).sin() * 50.0 + 50.0,
                quality: 192,
            }
        })
        .collect()
}

async fn write_values(conn: &mut PgConnection, rows: &[Reading]) -> Result<()> {
    let mut tx = conn.begin().await?;
    for chunk in rows.chunks(1_000) {
        let mut sql = format!("INSERT INTO {TABLE} (sensor_id, ts, value, quality) VALUES ");
        for i in 0..chunk.len() {
            let p = i * 4;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
        }
        sql.push_str(" ON CONFLICT (sensor_id, ts) DO NOTHING");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            query = query
                .bind(r.sensor_id)
                .bind(r.ts)
                .bind(r.value)
                .bind(r.quality);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_unnest(conn: &mut PgConnection, rows: &[Reading], returning: bool) -> Result<()> {
    let sql = format!(
        "INSERT INTO {TABLE} (sensor_id, ts, value, quality) SELECT * FROM \
         unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::int2[]) \
         ON CONFLICT (sensor_id, ts) DO NOTHING{}",
        if returning {
            " RETURNING sensor_id, ts"
        } else {
            ""
        }
    );
    let mut tx = conn.begin().await?;
    let query = sqlx::query(AssertSqlSafe(sql))
        .bind(rows.iter().map(|r| r.sensor_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.ts).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.value).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.quality).collect::<Vec<_>>());
    if returning {
        query.fetch_all(&mut *tx).await?;
    } else {
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// PostgreSQL's binary COPY format: header, one tuple per row, trailer.
fn copy_binary(rows: &[Reading]) -> Vec<u8> {
    let pg_epoch = Utc
        .timestamp_opt(946_684_800, 0)
        .single()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(19 + rows.len() * 46 + 2);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    for r in rows {
        out.extend_from_slice(&4i16.to_be_bytes());
        out.extend_from_slice(&8i32.to_be_bytes());
        out.extend_from_slice(&r.sensor_id.to_be_bytes());
        out.extend_from_slice(&8i32.to_be_bytes());
        let micros = (r.ts - pg_epoch).num_microseconds().unwrap_or_default();
        out.extend_from_slice(&micros.to_be_bytes());
        out.extend_from_slice(&8i32.to_be_bytes());
        out.extend_from_slice(&r.value.to_be_bytes());
        out.extend_from_slice(&2i32.to_be_bytes());
        out.extend_from_slice(&r.quality.to_be_bytes());
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

async fn write_copy(conn: &mut PgConnection, rows: &[Reading]) -> Result<()> {
    let data = copy_binary(rows);
    let mut tx = conn.begin().await?;
    let mut copy = tx
        .copy_in_raw("COPY ingest_paths_stage FROM STDIN (FORMAT binary)")
        .await?;
    copy.send(data).await?;
    copy.finish().await?;
    tx.execute(AssertSqlSafe(format!(
        "INSERT INTO {TABLE} (sensor_id, ts, value, quality) SELECT sensor_id, ts, value, \
             quality FROM ingest_paths_stage ON CONFLICT (sensor_id, ts) DO NOTHING"
    )))
    .await?;
    tx.commit().await?;
    Ok(())
}

struct Outcome {
    rows_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
}

async fn measure(
    conn: &mut PgConnection,
    path: Path,
    size: usize,
    seconds: u64,
) -> Result<Outcome> {
    conn.execute(AssertSqlSafe(format!("TRUNCATE {TABLE}")))
        .await?;
    let mut histogram = Histogram::<u64>::new(3)?;
    let mut rows = 0u64;
    let mut n = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        let data = batch(n, size);
        n += 1;
        let t = Instant::now();
        match path {
            Path::Values => write_values(conn, &data).await?,
            Path::Unnest => write_unnest(conn, &data, false).await?,
            Path::UnnestReturning => write_unnest(conn, &data, true).await?,
            Path::Copy => write_copy(conn, &data).await?,
        }
        histogram.record(t.elapsed().as_micros() as u64)?;
        rows += size as u64;
    }
    Ok(Outcome {
        rows_per_s: rows as f64 / started.elapsed().as_secs_f64(),
        p50_ms: histogram.value_at_quantile(0.5) as f64 / 1_000.0,
        p95_ms: histogram.value_at_quantile(0.95) as f64 / 1_000.0,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut conn = PgConnection::connect(&args.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    conn.execute(AssertSqlSafe(format!("DROP TABLE IF EXISTS {TABLE}")))
        .await?;
    conn.execute(AssertSqlSafe(format!(
        "CREATE TABLE {TABLE} (sensor_id bigint NOT NULL, ts timestamptz NOT NULL, \
             value double precision NOT NULL, quality smallint NOT NULL, \
             PRIMARY KEY (sensor_id, ts))"
    )))
    .await?;
    conn.execute(
        "CREATE TEMP TABLE ingest_paths_stage (sensor_id bigint, ts timestamptz, \
         value double precision, quality smallint) ON COMMIT DELETE ROWS",
    )
    .await?;
    println!("| path | batch | rows/s | batch p50 ms | batch p95 ms |");
    println!("|---|---:|---:|---:|---:|");
    for &size in &args.batches {
        for path in Path::ALL {
            eprintln!("{} at {size} rows ...", path.name());
            let o = measure(&mut conn, path, size, args.seconds).await?;
            println!(
                "| {} | {size} | {:.0} | {:.1} | {:.1} |",
                path.name(),
                o.rows_per_s,
                o.p50_ms,
                o.p95_ms
            );
        }
    }
    conn.execute(AssertSqlSafe(format!("DROP TABLE {TABLE}")))
        .await?;
    Ok(())
}
