//! `SystemMetrics` and `MetricPoint`.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

use crate::{service::metrics::Current, telemetry::snapshot::Snapshot};

/// The metrics of one instance, or the cluster aggregate (sums for rates and counts, the
/// maximum for percentiles). Rates and "in the last tick" counts cover the collector's last
/// tick (`SF_METRICS_INTERVAL_MS`); percentiles the sliding window (`SF_METRICS_WINDOW_S`).
#[derive(Clone, Debug, SimpleObject)]
pub struct SystemMetrics {
    /// The instance id, or `cluster`.
    pub instance: String,
    /// The server version (for the cluster: the distinct versions, comma-separated).
    pub version: String,
    /// When the snapshot was taken.
    pub at: DateTime<Utc>,
    /// Seconds since the instance started (the cluster: the longest).
    pub uptime_s: f64,
    /// CPU used by the process, in percent of one core.
    pub cpu_percent: f64,
    /// Busy share of the machine's CPUs, 0 to 100.
    pub machine_cpu_percent: f64,
    /// Resident memory of the process, in bytes.
    pub rss_bytes: f64,
    /// GraphQL operations finished per second.
    pub requests_per_s: f64,
    /// Median GraphQL operation latency, in milliseconds.
    pub latency_p50_ms: f64,
    /// 95th percentile GraphQL operation latency, in milliseconds.
    pub latency_p95_ms: f64,
    /// 99th percentile GraphQL operation latency, in milliseconds.
    pub latency_p99_ms: f64,
    /// Share of the last tick's operations that had errors, 0 to 1.
    pub error_rate: f64,
    /// SQL statements per second.
    pub sql_statements_per_s: f64,
    /// 95th percentile SQL statement time, in milliseconds.
    pub sql_p95_ms: f64,
    /// SQL statements slower than `DB_SLOW_QUERY_MS` in the last tick.
    pub slow_statements: i32,
    /// Pooled database connections in use.
    pub pool_in_use: i32,
    /// Pooled database connections idle.
    pub pool_idle: i32,
    /// Always 0: the pool (sqlx) does not expose its waiters.
    #[graphql(deprecation = "the pool does not expose its waiters; use poolAcquireMs")]
    pub pool_waiting: i32,
    /// How long the last tick's probe waited for a connection of the primary pool, in
    /// milliseconds: near 0 while connections are idle, a request's queue time when the pool
    /// is exhausted; null when it got none in time.
    pub pool_acquire_ms: Option<f64>,
    /// Lookups of the last tick served from the cache (in process or Redis) per lookup, 0 to
    /// 1; null in a tick without lookups.
    pub cache_hit_ratio: Option<f64>,
    /// The last tick's cache lookups per kind of cached data (kinds without lookups left out).
    pub cache: Vec<CacheKindMetrics>,
    /// WebSocket and SSE connections open.
    pub ws_connections: i32,
    /// Active subscriptions (shared executions: identical subscriptions count once).
    pub subscriptions: i32,
    /// Subscription messages dropped for slow subscribers in the last tick.
    pub dropped_messages: i32,
    /// Sensor readings stored per second.
    pub ingest_readings_per_s: f64,
    /// Jobs waiting; null until the job queue exists.
    pub job_queue_depth: Option<i32>,
    /// Jobs failed; null until the job queue exists.
    pub job_failures: Option<i32>,
    /// For `cluster`: each instance's latest; empty for one instance.
    pub instances: Vec<SystemMetrics>,
}

/// One kind of cached data's lookups in one tick.
#[derive(SimpleObject, Clone, Debug)]
pub struct CacheKindMetrics {
    /// The kind, e.g. `equipment_by_id` (as in `cacheStats`).
    pub kind: String,
    /// Lookups (in-process hits + misses).
    pub lookups: i32,
    /// Served from process memory.
    pub l1_hits: i32,
    /// Served from Redis after an in-process miss.
    pub l2_hits: i32,
    /// Hits of either level per lookup, 0 to 1.
    pub hit_ratio: Option<f64>,
}

impl CacheKindMetrics {
    fn of(s: &crate::telemetry::snapshot::CacheSample) -> Self {
        Self {
            kind: s.kind.clone(),
            lookups: int(s.lookups),
            l1_hits: int(s.l1_hits),
            l2_hits: int(s.l2_hits),
            hit_ratio: s.hit_ratio(),
        }
    }
}

/// A count as a GraphQL `Int` (saturating).
fn int(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn opt_int(v: Option<i64>) -> Option<i32> {
    v.map(|v| i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX }))
}

impl SystemMetrics {
    /// One snapshot, with `instances` below it.
    pub fn of(s: &Snapshot, instances: Vec<SystemMetrics>) -> Self {
        Self {
            instance: s.instance.clone(),
            version: s.version.clone(),
            at: s.at,
            uptime_s: s.uptime_s,
            cpu_percent: s.cpu_percent,
            machine_cpu_percent: s.machine_cpu_percent,
            rss_bytes: s.rss_bytes,
            requests_per_s: s.requests_per_s,
            latency_p50_ms: s.latency_p50_ms,
            latency_p95_ms: s.latency_p95_ms,
            latency_p99_ms: s.latency_p99_ms,
            error_rate: s.error_rate,
            sql_statements_per_s: s.sql_statements_per_s,
            sql_p95_ms: s.sql_p95_ms,
            slow_statements: int(s.slow_statements),
            pool_in_use: int(s.pool_in_use),
            pool_idle: int(s.pool_idle),
            pool_waiting: int(s.pool_waiting),
            pool_acquire_ms: s.pool_acquire_ms,
            cache_hit_ratio: s.cache_hit_ratio,
            cache: s.cache.iter().map(CacheKindMetrics::of).collect(),
            ws_connections: int(s.ws_connections),
            subscriptions: int(s.subscriptions),
            dropped_messages: int(s.dropped_messages),
            ingest_readings_per_s: s.ingest_readings_per_s,
            job_queue_depth: opt_int(s.job_queue_depth),
            job_failures: opt_int(s.job_failures),
            instances,
        }
    }
}

impl From<Current> for SystemMetrics {
    fn from(c: Current) -> Self {
        let instances = c
            .instances
            .iter()
            .map(|s| SystemMetrics::of(s, Vec::new()))
            .collect();
        SystemMetrics::of(&c.snapshot, instances)
    }
}

/// One stored snapshot of the history.
#[derive(Clone, Debug, SimpleObject)]
pub struct MetricPoint {
    /// The instance that took it.
    pub instance: String,
    /// When it was stored (the minute's first tick).
    pub at: DateTime<Utc>,
    /// What it measured.
    pub metrics: SystemMetrics,
}
