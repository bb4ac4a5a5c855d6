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
}

impl Topic {
    /// Every topic, in channel order.
    pub const ALL: [Topic; 2] = [Topic::Readings, Topic::Auth];

    /// The topic's name in Redis channels and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Readings => "readings",
            Self::Auth => "auth",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Readings => 0,
            Self::Auth => 1,
        }
    }

    /// The topic of a Redis channel name's last segment.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// One reading as subscribers filter it: by sensor, equipment or workshop.
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
}

/// A revoked credential every instance must drop from its caches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Revocation {
    /// A session, by id.
    Session(String),
    /// A gateway API token, by its hash.
    ApiToken(String),
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
}

impl Event {
    /// The topic the event goes out on.
    pub fn topic(&self) -> Topic {
        match self {
            Self::Readings { .. } => Topic::Readings,
            Self::Revoked(_) => Topic::Auth,
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
