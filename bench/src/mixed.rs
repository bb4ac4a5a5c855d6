//! The `line-mixed` scenario: one line read under a 90/10 read/write mix, where every tenth
//! request is a threshold update (`updateSensor`, a new `hi`) of one of that line's sensors.
//! The read is the line's machines and their sensors' thresholds (no latest readings and no
//! alarms, so its whole response may be cached and every change to it is a write).
//!
//! No stale data: each write sets a `hi` larger than any before it on that sensor; a read
//! must show, for every sensor, at least the `hi` of the last write acknowledged before the
//! read was sent. The response cache's hit ratio comes from `cacheStats` before and after
//! the measured window (`response` kind: L1 and L2 hits over lookups).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::load::{self, LoadConfig, Stats};
use crate::report::{Row, RowResult};

const READ: &str = "query LineMixed($id: ID!) { lineById(id: $id) { id equipment { id \
    sensors { id hi } } } }";

const WRITE: &str =
    "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { sensor { id } } }";

const STATS: &str = "{ cacheStats { kinds { kind l1 { hits misses } l2 { hits } } } }";

/// Every `WRITE_EVERY`th request writes.
const WRITE_EVERY: u64 = 10;

/// What the run shares: the sensors and the last acknowledged `hi` of each.
struct Shared {
    url: String,
    line: String,
    sensors: Vec<i64>,
    acked: HashMap<i64, AtomicU64>,
    next_value: AtomicU64,
    requests: AtomicU64,
}

/// Counts of one worker.
struct Counts {
    reads: Stats,
    writes: Stats,
    stale: u64,
    checked: u64,
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<(Value, Option<u64>)> {
    let response = client.post(url).json(body).send().await?;
    let sql = response
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body: Value = response.json().await?;
    if body.get("errors").is_some() {
        bail!("errors: {body}");
    }
    Ok((body, sql))
}

/// The response kind's (hits, lookups).
async fn response_lookups(client: &reqwest::Client, url: &str) -> Result<(f64, f64)> {
    let (body, _) = post(client, url, &json!({ "query": STATS })).await?;
    let kinds = body["data"]["cacheStats"]["kinds"]
        .as_array()
        .context("cacheStats kinds (the bench runs as the development admin)")?;
    let row = kinds
        .iter()
        .find(|k| k["kind"] == "response")
        .context("no `response` kind: a server without the response cache")?;
    let n = |v: &Value| v.as_f64().unwrap_or(0.0);
    let l1_hits = n(&row["l1"]["hits"]);
    let l2_hits = n(&row["l2"]["hits"]);
    Ok((l1_hits + l2_hits, l1_hits + n(&row["l1"]["misses"])))
}

/// Every sensor's `hi` in a read.
fn thresholds(body: &Value) -> HashMap<i64, f64> {
    body["data"]["lineById"]["equipment"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["sensors"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| {
            let id = s["id"].as_str()?.parse().ok()?;
            Some((id, s["hi"].as_f64().unwrap_or(f64::MIN)))
        })
        .collect()
}

async fn worker(
    client: reqwest::Client,
    shared: Arc<Shared>,
    measure_from: Instant,
    end: Instant,
) -> Result<Counts> {
    let mut counts = Counts {
        reads: Stats::new()?,
        writes: Stats::new()?,
        stale: 0,
        checked: 0,
    };
    while Instant::now() < end {
        let n = shared.requests.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let measured = |done: Instant| done >= measure_from && done <= end;
        if n % WRITE_EVERY == WRITE_EVERY - 1 {
            let sensor = shared.sensors[(n / WRITE_EVERY) as usize % shared.sensors.len()];
            let value = shared.next_value.fetch_add(1, Ordering::Relaxed);
            let hi = value as f64;
            let body = json!({ "query": WRITE, "variables": { "i": { "id": sensor.to_string(),
                "thresholds": { "hi": hi, "hiHi": hi + 1.0 } } } });
            let outcome = post(&client, &shared.url, &body).await;
            let done = Instant::now();
            match outcome {
                Ok((_, sql)) => {
                    if let Some(acked) = shared.acked.get(&sensor) {
                        acked.fetch_max(value, Ordering::AcqRel);
                    }
                    if measured(done) {
                        counts.writes.record_success(done - sent, sql);
                    }
                }
                Err(e) if measured(done) => counts.writes.record_error(done, format!("{e:#}")),
                Err(_) => {}
            }
            continue;
        }
        let before: HashMap<i64, u64> = shared
            .acked
            .iter()
            .map(|(id, v)| (*id, v.load(Ordering::Acquire)))
            .collect();
        let body = json!({ "query": READ, "variables": { "id": shared.line } });
        let outcome = post(&client, &shared.url, &body).await;
        let done = Instant::now();
        match outcome {
            Ok((body, sql)) => {
                let shown = thresholds(&body);
                counts.checked += 1;
                let stale = before.iter().any(|(id, acked)| {
                    *acked > 0 && shown.get(id).is_none_or(|hi| *hi < *acked as f64)
                });
                if stale {
                    counts.stale += 1;
                }
                if measured(done) {
                    counts.reads.record_success(done - sent, sql);
                }
            }
            Err(e) if measured(done) => counts.reads.record_error(done, format!("{e:#}")),
            Err(_) => {}
        }
    }
    Ok(counts)
}

/// Runs the mix on `line`; the rows (reads, writes) and a table with the hit ratio and the
/// stale reads.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    line: &str,
    cfg: LoadConfig,
) -> Result<(Vec<Row>, String)> {
    let (body, _) = post(
        client,
        url,
        &json!({ "query": READ, "variables": { "id": line } }),
    )
    .await
    .context("line-mixed: the read failed")?;
    let sensors: Vec<i64> = thresholds(&body).into_keys().collect();
    if sensors.is_empty() {
        bail!("line-mixed: line {line} has no sensors");
    }
    // Above every seeded threshold, so each write raises `hi`.
    let start = 1_000_000;
    let shared = Arc::new(Shared {
        url: url.to_owned(),
        line: line.to_owned(),
        acked: sensors.iter().map(|s| (*s, AtomicU64::new(0))).collect(),
        sensors,
        next_value: AtomicU64::new(start),
        requests: AtomicU64::new(0),
    });
    let measure_from = Instant::now() + cfg.warmup;
    let end = measure_from + cfg.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cfg.connections.max(1) {
        tasks.spawn(worker(client.clone(), shared.clone(), measure_from, end));
    }
    // The ratio over the measured window only.
    tokio::time::sleep_until(measure_from.into()).await;
    let (hits_before, lookups_before) = response_lookups(client, url).await?;
    let mut reads = Stats::new()?;
    let mut writes = Stats::new()?;
    let (mut stale, mut checked) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let counts = done.context("line-mixed worker")??;
        reads.merge(counts.reads)?;
        writes.merge(counts.writes)?;
        stale += counts.stale;
        checked += counts.checked;
    }
    let (hits_after, lookups_after) = response_lookups(client, url).await?;
    let lookups = lookups_after - lookups_before;
    let ratio = if lookups > 0.0 {
        (hits_after - hits_before) / lookups
    } else {
        0.0
    };
    let mut table = String::new();
    writeln!(
        table,
        "\nline-mixed (90 % reads of one line, 10 % threshold updates on it):"
    )?;
    writeln!(
        table,
        "  response-cache hit ratio {:.1} % over {lookups:.0} lookups; stale reads {stale} of {checked} checked",
        ratio * 100.0
    )?;
    let rows = vec![
        Row {
            scenario: "line-mixed read".into(),
            result: RowResult::Measured(load::summarize(&reads, cfg.duration)),
            rss_kb: None,
        },
        Row {
            scenario: "line-mixed write".into(),
            result: RowResult::Measured(load::summarize(&writes, cfg.duration)),
            rss_kb: None,
        },
    ];
    Ok((rows, table))
}
