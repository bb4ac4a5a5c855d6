//! The collector's numbers in the Prometheus registry: process and machine gauges set at each
//! tick, latency percentiles of the sliding window, pool use, build info, and the operation
//! counters with a bounded `operation` label.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, info::Info},
    registry::Registry,
};

use super::snapshot::Snapshot;

/// Labels of the per-operation counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// An operation name of `SF_METRICS_OPERATIONS`, or `other`.
    pub operation: String,
    /// `ok` or `error`.
    pub outcome: &'static str,
}

/// Labels of the latency-percentile gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QuantileLabels {
    /// `0.5`, `0.95` or `0.99`.
    pub quantile: &'static str,
}

/// Labels of the pool gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `in_use` or `idle`.
    pub state: &'static str,
}

/// Gauges of floating values (percent, milliseconds, bytes).
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// The collector's metrics, registered in the instance's registry.
#[derive(Clone, Default)]
pub struct SystemMetrics {
    /// GraphQL operations by (bounded) name and outcome.
    pub operations: Family<OperationLabels, Counter>,
    /// Operations slower than `SF_SLOW_OPERATION_MS`.
    pub slow_operations: Counter,
    pub cpu_percent: FloatGauge,
    pub machine_cpu_percent: FloatGauge,
    pub rss_bytes: FloatGauge,
    pub uptime_s: FloatGauge,
    pub latency_ms: Family<QuantileLabels, FloatGauge>,
    pub sql_p95_ms: FloatGauge,
    pub pool: Family<PoolLabels, Gauge>,
    /// The tick's probe wait for a pooled connection.
    pub pool_acquire_ms: FloatGauge,
    /// The tick's cache hit ratio (NaN in a tick without lookups).
    pub cache_hit_ratio: FloatGauge,
    pub ready: Gauge,
    pub requests_per_s: FloatGauge,
    pub error_rate: FloatGauge,
    /// Snapshots the collector took.
    pub ticks: Counter,
    /// Alert notifications sent, and attempts that failed.
    pub notifications: Counter,
    pub notification_failures: Counter,
    /// Alert e-mails sent, and attempts that failed.
    pub emails: Counter,
    pub email_failures: Counter,
    /// Alert rules firing now.
    pub alerts_firing: Gauge,
}

impl SystemMetrics {
    /// Registers every collector metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "build",
            "The server version",
            Info::new(vec![("version".to_owned(), crate::VERSION.to_owned())]),
        );
        registry.register(
            "graphql_operations",
            "GraphQL operations by name (SF_METRICS_OPERATIONS, else other) and outcome",
            m.operations.clone(),
        );
        registry.register(
            "slow_operations",
            "GraphQL operations slower than SF_SLOW_OPERATION_MS",
            m.slow_operations.clone(),
        );
        registry.register(
            "process_cpu_percent",
            "CPU used by this process over the last tick, in percent of one core",
            m.cpu_percent.clone(),
        );
        registry.register(
            "machine_cpu_percent",
            "Busy share of all the machine's CPUs over the last tick, in percent",
            m.machine_cpu_percent.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size of this process",
            m.rss_bytes.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since this instance started",
            m.uptime_s.clone(),
        );
        registry.register(
            "graphql_latency_milliseconds",
            "GraphQL operation latency percentiles over SF_METRICS_WINDOW_S",
            m.latency_ms.clone(),
        );
        registry.register(
            "sql_p95_milliseconds",
            "95th percentile SQL statement time over SF_METRICS_WINDOW_S",
            m.sql_p95_ms.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            m.pool.clone(),
        );
        registry.register(
            "db_pool_acquire_ms",
            "How long the last tick's probe waited for a connection of the primary pool",
            m.pool_acquire_ms.clone(),
        );
        registry.register(
            "cache_hit_ratio",
            "Cache lookups of the last tick served from L1 or L2 per lookup (NaN without lookups)",
            m.cache_hit_ratio.clone(),
        );
        registry.register(
            "ready",
            "1 when the database answered the collector's last ping",
            m.ready.clone(),
        );
        registry.register(
            "graphql_requests_per_second",
            "GraphQL operations per second over the last tick",
            m.requests_per_s.clone(),
        );
        registry.register(
            "graphql_error_ratio",
            "Share of the last tick's operations that had errors",
            m.error_rate.clone(),
        );
        registry.register(
            "metrics_ticks",
            "Snapshots the collector took",
            m.ticks.clone(),
        );
        registry.register(
            "alert_notifications",
            "Alert notifications delivered to the webhook",
            m.notifications.clone(),
        );
        registry.register(
            "alert_notification_failures",
            "Alert webhook attempts that failed (each retry counts)",
            m.notification_failures.clone(),
        );
        registry.register(
            "alert_emails",
            "Alert e-mails accepted by the SMTP server",
            m.emails.clone(),
        );
        registry.register(
            "alert_email_failures",
            "Alert e-mail attempts that failed (each retry counts)",
            m.email_failures.clone(),
        );
        registry.register(
            "alerts_firing",
            "Alert rules firing now",
            m.alerts_firing.clone(),
        );
        m
    }

    /// Sets the gauges from this instance's new snapshot.
    pub fn set(&self, s: &Snapshot) {
        self.ticks.inc();
        self.cpu_percent.set(s.cpu_percent);
        self.machine_cpu_percent.set(s.machine_cpu_percent);
        self.rss_bytes.set(s.rss_bytes);
        self.uptime_s.set(s.uptime_s);
        for (quantile, value) in [
            ("0.5", s.latency_p50_ms),
            ("0.95", s.latency_p95_ms),
            ("0.99", s.latency_p99_ms),
        ] {
            self.latency_ms
                .get_or_create(&QuantileLabels { quantile })
                .set(value);
        }
        self.sql_p95_ms.set(s.sql_p95_ms);
        // No `waiting`: the pool does not expose its waiters (`db_pool_acquire_ms` instead).
        for (state, value) in [("in_use", s.pool_in_use), ("idle", s.pool_idle)] {
            self.pool
                .get_or_create(&PoolLabels { state })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        self.pool_acquire_ms
            .set(s.pool_acquire_ms.unwrap_or(f64::NAN));
        self.cache_hit_ratio
            .set(s.cache_hit_ratio.unwrap_or(f64::NAN));
        self.ready.set(i64::from(s.ready));
        self.requests_per_s.set(s.requests_per_s);
        self.error_rate.set(s.error_rate);
    }
}
