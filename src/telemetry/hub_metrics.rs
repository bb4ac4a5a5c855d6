//! Metrics of the subscription hub (`realtime`): subscriptions registered by kind, the items
//! their bounded queues dropped, and the bus events a hub task missed.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use super::metrics::TopicLabels;

/// Labels of the per-kind hub metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriptionKindLabels {
    /// `readings`, `equipment_status`, `alarms`, `alarm_counts`, `production`,
    /// `maintenance` (see `realtime::Kind`).
    pub kind: &'static str,
}

/// The hub metrics, registered in the instance's registry.
#[derive(Clone, Default)]
pub struct HubMetrics {
    /// Subscriptions in the hub's index now, by kind.
    pub active: Family<SubscriptionKindLabels, Gauge>,
    /// Items a subscription's full queue dropped (its oldest), by kind.
    pub dropped: Family<SubscriptionKindLabels, Counter>,
    /// Bus events a hub task fell too far behind to receive, by topic.
    pub lagged: Family<TopicLabels, Counter>,
}

impl HubMetrics {
    /// Registers every hub metric in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "subscriptions_active",
            "Subscriptions registered in the hub, by kind",
            m.active.clone(),
        );
        registry.register(
            "subscription_dropped",
            "Items dropped from full subscription queues (the oldest), by kind",
            m.dropped.clone(),
        );
        registry.register(
            "hub_lagged",
            "Bus events the subscription hub missed because it fell behind, by topic",
            m.lagged.clone(),
        );
        m
    }
}
