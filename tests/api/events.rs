//! The event bus: writes publish after they commit, on every instance sharing a Redis, once
//! per subscriber; without Redis events stay local and writes go on.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

use crate::helpers::{RedisServer, SMALL, TestApp, iso, two_instances, unique_redis_prefix};

const INGEST: &str = "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { \
    accepted inserted rejected { index code } } }";

/// The next event within 10 s (delivery, not performance).
async fn next_event(events: &mut Receiver<std::sync::Arc<Event>>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event within 10 s")
        .expect("the bus is open")
        .as_ref()
        .clone()
}

/// Two readings of the first two sensors of `app`.
async fn readings(app: &TestApp) -> (Vec<i64>, Value) {
    let r = app
        .graphql("{ sensors(first: 2) { edges { node { id } } } }", json!({}))
        .await;
    let ids: Vec<i64> = r.data()["sensors"]["edges"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|e| {
            e["node"]["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("numeric")
        })
        .collect();
    let now = iso(chrono::Utc::now());
    let rows: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "sensorId": id.to_string(), "ts": now, "value": 42.5 }))
        .collect();
    (ids, json!({ "i": { "readings": rows } }))
}

fn sensor_ids(event: &Event) -> Vec<i64> {
    match event {
        Event::Readings { readings } => readings.iter().map(|r| r.sensor_id).collect(),
        other => panic!("a readings event, got {other:?}"),
    }
}

#[tokio::test]
async fn an_ingest_on_one_instance_is_one_event_on_every_instance() {
    let (_own, a, b) = two_instances().await;
    let mut on_a = a.state.events.subscribe(Topic::Readings);
    let mut on_b = b.state.events.subscribe(Topic::Readings);
    let (ids, variables) = readings(&b).await;
    let stored = b.graphql(INGEST, variables).await;
    assert_eq!(stored.data()["ingestReadings"]["accepted"], 2);
    let remote = next_event(&mut on_a).await;
    assert_eq!(sensor_ids(&remote), ids);
    if let Event::Readings { readings } = &remote {
        assert!(
            readings
                .iter()
                .all(|r| r.value == 42.5 && r.workshop_id > 0)
        );
    }
    let local = next_event(&mut on_b).await;
    assert_eq!(local, remote, "the same event on both instances");
    // B's own event comes back from Redis too and must not be delivered again: the next
    // event B delivers is a later one of A's (Redis keeps one channel's messages in order).
    let (_, later) = readings(&a).await;
    let later = later.to_string().replace("42.5", "7.25");
    let stored = a
        .graphql(INGEST, serde_json::from_str(&later).expect("json"))
        .await;
    assert_eq!(stored.data()["ingestReadings"]["accepted"], 2);
    match next_event(&mut on_b).await {
        Event::Readings { readings } => assert!(
            readings.iter().all(|r| r.value == 7.25),
            "B delivered its own event twice: {readings:?}"
        ),
        other => panic!("{other:?}"),
    }
    let on_a_later = next_event(&mut on_a).await;
    assert!(matches!(&on_a_later, Event::Readings { readings } if readings[0].value == 7.25));
    let metrics = a.get("/metrics").await.body.to_string();
    assert!(
        metrics.contains(r#"sf_events_received_total{topic=\"readings\"} 1"#)
            || metrics.contains(r#"sf_events_received_total{topic="readings"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_redis_events_stay_local_and_writes_go_on() {
    let mut redis = RedisServer::start().await;
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.redis.url = Some(redis.url().into());
        c.redis.prefix = unique_redis_prefix();
    })
    .await;
    let mut events = app.state.events.subscribe(Topic::Readings);
    redis.kill();
    let (ids, variables) = readings(&app).await;
    let stored = app.graphql(INGEST, variables).await;
    assert_eq!(stored.data()["ingestReadings"]["accepted"], 2);
    assert_eq!(sensor_ids(&next_event(&mut events).await), ids);
    // The copy for other instances is counted as dropped, not queued forever.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics").await.body.to_string();
        if metrics.contains("sf_events_dropped_total{reason=") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no dropped event counted: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn refused_and_rolled_back_writes_publish_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let mut events = app.state.events.subscribe(Topic::Readings);
    let now = iso(chrono::Utc::now());
    let unknown =
        json!({ "i": { "readings": [{ "sensorId": "999999", "ts": now, "value": 1.0 }] } });
    let refused = app.graphql(INGEST, unknown).await;
    assert_eq!(refused.data()["ingestReadings"]["accepted"], 0);
    // A failure inside the write's transaction: the table the latest values go to is gone.
    let (_, variables) = readings(&app).await;
    let before = app.count("sensor_readings").await;
    sea_orm::ConnectionTrait::execute_unprepared(&app.state.db.write, "DROP TABLE sensor_latest")
        .await
        .expect("drop");
    let failed = app.graphql(INGEST, variables).await;
    assert_eq!(failed.error_code(), "INTERNAL");
    assert_eq!(
        app.count("sensor_readings").await,
        before,
        "nothing of the batch stored"
    );
    assert!(
        matches!(events.try_recv(), Err(TryRecvError::Empty)),
        "an event for a refused or rolled-back write"
    );
}

#[tokio::test]
async fn a_threshold_crossing_on_one_instance_is_an_alarm_event_on_the_other() {
    let (_own, a, b) = two_instances().await;
    let mut readings_on_a = a.state.events.subscribe(Topic::Readings);
    let mut alarms_on_a = a.state.events.subscribe(Topic::Alarms);
    let r = b
        .graphql(
            "{ sensors(first: 50) { edges { node { id hi hiHi } } } }",
            json!({}),
        )
        .await;
    let sensor = r.data()["sensors"]["edges"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["hi"].is_number())
        .expect("a sensor with a hi threshold")
        .clone();
    let id: i64 = sensor["id"].as_str().expect("id").parse().expect("numeric");
    let hi = sensor["hi"].as_f64().expect("hi");
    // Past `hi` but below `hi_hi` (when there is one): a MAJOR alarm.
    let value = match sensor["hiHi"].as_f64() {
        Some(hi_hi) => (hi + hi_hi) / 2.0,
        None => hi + 1.0,
    };
    let now = iso(chrono::Utc::now());
    let stored = b
        .graphql(
            INGEST,
            json!({ "i": { "readings": [{ "sensorId": id.to_string(), "ts": now, "value": value }] } }),
        )
        .await;
    assert_eq!(stored.data()["ingestReadings"]["inserted"], 1);
    assert_eq!(sensor_ids(&next_event(&mut readings_on_a).await), [id]);
    let mut raised = None;
    let mut counts = None;
    while raised.is_none() || counts.is_none() {
        match next_event(&mut alarms_on_a).await {
            Event::Alarm(change) => raised = Some(change),
            Event::AlarmCounts(c) => counts = Some(c),
            other => panic!("an alarm event, got {other:?}"),
        }
    }
    let raised = raised.expect("alarm");
    assert_eq!(raised.sensor_id, Some(id));
    assert_eq!(raised.action, smart_factory::events::AlarmAction::Raised);
    assert_eq!(raised.severity, 4, "past hi is MAJOR");
    assert!(!raised.cleared && !raised.acknowledged);
    let counts = counts.expect("counts");
    assert_eq!(
        counts.workshop_id,
        raised
            .place
            .expect("a machine alarm has a place")
            .workshop_id
    );
    assert!(counts.open_by_severity[3] >= 1, "{counts:?}");
}
