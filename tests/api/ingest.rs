//! The ingest write path beyond the basics (tests/api/users.rs, ingest_http.rs): sensors by
//! tag, per-row scope answers, a resend changing nothing, the same statement count for 10
//! and 5,000 rows, the day's partition made on demand, and readings events only for rows
//! that were new.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};
use tokio::sync::broadcast::error::TryRecvError;

use crate::helpers::{LARGE, SMALL, TestApp, iso, list};

const INGEST: &str = "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { \
    accepted inserted rejected { index code message } } }";

/// `(id, tag)` of every sensor.
async fn sensors(app: &TestApp) -> Vec<(String, String)> {
    let r = app
        .graphql(
            "{ sensors(first: 500) { edges { node { id tag } } } }",
            json!({}),
        )
        .await;
    list(&r.data()["sensors"]["edges"])
        .iter()
        .map(|e| {
            (
                e["node"]["id"].as_str().expect("id").to_owned(),
                e["node"]["tag"].as_str().expect("tag").to_owned(),
            )
        })
        .collect()
}

fn rejections(payload: &Value) -> Vec<(i64, String)> {
    list(&payload["rejected"])
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().expect("index"),
                r["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn readings_name_their_sensor_by_id_or_by_tag_exactly_once() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (id, tag) = &all[0];
    let now = Utc::now();
    let readings = json!([
        { "tag": tag, "ts": iso(now), "value": 1.5 },
        { "sensorId": id, "ts": iso(now - Duration::seconds(1)), "value": 2.5 },
        { "tag": "NO-SUCH-TAG", "ts": iso(now), "value": 1.0 },
        { "sensorId": id, "tag": tag, "ts": iso(now - Duration::seconds(2)), "value": 1.0 },
        { "ts": iso(now - Duration::seconds(3)), "value": 1.0 },
        { "tag": "x".repeat(10_000), "ts": iso(now), "value": 1.0 },
    ]);
    let before = app.count("sensor_readings").await;
    let r = app
        .graphql(INGEST, json!({ "i": { "readings": readings } }))
        .await;
    let payload = &r.data()["ingestReadings"];
    assert_eq!(payload["accepted"], 2);
    assert_eq!(payload["inserted"], 2);
    assert_eq!(
        rejections(payload),
        vec![
            (2, "NOT_FOUND".to_owned()),
            (3, "BAD_USER_INPUT".to_owned()),
            (4, "BAD_USER_INPUT".to_owned()),
            (5, "NOT_FOUND".to_owned()),
        ]
    );
    assert_eq!(app.count("sensor_readings").await, before + 2);
    let latest = app
        .graphql(
            "query($s: ID!) { sensorById(id: $s) { latest { value } } }",
            json!({ "s": id }),
        )
        .await;
    assert_eq!(
        latest.data()["sensorById"]["latest"]["value"],
        1.5,
        "the reading named by tag is the newest"
    );

    // The same over plain HTTP.
    let body = json!([{ "tag": tag, "ts": iso(now + Duration::seconds(1)), "value": 3.5 }]);
    let answer = app
        .client
        .post(format!("{}/ingest", app.address))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.expect("json");
    assert_eq!(answer["inserted"], 1, "{answer}");
}

#[tokio::test]
async fn a_resend_changes_nothing_and_publishes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let now = Utc::now();
    let readings: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, (id, _))| json!({ "sensorId": id, "ts": iso(now - Duration::seconds(i as i64)), "value": i as f64 }))
        .collect();
    let variables = json!({ "i": { "readings": readings } });
    let mut events = app.state.events.subscribe(Topic::Readings);
    let first = app.graphql(INGEST, variables.clone()).await;
    assert_eq!(first.data()["ingestReadings"]["inserted"], all.len());
    let Event::Readings { readings } = &*events.recv().await.expect("an event") else {
        panic!("a readings event");
    };
    assert_eq!(readings.len(), all.len());
    let stored = app.count("sensor_readings").await;
    let latest = app
        .graphql("{ latestReadings(sensorIds: []) { value } }", json!({}))
        .await;
    let again = app.graphql(INGEST, variables).await;
    assert_eq!(again.data()["ingestReadings"]["accepted"], all.len());
    assert_eq!(again.data()["ingestReadings"]["inserted"], 0);
    assert_eq!(app.count("sensor_readings").await, stored);
    assert_eq!(
        app.graphql("{ latestReadings(sensorIds: []) { value } }", json!({}))
            .await
            .body,
        latest.body
    );
    assert!(
        matches!(events.try_recv(), Err(TryRecvError::Empty)),
        "a resend is not news"
    );
}

/// A batch of `n` readings over `sensors` (id and a value inside its thresholds), one
/// second apart per sensor, ending `offset_s` before now.
fn batch(sensors: &[(String, f64)], n: usize, offset_s: i64) -> Value {
    let now = Utc::now();
    let readings: Vec<Value> = (0..n)
        .map(|i| {
            let (id, inside) = &sensors[i % sensors.len()];
            let back = offset_s + (i / sensors.len()) as i64;
            json!({ "sensorId": id, "ts": iso(now - Duration::seconds(back)), "value": inside })
        })
        .collect();
    json!({ "i": { "readings": readings } })
}

#[tokio::test]
async fn an_ingest_batch_costs_the_same_statements_for_10_and_5000_rows() {
    let app = TestApp::seeded(LARGE).await;
    // Values between `lo` and `hi`: the readings path itself, no alarm transitions (their
    // statements are the alarm tests' business).
    let r = app
        .graphql(
            "{ sensors(first: 500) { edges { node { id lo hi } } } }",
            json!({}),
        )
        .await;
    let all: Vec<(String, f64)> = list(&r.data()["sensors"]["edges"])
        .iter()
        .map(|e| {
            let lo = e["node"]["lo"].as_f64().unwrap_or(0.0);
            let hi = e["node"]["hi"].as_f64().unwrap_or(100.0);
            (
                e["node"]["id"].as_str().expect("id").to_owned(),
                (lo + hi) / 2.0,
            )
        })
        .collect();
    // Warm-up: the day's partition (PostgreSQL) and the caller's caches.
    let warm = app.graphql(INGEST, batch(&all, 10, 20_000)).await;
    assert_eq!(warm.data()["ingestReadings"]["inserted"], 10);
    let small = app.graphql(INGEST, batch(&all, 10, 10_000)).await;
    let large = app.graphql(INGEST, batch(&all, 5_000, 100)).await;
    assert_eq!(small.data()["ingestReadings"]["inserted"], 10);
    assert_eq!(large.data()["ingestReadings"]["inserted"], 5_000);
    assert!(small.sql_statements() > 0, "statements are counted");
    assert_eq!(
        small.sql_statements(),
        large.sql_statements(),
        "statements of a batch must not grow with its rows"
    );
}

#[tokio::test]
async fn the_days_partition_is_made_on_demand() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let backend = app.state.db.write.get_database_backend();
    let yesterday = Utc::now() - Duration::days(3);
    let name = format!("sensor_readings_p{}", yesterday.format("%Y%m%d"));
    if backend == sea_orm::DatabaseBackend::Postgres {
        // The seed made the recent days' partitions: drop the one of three days ago, with
        // its rows, as retention would.
        sea_orm::ConnectionTrait::execute_unprepared(
            &app.state.db.write,
            &format!("DROP TABLE IF EXISTS {name}"),
        )
        .await
        .expect("drop partition");
    }
    let readings = json!([{ "sensorId": all[0].0, "ts": iso(yesterday), "value": 4.0 }]);
    let r = app
        .graphql(INGEST, json!({ "i": { "readings": readings } }))
        .await;
    assert_eq!(r.data()["ingestReadings"]["inserted"], 1, "{}", r.body);
    if backend == sea_orm::DatabaseBackend::Postgres {
        let row = sea_orm::ConnectionTrait::query_one_raw(
            &app.state.db.write,
            sea_orm::Statement::from_string(
                backend,
                format!(
                    "SELECT (SELECT count(*) FROM {name}) AS n, \
                     (SELECT count(*) FROM sensor_readings_default) AS d"
                ),
            ),
        )
        .await
        .expect("query")
        .expect("row");
        let in_day: i64 = row.try_get("", "n").expect("n");
        let in_default: i64 = row.try_get("", "d").expect("d");
        assert_eq!(in_day, 1, "the reading is in its day's new partition");
        assert_eq!(in_default, 0, "nothing fell into the default partition");
    }
}

#[tokio::test]
async fn a_gateway_is_told_forbidden_for_another_workshops_sensor_and_a_person_not_found() {
    let app = TestApp::seeded(LARGE).await;
    let admin = app.admin_token().await;
    let rows = app
        .graphql_as(
            &admin,
            "{ sensors(first: 500) { edges { node { id workshopId: equipment { workshopId } } } } \
             workshops(first: 10) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let workshops: Vec<String> = list(&rows.data()["workshops"]["edges"])
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    let sensor_of = |w: &str| -> String {
        list(&rows.data()["sensors"]["edges"])
            .iter()
            .find(|e| e["node"]["workshopId"]["workshopId"] == w)
            .and_then(|e| e["node"]["id"].as_str())
            .expect("a sensor")
            .to_owned()
    };
    let (mine, theirs) = (sensor_of(&workshops[0]), sensor_of(&workshops[1]));
    // An engineer of the first workshop.
    let engineer_id = crate::helpers::insert_user_with_password(
        &app,
        "scoped-engineer",
        entity::enums::Role::Engineer,
        "scoped engineer password",
    )
    .await;
    let set = app
        .graphql_as(
            &admin,
            "mutation($i: SetUserWorkshopsInput!) { setUserWorkshops(input: $i) { user { id } } }",
            json!({ "i": { "userId": engineer_id.to_string(), "workshopIds": [workshops[0]] } }),
        )
        .await;
    set.data();
    let engineer = app
        .login("scoped-engineer", "scoped engineer password")
        .await;
    let now = Utc::now();
    let readings = json!([
        { "sensorId": mine, "ts": iso(now), "value": 1.0 },
        { "sensorId": theirs, "ts": iso(now), "value": 1.0 },
    ]);
    let r = app
        .graphql_as(&engineer, INGEST, json!({ "i": { "readings": readings } }))
        .await;
    assert_eq!(
        rejections(&r.data()["ingestReadings"]),
        vec![(1, "NOT_FOUND".to_owned())],
        "a person is never told another workshop's sensor exists"
    );
}

#[tokio::test]
async fn numbers_json_cannot_carry_are_refused_whole_and_store_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let before = app.count("sensor_readings").await;
    let now = iso(Utc::now());
    for value in ["1e400", "-1e400", "NaN", "Infinity"] {
        let body = format!(
            r#"[{{"sensorId": "{}", "ts": "{now}", "value": {value}}}]"#,
            all[0].0
        );
        let answer = app
            .client
            .post(format!("{}/ingest", app.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status(), 400, "{value}");
        let body: Value = answer.json().await.expect("json");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{value}"
        );
        let gql = format!(
            r#"mutation {{ ingestReadings(input: {{readings: [{{sensorId: "{}", ts: "{now}", value: {value}}}]}}) {{ accepted }} }}"#,
            all[0].0
        );
        let r = app.graphql(&gql, json!({})).await;
        assert!(
            r.body.get("errors").is_some(),
            "{value} accepted over GraphQL: {}",
            r.body
        );
    }
    assert_eq!(app.count("sensor_readings").await, before);
}

#[tokio::test]
async fn batches_committed_without_waiting_for_the_wal_are_stored_the_same() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.database.ingest_sync_commit = false).await;
    let all = sensors(&app).await;
    let before = app.count("sensor_readings").await;
    let now = Utc::now();
    let readings: Vec<Value> = all
        .iter()
        .map(|(id, _)| json!({ "sensorId": id, "ts": iso(now), "value": 1.0 }))
        .collect();
    let r = app
        .graphql(INGEST, json!({ "i": { "readings": readings } }))
        .await;
    assert_eq!(r.data()["ingestReadings"]["inserted"], all.len());
    assert_eq!(
        app.count("sensor_readings").await,
        before + all.len() as i64
    );
}
