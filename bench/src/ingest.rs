//! The `ingest` and `ingest-http` scenarios: line gateways pushing readings as fast as the
//! server stores them — `ingestReadings` in batches of 1,000 (`ingest`) or `POST /ingest` in
//! batches of 5,000 (`ingest-http`) — with 10 % of the values past a sensor's `hi`
//! threshold, so alarms raise and clear under load and events go out for every batch.
//! Each writer is one gateway with its own share of the sensors (as line gateways are);
//! every reading is new (distinct `(sensor, ts)` across the run), stamped within the last
//! few hours. While the gateways push, one reader runs `point` with its own connections,
//! so the table shows what ingest costs the dashboards.
//!
//! Reports readings/s, batches/s and batch latency (p50/p95/p99) for the writers, and
//! req/s and latency for the concurrent `point` reads.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::load::{self, LoadConfig, Target};
use crate::report::{Row, RowResult};

/// Which door the readings come through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// `ingestReadings`, 1,000 per call.
    GraphQl,
    /// `POST /ingest`, 5,000 per call.
    Http,
}

impl Door {
    pub fn batch(self) -> usize {
        match self {
            Self::GraphQl => 1_000,
            Self::Http => 5_000,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::GraphQl => "ingest",
            Self::Http => "ingest-http",
        }
    }
}

/// Concurrent gateways pushing batches.
pub const WRITERS: usize = 4;
/// Connections of the concurrent `point` reader.
pub const READERS: usize = 4;
/// Share of readings past their sensor's `hi`.
const CROSSING_SHARE: u64 = 10;

/// A sensor and the values that keep it inside or push it past its `hi`.
#[derive(Clone, Debug)]
pub struct Sensor {
    id: i64,
    inside: f64,
    outside: f64,
}

const SENSORS_PAGE: &str = "query($after: String) { sensors(first: 500, after: $after) { \
     pageInfo { hasNextPage endCursor } edges { node { id lo hi active } } } }";

/// Every active sensor, paged.
pub async fn sensors(client: &reqwest::Client, graphql_url: &str) -> Result<Vec<Sensor>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = json!({ "query": SENSORS_PAGE, "variables": { "after": after } });
        let page: Value = client
            .post(graphql_url)
            .json(&body)
            .send()
            .await
            .context("listing sensors")?
            .json()
            .await
            .context("sensor list JSON")?;
        crate::scenarios::check_graphql_ok(&page)?;
        let connection = &page["data"]["sensors"];
        for edge in connection["edges"].as_array().into_iter().flatten() {
            let node = &edge["node"];
            if node["active"] != true {
                continue;
            }
            let id: i64 = node["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .context("sensor id")?;
            let hi = node["hi"].as_f64().unwrap_or(100.0);
            let lo = node["lo"].as_f64().unwrap_or(0.0);
            out.push(Sensor {
                id,
                inside: (lo + hi) / 2.0,
                outside: hi + (hi - lo).abs().max(1.0) * 0.05,
            });
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    if out.is_empty() {
        bail!("no active sensors (is the database seeded?)");
    }
    Ok(out)
}

/// Batch `n` of the run as the JSON array of readings: consecutive milliseconds per sensor
/// from `start`, so no two readings of a run share `(sensor, ts)`; one value in ten, scattered,
/// past `hi`. Written straight into a string: the load generator shares the server's two cores,
/// so it must not spend them building JSON trees.
fn readings(sensors: &[Sensor], start: DateTime<Utc>, n: u64, size: usize) -> String {
    let count = sensors.len() as u64;
    let mut out = String::with_capacity(size * 80 + 2);
    out.push('[');
    for i in 0..size as u64 {
        let k = n * size as u64 + i;
        let sensor = &sensors[(k % count) as usize];
        let ts = start + chrono::Duration::milliseconds((k / count) as i64);
        // Scattered, not every tenth sensor: each sensor crosses now and then, so alarms
        // raise, recur and clear all through the run.
        let value = if k
            .wrapping_mul(2_654_435_761)
            .rotate_right(7)
            .is_multiple_of(CROSSING_SHARE)
        {
            sensor.outside
        } else {
            sensor.inside
        };
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"sensorId":"{}","ts":"{}","value":{value}}}"#,
            sensor.id,
            ts.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        );
    }
    out.push(']');
    out
}

const INGEST_MUTATION: &str = "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) \
     { accepted inserted rejected { index code message } } }";

fn request(
    client: &reqwest::Client,
    base: &str,
    door: Door,
    rows: String,
) -> reqwest::RequestBuilder {
    let (url, body) = match door {
        Door::GraphQl => (
            format!("{base}/graphql"),
            format!(
                r#"{{"query":{},"variables":{{"i":{{"readings":{rows}}}}}}}"#,
                Value::String(INGEST_MUTATION.to_owned())
            ),
        ),
        Door::Http => (format!("{base}/ingest"), rows),
    };
    client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
}

/// Sends one batch; `Ok(inserted)` only when every row was accepted.
async fn send(client: &reqwest::Client, base: &str, door: Door, rows: String) -> Result<u64> {
    let expected = door.batch() as u64;
    let response = request(client, base, door, rows).send().await?;
    let status = response.status();
    let body: Value = response.json().await.context("ingest answer JSON")?;
    let payload = match door {
        Door::GraphQl => {
            crate::scenarios::check_graphql_ok(&body)?;
            body["data"]["ingestReadings"].clone()
        }
        Door::Http => body,
    };
    if !status.is_success() {
        bail!("HTTP {status}: {payload}");
    }
    let accepted = payload["accepted"].as_u64().unwrap_or(0);
    if accepted != expected {
        bail!("{accepted} of {expected} accepted: {}", payload["rejected"]);
    }
    Ok(payload["inserted"].as_u64().unwrap_or(0))
}

struct WriterStats {
    latency: Histogram<u64>,
    readings: u64,
    inserted: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the writers and, alongside, the `point` reader; returns the rows and a table.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    door: Door,
    sensors: Vec<Sensor>,
    point: Arc<Target>,
    cfg: LoadConfig,
) -> Result<(Vec<Row>, String)> {
    // Far enough back that a whole run's milliseconds per sensor stay in the past.
    let start = Utc::now() - chrono::Duration::hours(6);
    // One batch first, as the validation of the door (an hour before the run's times).
    let first = readings(
        &sensors,
        start - chrono::Duration::hours(1),
        0,
        door.batch(),
    );
    send(client, base, door, first)
        .await
        .with_context(|| format!("{}: the first batch failed", door.name()))?;
    // Each writer is one line's gateway: its own sensors, as in a plant.
    let shares: Vec<Arc<Vec<Sensor>>> = (0..WRITERS)
        .map(|w| {
            Arc::new(
                sensors
                    .iter()
                    .skip(w)
                    .step_by(WRITERS)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        })
        .collect();

    let measure_from = Instant::now() + cfg.warmup;
    let end = measure_from + cfg.duration;
    let mut writers = tokio::task::JoinSet::new();
    for share in shares {
        let (client, base, sensors) = (client.clone(), base.to_owned(), share);
        let next = AtomicU64::new(0);
        writers.spawn(async move {
            let mut stats = WriterStats {
                latency: Histogram::new(3)?,
                readings: 0,
                inserted: 0,
                errors: 0,
                first_error: None,
            };
            while Instant::now() < end {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let rows = readings(&sensors, start, n, door.batch());
                let sent = Instant::now();
                let outcome = send(&client, &base, door, rows).await;
                let done = Instant::now();
                if done < measure_from || done > end {
                    continue;
                }
                match outcome {
                    Ok(inserted) => {
                        stats
                            .latency
                            .record(done.duration_since(sent).as_micros() as u64)?;
                        stats.readings += door.batch() as u64;
                        stats.inserted += inserted;
                    }
                    Err(e) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            anyhow::Ok(stats)
        });
    }
    let reader_cfg = LoadConfig {
        connections: READERS,
        ..cfg
    };
    let reads = load::run(client, point, reader_cfg).await?;
    let mut latency = Histogram::<u64>::new(3)?;
    let (mut total, mut inserted, mut errors, mut first_error) = (0u64, 0u64, 0u64, None);
    while let Some(joined) = writers.join_next().await {
        let stats = joined.context("writer panicked")??;
        latency.add(&stats.latency)?;
        total += stats.readings;
        inserted += stats.inserted;
        errors += stats.errors;
        if first_error.is_none() {
            first_error = stats.first_error;
        }
    }
    let secs = cfg.duration.as_secs_f64();
    let mut table = String::new();
    writeln!(
        table,
        "\n### {} ({} writers × {} readings per batch, {} % past `hi`; `point` with {} \
         connections alongside)\n",
        door.name(),
        WRITERS,
        door.batch(),
        CROSSING_SHARE,
        READERS
    )?;
    writeln!(
        table,
        "| | per second | p50 ms | p95 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|"
    )?;
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1_000.0;
    writeln!(
        table,
        "| readings stored ({} batches) | {:.0} | {:.1} | {:.1} | {:.1} | {errors} |",
        latency.len(),
        total as f64 / secs,
        ms(&latency, 0.5),
        ms(&latency, 0.95),
        ms(&latency, 0.99),
    )?;
    let read_summary = load::summarize(&reads, cfg.duration);
    let [p50, p95, p99] = read_summary.percentiles_ms.unwrap_or_default();
    writeln!(
        table,
        "| `point` reads during ingest | {:.0} | {p50:.1} | {p95:.1} | {p99:.1} | {} |",
        read_summary.req_per_s, read_summary.errors
    )?;
    if inserted != total {
        writeln!(
            table,
            "\n{inserted} of {total} readings were new (expected all)."
        )?;
    }
    if let Some(e) = first_error {
        writeln!(table, "\nfirst writer error: {e}")?;
    }
    let batches = Row {
        scenario: format!("{} (batches of {})", door.name(), door.batch()),
        result: if errors == 0 && total > 0 {
            RowResult::Measured(load::Summary {
                req_per_s: latency.len() as f64 / secs,
                percentiles_ms: Some([ms(&latency, 0.5), ms(&latency, 0.95), ms(&latency, 0.99)]),
                errors,
                sql_median: None,
                first_error: None,
            })
        } else {
            RowResult::Failed(format!("{errors} failed batches"))
        },
        rss_kb: None,
    };
    let point = Row {
        scenario: format!("point during {}", door.name()),
        result: RowResult::Measured(read_summary),
        rss_kb: None,
    };
    let rows = vec![batches, point];
    Ok((rows, table))
}
