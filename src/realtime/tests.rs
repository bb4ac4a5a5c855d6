//! The hub without a server: events offered to registrations by hand.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::enums::{EquipmentStatus, StatusSource};
use futures::StreamExt as _;

use super::*;
use crate::{
    auth::WorkshopScope,
    events::{Event, EventBus, Place, Reading, StatusChange},
    telemetry::Metrics,
};

fn reading(sensor_id: i64, equipment_id: i64, line_id: i64, ts: i64, value: f64) -> Reading {
    Reading {
        sensor_id,
        equipment_id,
        workshop_id: 1,
        ts: DateTime::<Utc>::from_timestamp(ts, 0).expect("a time"),
        value,
        quality: 192,
        line_id,
    }
}

fn interest(selector: Selector) -> Interest {
    Interest {
        selector,
        scope: WorkshopScope::All,
    }
}

fn status(workshop_id: i64, equipment_id: i64) -> Arc<Event> {
    Arc::new(Event::EquipmentStatus(StatusChange {
        place: Place {
            workshop_id,
            line_id: 10 * workshop_id,
            equipment_id,
        },
        status_event_id: 1,
        status: EquipmentStatus::Down,
        previous: None,
        reason_code: None,
        at: Utc::now(),
        user_id: None,
        source: StatusSource::Manual,
        reason_name: None,
    }))
}

/// What `sub` holds now, without waiting.
async fn queued<T: Send + 'static>(sub: &Subscription<T>) -> Vec<T> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_millis(1), sub.recv_all(&mut out)).await;
    out
}

fn sensors(batches: &[Readings]) -> Vec<i64> {
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.iter().map(|r| r.sensor_id))
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_readings_batch_is_split_so_each_subscription_gets_only_its_sensors() {
    let hub = Hub::new(Arc::new(Metrics::new()));
    let two_sensors = hub.readings(interest(Selector::Sensors(vec![1, 3])));
    let machine = hub.readings(interest(Selector::Equipment(20)));
    let line = hub.readings(interest(Selector::Line(300)));
    let other_line = hub.readings(interest(Selector::Line(301)));
    let batch = vec![
        reading(1, 10, 300, 0, 1.0),
        reading(2, 10, 300, 0, 2.0),
        reading(3, 20, 300, 0, 3.0),
        reading(4, 20, 300, 0, 4.0),
    ];
    hub.deliver(&Arc::new(Event::Readings { readings: batch }));
    let got = queued(&two_sensors).await;
    assert_eq!(got.len(), 1, "one item per batch");
    assert_eq!(sensors(&got), [1, 3]);
    assert_eq!(sensors(&queued(&machine).await), [3, 4]);
    assert_eq!(sensors(&queued(&line).await), [1, 2, 3, 4]);
    assert!(queued(&other_line).await.is_empty());
}

#[tokio::test]
async fn readings_of_workshops_outside_the_scope_never_reach_the_subscriber() {
    let hub = Hub::new(Arc::new(Metrics::new()));
    let limited = hub.readings(Interest {
        selector: Selector::Line(300),
        scope: WorkshopScope::Only(Arc::from([1])),
    });
    let mut moved = reading(2, 10, 300, 0, 2.0);
    moved.workshop_id = 2;
    let batch = vec![reading(1, 10, 300, 0, 1.0), moved];
    hub.deliver(&Arc::new(Event::Readings { readings: batch }));
    assert_eq!(sensors(&queued(&limited).await), [1]);
}

#[tokio::test]
async fn each_event_reaches_each_subscription_once_and_a_dropped_one_leaves_the_index() {
    let hub = Hub::new(Arc::new(Metrics::new()));
    let everything = hub.status(interest(Selector::Scope));
    let workshops = hub.status(Interest {
        selector: Selector::Scope,
        scope: WorkshopScope::Only(Arc::from([1, 2])),
    });
    let machine = hub.status(interest(Selector::Equipment(7)));
    hub.deliver(&status(1, 7));
    hub.deliver(&status(3, 8));
    assert_eq!(queued(&everything).await.len(), 2);
    assert_eq!(
        queued(&workshops).await.len(),
        1,
        "workshop 3 is not in scope"
    );
    assert_eq!(queued(&machine).await.len(), 1);
    assert_eq!(hub.active(Kind::EquipmentStatus), 3);
    drop((everything, workshops, machine));
    assert_eq!(hub.active(Kind::EquipmentStatus), 0);
}

#[tokio::test]
async fn a_stalled_subscription_keeps_only_its_newest_items_and_counts_the_rest() {
    let metrics = Arc::new(Metrics::new());
    let hub = Hub::with_capacity(metrics.clone(), 4);
    let stalled = hub.status(interest(Selector::Scope));
    for _ in 0..10 {
        hub.deliver(&status(1, 7));
    }
    assert_eq!(queued(&stalled).await.len(), 4);
    assert!(
        metrics
            .render()
            .contains("sf_subscription_dropped_total{kind=\"equipment_status\"} 6"),
        "{}",
        metrics.render()
    );
}

#[tokio::test]
async fn a_window_sends_the_newest_value_per_sensor_once_and_nothing_when_quiet() {
    let hub = Hub::new(Arc::new(Metrics::new()));
    let sub = hub.readings(interest(Selector::Line(300)));
    for (ts, value) in [(3, 3.0), (1, 1.0), (2, 2.0)] {
        let batch = vec![
            reading(1, 10, 300, ts, value),
            reading(2, 10, 300, ts, -value),
        ];
        hub.deliver(&Arc::new(Event::Readings { readings: batch }));
    }
    let mut stream = Box::pin(coalesced(sub, Duration::from_millis(300)));
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a window")
        .expect("open");
    let values: Vec<(i64, f64)> = first.iter().map(|r| (r.sensor_id, r.value)).collect();
    assert_eq!(
        values,
        [(1, 3.0), (2, -3.0)],
        "the newest reading, not the last sent"
    );
    // A quiet window sends nothing: the next message is the next batch's.
    hub.deliver(&Arc::new(Event::Readings {
        readings: vec![reading(2, 10, 300, 9, 9.0)],
    }));
    let second = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a window")
        .expect("open");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].value, 9.0);
}

#[tokio::test]
async fn a_debounced_stream_groups_what_comes_within_the_gap() {
    let hub = Hub::new(Arc::new(Metrics::new()));
    let sub = hub.status(interest(Selector::Scope));
    let mut stream = Box::pin(debounced(sub, Duration::from_millis(300)));
    hub.deliver(&status(1, 1));
    let first = stream.next().await.expect("open");
    assert_eq!(first.len(), 1, "the first change goes at once");
    // Both arrive before the gap is over: one group, ending with the latest.
    hub.deliver(&status(1, 2));
    hub.deliver(&status(1, 3));
    let second = stream.next().await.expect("open");
    let machines: Vec<i64> = second
        .iter()
        .filter_map(|e| match &**e {
            Event::EquipmentStatus(c) => Some(c.place.equipment_id),
            _ => None,
        })
        .collect();
    assert_eq!(machines, [2, 3]);
}

#[tokio::test]
async fn the_hub_listens_to_the_bus_and_ends_its_subscriptions_on_stop() {
    let metrics = Arc::new(Metrics::new());
    let bus = EventBus::new(metrics.clone());
    let hub = Hub::new(metrics);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = hub.start(&bus, &stopped);
    let sub = hub.status(interest(Selector::Equipment(7)));
    bus.publish((*status(1, 7)).clone());
    let got = tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("delivered");
    assert!(matches!(got.as_deref(), Some(Event::EquipmentStatus(_))));
    let _ = stop.send(true);
    for task in tasks {
        task.await.expect("task ends");
    }
    assert!(sub.recv().await.is_none(), "the subscription ended");
}
