//! The `fanout` scenario: thousands of WebSocket subscribers on one instance while line
//! gateways push readings at the tier-M rate, then at ten times it.
//!
//! Nine in ten subscribers hold `readingsUpdated(lineId, throttleMs: 1000)`, spread over
//! every line; one in ten holds `alarmChanged` (every workshop). 24 gateway tasks (one per
//! line) post each line's due readings to `POST /ingest` once a second, stamped with the
//! current time: a fifth of the sensors every second, the rest every tenth second (~28 a
//! line), and one sensor per line past its `hi` for five seconds in ten so alarms raise and
//! clear all through the run. During a burst the gateways push ten times a second, so
//! readings and alarm transitions come ten times as fast (every reading stamped when sent).
//!
//! Latency is what a dashboard sees: from the newest reading's timestamp in a message (from
//! the transition's time for alarms) to the moment the client parsed it. The subscriber
//! count grows in steps (`--fanout-steps`); each step reports latency under steady load and
//! under the burst, server CPU, the server's RSS per subscriber above the baseline with no
//! subscriber, messages per second, and payloads the server dropped for slow subscribers.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue};

use crate::server;

/// Subscribers opened at once while a step connects.
pub(crate) const CONNECT_CONCURRENCY: usize = 128;
/// The client's read buffer per socket (tungstenite's default, 128 KiB, would cost the
/// harness 2.5 GB at 20,000 sockets).
const CLIENT_READ_BUFFER: usize = 8 * 1024;
/// Pushes per second per gateway during a burst (one in steady state).
const BURST: u32 = 10;
/// One subscriber in `ALARM_EVERY` watches alarms, the others a line's readings.
const ALARM_EVERY: usize = 10;

const READINGS: &str = "subscription($line: ID!, $ms: Int!) { \
     readingsUpdated(lineId: $line, throttleMs: $ms) { sensorId ts value } }";
const ALARMS: &str = "subscription { alarmChanged { action ts alarmId } }";
const PLANT: &str = "{ lines(first: 100) { edges { node { id \
     equipment { sensors { id lo hi active } } } } } }";

/// What `--fanout-*` chose.
#[derive(Clone, Debug)]
pub struct Options {
    /// Subscriber counts to reach, in order (each step adds to the last).
    pub steps: Vec<usize>,
    /// Give every readings subscriber its own throttle (1,000–1,049 ms), so subscriptions do
    /// not share an execution (the worst case; by default identical ones do).
    pub distinct: bool,
    /// `throttleMs` of the readings subscriptions.
    pub throttle_ms: u32,
    pub warmup: Duration,
    pub duration: Duration,
}

/// A sensor of a line and the values that keep it inside or push it past `hi`.
#[derive(Clone, Debug)]
struct Sensor {
    id: i64,
    inside: f64,
    outside: f64,
}

#[derive(Clone, Debug)]
struct Line {
    id: String,
    sensors: Vec<Sensor>,
}

/// Latency of the messages received while recording.
pub(crate) struct Recorder {
    recording: AtomicBool,
    readings: Mutex<Histogram<u64>>,
    alarms: Mutex<Histogram<u64>>,
    metrics: Mutex<Histogram<u64>>,
    messages: AtomicU64,
    pub(crate) errors: AtomicU64,
    ended: AtomicU64,
    pub(crate) first_error: std::sync::Mutex<Option<String>>,
}

impl Recorder {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            recording: AtomicBool::new(false),
            readings: Mutex::new(Histogram::new_with_bounds(1, 120_000, 3)?),
            alarms: Mutex::new(Histogram::new_with_bounds(1, 120_000, 3)?),
            metrics: Mutex::new(Histogram::new_with_bounds(1, 120_000, 3)?),
            messages: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            first_error: std::sync::Mutex::new(None),
        })
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert(what);
        }
    }

    /// Starts a measured phase from empty histograms.
    async fn start(&self) {
        self.readings.lock().await.reset();
        self.alarms.lock().await.reset();
        self.metrics.lock().await.reset();
        self.messages.store(0, Ordering::Relaxed);
        self.recording.store(true, Ordering::Relaxed);
    }

    async fn stop(&self) -> Phase {
        self.recording.store(false, Ordering::Relaxed);
        Phase {
            readings: self.readings.lock().await.clone(),
            alarms: self.alarms.lock().await.clone(),
            metrics: self.metrics.lock().await.clone(),
            messages: self.messages.load(Ordering::Relaxed),
        }
    }
}

/// One measured phase of a step.
pub(crate) struct Phase {
    readings: Histogram<u64>,
    alarms: Histogram<u64>,
    /// `systemMetrics`: from the snapshot's `at` (its tick) to the client.
    pub(crate) metrics: Histogram<u64>,
    pub(crate) messages: u64,
}

/// Server CPU time (user + system), in clock ticks, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ: 100 on Linux for every architecture
/// this harness runs on).
const TICKS_PER_S: f64 = 100.0;

/// Sum of the server's dropped-payload counters (slow sockets and full hub queues).
pub(crate) async fn dropped(client: &reqwest::Client, base: &str) -> u64 {
    counters(
        client,
        base,
        &[
            "sf_subscriber_dropped_total",
            "sf_subscription_dropped_total",
        ],
    )
    .await
}

/// Sum of the `/metrics` samples whose lines start with one of `names`.
pub(crate) async fn counters(client: &reqwest::Client, base: &str, names: &[&str]) -> u64 {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return 0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| names.iter().any(|n| l.starts_with(n)))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Every line with its active sensors.
async fn plant(client: &reqwest::Client, base: &str, token: &str) -> Result<Vec<Line>> {
    let value: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": PLANT }))
        .send()
        .await
        .context("plant query")?
        .json()
        .await
        .context("plant JSON")?;
    crate::scenarios::check_graphql_ok(&value)?;
    let mut lines = Vec::new();
    for edge in value["data"]["lines"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let node = &edge["node"];
        let mut sensors = Vec::new();
        for machine in node["equipment"].as_array().into_iter().flatten() {
            for s in machine["sensors"].as_array().into_iter().flatten() {
                if s["active"] != true {
                    continue;
                }
                let id = s["id"]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .context("sensor id")?;
                let (lo, hi) = (
                    s["lo"].as_f64().unwrap_or(0.0),
                    s["hi"].as_f64().unwrap_or(100.0),
                );
                sensors.push(Sensor {
                    id,
                    inside: (lo + hi) / 2.0,
                    outside: hi + (hi - lo).abs().max(1.0) * 0.05,
                });
            }
        }
        if !sensors.is_empty() {
            lines.push(Line {
                id: node["id"].as_str().context("line id")?.to_owned(),
                sensors,
            });
        }
    }
    if lines.is_empty() {
        bail!("no line with active sensors (is the database seeded?)");
    }
    Ok(lines)
}

/// The readings line `line` sends at its `tick`-th push, as `/ingest`'s JSON body, all
/// stamped `now`.
fn batch(line: &Line, tick: u64, now: DateTime<Utc>) -> String {
    let ts = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut out = String::from("[");
    for (j, s) in line.sensors.iter().enumerate() {
        // A fifth every push, the rest every tenth push (staggered).
        if !(j % 5 == 0 || (tick + j as u64).is_multiple_of(10)) {
            continue;
        }
        // The line's first sensor is past `hi` five pushes in ten.
        let value = if j == 0 && tick % 10 < 5 {
            s.outside
        } else {
            s.inside
        };
        if out.len() > 1 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"sensorId":{},"ts":"{ts}","value":{value}}}"#,
            s.id
        );
    }
    out.push(']');
    out
}

/// One gateway per line, pushing `rate` times a second (1, or `BURST`: everything, alarm
/// transitions included, ten times as often) until `stop`. Returns the failed pushes.
fn gateways(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    lines: &[Line],
    rate: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    lines
        .iter()
        .cloned()
        .map(|line| {
            let (client, url, token) = (client.clone(), format!("{base}/ingest"), token.to_owned());
            let (rate, stop) = (rate.clone(), stop.clone());
            tokio::spawn(async move {
                let mut failed = 0;
                let mut next = tokio::time::Instant::now();
                let mut tick = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let per_s = u64::from(rate.load(Ordering::Relaxed).max(1));
                    next += Duration::from_millis(1_000 / per_s);
                    tokio::time::sleep_until(next).await;
                    let body = batch(&line, tick, Utc::now());
                    tick += 1;
                    let sent = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body)
                        .send()
                        .await;
                    if !sent.is_ok_and(|r| r.status().is_success()) {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect()
}

/// Milliseconds from `ts` (RFC 3339) to now, at least 1.
fn age_ms(ts: &str, now: DateTime<Utc>) -> Option<u64> {
    let ts = DateTime::parse_from_rfc3339(ts).ok()?;
    Some((now - ts.with_timezone(&Utc)).num_milliseconds().max(1) as u64)
}

/// Records one `next` payload's latency.
async fn record(recorder: &Recorder, payload: &Value) {
    let now = Utc::now();
    let data = &payload["data"];
    if let Some(readings) = data["readingsUpdated"].as_array() {
        let newest = readings
            .iter()
            .filter_map(|r| age_ms(r["ts"].as_str()?, now))
            .min();
        if let Some(ms) = newest {
            let _ = recorder.readings.lock().await.record(ms);
        }
    } else if let Some(ms) = data["alarmChanged"]["ts"]
        .as_str()
        .and_then(|t| age_ms(t, now))
    {
        let _ = recorder.alarms.lock().await.record(ms);
    } else if let Some(ms) = data["systemMetrics"]["at"]
        .as_str()
        .and_then(|t| age_ms(t, now))
    {
        let _ = recorder.metrics.lock().await.record(ms);
    }
}

/// Opens one subscriber and reads it until the socket ends; `Ok` once it subscribed.
pub(crate) async fn subscriber(
    ws_url: String,
    token: String,
    query: &'static str,
    variables: Value,
    recorder: Arc<Recorder>,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(CLIENT_READ_BUFFER)
        .write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .context("connect")?;
    let init = json!({ "type": "connection_init",
        "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no connection_ack in 30 s")?
            .context("closed before connection_ack")??;
        if let Message::Text(text) = message {
            let v: Value = serde_json::from_str(&text)?;
            match v["type"].as_str() {
                Some("connection_ack") => break,
                Some("ping") => {}
                _ => bail!("expected connection_ack, got {text}"),
            }
        }
    }
    let subscribe = json!({ "id": "1", "type": "subscribe",
        "payload": { "query": query, "variables": variables } });
    socket.send(Message::text(subscribe.to_string())).await?;
    Ok(tokio::spawn(async move {
        while let Some(message) = socket.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(frame)) => {
                    recorder.error(format!("server closed a subscriber: {frame:?}"));
                    break;
                }
                Ok(_) => continue,
                Err(e) => {
                    recorder.error(format!("subscriber socket: {e}"));
                    break;
                }
            };
            if !recorder.recording.load(Ordering::Relaxed) {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                recorder.error(format!("not JSON: {text}"));
                continue;
            };
            match v["type"].as_str() {
                Some("next") => {
                    recorder.messages.fetch_add(1, Ordering::Relaxed);
                    record(&recorder, &v["payload"]).await;
                }
                Some("error" | "complete") => recorder.error(format!("subscription ended: {text}")),
                _ => {}
            }
        }
        recorder.ended.fetch_add(1, Ordering::Relaxed);
    }))
}

/// The query and variables of subscriber `i`.
fn subscription(
    i: usize,
    lines: &[Line],
    distinct: bool,
    throttle_ms: u32,
) -> (&'static str, Value) {
    if i % ALARM_EVERY == ALARM_EVERY - 1 {
        return (ALARMS, json!({}));
    }
    let line = &lines[i % lines.len()];
    let base = throttle_ms as usize;
    let ms = if distinct {
        base + (i / lines.len()) % 50
    } else {
        base
    };
    (READINGS, json!({ "line": line.id, "ms": ms }))
}

/// One step's numbers.
struct StepResult {
    subscribers: usize,
    connect_s: f64,
    rss_kb: Option<u64>,
    steady: Phase,
    steady_cpu: Option<f64>,
    burst: Phase,
    burst_cpu: Option<f64>,
    dropped: u64,
}

/// Runs one measured phase; returns it and the server's CPU (% of one core).
pub(crate) async fn phase(
    recorder: &Recorder,
    pid: Option<u32>,
    length: Duration,
) -> (Phase, Option<f64>) {
    let pid = pid.map(|p| p.to_string());
    let before = pid.as_deref().and_then(cpu_ticks);
    let started = Instant::now();
    recorder.start().await;
    tokio::time::sleep(length).await;
    let phase = recorder.stop().await;
    let after = pid.as_deref().and_then(cpu_ticks);
    let cpu = before
        .zip(after)
        .map(|(b, a)| (a - b) as f64 / TICKS_PER_S / started.elapsed().as_secs_f64() * 100.0);
    (phase, cpu)
}

/// Runs the scenario against the server at `base` (spawned as `pid`, for RSS and CPU).
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    pid: Option<u32>,
    options: &Options,
) -> Result<String> {
    let lines = plant(client, base, token).await?;
    let sensors: usize = lines.iter().map(|l| l.sensors.len()).sum();
    eprintln!("fanout: {} lines, {sensors} sensors", lines.len());
    let recorder = Arc::new(Recorder::new()?);
    let rate = Arc::new(AtomicU32::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let writers = gateways(client, base, token, &lines, rate.clone(), stop.clone());
    // The baseline: the server under the gateways' load with no subscriber.
    tokio::time::sleep(options.warmup).await;
    let baseline_kb = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
    let (idle, idle_cpu) =
        phase(&recorder, pid, options.duration.min(Duration::from_secs(5))).await;
    drop(idle);
    let ws_url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut readers = Vec::new();
    let mut results = Vec::new();
    for &target in &options.steps {
        let started = Instant::now();
        let from = readers.len();
        let opened = futures::stream::iter(from..target.max(from))
            .map(|i| {
                let (query, variables) =
                    subscription(i, &lines, options.distinct, options.throttle_ms);
                subscriber(
                    ws_url.clone(),
                    token.to_owned(),
                    query,
                    variables,
                    recorder.clone(),
                )
            })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for handle in opened {
            readers.push(handle.with_context(|| {
                format!("opening subscriber {} of {target}", readers.len() + 1)
            })?);
        }
        let connect_s = started.elapsed().as_secs_f64();
        eprintln!("fanout: {target} subscribers connected in {connect_s:.1} s");
        tokio::time::sleep(options.warmup).await;
        let rss_kb = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
        let dropped_before = dropped(client, base).await;
        let (steady, steady_cpu) = phase(&recorder, pid, options.duration).await;
        rate.store(BURST, Ordering::Relaxed);
        // The first burst second's messages are still in flight at the switch: skip one.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (burst, burst_cpu) = phase(&recorder, pid, options.duration).await;
        rate.store(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let dropped = dropped(client, base).await.saturating_sub(dropped_before);
        let p99 = steady.readings.value_at_quantile(0.99);
        eprintln!(
            "fanout: {target}: steady p99 {p99} ms, burst p99 {} ms",
            burst.readings.value_at_quantile(0.99)
        );
        results.push(StepResult {
            subscribers: target,
            connect_s,
            rss_kb,
            steady,
            steady_cpu,
            burst,
            burst_cpu,
            dropped,
        });
    }
    stop.store(true, Ordering::Relaxed);
    let mut failed_batches = 0;
    for w in writers {
        failed_batches += w.await.unwrap_or(0);
    }
    for r in &readers {
        r.abort();
    }
    let errors = recorder.errors.load(Ordering::Relaxed);
    let first_error = recorder.first_error.lock().ok().and_then(|e| e.clone());
    let mut out = render(
        &results,
        baseline_kb,
        idle_cpu,
        sensors,
        lines.len(),
        options,
    )?;
    writeln!(
        out,
        "\ningest batches failed: {failed_batches}; subscriber errors: {errors}"
    )?;
    if let Some(e) = first_error {
        writeln!(out, "first subscriber error: {e}")?;
    }
    Ok(out)
}

pub(crate) fn pct(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "—".into();
    }
    format!(
        "{} / {} / {} / {}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.95),
        h.value_at_quantile(0.99),
        h.max()
    )
}

pub(crate) fn cpu(c: Option<f64>) -> String {
    c.map_or_else(|| "—".into(), |c| format!("{c:.0} %"))
}

fn render(
    results: &[StepResult],
    baseline_kb: Option<u64>,
    idle_cpu: Option<f64>,
    sensors: usize,
    lines: usize,
    options: &Options,
) -> Result<String> {
    let mut t = String::new();
    let secs = options.duration.as_secs_f64();
    writeln!(
        t,
        "\n### fanout ({lines} lines, {sensors} sensors; throttleMs {}; {} subscriptions; {} s per phase)\n",
        options.throttle_ms,
        if options.distinct {
            "distinct"
        } else {
            "identical ones shared"
        },
        options.duration.as_secs()
    )?;
    writeln!(
        t,
        "server RSS with no subscriber (gateways running): {}; server CPU then: {}\n",
        baseline_kb.map_or_else(|| "—".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0)),
        cpu(idle_cpu)
    )?;
    writeln!(
        t,
        "| subscribers | connect s | RSS MiB | KiB / subscriber | phase | msgs/s | readings ms p50 / p95 / p99 / max | alarms ms p50 / p95 / p99 / max | server CPU | dropped |"
    )?;
    writeln!(t, "|---|---|---|---|---|---|---|---|---|---|")?;
    for r in results {
        let per = r
            .rss_kb
            .zip(baseline_kb)
            .map(|(now, base)| now.saturating_sub(base) as f64 / r.subscribers as f64);
        for (name, phase, c) in [
            ("steady", &r.steady, r.steady_cpu),
            ("10× burst", &r.burst, r.burst_cpu),
        ] {
            let first = name == "steady";
            writeln!(
                t,
                "| {} | {} | {} | {} | {name} | {:.0} | {} | {} | {} | {} |",
                if first {
                    r.subscribers.to_string()
                } else {
                    String::new()
                },
                if first {
                    format!("{:.1}", r.connect_s)
                } else {
                    String::new()
                },
                match (first, r.rss_kb) {
                    (true, Some(kb)) => format!("{:.1}", kb as f64 / 1024.0),
                    _ => String::new(),
                },
                match (first, per) {
                    (true, Some(p)) => format!("{p:.1}"),
                    _ => String::new(),
                },
                phase.messages as f64 / secs,
                pct(&phase.readings),
                pct(&phase.alarms),
                cpu(c),
                if first {
                    String::new()
                } else {
                    r.dropped.to_string()
                },
            )?;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Line {
        Line {
            id: "1".into(),
            sensors: (0..10)
                .map(|i| Sensor {
                    id: i,
                    inside: 50.0,
                    outside: 105.0,
                })
                .collect(),
        }
    }

    #[test]
    fn a_line_sends_a_fifth_every_push_and_the_rest_every_tenth() {
        let now = Utc::now();
        let counts: Vec<usize> = (0..10)
            .map(|tick| {
                let body: Value = serde_json::from_str(&batch(&line(), tick, now)).expect("JSON");
                body.as_array().expect("array").len()
            })
            .collect();
        // Sensors 0 and 5 every push; each of the other 8 once in ten pushes.
        assert_eq!(counts.iter().sum::<usize>(), 2 * 10 + 8);
    }

    #[test]
    fn the_first_sensor_crosses_half_the_time() {
        let now = Utc::now();
        let value = |tick| -> f64 {
            let body: Value = serde_json::from_str(&batch(&line(), tick, now)).expect("JSON");
            body[0]["value"].as_f64().expect("value")
        };
        assert_eq!(value(0), 105.0);
        assert_eq!(value(7), 50.0);
    }

    #[test]
    fn one_subscriber_in_ten_watches_alarms() {
        let lines = vec![
            line(),
            Line {
                id: "2".into(),
                ..line()
            },
        ];
        let alarms = (0..100)
            .filter(|&i| subscription(i, &lines, false, 1_000).0 == ALARMS)
            .count();
        assert_eq!(alarms, 10);
        assert_eq!(subscription(0, &lines, true, 1_000).1["ms"], 1_000);
        assert_eq!(subscription(2, &lines, true, 1_000).1["ms"], 1_001);
        assert_eq!(
            subscription(0, &lines, false, 1_000).1,
            subscription(2, &lines, false, 1_000).1
        );
    }

    #[test]
    fn cpu_ticks_read_this_process() {
        assert!(cpu_ticks("self").is_some());
    }
}
