//! The two-level cache's settings (`SF_CACHE_*`): per type of cached data, a capacity and a
//! time to live in process memory (L1), and the Redis side (L2) shared by instances.

use std::time::Duration;

use super::{EnvSource, EnvSourceExt as _, Flag};

/// Capacity and time to live of one type's in-process cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierConfig {
    /// Entries kept per cache of this type (one cache per loader kind).
    pub capacity: u64,
    /// How long an entry lives in process memory (a safety net: writes invalidate by tag).
    pub ttl: Duration,
}

/// The whole-response cache of queries and the automatic persisted queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseConfig {
    /// `SF_CACHE_RESPONSE`: whole responses cached (on by default, with the cache).
    pub enabled: bool,
    /// `SF_CACHE_RESPONSE_CAPACITY_BYTES`: bytes of responses kept in process memory (the
    /// JSON size of each).
    pub capacity_bytes: u64,
    /// `SF_CACHE_RESPONSE_TTL_MS`: how long a response lives (a safety net: writes
    /// invalidate by tag), in process memory and in Redis.
    pub ttl: Duration,
    /// `SF_CACHE_RESPONSE_MAX_BYTES`: larger responses are not cached.
    pub max_bytes: usize,
    /// `SF_CACHE_LIVE_MAX_AGE_MS`: the age limit of a response that shows latest readings
    /// (kept in process only, and dropped when a reading it shows changes).
    pub live_max_age: Duration,
    /// `SF_CACHE_APQ_CAPACITY_BYTES`: bytes of persisted query text kept in process memory.
    pub apq_capacity_bytes: u64,
    /// `SF_CACHE_APQ_TTL_MS`: how long a persisted query is remembered (process and Redis).
    pub apq_ttl: Duration,
}

/// The cache settings.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// `SF_CACHE`: the whole cache on or off (off: every loader goes to the database).
    pub enabled: bool,
    /// `SF_CACHE_ENTITY_CAPACITY`, `SF_CACHE_ENTITY_TTL_MS`: rows by id (equipment, lines,
    /// sensors).
    pub entity: TierConfig,
    /// `SF_CACHE_RELATION_CAPACITY`, `SF_CACHE_RELATION_TTL_MS`: child lists by parent (a
    /// line's machines, a machine's sensors, a workshop's lines).
    pub relation: TierConfig,
    /// `SF_CACHE_LATEST_CAPACITY`, `SF_CACHE_LATEST_TTL_MS`: latest readings, kept current
    /// from the readings events (in process only).
    pub latest: TierConfig,
    /// `SF_CACHE_L2_TTL_MS`: time to live of values in Redis.
    pub l2_ttl: Duration,
    /// `SF_CACHE_COMPRESS_MIN_BYTES`: values at least this long are stored compressed.
    pub compress_min_bytes: usize,
    /// `SF_CACHE_TOMBSTONE_MS`: how long an invalidated Redis key refuses refills, so a load
    /// that read the database before the write committed cannot put the old value back.
    pub tombstone: Duration,
    /// `SF_CACHE_BREAKER_FAILURES`: consecutive Redis failures (errors or answers slower than
    /// `REDIS_TIMEOUT_MS`) that open the circuit breaker (L2 skipped).
    pub breaker_failures: u32,
    /// `SF_CACHE_BREAKER_PROBE_MS`: how often an open breaker lets one command through to
    /// see whether Redis is back.
    pub breaker_probe: Duration,
    /// Whole responses and persisted queries (`SF_CACHE_RESPONSE_*`, `SF_CACHE_LIVE_MAX_AGE_MS`,
    /// `SF_CACHE_APQ_*`).
    pub response: ResponseConfig,
}

impl CacheConfig {
    /// The settings from their variables, defaults in code.
    pub fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let tier = |name: &str, capacity: u64, ttl_ms: u64| -> anyhow::Result<TierConfig> {
            let capacity = env.parse_or(&format!("SF_CACHE_{name}_CAPACITY"), capacity)?;
            let ttl_ms: u64 = env.parse_or(&format!("SF_CACHE_{name}_TTL_MS"), ttl_ms)?;
            if ttl_ms == 0 {
                anyhow::bail!("SF_CACHE_{name}_TTL_MS must be at least 1");
            }
            Ok(TierConfig {
                capacity,
                ttl: Duration::from_millis(ttl_ms),
            })
        };
        let config = Self {
            enabled: env.parse_or("SF_CACHE", Flag(true))?.0,
            entity: tier("ENTITY", 20_000, 300_000)?,
            relation: tier("RELATION", 20_000, 300_000)?,
            latest: tier("LATEST", 200_000, 60_000)?,
            l2_ttl: Duration::from_millis(env.parse_or("SF_CACHE_L2_TTL_MS", 600_000)?),
            compress_min_bytes: env.parse_or("SF_CACHE_COMPRESS_MIN_BYTES", 1024)?,
            tombstone: Duration::from_millis(env.parse_or("SF_CACHE_TOMBSTONE_MS", 5_000)?),
            breaker_failures: env.parse_or("SF_CACHE_BREAKER_FAILURES", 3)?,
            breaker_probe: Duration::from_millis(env.parse_or("SF_CACHE_BREAKER_PROBE_MS", 1_000)?),
            response: ResponseConfig::from_source(env)?,
        };
        if config.l2_ttl.as_millis() == 0 {
            anyhow::bail!("SF_CACHE_L2_TTL_MS must be at least 1");
        }
        if config.tombstone.as_millis() == 0 {
            anyhow::bail!("SF_CACHE_TOMBSTONE_MS must be at least 1");
        }
        if config.breaker_failures == 0 {
            anyhow::bail!("SF_CACHE_BREAKER_FAILURES must be at least 1");
        }
        Ok(config)
    }
}

impl ResponseConfig {
    fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let millis = |name: &str, default: u64| -> anyhow::Result<Duration> {
            let ms: u64 = env.parse_or(name, default)?;
            if ms == 0 {
                anyhow::bail!("{name} must be at least 1");
            }
            Ok(Duration::from_millis(ms))
        };
        let config = Self {
            enabled: env.parse_or("SF_CACHE_RESPONSE", Flag(true))?.0,
            capacity_bytes: env.parse_or("SF_CACHE_RESPONSE_CAPACITY_BYTES", 64 << 20)?,
            ttl: millis("SF_CACHE_RESPONSE_TTL_MS", 300_000)?,
            max_bytes: env.parse_or("SF_CACHE_RESPONSE_MAX_BYTES", 2 << 20)?,
            live_max_age: millis("SF_CACHE_LIVE_MAX_AGE_MS", 1_000)?,
            apq_capacity_bytes: env.parse_or("SF_CACHE_APQ_CAPACITY_BYTES", 16 << 20)?,
            apq_ttl: millis("SF_CACHE_APQ_TTL_MS", 86_400_000)?,
        };
        if config.max_bytes == 0 {
            anyhow::bail!("SF_CACHE_RESPONSE_MAX_BYTES must be at least 1");
        }
        if config.max_bytes as u64 > config.capacity_bytes {
            anyhow::bail!(
                "SF_CACHE_RESPONSE_MAX_BYTES ({}) must not exceed SF_CACHE_RESPONSE_CAPACITY_BYTES ({})",
                config.max_bytes,
                config.capacity_bytes
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        MapEnv::of(pairs)
    }

    #[test]
    fn defaults_and_overrides() {
        let c = CacheConfig::from_source(&MapEnv::default()).expect("defaults");
        assert!(c.enabled);
        assert_eq!(c.compress_min_bytes, 1024);
        assert!(c.response.enabled);
        assert_eq!(c.response.live_max_age, Duration::from_millis(1000));
        let c = CacheConfig::from_source(&env(&[
            ("SF_CACHE", "off"),
            ("SF_CACHE_ENTITY_TTL_MS", "1500"),
            ("SF_CACHE_LATEST_CAPACITY", "7"),
        ]))
        .expect("overrides");
        assert!(!c.enabled);
        assert_eq!(c.entity.ttl, Duration::from_millis(1500));
        assert_eq!(c.latest.capacity, 7);
    }

    #[test]
    fn malformed_settings_name_their_variable() {
        for (name, value) in [
            ("SF_CACHE_ENTITY_TTL_MS", "0"),
            ("SF_CACHE_RELATION_CAPACITY", "many"),
            ("SF_CACHE_BREAKER_FAILURES", "0"),
            ("SF_CACHE", "maybe"),
            ("SF_CACHE_RESPONSE_TTL_MS", "0"),
            ("SF_CACHE_LIVE_MAX_AGE_MS", "soon"),
            ("SF_CACHE_RESPONSE_MAX_BYTES", "0"),
            ("SF_CACHE_RESPONSE_CAPACITY_BYTES", "10"),
            ("SF_CACHE_APQ_TTL_MS", "0"),
        ] {
            let err = CacheConfig::from_source(&env(&[(name, value)]))
                .expect_err("malformed")
                .to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
