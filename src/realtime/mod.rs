//! Fan-out of bus events to this instance's subscriptions.
//!
//! The [`Hub`] holds one bus receiver per topic for the whole instance (a task per topic,
//! started with the server's other background tasks), never one per subscriber. Each event
//! is looked up in a filter [`index`] by its own ids — sensor, machine, line, workshop, order
//! — so it touches only the subscriptions it concerns, checked against the workshop scope
//! each captured when it subscribed. A readings batch is split so each subscription gets only
//! its sensors' readings. Every registration has a bounded [`queue`] that drops its oldest
//! item when full (counted in `sf_subscription_dropped_total`); dropping the
//! [`Subscription`] takes it out of the index. [`window`] paces what a subscription sends:
//! coalesced readings, debounced counts.

mod hub;
mod index;
mod interest;
mod queue;
mod registry;
mod window;

#[cfg(test)]
mod tests;

pub use hub::{Hub, Readings};
pub use index::{Index, Key};
pub use interest::{AlarmInterest, Interest, Selector, notifies, place_keys};
pub use queue::DropOldest;
pub use registry::Subscription;
pub use window::{coalesced, debounced};

/// Items a subscription's queue holds before it drops the oldest. A subscription that keeps
/// up drains it at every event; this only fills while its client (or the feed executing it)
/// stalls, and bounds what a stalled one costs: 10,000 stalled subscribers hold at most this
/// many shared events each.
pub const QUEUE_CAPACITY: usize = 128;

/// The kinds of subscription, as metrics label them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `readingsUpdated`.
    Readings,
    /// `equipmentStatusChanged`.
    EquipmentStatus,
    /// `alarmChanged`.
    Alarms,
    /// `alarmCountsChanged`.
    AlarmCounts,
    /// `productionOrderProgress`.
    Production,
    /// `maintenanceOrderChanged`.
    Maintenance,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Readings,
        Kind::EquipmentStatus,
        Kind::Alarms,
        Kind::AlarmCounts,
        Kind::Production,
        Kind::Maintenance,
    ];

    /// The `kind` label of the hub metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Readings => "readings",
            Self::EquipmentStatus => "equipment_status",
            Self::Alarms => "alarms",
            Self::AlarmCounts => "alarm_counts",
            Self::Production => "production",
            Self::Maintenance => "maintenance",
        }
    }
}
