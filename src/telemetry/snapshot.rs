//! [`Snapshot`]: what the collector measured on one instance in one tick, and the cluster
//! aggregate of every instance's latest.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The instance name of the cluster aggregate.
pub const CLUSTER: &str = "cluster";

/// One instance's metrics at one tick (rates are over the tick that ended at `at`;
/// percentiles over the sliding window). Crosses instances on the bus (postcard: positional,
/// add fields at the end) and is stored as JSON in `metric_snapshots.data`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Snapshot {
    /// The instance id (`host-pid`), or [`CLUSTER`].
    pub instance: String,
    /// The server version.
    pub version: String,
    /// When the tick ended.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    pub uptime_s: f64,
    /// CPU time of this process over the tick, in percent of one core.
    pub cpu_percent: f64,
    /// Busy share of the whole machine's CPUs over the tick, 0..100.
    pub machine_cpu_percent: f64,
    pub rss_bytes: f64,
    /// GraphQL operations finished per second.
    pub requests_per_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    /// Operations finished in the tick, and those of them with errors.
    pub operations: u64,
    pub errors: u64,
    /// `errors / operations` of the tick (0 without operations).
    pub error_rate: f64,
    pub sql_statements_per_s: f64,
    pub sql_p95_ms: f64,
    /// SQL statements slower than `DB_SLOW_QUERY_MS` in the tick.
    pub slow_statements: u64,
    /// GraphQL operations slower than `SF_SLOW_OPERATION_MS` in the tick.
    pub slow_operations: u64,
    pub pool_in_use: u64,
    pub pool_idle: u64,
    /// Callers waiting for a pooled connection: sqlx does not expose its waiters, so always
    /// 0 — [`Self::pool_acquire_ms`] measures the wait instead.
    pub pool_waiting: u64,
    /// Lookups of the tick served from the cache (L1 or L2) / all lookups; `None` in a tick
    /// without lookups.
    pub cache_hit_ratio: Option<f64>,
    pub ws_connections: u64,
    /// Subscriptions registered in the hub.
    pub subscriptions: u64,
    /// Subscription payloads dropped (slow subscribers and full hub queues) in the tick.
    pub dropped_messages: u64,
    pub ingest_readings_per_s: f64,
    /// `None` until the job queue exists.
    pub job_queue_depth: Option<i64>,
    pub job_failures: Option<i64>,
    /// Database ping of the tick in milliseconds (`None`: it failed or timed out).
    pub db_ping_ms: Option<f64>,
    /// Whether the instance was ready (its database answered) at the tick.
    pub ready: bool,
    /// How long the tick's probe waited for a connection of the primary pool (`None`: it got
    /// none within the ping timeout): near 0 while the pool has idle connections, the queue
    /// time of a request when it is exhausted.
    pub pool_acquire_ms: Option<f64>,
    /// Cache lookups of the tick served from L1 or L2, and all lookups.
    pub cache_hits: u64,
    pub cache_lookups: u64,
    /// The same per cache kind (kinds without lookups in the tick left out).
    pub cache: Vec<CacheSample>,
}

/// One cache kind's lookups in one tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CacheSample {
    /// The cache kind, e.g. `equipment_by_id`.
    pub kind: String,
    /// Served from L1.
    pub l1_hits: u64,
    /// Served from L2 (Redis) after an L1 miss.
    pub l2_hits: u64,
    /// All lookups (L1 hits + L1 misses).
    pub lookups: u64,
}

impl CacheSample {
    /// Hits (either level) per lookup, `None` without lookups.
    pub fn hit_ratio(&self) -> Option<f64> {
        (self.lookups > 0).then(|| (self.l1_hits + self.l2_hits) as f64 / self.lookups as f64)
    }
}

/// The hit ratio of `hits` in `lookups`, `None` without lookups.
pub fn hit_ratio(hits: u64, lookups: u64) -> Option<f64> {
    (lookups > 0).then(|| hits as f64 / lookups as f64)
}

/// The per-kind samples of every instance, summed by kind (sorted by kind).
fn cache_by_kind(instances: &[Snapshot]) -> Vec<CacheSample> {
    let mut kinds: std::collections::BTreeMap<&str, CacheSample> = Default::default();
    for sample in instances.iter().flat_map(|s| &s.cache) {
        let sum = kinds
            .entry(sample.kind.as_str())
            .or_insert_with(|| CacheSample {
                kind: sample.kind.clone(),
                ..CacheSample::default()
            });
        sum.l1_hits += sample.l1_hits;
        sum.l2_hits += sample.l2_hits;
        sum.lookups += sample.lookups;
    }
    kinds.into_values().collect()
}

/// The cluster view of `instances` (each one's latest): sums for rates, counts and
/// resources, the maximum for percentiles, machine CPU and ping, the error rate over all
/// operations; ready only when every instance is.
pub fn aggregate(instances: &[Snapshot], at: DateTime<Utc>) -> Snapshot {
    let sum = |f: fn(&Snapshot) -> f64| instances.iter().map(f).sum::<f64>();
    let max = |f: fn(&Snapshot) -> f64| instances.iter().map(f).fold(0.0, f64::max);
    let total = |f: fn(&Snapshot) -> u64| instances.iter().map(f).sum::<u64>();
    let opt_sum = |f: fn(&Snapshot) -> Option<i64>| {
        instances
            .iter()
            .filter_map(f)
            .reduce(|a, b| a.saturating_add(b))
    };
    let operations = total(|s| s.operations);
    let errors = total(|s| s.errors);
    let mut versions: Vec<&str> = instances.iter().map(|s| s.version.as_str()).collect();
    versions.sort_unstable();
    versions.dedup();
    let cache_hits = total(|s| s.cache_hits);
    let cache_lookups = total(|s| s.cache_lookups);
    Snapshot {
        instance: CLUSTER.to_owned(),
        version: versions.join(","),
        at,
        uptime_s: max(|s| s.uptime_s),
        cpu_percent: sum(|s| s.cpu_percent),
        machine_cpu_percent: max(|s| s.machine_cpu_percent),
        rss_bytes: sum(|s| s.rss_bytes),
        requests_per_s: sum(|s| s.requests_per_s),
        latency_p50_ms: max(|s| s.latency_p50_ms),
        latency_p95_ms: max(|s| s.latency_p95_ms),
        latency_p99_ms: max(|s| s.latency_p99_ms),
        operations,
        errors,
        error_rate: ratio(errors, operations),
        sql_statements_per_s: sum(|s| s.sql_statements_per_s),
        sql_p95_ms: max(|s| s.sql_p95_ms),
        slow_statements: total(|s| s.slow_statements),
        slow_operations: total(|s| s.slow_operations),
        pool_in_use: total(|s| s.pool_in_use),
        pool_idle: total(|s| s.pool_idle),
        pool_waiting: total(|s| s.pool_waiting),
        cache_hit_ratio: hit_ratio(cache_hits, cache_lookups),
        ws_connections: total(|s| s.ws_connections),
        subscriptions: total(|s| s.subscriptions),
        dropped_messages: total(|s| s.dropped_messages),
        ingest_readings_per_s: sum(|s| s.ingest_readings_per_s),
        job_queue_depth: opt_sum(|s| s.job_queue_depth),
        job_failures: opt_sum(|s| s.job_failures),
        db_ping_ms: instances
            .iter()
            .map(|s| s.db_ping_ms)
            .try_fold(0.0_f64, |acc, p| p.map(|p| acc.max(p))),
        ready: !instances.is_empty() && instances.iter().all(|s| s.ready),
        pool_acquire_ms: instances
            .iter()
            .map(|s| s.pool_acquire_ms)
            .try_fold(0.0_f64, |acc, p| p.map(|p| acc.max(p))),
        cache_hits,
        cache_lookups,
        cache: cache_by_kind(instances),
    }
}

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, rps: f64, p95: f64, ops: u64, errors: u64) -> Snapshot {
        Snapshot {
            instance: name.into(),
            version: "1".into(),
            requests_per_s: rps,
            latency_p95_ms: p95,
            operations: ops,
            errors,
            ws_connections: 2,
            ready: true,
            db_ping_ms: Some(1.0),
            ..Snapshot::default()
        }
    }

    #[test]
    fn the_cluster_sums_rates_and_takes_the_worst_percentile() {
        let all = [one("a", 10.0, 5.0, 10, 1), one("b", 30.0, 50.0, 30, 3)];
        let c = aggregate(&all, Utc::now());
        assert_eq!(c.instance, CLUSTER);
        assert_eq!(c.requests_per_s, 40.0);
        assert_eq!(c.latency_p95_ms, 50.0);
        assert_eq!(c.ws_connections, 4);
        assert!((c.error_rate - 0.1).abs() < 1e-9);
        assert_eq!(c.version, "1");
        assert!(c.ready);
        assert_eq!(c.cache_hit_ratio, None);
        assert_eq!(c.db_ping_ms, Some(1.0));
    }

    #[test]
    fn the_cluster_hit_ratio_weighs_each_instance_by_its_lookups() {
        let sample = |kind: &str, l1, l2, lookups| CacheSample {
            kind: kind.into(),
            l1_hits: l1,
            l2_hits: l2,
            lookups,
        };
        let mut a = one("a", 0.0, 0.0, 0, 0);
        (a.cache_hits, a.cache_lookups) = (90, 100);
        a.cache = vec![sample("line_by_id", 80, 10, 100)];
        let mut b = one("b", 0.0, 0.0, 0, 0);
        (b.cache_hits, b.cache_lookups) = (0, 900);
        b.cache = vec![
            sample("line_by_id", 0, 0, 400),
            sample("site_by_id", 0, 0, 500),
        ];
        let c = aggregate(&[a, b], Utc::now());
        assert_eq!(
            c.cache_hit_ratio,
            Some(0.09),
            "90 of 1,000, not the mean of 0.9 and 0"
        );
        assert_eq!(
            c.cache,
            [
                sample("line_by_id", 80, 10, 500),
                sample("site_by_id", 0, 0, 500)
            ]
        );
        assert_eq!(c.cache[0].hit_ratio(), Some(0.18));
        assert_eq!(CacheSample::default().hit_ratio(), None);
    }

    #[test]
    fn one_unready_instance_makes_the_cluster_unready() {
        let mut b = one("b", 0.0, 0.0, 0, 0);
        b.ready = false;
        b.db_ping_ms = None;
        let c = aggregate(&[one("a", 0.0, 0.0, 0, 0), b], Utc::now());
        assert!(!c.ready);
        assert_eq!(c.db_ping_ms, None);
        assert_eq!(c.error_rate, 0.0);
        assert!(!aggregate(&[], Utc::now()).ready);
    }

    #[test]
    fn a_snapshot_round_trips_postcard_and_json() {
        let mut s = one("a", 1.5, 2.5, 3, 1);
        s.at = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
        s.cache_hit_ratio = Some(0.5);
        let bytes = postcard::to_stdvec(&s).expect("encode");
        assert_eq!(postcard::from_bytes::<Snapshot>(&bytes).expect("decode"), s);
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(serde_json::from_value::<Snapshot>(json).expect("back"), s);
    }
}
