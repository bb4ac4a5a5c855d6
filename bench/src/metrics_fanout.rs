//! The `metrics-fanout` scenario: thousands of `systemMetrics(intervalMs: 1000)` subscribers
//! on one instance (the wall screens of a plant and then some), in steps (`--fanout-steps`).
//!
//! Every subscriber holds the same document, so the server runs one execution and encodes one
//! payload per tick for all of them; the harness reads the encodings from
//! `sf_subscription_feed_messages_total` to show it. Latency is what a wall screen sees:
//! from the snapshot's `at` (the end of the collector's tick) to the moment the client parsed
//! the message. Server CPU is measured over each phase and shown per one-second tick, next to
//! the same with no subscriber (the collector alone).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt as _;
use serde_json::json;

use crate::fanout::{self, CONNECT_CONCURRENCY, Recorder, counters, pct, phase};
use crate::server;

const METRICS: &str = "subscription { systemMetrics(intervalMs: 1000) { at requestsPerS \
     latencyP95Ms wsConnections subscriptions cacheHitRatio } }";
const ENCODINGS: &[&str] = &["sf_subscription_feed_messages_total"];

/// One step's numbers.
struct Step {
    subscribers: usize,
    connect_s: f64,
    rss_kb: Option<u64>,
    phase: fanout::Phase,
    cpu: Option<f64>,
    encodings: u64,
}

/// Runs the scenario against the server at `base` (spawned as `pid`, for RSS and CPU).
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    pid: Option<u32>,
    options: &fanout::Options,
) -> Result<String> {
    let recorder = Arc::new(Recorder::new()?);
    tokio::time::sleep(options.warmup).await;
    let baseline_kb = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
    let (_, idle_cpu) = phase(&recorder, pid, options.duration).await;
    let ws_url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut readers = Vec::new();
    let mut steps = Vec::new();
    for &target in &options.steps {
        let started = Instant::now();
        let from = readers.len();
        let opened = futures::stream::iter(from..target.max(from))
            .map(|_| {
                fanout::subscriber(
                    ws_url.clone(),
                    token.to_owned(),
                    METRICS,
                    json!({}),
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
        eprintln!("metrics-fanout: {target} subscribers connected in {connect_s:.1} s");
        tokio::time::sleep(options.warmup).await;
        let rss_kb = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
        let encoded_before = counters(client, base, ENCODINGS).await;
        let (measured, busy) = phase(&recorder, pid, options.duration).await;
        let encodings = counters(client, base, ENCODINGS)
            .await
            .saturating_sub(encoded_before);
        eprintln!(
            "metrics-fanout: {target}: delivery p99 {} ms",
            measured.metrics.value_at_quantile(0.99)
        );
        steps.push(Step {
            subscribers: target,
            connect_s,
            rss_kb,
            phase: measured,
            cpu: busy,
            encodings,
        });
    }
    for r in &readers {
        r.abort();
    }
    let errors = recorder.errors.load(Ordering::Relaxed);
    let mut out = render(&steps, baseline_kb, idle_cpu, options.duration)?;
    writeln!(out, "\nsubscriber errors: {errors}")?;
    if let Some(e) = recorder.first_error.lock().ok().and_then(|e| e.clone()) {
        writeln!(out, "first subscriber error: {e}")?;
    }
    Ok(out)
}

/// A CPU share with one decimal (the ticks cost little).
fn one_decimal(c: Option<f64>) -> String {
    c.map_or_else(|| "—".into(), |c| format!("{c:.1} %"))
}

/// CPU % of one core over a phase, as milliseconds of CPU per one-second tick.
fn per_tick_ms(cpu: Option<f64>) -> Option<f64> {
    cpu.map(|c| c * 10.0)
}

fn render(
    steps: &[Step],
    baseline_kb: Option<u64>,
    idle_cpu: Option<f64>,
    length: Duration,
) -> Result<String> {
    let mut t = String::new();
    let secs = length.as_secs_f64();
    writeln!(
        t,
        "\n### metrics-fanout (identical `systemMetrics(intervalMs: 1000)` subscriptions; {} s per phase)\n",
        length.as_secs()
    )?;
    let idle_ms = per_tick_ms(idle_cpu);
    writeln!(
        t,
        "no subscriber: RSS {}, server CPU {} = {} ms a tick (the collector and the idle server)\n",
        baseline_kb.map_or_else(|| "—".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0)),
        one_decimal(idle_cpu),
        idle_ms.map_or_else(|| "—".into(), |ms| format!("{ms:.1}")),
    )?;
    writeln!(
        t,
        "| subscribers | connect s | RSS MiB | msgs/s | encodings / tick | delivery after the tick ms p50 / p95 / p99 / max | server CPU | CPU ms / tick | of it for the subscribers |"
    )?;
    writeln!(t, "|---|---|---|---|---|---|---|---|---|")?;
    for s in steps {
        let ms = per_tick_ms(s.cpu);
        writeln!(
            t,
            "| {} | {:.1} | {} | {:.0} | {:.2} | {} | {} | {} | {} |",
            s.subscribers,
            s.connect_s,
            s.rss_kb
                .map_or_else(|| "—".into(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
            s.phase.messages as f64 / secs,
            s.encodings as f64 / secs,
            pct(&s.phase.metrics),
            one_decimal(s.cpu),
            ms.map_or_else(|| "—".into(), |ms| format!("{ms:.1}")),
            ms.zip(idle_ms)
                .map_or_else(|| "—".into(), |(a, b)| format!("{:.1}", a - b)),
        )?;
    }
    Ok(t)
}
