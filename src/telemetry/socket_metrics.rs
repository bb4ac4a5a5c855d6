//! Metrics of the long-lived transports: connections, closes by code, shared subscription
//! feeds and what slow subscribers lose.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels of the close counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The close code sent (`1000`, `1001`, `4403`, …), or `dropped` when the connection was
    /// cut without one.
    pub code: String,
}

/// Labels of the connection gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    /// `ws` or `sse`.
    pub transport: &'static str,
}

/// The transport metrics, registered in the instance's registry.
#[derive(Clone, Default)]
pub struct SocketMetrics {
    /// Connections open now, by transport.
    pub connections: Family<TransportLabels, Gauge>,
    /// Connections ended by the server, by close code.
    pub closes: Family<CloseLabels, Counter>,
    /// Shared subscription executions running now.
    pub feeds: Gauge,
    /// Payloads the feeds encoded (each sent to all of a feed's subscribers).
    pub feed_messages: Counter,
    /// Payloads subscribers lost because they did not keep up.
    pub subscriber_dropped: Counter,
}

impl SocketMetrics {
    /// Registers every transport metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "connections",
            "Long-lived connections open, by transport",
            m.connections.clone(),
        );
        registry.register(
            "connection_closes",
            "Connections ended by the server, by close code",
            m.closes.clone(),
        );
        registry.register(
            "subscription_feeds",
            "Shared subscription executions running",
            m.feeds.clone(),
        );
        registry.register(
            "subscription_feed_messages",
            "Subscription payloads encoded (once per feed and event)",
            m.feed_messages.clone(),
        );
        registry.register(
            "subscriber_dropped",
            "Subscription payloads lost by subscribers that did not keep up",
            m.subscriber_dropped.clone(),
        );
        m
    }
}
