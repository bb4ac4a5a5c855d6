//! The Redis connection pool (fred), made once at start-up when `REDIS_URL` is set.
//!
//! Redis is optional and may come and go: the pool reconnects in the background forever, and
//! users of it (rate limits) fail fast and fall back while it is down, so start-up does not
//! wait for it either.

use anyhow::Context as _;
use fred::{
    clients::{Pool, SubscriberClient},
    interfaces::ClientLike as _,
    types::{
        Builder,
        config::{Config as FredConfig, ReconnectPolicy, UnresponsiveConfig},
    },
};
use secrecy::ExposeSecret as _;

use crate::config::RedisConfig;

/// The client settings every connection shares: fail fast, reconnect forever.
fn builder(config: &RedisConfig) -> anyhow::Result<Option<Builder>> {
    let Some(url) = &config.url else {
        return Ok(None);
    };
    let mut redis_config =
        FredConfig::from_url(url.expose_secret()).context("REDIS_URL is not a valid Redis URL")?;
    // Keep retrying the first connection instead of failing: Redis is optional.
    redis_config.fail_fast = false;
    let timeout = config.timeout;
    let mut builder = Builder::from_config(redis_config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
            // A command never waits for a reconnection: one attempt, then the caller's fallback.
            c.max_command_attempts = 1;
            c.unresponsive = UnresponsiveConfig {
                max_timeout: Some(timeout * 4),
                interval: timeout,
            };
        })
        .with_performance_config(|p| p.default_command_timeout = timeout)
        // 100 ms, doubling, at most 5 s between attempts; never give up.
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
    Ok(Some(builder))
}

/// A pub/sub client (its own connection) for the event bus's listener, not yet connected.
pub fn subscriber(config: &RedisConfig) -> anyhow::Result<Option<SubscriberClient>> {
    let Some(builder) = builder(config)? else {
        return Ok(None);
    };
    let client = builder
        .build_subscriber_client()
        .context("building the Redis subscriber")?;
    client.connect();
    Ok(Some(client))
}

/// Connects the pool when `REDIS_URL` is set; a malformed URL fails start-up, an unreachable
/// server does not (it is retried in the background).
pub async fn connect(config: &RedisConfig) -> anyhow::Result<Option<Pool>> {
    let Some(builder) = builder(config)? else {
        return Ok(None);
    };
    let timeout = config.timeout;
    let pool = builder
        .build_pool(config.pool_size.max(1))
        .context("building the Redis pool")?;
    pool.connect();
    match tokio::time::timeout(timeout * 4, pool.wait_for_connect()).await {
        Ok(Ok(())) => tracing::info!("Redis connected"),
        _ => tracing::warn!("Redis is not reachable yet; retrying in the background"),
    }
    Ok(Some(pool))
}

/// Whether Redis answers a `PING` within the configured timeout.
pub async fn ping(pool: &Pool, config: &RedisConfig) -> bool {
    let ping = pool.ping::<String>(None);
    matches!(tokio::time::timeout(config.timeout, ping).await, Ok(Ok(_)))
}
