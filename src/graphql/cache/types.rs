//! The GraphQL shapes of the cache statistics.

use async_graphql::SimpleObject;

use crate::cache;

/// Hits and misses at one level (counts are Float: they outgrow a 32-bit Int).
#[derive(SimpleObject)]
pub struct CacheLevelStats {
    /// Lookups answered at this level.
    pub hits: f64,
    /// Lookups this level could not answer.
    pub misses: f64,
    /// `hits / (hits + misses)`, 0 before any lookup.
    pub ratio: f64,
}

impl From<cache::LevelStats> for CacheLevelStats {
    fn from(s: cache::LevelStats) -> Self {
        let total = s.hits + s.misses;
        Self {
            hits: s.hits as f64,
            misses: s.misses as f64,
            ratio: if total == 0 {
                0.0
            } else {
                s.hits as f64 / total as f64
            },
        }
    }
}

/// The counters of one kind of cached data.
#[derive(SimpleObject)]
pub struct CacheKindStats {
    /// The kind, e.g. `equipment_by_id`, `sensors_by_equipment`, `latest_reading`.
    pub kind: String,
    /// In-process level.
    pub l1: CacheLevelStats,
    /// Redis level (zeros without Redis, and for `latest_reading`, which lives in process).
    pub l2: CacheLevelStats,
    /// In-process entries evicted for size or age.
    pub evictions: f64,
    /// In-process entries now (approximate).
    pub entries: f64,
}

/// This instance's cache statistics.
#[derive(SimpleObject)]
pub struct CacheStats {
    /// Whether the cache is on (`SF_CACHE`).
    pub enabled: bool,
    /// Redis as the cache sees it: `off` (no `REDIS_URL`), `up`, or `degraded` (skipped
    /// behind the circuit breaker).
    pub redis: String,
    /// Per kind of data.
    pub kinds: Vec<CacheKindStats>,
    /// Bytes of values written to Redis before compression.
    pub bytes_raw: f64,
    /// The same values as stored (after compression).
    pub bytes_stored: f64,
    /// Redis cache commands sent (a pipeline counts once).
    pub redis_commands: f64,
    /// Of those, failed or timed out.
    pub redis_errors: f64,
    /// Mean wall time of a Redis cache command, in milliseconds.
    pub redis_mean_ms: f64,
    /// Tags this instance has invalidated (its own writes and the other instances').
    pub invalidations: f64,
}

impl From<cache::CacheStats> for CacheStats {
    fn from(s: cache::CacheStats) -> Self {
        Self {
            enabled: s.enabled,
            redis: s.redis.to_owned(),
            kinds: s
                .kinds
                .into_iter()
                .map(|k| CacheKindStats {
                    kind: k.kind.to_owned(),
                    l1: k.l1.into(),
                    l2: k.l2.into(),
                    evictions: k.evictions as f64,
                    entries: k.entries as f64,
                })
                .collect(),
            bytes_raw: s.bytes_raw as f64,
            bytes_stored: s.bytes_stored as f64,
            redis_commands: s.redis_commands as f64,
            redis_errors: s.redis_errors as f64,
            redis_mean_ms: s.redis_mean_us / 1000.0,
            invalidations: s.invalidations as f64,
        }
    }
}

/// What `invalidateCache` answers.
#[derive(SimpleObject)]
pub struct InvalidateCachePayload {
    /// Tags dropped (0 when everything was).
    pub invalidated: i32,
    /// Whether everything was dropped.
    pub all: bool,
}
