//! The factory event bus: a write commits, then its event goes out here, to every subscriber
//! of this instance and — through Redis, when there is one — of every other instance.
//!
//! One bounded tokio broadcast channel per [`Topic`]: subscribers (sockets, caches, the
//! revocation listener) take a receiver of the topics they need, never one per event source.
//! [`EventBus::publish`] never waits and never fails a writer: local delivery is a channel
//! send, and the copy for other instances goes into a bounded outbox that the bridge
//! ([`bridge`]) drains to Redis; a full outbox or an absent Redis drops to local-only delivery,
//! counted in `sf_events_dropped_total` and logged (throttled). The bridge skips events that
//! came back from Redis with this instance's origin, so each event reaches each subscriber
//! once.

pub mod bridge;

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use entity::enums::{EquipmentStatus, MaintenanceStatus, OrderStatus, StatusSource};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::telemetry::Metrics;

/// What subscribers choose from; each has its own channel (and Redis channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Sensor readings stored.
    Readings,
    /// Sessions and API tokens revoked.
    Auth,
    /// Machines changing status.
    Equipment,
    /// Alarms raised, changed or cleared, and the open counts they leave.
    Alarms,
    /// Production orders moving and their progress.
    Production,
    /// Maintenance orders moving.
    Maintenance,
    /// Each instance's metric snapshots (the collector's, once a tick).
    Metrics,
    /// Cache entries every instance must drop from process memory.
    Cache,
}

impl Topic {
    /// Every topic, in channel order.
    pub const ALL: [Topic; 8] = [
        Topic::Readings,
        Topic::Auth,
        Topic::Equipment,
        Topic::Alarms,
        Topic::Production,
        Topic::Maintenance,
        Topic::Metrics,
        Topic::Cache,
    ];

    /// The topic's name in Redis channels and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Readings => "readings",
            Self::Auth => "auth",
            Self::Equipment => "equipment",
            Self::Alarms => "alarms",
            Self::Production => "production",
            Self::Maintenance => "maintenance",
            Self::Metrics => "metrics",
            Self::Cache => "cache",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Readings => 0,
            Self::Auth => 1,
            Self::Equipment => 2,
            Self::Alarms => 3,
            Self::Production => 4,
            Self::Maintenance => 5,
            Self::Metrics => 6,
            Self::Cache => 7,
        }
    }

    /// The topic of a Redis channel name's last segment.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One reading as subscribers filter it: by sensor, equipment, line or workshop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub sensor_id: i64,
    pub equipment_id: i64,
    pub workshop_id: i64,
    /// On the wire as microseconds since the epoch: formatting RFC 3339 text was most of
    /// the encoding cost.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub ts: DateTime<Utc>,
    pub value: f64,
    pub quality: i16,
    /// The line of the sensor's machine (`readingsUpdated(lineId)` looks subscribers up by it).
    pub line_id: i64,
}

/// A revoked credential every instance must drop from its caches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Revocation {
    /// A session, by id.
    Session(String),
    /// A gateway API token, by its hash.
    ApiToken(String),
}

/// Where something happened, as subscriptions filter it (by workshop, line or machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub workshop_id: i64,
    pub line_id: i64,
    pub equipment_id: i64,
}

/// A machine's status changed: the interval that opened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub place: Place,
    /// The `equipment_status_events` row that opened.
    pub status_event_id: i64,
    pub status: EquipmentStatus,
    pub previous: Option<EquipmentStatus>,
    pub reason_code: Option<String>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    /// The user who set it (`None`: a gateway's token or the server itself).
    pub user_id: Option<i64>,
    /// Who or what reported it.
    pub source: StatusSource,
    /// Display name of the downtime reason, when there is one.
    pub reason_name: Option<String>,
}

/// What happened to an alarm (each is also an `alarm_events` row).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmAction {
    /// A new alarm opened.
    Raised,
    /// An open alarm recurred: occurrences, last time and maybe severity moved.
    Updated,
    Acknowledged,
    Cleared,
    Assigned,
    Commented,
    Shelved,
    Unshelved,
}

impl AlarmAction {
    /// The name stored in `alarm_events.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raised => "raised",
            Self::Updated => "updated",
            Self::Acknowledged => "acknowledged",
            Self::Cleared => "cleared",
            Self::Assigned => "assigned",
            Self::Commented => "commented",
            Self::Shelved => "shelved",
            Self::Unshelved => "unshelved",
        }
    }
}

/// An alarm transition, with the alarm's state after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlarmChange {
    /// The machine's place; `None` for a `SYSTEM` alarm (admins' subscriptions only).
    pub place: Option<Place>,
    pub alarm_id: i64,
    /// The `alarm_events` row of this transition.
    pub alarm_event_id: i64,
    pub sensor_id: Option<i64>,
    pub action: AlarmAction,
    pub alarm_type: String,
    pub severity: i16,
    pub acknowledged: bool,
    pub cleared: bool,
    /// Shelved (ISA-18.2) until this time: subscribers are not notified of it meanwhile.
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub shelved_until: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub ts: DateTime<Utc>,
    pub user_id: Option<i64>,
    /// The note, comment or shelving reason of the `alarm_events` row.
    pub note: Option<String>,
}

/// The open (uncleared, unshelved) alarms of one workshop after a change, by severity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmCounts {
    pub workshop_id: i64,
    /// Open alarms of severity 1..=5 (index 0 = INDETERMINATE … 4 = CRITICAL).
    pub open_by_severity: [i64; 5],
    /// Of those, not yet acknowledged.
    pub unacknowledged: i64,
}

/// A production order moved or was reported on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderProgress {
    pub workshop_id: i64,
    pub line_id: i64,
    pub order_id: i64,
    pub status: OrderStatus,
    pub qty_planned: i32,
    pub qty_good: i32,
    pub qty_scrap: i32,
    /// Good count as a percentage of the planned quantity (may pass 100).
    pub percent: f64,
    /// Good parts per hour since the order started, when it has.
    pub rate_per_hour: Option<f64>,
    /// When the planned quantity is reached at that rate.
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub eta: Option<DateTime<Utc>>,
}

/// A maintenance order was created, changed or moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceChange {
    pub place: Place,
    pub order_id: i64,
    pub status: MaintenanceStatus,
    pub previous: Option<MaintenanceStatus>,
    pub alarm_id: Option<i64>,
    pub assignee_id: Option<i64>,
}

/// Everything the bus carries. Published after the write it reports has committed. The wire
/// form (postcard) is positional: add variants and fields at the end, and deploy every
/// instance of a version together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The readings one ingest call or simulator tick stored (accepted rows, new or resent).
    Readings { readings: Vec<Reading> },
    /// A session or API token revoked.
    Revoked(Revocation),
    /// A machine's status changed.
    EquipmentStatus(StatusChange),
    /// An alarm transition.
    Alarm(AlarmChange),
    /// A workshop's open alarm counts after alarm transitions.
    AlarmCounts(AlarmCounts),
    /// A production order's state or counts changed.
    OrderProgress(OrderProgress),
    /// A maintenance order changed.
    Maintenance(MaintenanceChange),
    /// One instance's metric snapshot of one tick.
    Metrics(Box<crate::telemetry::snapshot::Snapshot>),
    /// Cache tags a committed write dirtied (`all`: everything), for every instance's L1.
    CacheInvalidated { tags: Vec<String>, all: bool },
}

impl Event {
    /// The topic the event goes out on.
    pub fn topic(&self) -> Topic {
        match self {
            Self::Readings { .. } => Topic::Readings,
            Self::Revoked(_) => Topic::Auth,
            Self::EquipmentStatus(_) => Topic::Equipment,
            Self::Alarm(_) | Self::AlarmCounts(_) => Topic::Alarms,
            Self::OrderProgress(_) => Topic::Production,
            Self::Maintenance(_) => Topic::Maintenance,
            Self::Metrics(_) => Topic::Metrics,
            Self::CacheInvalidated { .. } => Topic::Cache,
        }
    }
}

/// Events a subscriber may fall behind by before it loses the oldest (it is told how many).
pub const TOPIC_CAPACITY: usize = 1_024;
/// Events waiting for the bridge to send them to Redis before new ones are kept local.
pub const OUTBOX_CAPACITY: usize = 4_096;

/// The bus of one instance.
pub struct EventBus {
    topics: Vec<broadcast::Sender<Arc<Event>>>,
    /// The copy for other instances, when bridged to Redis.
    outbox: OnceLock<mpsc::Sender<Arc<Event>>>,
    /// This instance's id on the wire, to recognise its own events coming back.
    origin: String,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// A bus with local delivery only (until [`bridge::start`] connects it to Redis).
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            topics: Topic::ALL
                .iter()
                .map(|_| broadcast::channel(TOPIC_CAPACITY).0)
                .collect(),
            outbox: OnceLock::new(),
            origin: uuid::Uuid::new_v4().simple().to_string(),
            metrics,
        }
    }

    /// A receiver of every event on `topic` from now on.
    pub fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Arc<Event>> {
        self.topics[topic.index()].subscribe()
    }

    /// Sends `event` to this instance's subscribers and, when bridged, towards the others.
    /// Never waits: call it after the write has committed.
    pub fn publish(&self, event: Event) {
        let topic = event.topic();
        let event = Arc::new(event);
        self.metrics.event_published(topic.name());
        // No receiver is fine: nobody on this instance listens to that topic right now.
        let _ = self.topics[topic.index()].send(event.clone());
        if let Some(outbox) = self.outbox.get()
            && outbox.try_send(event).is_err()
        {
            self.metrics.event_dropped("outbox_full");
            bridge::warn_throttled("the Redis outbox is full: events stay on this instance");
        }
    }

    /// Delivers an event that arrived from another instance to this one's subscribers.
    fn deliver_remote(&self, event: Event) {
        let topic = event.topic();
        self.metrics.event_received(topic.name());
        let _ = self.topics[topic.index()].send(Arc::new(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_the_subscribers_of_their_topic_only() {
        let bus = EventBus::new(Arc::new(Metrics::new()));
        let mut readings = bus.subscribe(Topic::Readings);
        let mut auth = bus.subscribe(Topic::Auth);
        bus.publish(Event::Revoked(Revocation::Session("s1".into())));
        let got = auth.recv().await.expect("an auth event");
        assert_eq!(*got, Event::Revoked(Revocation::Session("s1".into())));
        assert!(readings.try_recv().is_err(), "nothing on readings");
        // Publishing with no subscriber at all neither blocks nor fails.
        drop((readings, auth));
        bus.publish(Event::Readings { readings: vec![] });
    }

    #[test]
    fn the_wire_form_round_trips() {
        let event = Event::Readings {
            readings: vec![Reading {
                sensor_id: 1,
                equipment_id: 2,
                workshop_id: 3,
                ts: chrono::SubsecRound::trunc_subsecs(Utc::now(), 6),
                value: 1.5,
                quality: 192,
                line_id: 4,
            }],
        };
        let bytes = postcard::to_stdvec(&event).expect("encode");
        assert!(bytes.len() < 40, "{} bytes for one reading", bytes.len());
        assert_eq!(
            postcard::from_bytes::<Event>(&bytes).expect("decode"),
            event
        );
        let revoked = Event::Revoked(Revocation::ApiToken("h".into()));
        let bytes = postcard::to_stdvec(&revoked).expect("encode");
        assert_eq!(
            postcard::from_bytes::<Event>(&bytes).expect("decode"),
            revoked
        );
        for topic in Topic::ALL {
            assert_eq!(Topic::from_name(topic.name()), Some(topic));
        }
    }
}
