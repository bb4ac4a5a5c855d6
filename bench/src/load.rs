//! The closed-loop load engine: N tasks share one HTTP client, each sending the
//! next request as soon as the previous response is fully read. Latencies go
//! into per-task HDR histograms (merged at the end, so the hot path takes no lock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::scenarios::{self, Scenario};

/// Header the server sets with the number of SQL statements one request ran.
pub const SQL_HEADER: &str = "x-sql-statements";
/// Longest latency the histogram tracks exactly (µs); slower requests saturate.
const MAX_LATENCY_US: u64 = 60_000_000;
/// Error bodies are truncated to this many characters for the report.
const MAX_ERROR_CHARS: usize = 500;

/// One scenario's fixed request.
pub struct Target {
    pub url: String,
    pub body: String,
    /// `Authorization` header value sent with every request (validation and load)
    /// when present; built once so the hot loop does not re-parse it.
    pub authorization: Option<HeaderValue>,
}

impl Target {
    /// The POST of this target, with its headers; the one place both the
    /// validation and the load loop build requests, so they cannot diverge.
    pub fn post(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let req = client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(self.body.clone());
        match &self.authorization {
            Some(value) => req.header(AUTHORIZATION, value.clone()),
            None => req,
        }
    }
}

/// `Bearer <token>` as a header value, marked sensitive so it is never printed.
pub fn bearer(token: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("access token is not a valid header value")?;
    value.set_sensitive(true);
    Ok(value)
}

/// Timing of one load run: `warmup` of unrecorded traffic, then `duration` measured.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Raw counts of a measured window; mergeable across tasks.
pub struct Stats {
    latency_us: Histogram<u64>,
    sql: Histogram<u64>,
    successes: u64,
    errors: u64,
    first_error: Option<(Instant, String)>,
}

impl Stats {
    pub fn new() -> Result<Self> {
        Ok(Self {
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .context("latency histogram")?,
            // Auto-resizing: statement counts are small but unbounded in principle.
            sql: Histogram::new(3).context("sql histogram")?,
            successes: 0,
            errors: 0,
            first_error: None,
        })
    }

    pub fn record_success(&mut self, latency: Duration, sql_statements: Option<u64>) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(1));
        if let Some(n) = sql_statements {
            self.sql.saturating_record(n);
        }
        self.successes += 1;
    }

    pub fn record_error(&mut self, at: Instant, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some((at, truncate(&message, MAX_ERROR_CHARS)));
        }
    }

    pub fn merge(&mut self, other: Stats) -> Result<()> {
        self.latency_us
            .add(&other.latency_us)
            .context("merging latencies")?;
        self.sql.add(&other.sql).context("merging sql counts")?;
        self.successes += other.successes;
        self.errors += other.errors;
        // Keep the error that happened first in wall time, not the first task's.
        if let Some((at, msg)) = other.first_error
            && self.first_error.as_ref().is_none_or(|(mine, _)| at < *mine)
        {
            self.first_error = Some((at, msg));
        }
        Ok(())
    }
}

/// What the report needs from one scenario's measured window.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub req_per_s: f64,
    /// p50/p95/p99 in milliseconds; `None` when nothing succeeded.
    pub percentiles_ms: Option<[f64; 3]>,
    pub errors: u64,
    /// Median of the `x-sql-statements` header; `None` when it never appeared.
    pub sql_median: Option<u64>,
    pub first_error: Option<String>,
}

pub fn summarize(stats: &Stats, measured: Duration) -> Summary {
    let secs = measured.as_secs_f64();
    let req_per_s = if secs > 0.0 {
        stats.successes as f64 / secs
    } else {
        0.0
    };
    let ms = |q: f64| stats.latency_us.value_at_quantile(q) as f64 / 1000.0;
    let percentiles_ms = (!stats.latency_us.is_empty()).then(|| [ms(0.50), ms(0.95), ms(0.99)]);
    let sql_median = (!stats.sql.is_empty()).then(|| stats.sql.value_at_quantile(0.5));
    Summary {
        req_per_s,
        percentiles_ms,
        errors: stats.errors,
        sql_median,
        first_error: stats.first_error.as_ref().map(|(_, m)| m.clone()),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// Only the part of a GraphQL response the hot loop needs; `data` is skipped
/// without building a tree.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Option<Vec<IgnoredAny>>,
}

/// `Ok` for HTTP 200 with no (or an empty) `errors` array; otherwise the body as the error.
pub fn classify(status: u16, body: &[u8]) -> Result<(), String> {
    let text = || String::from_utf8_lossy(body).into_owned();
    if status != 200 {
        return Err(format!("HTTP {status}: {}", text()));
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { errors: Some(errs) }) if !errs.is_empty() => Err(text()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("invalid JSON ({e}): {}", text())),
    }
}

/// Sends one request; returns the SQL statement count header on success.
async fn send_once(client: &reqwest::Client, target: &Target) -> Result<Option<u64>, String> {
    let resp = target
        .post(client)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let sql = resp
        .headers()
        .get(SQL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading body failed: {e}"))?;
    classify(status, &body).map(|()| sql)
}

/// Sends the scenario once and insists on a clean, fully non-null answer (plus
/// the scenario's own checks), so a broken query is reported as such instead
/// of as a fast error path.
pub async fn validate(client: &reqwest::Client, target: &Target, scenario: Scenario) -> Result<()> {
    let resp = target
        .post(client)
        .send()
        .await
        .context("validation request failed")?;
    let status = resp.status();
    let text = resp.text().await.context("reading validation body")?;
    if status != reqwest::StatusCode::OK {
        bail!("HTTP {status}: {}", truncate(&text, MAX_ERROR_CHARS));
    }
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("invalid JSON: {}", truncate(&text, MAX_ERROR_CHARS)))?;
    scenarios::validate_scenario_response(scenario, &value)
}

/// Runs warm-up then the measured window back to back, so connections stay
/// warm across the boundary. A request counts iff it completes inside the
/// measured window; throughput is then successes / `cfg.duration`.
pub async fn run(client: &reqwest::Client, target: Arc<Target>, cfg: LoadConfig) -> Result<Stats> {
    let measure_from = Instant::now() + cfg.warmup;
    let end = measure_from + cfg.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cfg.connections.max(1) {
        let client = client.clone();
        let target = Arc::clone(&target);
        tasks.spawn(async move { worker(client, target, measure_from, end).await });
    }
    let mut total = Stats::new()?;
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.context("load task panicked")??)?;
    }
    Ok(total)
}

async fn worker(
    client: reqwest::Client,
    target: Arc<Target>,
    measure_from: Instant,
    end: Instant,
) -> Result<Stats> {
    let mut stats = Stats::new()?;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let outcome = send_once(&client, &target).await;
        let done = Instant::now();
        if done < measure_from || done > end {
            continue;
        }
        match outcome {
            Ok(sql) => stats.record_success(done - sent, sql),
            Err(msg) => stats.record_error(done, msg),
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        // HDR with 3 significant digits is accurate to 0.1%.
        (a - b).abs() <= b * 0.001 + 1e-9
    }

    #[test]
    fn percentiles_and_throughput() -> Result<()> {
        let mut stats = Stats::new()?;
        for ms in 1..=1000u64 {
            stats.record_success(
                Duration::from_millis(ms),
                Some(if ms <= 600 { 3 } else { 40 }),
            );
        }
        stats.record_error(Instant::now(), "boom".into());
        let s = summarize(&stats, Duration::from_secs(10));
        assert!(close(s.req_per_s, 100.0), "req/s {}", s.req_per_s);
        let [p50, p95, p99] = s.percentiles_ms.unwrap_or_default();
        assert!(close(p50, 500.0), "p50 {p50}");
        assert!(close(p95, 950.0), "p95 {p95}");
        assert!(close(p99, 990.0), "p99 {p99}");
        assert_eq!(s.errors, 1);
        assert_eq!(s.sql_median, Some(3));
        assert_eq!(s.first_error.as_deref(), Some("boom"));
        Ok(())
    }

    #[test]
    fn empty_window_has_no_percentiles_or_sql() -> Result<()> {
        let mut stats = Stats::new()?;
        stats.record_error(Instant::now(), "x".repeat(2000));
        let s = summarize(&stats, Duration::from_secs(5));
        assert_eq!(s.req_per_s, 0.0);
        assert_eq!(s.percentiles_ms, None);
        assert_eq!(s.sql_median, None);
        assert_eq!(
            s.first_error.map(|e| e.chars().count()),
            Some(MAX_ERROR_CHARS + 1)
        );
        Ok(())
    }

    #[test]
    fn merge_adds_counts_and_keeps_earliest_error() -> Result<()> {
        let early = Instant::now();
        let late = early + Duration::from_secs(1);
        let mut a = Stats::new()?;
        a.record_success(Duration::from_millis(2), Some(0));
        a.record_error(late, "late".into());
        let mut b = Stats::new()?;
        b.record_success(Duration::from_millis(4), Some(0));
        b.record_success(Duration::from_millis(4), None);
        b.record_error(early, "early".into());
        a.merge(b)?;
        let s = summarize(&a, Duration::from_secs(1));
        assert!(close(s.req_per_s, 3.0));
        assert_eq!(s.errors, 2);
        assert_eq!(s.sql_median, Some(0));
        assert_eq!(s.first_error.as_deref(), Some("early"));
        Ok(())
    }

    #[test]
    fn classify_statuses_and_errors() {
        assert!(classify(200, br#"{"data":{"a":1}}"#).is_ok());
        assert!(classify(200, br#"{"data":{"a":1},"errors":[]}"#).is_ok());
        assert!(classify(200, br#"{"data":null,"errors":[{"message":"no"}]}"#).is_err());
        assert!(classify(500, br#"{"data":{"a":1}}"#).is_err());
        assert!(classify(200, b"not json").is_err());
    }

    fn target(authorization: Option<HeaderValue>) -> Target {
        Target {
            url: "http://127.0.0.1:1/graphql".into(),
            body: r#"{"query":"{ a }"}"#.into(),
            authorization,
        }
    }

    #[test]
    fn requests_carry_authorization_only_when_set() -> Result<()> {
        let client = reqwest::Client::new();
        let plain = target(None).post(&client).build()?;
        assert_eq!(plain.headers().get(AUTHORIZATION), None);
        assert_eq!(
            plain.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes),
            Some(&b"application/json"[..])
        );
        assert_eq!(
            plain.body().and_then(reqwest::Body::as_bytes),
            Some(&br#"{"query":"{ a }"}"#[..])
        );

        let authed = target(Some(bearer("abc.def")?)).post(&client).build()?;
        let value = authed.headers().get(AUTHORIZATION);
        assert_eq!(
            value.map(HeaderValue::as_bytes),
            Some(&b"Bearer abc.def"[..])
        );
        assert!(value.is_some_and(HeaderValue::is_sensitive));
        Ok(())
    }

    #[test]
    fn bearer_rejects_tokens_that_cannot_be_headers() {
        assert!(bearer("line\nbreak").is_err());
    }
}
