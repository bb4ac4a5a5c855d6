//! Subscriptions as a dashboard holds them, over both socket protocols: readings coalesce
//! per window; each event arrives once; a finished subscription leaves the hub. Also the
//! plant and helpers the other subscription tests share: each subscription's mutation in
//! `subscriptions_delivery`, scope and bad arguments in `subscriptions_scope`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use smart_factory::realtime::Kind;

use crate::{
    equipment_status::{Plant, call, ok, person, plant, set_status},
    helpers::{Shape, TestApp, id_of, iso},
    live_client::{LiveClient, Transport},
};

/// Two workshops of two lines, one machine per line with two sensors.
pub(crate) const PLANT: Shape = Shape {
    workshops: 2,
    lines_per_workshop: 2,
    machines_per_line: 1,
    sensors_per_machine: 2,
    fast_share: 0.0,
    history_hours: 1,
    products: 2,
};

/// A sensor of the seeded plant and where it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SensorAt {
    pub(crate) id: i64,
    pub(crate) machine: i64,
}

/// A running app (no development admin: every call says who makes it) and its plant.
pub(crate) struct Site {
    pub(crate) app: TestApp,
    pub(crate) plant: Plant,
    pub(crate) sensors: Vec<SensorAt>,
}

impl Site {
    /// The sensors of machine `machine`.
    pub(crate) fn sensors_of(&self, machine: i64) -> Vec<i64> {
        self.sensors
            .iter()
            .filter(|s| s.machine == machine)
            .map(|s| s.id)
            .collect()
    }
}

pub(crate) async fn site() -> Site {
    let app = TestApp::spawn_with(Some(PLANT), |c| c.auth.dev_admin_fallback = false).await;
    let plant = plant(&app).await;
    let r = app
        .graphql_as(
            &plant.admin,
            "{ sensors(first: 100) { edges { node { id equipmentId } } } }",
            json!({}),
        )
        .await;
    let sensors = r.data()["sensors"]["edges"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|e| SensorAt {
            id: id_of(&e["node"]),
            machine: number(&e["node"]["equipmentId"]),
        })
        .collect();
    Site {
        app,
        plant,
        sensors,
    }
}

/// Waits until the hub holds `n` subscriptions of every kind together.
pub(crate) async fn hub_holds(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let held: usize = Kind::ALL.iter().map(|k| app.state.hub.active(*k)).sum();
        if held == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hub holds {held} subscriptions, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Stores `(sensor, ts, value)` readings in one `ingestReadings` call as `token`.
pub(crate) async fn ingest(app: &TestApp, token: &str, readings: &[(i64, DateTime<Utc>, f64)]) {
    let rows: Vec<Value> = readings
        .iter()
        .map(|(sensor, ts, value)| json!({ "sensorId": sensor.to_string(), "ts": iso(*ts), "value": value }))
        .collect();
    let r = call(
        app,
        token,
        "ingestReadings",
        "IngestReadingsInput",
        "accepted rejected { index message }",
        json!({ "readings": rows }),
    )
    .await;
    let result = ok(&r, "ingestReadings");
    assert_eq!(result["accepted"], rows.len(), "{result}");
}

/// `(sensorId, value)` of a `readingsUpdated` message.
fn values(payload: &Value) -> Vec<(i64, f64)> {
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"]["readingsUpdated"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| (number(&r["sensorId"]), r["value"].as_f64().expect("value")))
        .collect()
}

/// An `ID` as a number.
pub(crate) fn number(id: &Value) -> i64 {
    id.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an id, got {id}"))
}

const READINGS_OF_LINE: &str = "subscription($line: ID!) { \
    readingsUpdated(lineId: $line, throttleMs: 2000) { sensorId ts value quality } }";

#[tokio::test]
async fn readings_coalesce_per_window_into_one_message_with_the_newest_value_per_sensor() {
    let site = site().await;
    let (app, admin) = (&site.app, &site.plant.admin);
    let machine = site.plant.in_workshop(0)[0];
    let other = site.plant.in_workshop(0)[1];
    let (s1, s2) = (
        site.sensors_of(machine.id)[0],
        site.sensors_of(machine.id)[1],
    );
    let elsewhere = site.sensors_of(other.id)[0];
    let (_, viewer) = person(app, admin, "viewer", "VIEWER", machine.workshop).await;
    for (round, transport) in Transport::ALL.into_iter().enumerate() {
        let t0 = Utc::now() - chrono::Duration::minutes(10 * (round as i64 + 1));
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut client = LiveClient::open(app, transport, &viewer).await;
        client
            .subscribe(
                "r",
                READINGS_OF_LINE,
                json!({ "line": machine.line.to_string() }),
            )
            .await;
        hub_holds(app, 1).await;
        // The message of a first reading arrives as a window closes: what follows at once
        // falls into the next window.
        ingest(app, admin, &[(s1, at(0), 0.5)]).await;
        assert_eq!(
            values(&client.next("r").await),
            [(s1, 0.5)],
            "{transport:?}"
        );
        ingest(
            app,
            admin,
            &[
                (s1, at(1), 1.0),
                (s2, at(1), 10.0),
                (elsewhere, at(1), 99.0),
            ],
        )
        .await;
        ingest(app, admin, &[(s1, at(3), 3.0), (s2, at(2), 20.0)]).await;
        // Sent last but older for s1: the newest reading wins, not the last sent.
        ingest(app, admin, &[(s1, at(2), 2.0), (s2, at(3), 30.0)]).await;
        assert_eq!(
            values(&client.next("r").await),
            [(s1, 3.0), (s2, 30.0)],
            "{transport:?}: one message, the newest value per sensor, only this line's"
        );
        // Nothing else came of those batches: the next message holds the next reading only.
        ingest(app, admin, &[(s2, at(4), 40.0)]).await;
        assert_eq!(
            values(&client.next("r").await),
            [(s2, 40.0)],
            "{transport:?}"
        );
        drop(client);
        hub_holds(app, 0).await;
    }
}

#[tokio::test]
async fn each_event_reaches_a_subscriber_once_and_quiet_windows_send_nothing() {
    let site = site().await;
    let (app, admin) = (&site.app, &site.plant.admin);
    let machine = site.plant.in_workshop(0)[0];
    let sensor = site.sensors_of(machine.id)[0];
    let running = json!({ "equipmentId": machine.id.to_string(), "status": "RUNNING" });
    let down = json!({ "equipmentId": machine.id.to_string(), "status": "DOWN",
        "reasonCode": "BREAKDOWN" });
    for (round, transport) in Transport::ALL.into_iter().enumerate() {
        set_status(app, admin, running.clone()).await;
        let mut client = LiveClient::open(app, transport, admin).await;
        let every = "subscription { equipmentStatusChanged { equipmentId status } }";
        let this = "subscription($m: ID!) { equipmentStatusChanged(equipmentId: $m) { status } }";
        client.subscribe("every", every, json!({})).await;
        client
            .subscribe("this", this, json!({ "m": machine.id.to_string() }))
            .await;
        // The same sensor twice: registered once.
        let twice = "subscription($s: [ID!]) { readingsUpdated(sensorIds: $s, throttleMs: 100) \
            { sensorId value } }";
        let ids = json!([sensor.to_string(), sensor.to_string()]);
        client.subscribe("twice", twice, json!({ "s": ids })).await;
        hub_holds(app, 3).await;
        set_status(app, admin, down.clone()).await;
        set_status(app, admin, running.clone()).await;
        for id in ["every", "this"] {
            for status in ["DOWN", "RUNNING"] {
                let payload = client.next(id).await;
                let event = &payload["data"]["equipmentStatusChanged"];
                assert_eq!(event["status"], status, "{transport:?} {id}: {payload}");
            }
        }
        let ts = Utc::now() - chrono::Duration::minutes(round as i64 + 1);
        ingest(app, admin, &[(sensor, ts, 7.0)]).await;
        assert_eq!(values(&client.next("twice").await), [(sensor, 7.0)]);
        // Six windows of `twice` without readings, and no event repeated.
        client
            .expect_silence("every", Duration::from_millis(600))
            .await;
        client
            .expect_silence("this", Duration::from_millis(1))
            .await;
        client
            .expect_silence("twice", Duration::from_millis(1))
            .await;
        drop(client);
        hub_holds(app, 0).await;
    }
}

/// `sf_subscriptions_active` of `kind` on `/metrics`.
async fn active_metric(app: &TestApp, kind: &str) -> i64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let prefix = format!("sf_subscriptions_active{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().expect("a number"))
}

/// Polls `/metrics` until `kind` shows `n` active subscriptions.
async fn metric_shows(app: &TestApp, kind: &str, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while active_metric(app, kind).await != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind}: {} active, expected {n}",
            active_metric(app, kind).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_stopped_subscription_and_a_closed_socket_leave_the_hub() {
    let site = site().await;
    let (app, admin) = (&site.app, &site.plant.admin);
    let machine = site.plant.in_workshop(0)[0];
    for transport in Transport::ALL {
        let mut client = LiveClient::open(app, transport, admin).await;
        client
            .subscribe(
                "r",
                READINGS_OF_LINE,
                json!({ "line": machine.line.to_string() }),
            )
            .await;
        client
            .subscribe(
                "s",
                "subscription { equipmentStatusChanged { status } }",
                json!({}),
            )
            .await;
        metric_shows(app, "readings", 1).await;
        metric_shows(app, "equipment_status", 1).await;
        client.stop("r").await;
        metric_shows(app, "readings", 0).await;
        assert_eq!(
            active_metric(app, "equipment_status").await,
            1,
            "{transport:?}"
        );
        drop(client);
        metric_shows(app, "equipment_status", 0).await;
    }
}
