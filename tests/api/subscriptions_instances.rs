//! Subscriptions across instances: a write on one instance reaches subscribers on another
//! through the bus's Redis bridge, over every transport.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::{
    helpers::{TestApp, two_instances},
    live_client::{LiveClient, Transport},
    subscriptions::{ingest, number},
};

const READINGS: &str = "subscription($s: [ID!]) { \
    readingsUpdated(sensorIds: $s, throttleMs: 100) { sensorId value } }";

/// Waits until `app` runs `n` subscription feeds.
async fn feeds_become(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.feeds.len() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} feeds, not {n}",
            app.state.feeds.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_ingest_on_one_instance_reaches_a_subscriber_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let token = a.admin_token().await;
    let sensors = a
        .graphql_as(&token, "{ sensors(first: 1) { nodes { id } } }", json!({}))
        .await;
    let sensor = sensors.data()["sensors"]["nodes"][0]["id"].clone();
    for (i, transport) in Transport::ALL.into_iter().enumerate() {
        let mut on_a = LiveClient::open(&a, transport, &token).await;
        on_a.subscribe("r", READINGS, json!({ "s": [sensor] }))
            .await;
        feeds_become(&a, 1).await;
        let value = 40.0 + i as f64;
        let at = Utc::now() - chrono::Duration::seconds(10 - i as i64);
        ingest(&b, &token, &[(number(&sensor), at, value)]).await;
        let payload = on_a.next("r").await;
        let readings = payload["data"]["readingsUpdated"]
            .as_array()
            .expect("a list");
        assert_eq!(readings.len(), 1, "{transport:?}: {payload}");
        assert_eq!(readings[0]["value"], value, "{transport:?}: {payload}");
        drop(on_a);
        feeds_become(&a, 0).await;
    }
}
