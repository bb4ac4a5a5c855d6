//! `AppState`: everything a request, job or command needs, built once at start-up.

use std::{sync::Arc, time::Instant};

use crate::{
    auth::session::Authenticator, config::Config, db::Db, events::EventBus,
    security::ratelimit::RateLimiter, service::telemetry::Partitions, telemetry::Metrics,
};

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration the instance started with.
    pub config: Arc<Config>,
    /// Database pools.
    pub db: Db,
    /// Metrics registry of this instance.
    pub metrics: Arc<Metrics>,
    /// Token keys and the session cache.
    pub auth: Arc<Authenticator>,
    /// Redis, when `REDIS_URL` is set.
    pub redis: Option<fred::clients::Pool>,
    /// The factory event bus (across instances when Redis is there).
    pub events: Arc<EventBus>,
    /// The two-level cache behind the loaders (L2 in Redis when there is one).
    pub cache: crate::cache::Cache,
    /// Rate limits (in Redis when there is one).
    pub limiter: Arc<RateLimiter>,
    /// Readings partitions this instance has ensured.
    pub partitions: Arc<Partitions>,
    /// The WebSocket and SSE connections of this instance.
    pub sockets: Arc<crate::graphql::transport::sockets::Sockets>,
    /// Shared executions of identical subscriptions.
    pub feeds: Arc<crate::graphql::transport::feeds::Feeds>,
    /// The subscription hub: this instance's subscriptions and the bus receivers feeding
    /// them (started with the server's background tasks).
    pub hub: Arc<crate::realtime::Hub>,
    /// This instance's id (host and pid), as shown in metrics.
    pub instance_id: Arc<str>,
    /// When the instance started.
    pub started_at: Instant,
    /// The latest metric snapshots of this instance and the others (the collector's).
    pub monitor: Arc<crate::telemetry::monitor::Monitor>,
}

impl AppState {
    /// Connects the database (and Redis, when configured) and assembles the state.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let db = Db::connect(&config.database, metrics.clone()).await?;
        let redis = crate::redis::connect(&config.redis).await?;
        let limiter = RateLimiter::new(
            config.rate_limit.clone(),
            redis
                .clone()
                .map(|pool| (pool, config.redis.prefix.as_str(), config.redis.timeout)),
            metrics.clone(),
        );
        let events = Arc::new(EventBus::new(metrics.clone()));
        let cache = crate::cache::Cache::new(
            &config.cache,
            redis.clone().map(|pool| (pool, &config.redis)),
            events.clone(),
            metrics.clone(),
        );
        let auth = Authenticator::new(&config.auth);
        auth.set_events(events.clone());
        let instance_id: Arc<str> = instance_id().into();
        let monitor = crate::telemetry::monitor::Monitor::new(
            instance_id.clone(),
            config.metrics.interval,
            config.metrics.clock.now(),
        );
        Ok(Self {
            monitor,
            events,
            cache,
            auth: Arc::new(auth),
            redis,
            limiter: Arc::new(limiter),
            partitions: Arc::default(),
            sockets: crate::graphql::transport::sockets::Sockets::new(
                &config.sockets,
                metrics.clone(),
            ),
            feeds: crate::graphql::transport::feeds::Feeds::new(
                config.sockets.subscriber_buffer,
                metrics.clone(),
            ),
            hub: crate::realtime::Hub::new(metrics.clone()),
            config: Arc::new(config),
            db,
            metrics,
            instance_id,
            started_at: Instant::now(),
        })
    }
}

/// `host-pid`; a second state in one process (tests running two instances) gets `host-pid-2`,
/// so instances sharing a bus tell each other apart.
fn instance_id() -> String {
    static BUILT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    match BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => format!("{host}-{}", std::process::id()),
        n => format!("{host}-{}-{}", std::process::id(), n + 1),
    }
}
