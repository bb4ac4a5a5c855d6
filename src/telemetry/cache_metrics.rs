//! Metrics of the two-level cache (`cache`): lookups by kind, level and result, evictions,
//! bytes before and after compression, Redis command latency and the circuit breaker.
//! `cacheStats` and the live-metrics snapshot read the same counters.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of a cache lookup.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LookupLabels {
    /// The loader kind, e.g. `equipment_by_id` (see `cache::Kind`).
    pub kind: &'static str,
    /// `l1` or `l2`.
    pub level: &'static str,
    /// `hit` or `miss`.
    pub result: &'static str,
}

/// Labels of the per-kind cache metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheKindLabels {
    pub kind: &'static str,
}

/// The cache metrics, registered in the instance's registry.
#[derive(Clone)]
pub struct CacheMetrics {
    /// Lookups by kind, level and result.
    pub lookups: Family<LookupLabels, Counter>,
    /// L1 entries evicted for size or age, by kind.
    pub evictions: Family<CacheKindLabels, Counter>,
    /// Bytes of values written to Redis before compression.
    pub bytes_raw: Counter,
    /// Bytes of values written to Redis as stored (after compression).
    pub bytes_stored: Counter,
    /// Redis cache commands (pipelines count once) and their wall time.
    pub redis_seconds: Histogram,
    /// Redis cache commands sent, and their total wall time in microseconds (for means).
    pub redis_commands: Counter,
    pub redis_micros: Counter,
    /// Redis cache commands that failed or timed out.
    pub redis_errors: Counter,
    /// 1 while the breaker lets cache commands reach Redis, 0 while it skips them.
    pub redis_up: Gauge,
    /// Times the breaker opened.
    pub breaker_opened: Counter,
    /// Tags invalidated (each instance counts the events it applied).
    pub invalidations: Counter,
}

impl CacheMetrics {
    /// Registers every cache metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            lookups: Family::default(),
            evictions: Family::default(),
            bytes_raw: Counter::default(),
            bytes_stored: Counter::default(),
            redis_seconds: Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            ]),
            redis_commands: Counter::default(),
            redis_micros: Counter::default(),
            redis_errors: Counter::default(),
            redis_up: Gauge::default(),
            breaker_opened: Counter::default(),
            invalidations: Counter::default(),
        };
        registry.register(
            "cache_lookups",
            "Cache lookups by kind, level (l1, l2) and result (hit, miss)",
            m.lookups.clone(),
        );
        registry.register(
            "cache_evictions",
            "In-process cache entries evicted for size or age, by kind",
            m.evictions.clone(),
        );
        registry.register(
            "cache_bytes_raw",
            "Bytes of cache values written to Redis, before compression",
            m.bytes_raw.clone(),
        );
        registry.register(
            "cache_bytes_stored",
            "Bytes of cache values written to Redis, as stored (after compression)",
            m.bytes_stored.clone(),
        );
        registry.register(
            "cache_redis_seconds",
            "Wall time of Redis cache commands (a pipeline counts once)",
            m.redis_seconds.clone(),
        );
        registry.register(
            "cache_redis_errors",
            "Redis cache commands that failed or timed out",
            m.redis_errors.clone(),
        );
        registry.register(
            "cache_redis_up",
            "1 while the cache's circuit breaker lets commands reach Redis, else 0",
            m.redis_up.clone(),
        );
        registry.register(
            "cache_breaker_opened",
            "Times the cache's Redis circuit breaker opened",
            m.breaker_opened.clone(),
        );
        registry.register(
            "cache_invalidations",
            "Cache tags invalidated on this instance",
            m.invalidations.clone(),
        );
        m
    }

    /// Counts one lookup.
    pub fn lookup(&self, kind: &'static str, level: &'static str, hit: bool, n: u64) {
        if n == 0 {
            return;
        }
        let result = if hit { "hit" } else { "miss" };
        self.lookups
            .get_or_create(&LookupLabels {
                kind,
                level,
                result,
            })
            .inc_by(n);
    }

    /// Lookups of one kind, level and result so far.
    pub fn lookups_of(&self, kind: &'static str, level: &'static str, hit: bool) -> u64 {
        let result = if hit { "hit" } else { "miss" };
        self.lookups
            .get_or_create(&LookupLabels {
                kind,
                level,
                result,
            })
            .get()
    }

    /// Records one Redis command's outcome and wall time.
    pub fn redis_command(&self, ok: bool, elapsed: std::time::Duration) {
        self.redis_seconds.observe(elapsed.as_secs_f64());
        self.redis_commands.inc();
        self.redis_micros
            .inc_by(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        if !ok {
            self.redis_errors.inc();
        }
    }
}
