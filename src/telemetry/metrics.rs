//! The instance's counters and histograms, exported at `/metrics` in Prometheus text format.
//!
//! Held in `AppState` (no global recorder), so every app in a test process has its own.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of a GraphQL request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// Labels of the rate-limit counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    /// `anonymous`, `user`, `gateway`, `login_ip` or `login_user`.
    pub class: &'static str,
}

/// Labels of the event-bus counters by topic.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// `readings`, `auth`, … (see `events::Topic`).
    pub topic: &'static str,
}

/// Labels of the dropped-event counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// `outbox_full`, `redis_down`, `redis_failed`, `undecodable`, `listener_lagged`.
    pub reason: &'static str,
}

/// Labels of the security-event counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The event kind, e.g. `account_locked` (see `service::security::kind`).
    pub kind: &'static str,
}

/// Security events recorded by this process, by kind. Process-wide (events are written deep
/// in services that hold no state); every instance's registry exposes it.
pub static SECURITY_EVENTS: std::sync::LazyLock<Family<KindLabels, Counter>> =
    std::sync::LazyLock::new(Family::default);

/// Every metric of one instance.
pub struct Metrics {
    registry: Registry,
    /// GraphQL operations executed, by outcome.
    pub graphql_requests: Family<OutcomeLabels, Counter>,
    /// Wall time of GraphQL operations, in seconds.
    pub graphql_duration: Histogram,
    /// SQL statements run by one GraphQL request.
    pub sql_per_request: Histogram,
    /// SQL statements run by the whole instance.
    pub sql_statements: Counter,
    /// SQL statements slower than `DB_SLOW_QUERY_MS`.
    pub sql_slow_statements: Counter,
    /// SQL statements that failed.
    pub sql_failed_statements: Counter,
    /// SQL statement wall time, in seconds.
    pub sql_duration: Histogram,
    /// Readings written by the simulator or ingest.
    pub readings_ingested: Counter,
    /// Database ping latency of the last readiness check, in microseconds.
    pub db_ping_us: Gauge,
    /// Operations refused by a rate limit, by class.
    pub rate_limit_trips: Family<ClassLabels, Counter>,
    /// Events published on this instance's bus, by topic.
    pub events_published: Family<TopicLabels, Counter>,
    /// Events received from other instances through Redis, by topic.
    pub events_received: Family<TopicLabels, Counter>,
    /// Events that did not cross to (or from) the other instances, by reason.
    pub events_dropped: Family<ReasonLabels, Counter>,
    /// Rate-limit checks Redis failed (answered by the in-process limiter instead).
    pub rate_limit_redis_errors: Counter,
    /// WebSocket and SSE connections, closes and subscription feeds.
    pub sockets: super::socket_metrics::SocketMetrics,
    /// The two-level cache: lookups, evictions, compression, Redis latency.
    pub cache: super::cache_metrics::CacheMetrics,
    /// The subscription hub: subscriptions by kind, queue drops, missed events.
    pub hub: super::hub_metrics::HubMetrics,
    /// The job queue and the maintenance tasks.
    pub jobs: super::job_metrics::JobMetrics,
    /// The collector's gauges, operation counters and build info.
    pub system: super::system_metrics::SystemMetrics,
    /// GraphQL operation durations of the tick in progress (the latency percentiles).
    pub latency: super::window::Recorder,
    /// SQL statement durations of the tick in progress.
    pub sql_latency: super::window::Recorder,
}

impl Metrics {
    /// Registers every metric under the `sf_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sf");
        let graphql_requests = Family::<OutcomeLabels, Counter>::default();
        let graphql_duration = Histogram::new([
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]);
        let sql_per_request = Histogram::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0, 12.0, 20.0, 50.0]);
        let sql_duration = Histogram::new([
            0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
        ]);
        let sql_statements = Counter::default();
        let sql_slow_statements = Counter::default();
        let sql_failed_statements = Counter::default();
        let readings_ingested = Counter::default();
        let db_ping_us = Gauge::default();
        let rate_limit_trips = Family::<ClassLabels, Counter>::default();
        let rate_limit_redis_errors = Counter::default();
        let events_published = Family::<TopicLabels, Counter>::default();
        let events_received = Family::<TopicLabels, Counter>::default();
        let events_dropped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL operations executed",
            graphql_requests.clone(),
        );
        registry.register(
            "graphql_duration_seconds",
            "Wall time of GraphQL operations",
            graphql_duration.clone(),
        );
        registry.register(
            "sql_statements_per_request",
            "SQL statements run by one GraphQL request",
            sql_per_request.clone(),
        );
        registry.register(
            "sql_statements",
            "SQL statements run",
            sql_statements.clone(),
        );
        registry.register(
            "sql_slow_statements",
            "SQL statements slower than DB_SLOW_QUERY_MS",
            sql_slow_statements.clone(),
        );
        registry.register(
            "sql_failed_statements",
            "SQL statements that returned an error",
            sql_failed_statements.clone(),
        );
        registry.register(
            "sql_duration_seconds",
            "SQL statement wall time",
            sql_duration.clone(),
        );
        registry.register(
            "readings_ingested",
            "Sensor readings written",
            readings_ingested.clone(),
        );
        registry.register(
            "db_ping_microseconds",
            "Database ping latency at the last readiness check",
            db_ping_us.clone(),
        );
        registry.register(
            "rate_limit_trips",
            "Operations refused by a rate limit",
            rate_limit_trips.clone(),
        );
        registry.register(
            "security_events",
            "Security events recorded, by kind",
            SECURITY_EVENTS.clone(),
        );
        registry.register(
            "rate_limit_redis_errors",
            "Rate-limit checks answered in-process because Redis failed",
            rate_limit_redis_errors.clone(),
        );
        registry.register(
            "events_published",
            "Events published on this instance's bus",
            events_published.clone(),
        );
        registry.register(
            "events_received",
            "Events received from other instances through Redis",
            events_received.clone(),
        );
        registry.register(
            "events_dropped",
            "Events that did not cross between instances, by reason",
            events_dropped.clone(),
        );
        let sockets = super::socket_metrics::SocketMetrics::register(&mut registry);
        let hub = super::hub_metrics::HubMetrics::register(&mut registry);
        let jobs = super::job_metrics::JobMetrics::register(&mut registry);
        let cache = super::cache_metrics::CacheMetrics::register(&mut registry);
        let system = super::system_metrics::SystemMetrics::register(&mut registry);
        Self {
            system,
            latency: super::window::Recorder::default(),
            sql_latency: super::window::Recorder::default(),
            registry,
            sockets,
            hub,
            jobs,
            cache,
            events_published,
            events_received,
            events_dropped,
            graphql_requests,
            graphql_duration,
            sql_per_request,
            sql_statements,
            sql_slow_statements,
            sql_failed_statements,
            sql_duration,
            readings_ingested,
            db_ping_us,
            rate_limit_trips,
            rate_limit_redis_errors,
        }
    }

    /// Counts one operation refused by the rate limit of `class`.
    pub fn rate_limit_trip(&self, class: &'static str) {
        self.rate_limit_trips
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// Counts one event published on `topic`.
    pub fn event_published(&self, topic: &'static str) {
        self.events_published
            .get_or_create(&TopicLabels { topic })
            .inc();
    }

    /// Counts one event received from another instance on `topic`.
    pub fn event_received(&self, topic: &'static str) {
        self.events_received
            .get_or_create(&TopicLabels { topic })
            .inc();
    }

    /// Counts one event that stayed local (or was lost on the way in) for `reason`.
    pub fn event_dropped(&self, reason: &'static str) {
        self.events_dropped
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts `missed` subscription payloads a slow subscriber lost.
    pub fn subscriber_dropped(&self, missed: u64) {
        self.sockets.subscriber_dropped.inc_by(missed);
    }

    /// Counts one payload a subscription feed encoded.
    pub fn feed_message(&self) {
        self.sockets.feed_messages.inc();
    }

    /// Sets how many subscription feeds run.
    pub fn feeds_running(&self, running: usize) {
        self.sockets
            .feeds
            .set(i64::try_from(running).unwrap_or(i64::MAX));
    }

    /// Counts one connection the server ended with `code` (`None`: cut without a close).
    pub fn connection_closed(&self, code: Option<u16>) {
        let code = code.map_or_else(|| "dropped".to_owned(), |c| c.to_string());
        self.sockets
            .closes
            .get_or_create(&super::socket_metrics::CloseLabels { code })
            .inc();
    }

    /// Moves the open-connection gauge of `transport` (`ws`, `sse`) by `delta`.
    pub fn connections(&self, transport: &'static str, delta: i64) {
        self.sockets
            .connections
            .get_or_create(&super::socket_metrics::TransportLabels { transport })
            .inc_by(delta);
    }

    /// Counts one rate-limit check that Redis failed.
    pub fn rate_limit_redis_error(&self) {
        self.rate_limit_redis_errors.inc();
    }

    /// Records one finished GraphQL request.
    pub fn observe_request(&self, ok: bool, seconds: f64, statements: u32) {
        let outcome = if ok { "ok" } else { "error" };
        self.graphql_requests
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.graphql_duration.observe(seconds);
        self.sql_per_request.observe(f64::from(statements));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
