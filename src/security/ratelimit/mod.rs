//! Rate limits: GCRA buckets per (class, key), in Redis when `REDIS_URL` is set so every
//! instance shares them, else — and whenever Redis fails — in this process.
//!
//! A failing Redis never fails a request: the check is answered by the in-process store (the
//! limit then holds per instance), a warning is logged at most every few seconds, and Redis is
//! left alone for a moment before it is tried again.

pub mod gcra;
mod local;
mod redis;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::sync::Cache;

pub use gcra::{Decision, Quota};

use crate::{config::RateLimitConfig, telemetry::Metrics};
use local::LocalStore;
use redis::RedisStore;

/// Who is being limited, and by what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Callers without a (valid) token, per client IP, one unit per operation.
    Anonymous,
    /// Logged-in users, per user, charged the operation's complexity.
    User,
    /// Gateway service accounts, per account, charged the operation's complexity.
    Gateway,
    /// Login attempts per client IP.
    LoginIp,
    /// Login attempts per username.
    LoginUser,
}

impl Class {
    /// The name in keys, metrics and security events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::User => "user",
            Self::Gateway => "gateway",
            Self::LoginIp => "login_ip",
            Self::LoginUser => "login_user",
        }
    }
}

/// How long Redis is bypassed after it failed.
const REDIS_PAUSE: Duration = Duration::from_secs(1);
/// Least time between two warnings about Redis.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// A key's trips are recorded as a security event at most this often.
const TRIP_EVENT_EVERY: Duration = Duration::from_secs(60);

/// The limiter of one instance.
pub struct RateLimiter {
    config: RateLimitConfig,
    local: LocalStore,
    redis: Option<RedisStore>,
    metrics: Arc<Metrics>,
    started: Instant,
    /// Microseconds since `started` before which Redis is not tried.
    redis_paused_until: AtomicU64,
    /// Microseconds since `started` of the last warning about Redis (0: none yet).
    last_warning: AtomicU64,
    /// Keys whose trip was recorded within the last minute.
    recent_trips: Cache<String, ()>,
}

impl RateLimiter {
    /// A limiter with `config`'s quotas, on `redis` (pool and key prefix) when given.
    pub fn new(
        config: RateLimitConfig,
        redis: Option<(fred::clients::Pool, &str, Duration)>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            config,
            local: LocalStore::new(),
            redis: redis.map(|(pool, prefix, timeout)| RedisStore::new(pool, prefix, timeout)),
            metrics,
            started: Instant::now(),
            redis_paused_until: AtomicU64::new(0),
            last_warning: AtomicU64::new(0),
            recent_trips: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TRIP_EVENT_EVERY)
                .build(),
        }
    }

    /// Whether limits are enforced at all (`SF_RATE_LIMIT`).
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The quota of `class`.
    pub fn quota(&self, class: Class) -> &Quota {
        match class {
            Class::Anonymous => &self.config.anonymous,
            Class::User => &self.config.user,
            Class::Gateway => &self.config.gateway,
            Class::LoginIp => &self.config.login_ip,
            Class::LoginUser => &self.config.login_user,
        }
    }

    /// Checks `key` of `class` and charges it `cost` units when allowed. Never fails: without
    /// a working Redis the in-process store answers.
    pub async fn check(&self, class: Class, key: &str, cost: u64) -> Decision {
        let quota = *self.quota(class);
        let decision = match self.redis_if_healthy() {
            Some(redis) => match redis.check(class.as_str(), &quota, key, cost).await {
                Ok(decision) => decision,
                Err(failure) => {
                    self.redis_failed(&failure);
                    self.local_check(class, &quota, key, cost)
                }
            },
            None => self.local_check(class, &quota, key, cost),
        };
        if !decision.allowed {
            self.metrics.rate_limit_trip(class.as_str());
        }
        decision
    }

    /// True the first time `key` of `class` trips within a minute: the caller then records a
    /// security event, so a flood writes one row a minute, not one per request.
    pub fn first_trip_this_minute(&self, class: Class, key: &str) -> bool {
        self.first_this_minute(&format!("{}:{key}", class.as_str()))
    }

    /// True the first time `key` is seen within a minute (throttles other security events,
    /// e.g. forbidden attempts, the same way).
    pub fn first_this_minute(&self, key: &str) -> bool {
        self.recent_trips
            .entry(key.to_owned())
            .or_insert(())
            .is_fresh()
    }

    fn local_check(&self, class: Class, quota: &Quota, key: &str, cost: u64) -> Decision {
        self.local
            .check(quota, &format!("{}:{key}", class.as_str()), cost)
    }

    fn now_us(&self) -> u64 {
        // Never 0, which stands for "never" in the atomics.
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX) + 1
    }

    fn redis_if_healthy(&self) -> Option<&RedisStore> {
        let redis = self.redis.as_ref()?;
        (self.now_us() >= self.redis_paused_until.load(Ordering::Relaxed)).then_some(redis)
    }

    fn redis_failed(&self, failure: &redis::RedisFailure) {
        let now = self.now_us();
        let pause = u64::try_from(REDIS_PAUSE.as_micros()).unwrap_or(u64::MAX);
        self.redis_paused_until
            .store(now.saturating_add(pause), Ordering::Relaxed);
        self.metrics.rate_limit_redis_error();
        let last = self.last_warning.load(Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_micros()).unwrap_or(u64::MAX);
        let due = last == 0 || now.saturating_sub(last) >= every;
        if due
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = %failure,
                "rate limits: Redis failed; answering from the in-process limiter"
            );
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.config.enabled)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn limiter() -> RateLimiter {
        let mut config = Config::for_database("sqlite::memory:")
            .expect("config")
            .rate_limit;
        config.user = "1/h,2".parse().expect("quota");
        RateLimiter::new(config, None, Arc::new(Metrics::new()))
    }

    #[tokio::test]
    async fn classes_keep_separate_buckets_and_trips_are_counted() {
        let limiter = limiter();
        assert!(limiter.check(Class::User, "7", 2).await.allowed);
        assert!(!limiter.check(Class::User, "7", 1).await.allowed);
        assert!(limiter.check(Class::Gateway, "7", 1).await.allowed);
        assert!(limiter.check(Class::User, "8", 1).await.allowed);
        assert!(
            limiter
                .metrics
                .render()
                .contains("sf_rate_limit_trips_total{class=\"user\"} 1")
        );
    }

    #[test]
    fn a_key_trips_into_the_event_log_once_a_minute() {
        let limiter = limiter();
        assert!(limiter.first_trip_this_minute(Class::User, "7"));
        assert!(!limiter.first_trip_this_minute(Class::User, "7"));
        assert!(limiter.first_trip_this_minute(Class::LoginIp, "7"));
    }
}
