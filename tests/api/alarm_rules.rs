//! Threshold alarms raised, escalated and cleared by `ingestReadings`: hi/hi-hi and lo/lo-lo
//! with a deadband, one open alarm per (machine, sensor, type), a crossing after a clear as a
//! new alarm, the events on the bus, and a statement count that does not grow with the batch.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};
use smart_factory::events::{AlarmAction, Event, Topic};

use crate::helpers::{SMALL, TestApp, iso, list, time};

const INGEST: &str = "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { \
    accepted inserted rejected { index code message } } }";

const ALARMS: &str = "query($f: AlarmFilter) { alarms(filter: $f, first: 100, orderBy: START_DESC) { \
    nodes { id type severity status occurrences value threshold message startTs lastTs \
    cleared clearTs clearedBy acknowledged details events { action ts userId note } } } }";

/// A seeded plant, an admin token, and the first sensor with thresholds set to
/// lo_lo 0, lo 10, hi 90, hi_hi 100, deadband 2.
struct Plant {
    app: TestApp,
    token: String,
    sensor: String,
    tag: String,
    /// Readings are stamped `base + n seconds`.
    base: DateTime<Utc>,
}

async fn plant() -> Plant {
    let app = TestApp::seeded(SMALL).await;
    let token = app.admin_token().await;
    let r = app
        .graphql_as(
            &token,
            "{ sensors(first: 1) { nodes { id tag } } }",
            json!({}),
        )
        .await;
    let node = &r.data()["sensors"]["nodes"][0];
    let sensor = node["id"].as_str().expect("id").to_owned();
    let tag = node["tag"].as_str().expect("tag").to_owned();
    set_thresholds(
        &app,
        &token,
        &sensor,
        json!({ "loLo": 0.0, "lo": 10.0, "hi": 90.0, "hiHi": 100.0, "deadband": 2.0 }),
    )
    .await;
    Plant {
        app,
        token,
        sensor,
        tag,
        base: base_time(),
    }
}

/// An hour ago, or earlier so that the next 1,000 seconds stay within one day (one day's
/// partition, whatever the time the test runs); to the microsecond, as the database keeps
/// times, and off the whole seconds the seeded history uses.
fn base_time() -> DateTime<Utc> {
    let base = (Utc::now() - Duration::hours(1)).trunc_subsecs(0) + Duration::microseconds(123_457);
    if (base + Duration::seconds(1_000)).date_naive() == base.date_naive() {
        base
    } else {
        base - Duration::hours(1)
    }
}

async fn set_thresholds(app: &TestApp, token: &str, sensor: &str, thresholds: Value) {
    app.graphql_as(
        token,
        "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { sensor { id } } }",
        json!({ "i": { "id": sensor, "thresholds": thresholds } }),
    )
    .await
    .data();
}

impl Plant {
    fn at(&self, second: i64) -> DateTime<Utc> {
        self.base + Duration::seconds(second)
    }

    /// Ingests `(sensor, second, value)` readings; every one must be new.
    async fn ingest_rows(&self, rows: &[(&str, i64, f64)]) -> crate::helpers::GqlResponse {
        let readings: Vec<Value> = rows
            .iter()
            .map(|(id, s, v)| json!({ "sensorId": id, "ts": iso(self.at(*s)), "value": v }))
            .collect();
        let r = self
            .app
            .graphql_as(
                &self.token,
                INGEST,
                json!({ "i": { "readings": readings } }),
            )
            .await;
        assert_eq!(
            r.data()["ingestReadings"]["inserted"],
            json!(rows.len()),
            "{}",
            r.body
        );
        r
    }

    /// Ingests `(second, value)` readings of the plant's sensor.
    async fn ingest(&self, values: &[(i64, f64)]) {
        let rows: Vec<(&str, i64, f64)> = values
            .iter()
            .map(|(s, v)| (self.sensor.as_str(), *s, *v))
            .collect();
        self.ingest_rows(&rows).await;
    }

    /// The sensor's alarms of `alarm_type`, oldest first.
    async fn alarms(&self, alarm_type: &str) -> Vec<Value> {
        let r = self
            .app
            .graphql_as(
                &self.token,
                ALARMS,
                json!({ "f": { "sensorId": self.sensor, "type": alarm_type } }),
            )
            .await;
        let mut all = list(&r.data()["alarms"]["nodes"]).clone();
        all.reverse();
        all
    }

    /// Uncleared rows of (sensor, type) in the table itself.
    async fn open_rows(&self, alarm_type: &str) -> i64 {
        let db = &self.app.state.db.write;
        let sql = format!(
            "SELECT COUNT(*) AS n FROM alarms WHERE sensor_id = {} AND type = '{alarm_type}' \
             AND NOT cleared",
            self.sensor
        );
        let row = sea_orm::ConnectionTrait::query_one_raw(
            db,
            sea_orm::Statement::from_string(db.get_database_backend(), sql),
        )
        .await
        .expect("count")
        .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

fn actions(alarm: &Value) -> Vec<String> {
    list(&alarm["events"])
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

#[tokio::test]
async fn a_high_alarm_raises_escalates_and_clears_past_the_deadband_without_flapping() {
    let p = plant().await;
    p.ingest(&[(0, 80.0), (1, 93.1)]).await;
    let high = p.alarms("HIGH").await;
    assert_eq!(high.len(), 1);
    let a = &high[0];
    assert_eq!(a["severity"], "MAJOR");
    assert_eq!(a["status"], "ACTIVE_UNACK");
    assert_eq!(a["message"], json!(format!("{} high: 93.1 > 90", p.tag)));
    assert_eq!(a["threshold"], 90.0);
    assert_eq!(a["value"], 93.1);
    assert_eq!(a["occurrences"], 1);
    assert_eq!(time(&a["startTs"]), p.at(1));
    assert_eq!(a["details"]["limits"]["hiHi"], 100.0);

    // Staying in the band moves the value and last time; beyond hi_hi escalates in place.
    p.ingest(&[(2, 95.0), (3, 101.0)]).await;
    let a = &p.alarms("HIGH").await[0];
    assert_eq!(a["severity"], "CRITICAL");
    assert_eq!(a["threshold"], 100.0);
    assert_eq!(
        a["occurrences"], 2,
        "escalation is an occurrence, holding is not"
    );
    assert_eq!(time(&a["lastTs"]), p.at(3));

    // Chatter between hi − deadband (88) and hi: no clear, no new alarm; the re-entry at 91
    // counts as an occurrence of the open alarm.
    p.ingest(&[(4, 89.0), (5, 91.0), (6, 88.5), (7, 89.9), (8, 88.01)])
        .await;
    let high = p.alarms("HIGH").await;
    assert_eq!(
        high.len(),
        1,
        "chatter inside the deadband raised a new alarm"
    );
    let a = &high[0];
    assert_eq!(a["cleared"], false);
    assert_eq!(a["severity"], "CRITICAL", "severity never drops while open");
    assert_eq!(a["occurrences"], 3);
    assert_eq!(a["value"], 88.01);
    assert_eq!(time(&a["lastTs"]), p.at(5));

    p.ingest(&[(9, 87.9)]).await;
    let a = &p.alarms("HIGH").await[0];
    assert_eq!(a["status"], "CLEARED_UNACK");
    assert_eq!(time(&a["clearTs"]), p.at(9));
    assert!(a["clearedBy"].is_null(), "an automatic clear has no user");
    assert_eq!(actions(a), ["RAISED", "UPDATED", "UPDATED", "CLEARED"]);
    assert!(list(&a["events"]).iter().all(|e| e["userId"].is_null()));
    assert_eq!(time(&a["events"][3]["ts"]), p.at(9));
    assert_eq!(p.open_rows("HIGH").await, 0);
    assert!(p.alarms("LOW").await.is_empty(), "nothing on the low side");
}

#[tokio::test]
async fn a_crossing_after_a_clear_is_a_new_alarm() {
    let p = plant().await;
    p.ingest(&[(0, 95.0)]).await;
    p.ingest(&[(1, 80.0)]).await;
    p.ingest(&[(2, 96.0)]).await;
    let high = p.alarms("HIGH").await;
    assert_eq!(high.len(), 2, "{high:?}");
    assert_eq!(high[0]["status"], "CLEARED_UNACK");
    assert_eq!(high[1]["status"], "ACTIVE_UNACK");
    assert_eq!(high[1]["occurrences"], 1);
    assert_eq!(time(&high[1]["startTs"]), p.at(2));
    assert_eq!(actions(&high[1]), ["RAISED"]);
    // Within one batch too: raise, clear and raise again, in time order whatever the order sent.
    p.ingest(&[(5, 97.0), (3, 70.0), (4, 98.0), (6, 85.0), (7, 99.0)])
        .await;
    let high = p.alarms("HIGH").await;
    let statuses: Vec<&str> = high
        .iter()
        .map(|a| a["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "CLEARED_UNACK",
            "CLEARED_UNACK",
            "CLEARED_UNACK",
            "ACTIVE_UNACK"
        ]
    );
    assert_eq!(time(&high[2]["startTs"]), p.at(4));
    assert_eq!(time(&high[2]["clearTs"]), p.at(6));
    assert_eq!(p.open_rows("HIGH").await, 1);
}

#[tokio::test]
async fn one_alarm_stays_open_per_machine_sensor_and_type() {
    let p = plant().await;
    p.ingest(&[(0, 95.0), (1, 96.0), (2, 97.0), (3, 99.0)])
        .await;
    p.ingest(&[(4, 93.0), (5, 92.0)]).await;
    let high = p.alarms("HIGH").await;
    assert_eq!(high.len(), 1);
    assert_eq!(
        high[0]["occurrences"], 1,
        "holding in the band is one occurrence"
    );
    assert_eq!(high[0]["value"], 92.0);
    assert_eq!(time(&high[0]["lastTs"]), p.at(5));
    assert_eq!(actions(&high[0]), ["RAISED"]);
    assert_eq!(p.open_rows("HIGH").await, 1);
    // A resend of stored readings is not evaluated again.
    let resend = json!({ "i": { "readings": [{ "sensorId": p.sensor, "ts": iso(p.at(0)), "value": 150.0 }] } });
    let r = p.app.graphql_as(&p.token, INGEST, resend).await;
    assert_eq!(r.data()["ingestReadings"]["inserted"], 0);
    assert_eq!(p.alarms("HIGH").await[0]["severity"], "MAJOR");
}

#[tokio::test]
async fn low_alarms_mirror_high_ones_and_both_sides_are_separate_alarms() {
    let p = plant().await;
    p.ingest(&[(0, 50.0), (1, 9.5)]).await;
    let low = p.alarms("LOW").await;
    assert_eq!(low.len(), 1);
    assert_eq!(low[0]["severity"], "MAJOR");
    assert_eq!(low[0]["message"], json!(format!("{} low: 9.5 < 10", p.tag)));
    p.ingest(&[(2, -1.0), (3, 11.0), (4, 11.9)]).await;
    let low = p.alarms("LOW").await;
    assert_eq!(low.len(), 1);
    assert_eq!(low[0]["severity"], "CRITICAL");
    assert_eq!(low[0]["threshold"], 0.0);
    assert_eq!(low[0]["cleared"], false, "11.9 is within lo + deadband");
    // Straight from low to high: the low alarm clears and a high one opens.
    p.ingest(&[(5, 95.0)]).await;
    let low = p.alarms("LOW").await;
    assert_eq!(low[0]["status"], "CLEARED_UNACK");
    assert_eq!(time(&low[0]["clearTs"]), p.at(5));
    let high = p.alarms("HIGH").await;
    assert_eq!(high.len(), 1);
    assert_eq!(high[0]["status"], "ACTIVE_UNACK");
}

#[tokio::test]
async fn a_sensor_without_thresholds_raises_nothing() {
    let p = plant().await;
    set_thresholds(&p.app, &p.token, &p.sensor, json!({})).await;
    let before = p.app.count("alarms").await;
    p.ingest(&[(0, -1e9), (1, 1e9)]).await;
    assert_eq!(p.app.count("alarms").await, before);
    assert_eq!(p.app.count("alarm_events").await, 0);
}

#[tokio::test]
async fn transitions_go_out_on_the_bus_after_the_commit_with_the_workshops_counts() {
    let p = plant().await;
    let mut bus = p.app.state.events.subscribe(Topic::Alarms);
    p.ingest(&[(0, 95.0), (1, 101.0)]).await;
    let mut got = Vec::new();
    while got.len() < 3 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), bus.recv())
            .await
            .expect("an alarm event within 10 s")
            .expect("bus open");
        got.push(event.as_ref().clone());
    }
    let r = p
        .app
        .graphql_as(
            &p.token,
            "query($id: ID!) { sensorById(id: $id) { equipment { id lineId workshopId } } }",
            json!({ "id": p.sensor }),
        )
        .await;
    let machine = &r.data()["sensorById"]["equipment"];
    let id = |v: &Value| v.as_str().expect("id").parse::<i64>().expect("numeric");
    let alarm = &p.alarms("HIGH").await[0];
    match (&got[0], &got[1], &got[2]) {
        (Event::Alarm(raised), Event::Alarm(updated), Event::AlarmCounts(counts)) => {
            assert_eq!(raised.action, AlarmAction::Raised);
            assert_eq!(updated.action, AlarmAction::Updated);
            assert_eq!(raised.alarm_id, id(&alarm["id"]));
            assert_eq!(raised.severity, 4);
            assert_eq!(updated.severity, 5);
            assert_eq!(
                raised.place.expect("a machine alarm has a place").line_id,
                id(&machine["lineId"])
            );
            assert_eq!(
                raised
                    .place
                    .expect("a machine alarm has a place")
                    .equipment_id,
                id(&machine["id"])
            );
            assert_eq!(raised.ts, p.at(0));
            assert!(raised.shelved_until.is_none() && raised.user_id.is_none());
            assert_ne!(raised.alarm_event_id, updated.alarm_event_id);
            assert_eq!(counts.workshop_id, id(&machine["workshopId"]));
            // The seed leaves a few open alarms of its own: count the critical ones.
            assert!(counts.open_by_severity[4] >= 1, "{counts:?}");
        }
        other => panic!("raised, updated, counts; got {other:?}"),
    }
}

#[tokio::test]
async fn evaluating_a_batch_costs_the_same_statements_for_few_and_many_alarms() {
    let p = plant().await;
    let r = p
        .app
        .graphql_as(
            &p.token,
            "{ sensors(first: 10) { nodes { id } } }",
            json!({}),
        )
        .await;
    let sensors: Vec<String> = list(&r.data()["sensors"]["nodes"])
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(sensors.len(), 4);
    for s in &sensors {
        set_thresholds(
            &p.app,
            &p.token,
            s,
            json!({ "loLo": 0.0, "lo": 10.0, "hi": 90.0, "hiHi": 100.0, "deadband": 2.0 }),
        )
        .await;
    }
    // Warm-up, and one open alarm on the first sensor.
    p.ingest_rows(&[(&sensors[0], 0, 95.0)]).await;
    // Few: the open alarm escalates, and one new alarm opens on the second sensor.
    let few = p
        .ingest_rows(&[(&sensors[0], 1, 101.0), (&sensors[1], 1, 95.0)])
        .await;
    assert_eq!(p.app.count("alarm_events").await, 3);
    // Many: every sensor raises and clears on both sides, over and over, in one batch.
    let rows: Vec<(&str, i64, f64)> = (0..400)
        .map(|i| {
            (
                sensors[i % 4].as_str(),
                10 + i as i64,
                [50.0, 95.0, 50.0, 5.0][(i / 4) % 4],
            )
        })
        .collect();
    let many = p.ingest_rows(&rows).await;
    // Each reading clears or raises, but the first of the two sensors without an open alarm.
    assert_eq!(p.app.count("alarm_events").await, 3 + 398);
    assert_eq!(
        few.sql_statements(),
        many.sql_statements(),
        "statements must not grow with the batch's alarms"
    );
}
