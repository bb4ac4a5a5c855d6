//! The hub: one bus receiver per topic for the whole instance, and the dispatch of each event
//! to the registrations its ids select.

use std::{collections::HashMap, sync::Arc};

use tokio::{
    sync::{broadcast, watch},
    task::JoinHandle,
};

use super::{
    Kind, QUEUE_CAPACITY,
    index::Key,
    interest::{AlarmInterest, Interest, place_keys},
    registry::{Registry, Subscription},
};
use crate::{
    events::{Event, EventBus, Reading, Topic},
    telemetry::{Metrics, metrics::TopicLabels},
};

/// A slice of one readings batch, shared by every subscription that wants exactly it.
pub type Readings = Arc<[Reading]>;

/// The subscriptions of this instance, by kind, and the tasks feeding them.
pub struct Hub {
    readings: Arc<Registry<Interest, Readings>>,
    status: Arc<Registry<Interest, Arc<Event>>>,
    alarms: Arc<Registry<AlarmInterest, Arc<Event>>>,
    alarm_counts: Arc<Registry<Interest, Arc<Event>>>,
    production: Arc<Registry<Interest, Arc<Event>>>,
    maintenance: Arc<Registry<Interest, Arc<Event>>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

/// The topics the hub listens to (revocations are the transports' business).
const TOPICS: [Topic; 5] = [
    Topic::Readings,
    Topic::Equipment,
    Topic::Alarms,
    Topic::Production,
    Topic::Maintenance,
];

impl Hub {
    /// An empty hub; nothing reaches it until [`start`](Self::start).
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Self::with_capacity(metrics, QUEUE_CAPACITY)
    }

    /// An empty hub whose subscriptions queue at most `capacity` items each.
    pub fn with_capacity(metrics: Arc<Metrics>, capacity: usize) -> Arc<Self> {
        let m = &metrics;
        Arc::new(Self {
            readings: Registry::new(Kind::Readings, capacity, m),
            status: Registry::new(Kind::EquipmentStatus, capacity, m),
            alarms: Registry::new(Kind::Alarms, capacity, m),
            alarm_counts: Registry::new(Kind::AlarmCounts, capacity, m),
            production: Registry::new(Kind::Production, capacity, m),
            maintenance: Registry::new(Kind::Maintenance, capacity, m),
            metrics,
        })
    }

    /// Takes one receiver per topic from `bus` now (so nothing published after start-up is
    /// missed) and starts a task per topic that dispatches until `stop` turns true; then the
    /// topic's subscriptions end.
    pub fn start(
        self: &Arc<Self>,
        bus: &EventBus,
        stop: &watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        TOPICS
            .into_iter()
            .map(|topic| {
                let receiver = bus.subscribe(topic);
                tokio::spawn(self.clone().pump(topic, receiver, stop.clone()))
            })
            .collect()
    }

    async fn pump(
        self: Arc<Self>,
        topic: Topic,
        mut events: broadcast::Receiver<Arc<Event>>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let received = tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => break,
                received = events.recv() => received,
            };
            match received {
                Ok(event) => self.deliver(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Not fatal: the subscribers of this topic miss these events, and the
                    // count says so.
                    self.metrics
                        .hub
                        .lagged
                        .get_or_create(&TopicLabels {
                            topic: topic.name(),
                        })
                        .inc_by(missed);
                    tracing::warn!(
                        topic = topic.name(),
                        missed,
                        "the subscription hub fell behind the bus"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        self.close(topic);
    }

    /// Ends the subscriptions fed by `topic`.
    fn close(&self, topic: Topic) {
        match topic {
            Topic::Readings => self.readings.close_all(),
            Topic::Equipment => self.status.close_all(),
            Topic::Alarms => {
                self.alarms.close_all();
                self.alarm_counts.close_all();
            }
            Topic::Production => self.production.close_all(),
            Topic::Maintenance => self.maintenance.close_all(),
            Topic::Auth | Topic::Metrics | Topic::Cache => {}
        }
    }

    /// Offers `event` to the registrations it concerns, each once.
    pub fn deliver(&self, event: &Arc<Event>) {
        match &**event {
            Event::Readings { readings } => self.deliver_readings(readings),
            Event::EquipmentStatus(change) => {
                offer(&self.status, &place_keys(&change.place), event, |i| {
                    i.allows(change.place.workshop_id)
                });
            }
            Event::Alarm(change) => match &change.place {
                Some(place) => {
                    offer(&self.alarms, &place_keys(place), event, |i| i.wants(change));
                }
                // A `SYSTEM` alarm: only subscriptions that named nothing hear of it.
                None => offer(&self.alarms, &[Key::Any], event, |i| i.wants(change)),
            },
            Event::AlarmCounts(counts) => {
                let keys = [Key::Workshop(counts.workshop_id), Key::Any];
                offer(&self.alarm_counts, &keys, event, |i| {
                    i.allows(counts.workshop_id)
                });
            }
            Event::OrderProgress(progress) => {
                let keys = [
                    Key::Order(progress.order_id),
                    Key::Line(progress.line_id),
                    Key::Workshop(progress.workshop_id),
                    Key::Any,
                ];
                offer(&self.production, &keys, event, |i| {
                    i.allows(progress.workshop_id)
                });
            }
            Event::Maintenance(change) => {
                offer(&self.maintenance, &place_keys(&change.place), event, |i| {
                    i.allows(change.place.workshop_id)
                });
            }
            Event::Revoked(_) | Event::Metrics(_) | Event::CacheInvalidated { .. } => {}
        }
    }

    /// Splits a batch by subscription: the readings of each key somebody registered under
    /// are gathered once; a subscription under one key (a machine, a line) shares that
    /// slice, one naming several sensors gets its own merge. Each gets one item per batch.
    fn deliver_readings(&self, readings: &[Reading]) {
        let index = self.readings.index();
        if index.is_empty() {
            return;
        }
        let mut by_key: HashMap<Key, Vec<Reading>> = HashMap::new();
        for r in readings {
            for key in [
                Key::Sensor(r.sensor_id),
                Key::Equipment(r.equipment_id),
                Key::Line(r.line_id),
            ] {
                if index.contains_key(key) {
                    by_key.entry(key).or_default().push(r.clone());
                }
            }
        }
        let mut merged: HashMap<u64, Vec<Reading>> = HashMap::new();
        for (key, group) in by_key {
            let group: Readings = group.into();
            for &id in index.ids(key) {
                let Some(slot) = index.get(id) else { continue };
                let interest = &slot.filter;
                let in_scope = |r: &&Reading| interest.allows(r.workshop_id);
                if index.key_count(id) == 1 && group.iter().all(|r| in_scope(&r)) {
                    slot.queue.push(group.clone());
                } else {
                    merged
                        .entry(id)
                        .or_default()
                        .extend(group.iter().filter(in_scope).cloned());
                }
            }
        }
        for (id, list) in merged {
            if let Some(slot) = index.get(id)
                && !list.is_empty()
            {
                slot.queue.push(list.into());
            }
        }
    }

    /// Registers a `readingsUpdated` subscription.
    pub fn readings(&self, interest: Interest) -> Subscription<Readings> {
        self.readings.join(interest.keys(), interest)
    }

    /// Registers an `equipmentStatusChanged` subscription.
    pub fn status(&self, interest: Interest) -> Subscription<Arc<Event>> {
        self.status.join(interest.keys(), interest)
    }

    /// Registers an `alarmChanged` subscription.
    pub fn alarms(&self, interest: AlarmInterest) -> Subscription<Arc<Event>> {
        self.alarms.join(interest.interest.keys(), interest)
    }

    /// Registers an `alarmCountsChanged` subscription.
    pub fn alarm_counts(&self, interest: Interest) -> Subscription<Arc<Event>> {
        self.alarm_counts.join(interest.keys(), interest)
    }

    /// Registers a `productionOrderProgress` subscription.
    pub fn production(&self, interest: Interest) -> Subscription<Arc<Event>> {
        self.production.join(interest.keys(), interest)
    }

    /// Registers a `maintenanceOrderChanged` subscription.
    pub fn maintenance(&self, interest: Interest) -> Subscription<Arc<Event>> {
        self.maintenance.join(interest.keys(), interest)
    }

    /// Subscriptions of `kind` registered now.
    pub fn active(&self, kind: Kind) -> usize {
        match kind {
            Kind::Readings => self.readings.len(),
            Kind::EquipmentStatus => self.status.len(),
            Kind::Alarms => self.alarms.len(),
            Kind::AlarmCounts => self.alarm_counts.len(),
            Kind::Production => self.production.len(),
            Kind::Maintenance => self.maintenance.len(),
        }
    }
}

/// Pushes `event` onto the queue of every registration under `keys` that `wants` it.
fn offer<F: Send + 'static>(
    registry: &Registry<F, Arc<Event>>,
    keys: &[Key],
    event: &Arc<Event>,
    wants: impl Fn(&F) -> bool,
) {
    let index = registry.index();
    for (_, slot) in index.matching(keys) {
        if wants(&slot.filter) {
            slot.queue.push(event.clone());
        }
    }
}
