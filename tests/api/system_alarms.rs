//! `SYSTEM` alarms: an alert rule that fires opens one through the alarm lifecycle (row, event
//! row, `alarmChanged`), and clears it when the rule clears; only admins see it, over the
//! query, the subscription and the mutations; and the migration that made room for them keeps
//! every alarm and event of an older database.

use std::time::Duration;

use entity::enums::Role;
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use crate::{
    alerts::any_latency_rule,
    helpers::{SMALL, TestApp, create_database, insert_user_with_password, list},
    live_client::{LiveClient, Transport},
    subscriptions::hub_holds,
};

const PASSWORD: &str = "system-alarm-pass-1";
const WATCH: &str = "subscription { alarmChanged { action alarmId alarm { id type source \
    workshopId equipment { id } cleared } } }";
const SYSTEM_ALARMS: &str = "{ alarms(filter: { type: \"SYSTEM\" }, first: 50) { nodes { id \
    type source severity cleared workshopId equipment { id } details events { action } } } }";

/// An app whose one rule fires while the one-second latency window holds any operation.
async fn alerting_app() -> TestApp {
    TestApp::spawn_with(Some(SMALL), |c| any_latency_rule(&mut c.metrics, 0)).await
}

/// The `alarmChanged` payloads of `client` until a `SYSTEM` alarm has been raised and then
/// cleared; returns that alarm's id and the actions seen for it.
async fn raised_then_cleared(client: &mut LiveClient) -> (String, Vec<String>) {
    let mut current: Option<String> = None;
    let mut actions = Vec::new();
    for _ in 0..50 {
        let payload = client.next("watch").await;
        assert!(payload.get("errors").is_none(), "{payload}");
        let change = &payload["data"]["alarmChanged"];
        let alarm = &change["alarm"];
        assert_eq!(
            alarm["type"], "SYSTEM",
            "only the rule raises alarms: {change}"
        );
        let id = alarm["id"].as_str().expect("an id").to_owned();
        let action = change["action"].as_str().expect("an action").to_owned();
        if action == "RAISED" {
            current = Some(id.clone());
            actions.clear();
        }
        if current.as_deref() == Some(id.as_str()) {
            actions.push(action.clone());
            if action == "CLEARED" {
                return (id, actions);
            }
        }
    }
    panic!("no SYSTEM alarm was raised and cleared");
}

#[tokio::test]
async fn a_firing_rule_opens_a_system_alarm_that_only_admins_see_and_it_clears_by_itself() {
    let app = alerting_app().await;
    let admin = app.admin_token().await;
    insert_user_with_password(&app, "plant-manager", Role::Manager, PASSWORD).await;
    let manager = app.login("plant-manager", PASSWORD).await;

    let mut admin_live = LiveClient::open(&app, Transport::GraphqlTransportWs, &admin).await;
    admin_live.subscribe("watch", WATCH, json!({})).await;
    let mut manager_live = LiveClient::open(&app, Transport::GraphqlTransportWs, &manager).await;
    manager_live.subscribe("watch", WATCH, json!({})).await;
    hub_holds(&app, 2).await;
    // The logins fired the rule: wait until their latency has left the window and the rule
    // has cleared, so that the next operation raises a new alarm under the subscriptions.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.state.monitor.local().latency_p95_ms > 0.0
        || app.state.metrics.system.alerts_firing.get() != 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rule never cleared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // An operation puts latency in the window: the rule fires, then clears a second later.
    app.graphql_as(
        &admin,
        "{ workshops(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .data();

    let (id, actions) = raised_then_cleared(&mut admin_live).await;
    assert_eq!(actions.first().map(String::as_str), Some("RAISED"));
    assert_eq!(actions.last().map(String::as_str), Some("CLEARED"));

    // Every later operation may fire the rule again: find this alarm among the SYSTEM ones.
    let data = app.graphql_as(&admin, SYSTEM_ALARMS, json!({})).await;
    let nodes = list(&data.data()["alarms"]["nodes"]).clone();
    let alarm: &Value = nodes
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap_or_else(|| panic!("alarm {id} is listed: {nodes:?}"));
    let instance = app.state.instance_id.as_ref();
    assert_eq!(alarm["source"], format!("any_latency@{instance}"));
    assert_eq!(alarm["severity"], "MAJOR");
    assert_eq!(alarm["cleared"], true);
    assert!(
        alarm["workshopId"].is_null() && alarm["equipment"].is_null(),
        "{alarm}"
    );
    assert_eq!(alarm["details"]["rule"], "any_latency");
    assert_eq!(alarm["details"]["metric"], "latencyP95Ms");
    let timeline: Vec<&str> = list(&alarm["events"])
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(timeline, ["RAISED", "CLEARED"], "{alarm}");

    // A manager sees every workshop, but not the server's own health.
    let seen = app.graphql_as(&manager, SYSTEM_ALARMS, json!({})).await;
    assert!(
        list(&seen.data()["alarms"]["nodes"]).is_empty(),
        "{}",
        seen.data()
    );
    let one = "query($id: ID!) { alarmById(id: $id) { id } }";
    let hidden = app.graphql_as(&manager, one, json!({ "id": id })).await;
    assert_eq!(hidden.error_code(), "NOT_FOUND");
    let ack =
        "mutation($id: ID!) { acknowledgeAlarm(input: { id: $id }) { alarm { id acknowledged } } }";
    let refused = app.graphql_as(&manager, ack, json!({ "id": id })).await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    manager_live
        .expect_silence("watch", Duration::from_millis(300))
        .await;

    // An admin acknowledges it like any other alarm.
    let acked = app.graphql_as(&admin, ack, json!({ "id": id })).await;
    assert_eq!(
        acked.data()["acknowledgeAlarm"]["alarm"]["acknowledged"],
        true
    );
}

#[tokio::test]
async fn the_system_alarms_migration_keeps_every_alarm_and_its_events() {
    let (url, _db) = create_database().await;
    // One connection, as the server migrates SQLite.
    let mut options = ConnectOptions::new(url.clone());
    options.max_connections(1).min_connections(1);
    let db = Database::connect(options).await.expect("connect");
    let before = migration::Migrator::migrations().len() - 1;
    migration::Migrator::up(&db, Some(u32::try_from(before).expect("few migrations")))
        .await
        .expect("the earlier migrations");
    let backend = db.get_database_backend();
    let sql = |text: &str| Statement::from_string(backend, text.to_owned());
    let ts = "'2026-11-30T10:00:00.000000+00:00'";
    for text in [
        "INSERT INTO sites (id, code, name) VALUES (1, 'S1', 'Site')".to_owned(),
        "INSERT INTO workshops (id, site_id, code, name) VALUES (1, 1, 'W1', 'Workshop')"
            .to_owned(),
        "INSERT INTO production_lines (id, workshop_id, code, name, status) \
         VALUES (1, 1, 'L1', 'Line', 'running')"
            .to_owned(),
        format!(
            "INSERT INTO equipment (id, line_id, workshop_id, code, name, kind, status, \
             status_since) VALUES (1, 1, 1, 'M1', 'Machine', 'cnc', 'running', {ts})"
        ),
        format!(
            "INSERT INTO alarms (id, workshop_id, equipment_id, type, severity, message, \
             start_ts, last_ts) VALUES (7, 1, 1, 'HIGH', 4, 'hot', {ts}, {ts})"
        ),
        format!(
            "INSERT INTO alarm_events (alarm_id, ts, action, note) \
             VALUES (7, {ts}, 'raised', 'hot')"
        ),
    ] {
        if let Err(err) = db.execute_raw(sql(&text)).await {
            panic!("{text}: {err}");
        }
    }
    migration::Migrator::up(&db, None)
        .await
        .expect("the SYSTEM alarms migration");

    let count = async |text: &str| -> i64 {
        let row = db
            .query_one_raw(sql(text))
            .await
            .expect("count")
            .expect("a row");
        row.try_get_by_index(0).expect("a number")
    };
    assert_eq!(count("SELECT count(*) FROM alarms WHERE id = 7 AND workshop_id = 1 AND equipment_id = 1 AND message = 'hot'").await, 1);
    assert_eq!(
        count("SELECT count(*) FROM alarm_events WHERE alarm_id = 7").await,
        1
    );
    // The columns take a system alarm now, and the checks still hold.
    let system = format!(
        "INSERT INTO alarms (workshop_id, equipment_id, type, severity, message, start_ts, \
         last_ts, source) VALUES (NULL, NULL, 'SYSTEM', 4, 'slow', {ts}, {ts}, 'p95@host-1')"
    );
    db.execute_raw(sql(&system)).await.expect("a system alarm");
    assert!(
        db.execute_raw(sql(&system)).await.is_err(),
        "one open alarm per source"
    );
    let nowhere = format!(
        "INSERT INTO alarms (type, severity, message, start_ts, last_ts) \
         VALUES ('HIGH', 4, 'nowhere', {ts}, {ts})"
    );
    assert!(
        db.execute_raw(sql(&nowhere)).await.is_err(),
        "an alarm is on a machine or from a source"
    );
    let again = format!(
        "INSERT INTO alarms (workshop_id, equipment_id, type, severity, message, start_ts, \
         last_ts) VALUES (1, 1, 'HIGH', 4, 'twice', {ts}, {ts})"
    );
    assert!(
        db.execute_raw(sql(&again)).await.is_err(),
        "the machine alarms' dedup index is back"
    );
    // The events still belong to their alarm: deleting it takes them along.
    db.execute_raw(sql("DELETE FROM equipment WHERE id = 1"))
        .await
        .expect("delete the machine");
    assert_eq!(count("SELECT count(*) FROM alarms WHERE id = 7").await, 0);
    assert_eq!(count("SELECT count(*) FROM alarm_events").await, 0);
}
