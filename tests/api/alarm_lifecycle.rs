//! The alarm mutations as operators, engineers and gateways use them: raise (and recur),
//! acknowledge one or many, clear, assign, comment, shelve and unshelve; their timeline rows,
//! audit rows and bus events; idempotence; and every refusal with its code and the data left
//! as it was.

use chrono::{DateTime, Duration, Utc};
use entity::{alarm, audit_log};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use smart_factory::events::{AlarmAction, Event, Topic};
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

use crate::helpers::{
    SMALL, TestApp, id_of, iso, list, shared_or_own_redis, time, unique_redis_prefix,
};

const PASSWORD: &str = "alarm lifecycle password";
const ALARM: &str = "id type severity status message value occurrences startTs lastTs \
    acknowledged ackTs ackBy cleared clearTs clearedBy assigneeId shelvedUntil shelved \
    workshopId events { id action ts userId note }";
const MISSING: &str = "987654321";

/// A seeded workshop with two machines, a second workshop with one machine, and people.
struct Floor {
    app: TestApp,
    admin: String,
    viewer: String,
    operator: String,
    operator_id: i64,
    engineer: String,
    engineer_id: i64,
    workshop: String,
    machine: String,
    /// A sensor of `machine`.
    sensor: String,
    /// A sensor of the other machine of the workshop.
    other_sensor: String,
    /// A machine of the second workshop, outside everyone's scope but the admin's.
    far_machine: String,
}

async fn floor() -> Floor {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let r = app
        .graphql_as(
            &admin,
            "{ workshops(first: 1) { nodes { id } } \
             sensors(first: 10) { nodes { id equipmentId } } }",
            json!({}),
        )
        .await;
    let workshop = r.data()["workshops"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let sensors = list(&r.data()["sensors"]["nodes"]).clone();
    let machine = sensors[0]["equipmentId"].as_str().expect("id").to_owned();
    let other = sensors
        .iter()
        .find(|s| s["equipmentId"] != json!(machine))
        .expect("a sensor of the other machine");
    let far_machine = far_machine(&app, &admin).await;
    let mut f = Floor {
        viewer: String::new(),
        operator: String::new(),
        operator_id: 0,
        engineer: String::new(),
        engineer_id: 0,
        sensor: sensors[0]["id"].as_str().expect("id").to_owned(),
        other_sensor: other["id"].as_str().expect("id").to_owned(),
        app,
        admin,
        workshop,
        machine,
        far_machine,
    };
    (_, f.viewer) = f.person("floor-viewer", "VIEWER", true).await;
    (f.operator_id, f.operator) = f.person("floor-operator", "OPERATOR", true).await;
    (f.engineer_id, f.engineer) = f.person("floor-engineer", "ENGINEER", true).await;
    f
}

async fn far_machine(app: &TestApp, admin: &str) -> String {
    let ws = app
        .graphql_as(
            admin,
            "mutation { createWorkshop(input: {code: \"FAR\", name: \"Far\"}) { workshop { id } } }",
            json!({}),
        )
        .await;
    let ws = ws.data()["createWorkshop"]["workshop"]["id"].clone();
    let line = app
        .graphql_as(
            admin,
            "mutation($w: ID!) { createLine(input: {workshopId: $w, code: \"FAR-L\", name: \"L\"}) \
             { line { id } } }",
            json!({ "w": ws }),
        )
        .await;
    let line = line.data()["createLine"]["line"]["id"].clone();
    let machine = app
        .graphql_as(
            admin,
            "mutation($l: ID!) { createEquipment(input: {lineId: $l, code: \"FAR-M\", name: \"M\", \
             kind: CNC}) { equipment { id } } }",
            json!({ "l": line }),
        )
        .await;
    machine.data()["createEquipment"]["equipment"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

impl Floor {
    /// A user of `role` (in the workshop when `in_workshop`) and, for people, a token.
    async fn person(&self, username: &str, role: &str, in_workshop: bool) -> (i64, String) {
        let workshops: Vec<&str> = if in_workshop {
            vec![&self.workshop]
        } else {
            vec![]
        };
        let mut input = json!({ "username": username, "role": role, "workshopIds": workshops });
        if role != "GATEWAY" {
            input["password"] = json!(PASSWORD);
        }
        let r = self
            .app
            .graphql_as(
                &self.admin,
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                json!({ "i": input }),
            )
            .await;
        let id = id_of(&r.data()["createUser"]["user"]);
        let token = if role == "GATEWAY" {
            String::new()
        } else {
            self.app.login(username, PASSWORD).await
        };
        (id, token)
    }

    /// A gateway token for the workshop, and its user's id.
    async fn gateway(&self) -> (i64, String) {
        let (id, _) = self.person("floor-gateway", "GATEWAY", false).await;
        let r = self
            .app
            .graphql_as(
                &self.admin,
                "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
                json!({ "i": { "userId": id.to_string(), "name": "plc", "workshopId": self.workshop } }),
            )
            .await;
        (
            id,
            r.data()["createApiToken"]["token"]
                .as_str()
                .expect("token")
                .to_owned(),
        )
    }

    async fn call(&self, token: &str, document: &str, input: Value) -> crate::helpers::GqlResponse {
        self.app
            .graphql_as(token, document, json!({ "i": input }))
            .await
    }

    /// Raises an alarm as `token` and returns it.
    async fn raise_as(&self, token: &str, input: Value) -> Value {
        let r = self.call(token, &raise_doc(), input).await;
        r.data()["raiseAlarm"]["alarm"].clone()
    }

    /// Raises an alarm of `alarm_type` on `machine` as the engineer.
    async fn raise(&self, machine: &str, alarm_type: &str) -> Value {
        let input = json!({ "equipmentId": machine, "type": alarm_type, "severity": "MAJOR",
            "message": format!("{alarm_type} on {machine}") });
        let token = if machine == self.far_machine {
            &self.admin
        } else {
            &self.engineer
        };
        self.raise_as(token, input).await
    }

    /// One alarm, as the admin sees it.
    async fn alarm(&self, id: &Value) -> Value {
        let r = self
            .app
            .graphql_as(
                &self.admin,
                &format!("query($id: ID!) {{ alarmById(id: $id) {{ {ALARM} }} }}"),
                json!({ "id": id }),
            )
            .await;
        r.data()["alarmById"].clone()
    }

    /// Everything a refused alarm mutation could have touched.
    async fn state(&self) -> (Vec<alarm::Model>, i64, i64) {
        let alarms = alarm::Entity::find()
            .order_by_asc(alarm::Column::Id)
            .all(&self.app.state.db.write)
            .await
            .expect("alarms");
        let audit = audit_log::Entity::find()
            .filter(audit_log::Column::Entity.is_null())
            .all(&self.app.state.db.write)
            .await
            .expect("audit")
            .len() as i64;
        (alarms, self.app.count("alarm_events").await, audit)
    }

    /// Runs each refused call, expecting its code and no change at all.
    async fn expect_refused(&self, cases: Vec<(&str, &str, String, Value, &str)>) {
        let before = self.state().await;
        let mut failures = Vec::new();
        for (name, token, document, input, code) in cases {
            let r = self.call(token, &document, input).await;
            let got = r.body["errors"][0]["extensions"]["code"].as_str();
            if got != Some(code) {
                failures.push(format!("{name}: expected {code}, got {}", r.body));
            }
            if self.state().await != before {
                failures.push(format!("{name}: the data changed"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Successful audit rows of `action` (refusals carry `error:<code>` in `entity`).
    async fn audited(&self, action: &str) -> Vec<audit_log::Model> {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq(action))
            .filter(audit_log::Column::Entity.is_null())
            .order_by_asc(audit_log::Column::Id)
            .all(&self.app.state.db.write)
            .await
            .expect("audit rows")
    }
}

fn raise_doc() -> String {
    format!("mutation($i: RaiseAlarmInput!) {{ raiseAlarm(input: $i) {{ alarm {{ {ALARM} }} }} }}")
}

fn doc(mutation: &str, input_type: &str) -> String {
    format!("mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ alarm {{ {ALARM} }} }} }}")
}

fn ack_doc() -> String {
    doc("acknowledgeAlarm", "AcknowledgeAlarmInput")
}

fn acks_doc() -> String {
    format!(
        "mutation($i: AcknowledgeAlarmsInput!) {{ acknowledgeAlarms(input: $i) {{ alarms {{ {ALARM} }} }} }}"
    )
}

fn comment_doc() -> String {
    format!(
        "mutation($i: CommentAlarmInput!) {{ commentAlarm(input: $i) {{ \
         alarmEvent {{ id alarmId action ts userId note }} alarm {{ {ALARM} }} }} }}"
    )
}

fn actions(alarm: &Value) -> Vec<&str> {
    list(&alarm["events"])
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

#[tokio::test]
async fn raise_alarm_opens_one_alarm_and_makes_it_recur_while_open() {
    let f = floor().await;
    let input = |severity: &str, message: &str| {
        json!({ "equipmentId": f.machine, "type": "DOOR_OPEN", "severity": severity,
            "message": message, "value": 1.5 })
    };
    let first = f.raise_as(&f.engineer, input("MINOR", "door open")).await;
    assert_eq!(first["status"], "ACTIVE_UNACK");
    assert_eq!(first["type"], "DOOR_OPEN");
    assert_eq!(first["severity"], "MINOR");
    assert_eq!(first["occurrences"], 1);
    assert_eq!(first["value"], 1.5);
    assert_eq!(first["workshopId"], json!(f.workshop));
    let again = f
        .raise_as(&f.engineer, input("MAJOR", "door still open"))
        .await;
    assert_eq!(
        again["id"], first["id"],
        "one open alarm per machine, sensor and type"
    );
    assert_eq!(again["severity"], "MAJOR");
    assert_eq!(again["occurrences"], 2);
    let lower = f
        .raise_as(&f.engineer, input("WARNING", "door open again"))
        .await;
    assert_eq!(
        lower["severity"], "MAJOR",
        "severity is the higher of old and new"
    );
    assert_eq!(lower["occurrences"], 3);
    assert_eq!(lower["message"], "door open again");
    assert!(time(&lower["lastTs"]) >= time(&first["lastTs"]));
    assert_eq!(time(&lower["startTs"]), time(&first["startTs"]));
    assert_eq!(actions(&lower), ["RAISED", "UPDATED", "UPDATED"]);
    let users: Vec<&Value> = list(&lower["events"])
        .iter()
        .map(|e| &e["userId"])
        .collect();
    assert!(
        users
            .iter()
            .all(|u| **u == json!(f.engineer_id.to_string()))
    );
    assert_eq!(lower["events"][0]["note"], "door open");
    // The same type on one of the machine's sensors is another alarm.
    let with_sensor = f
        .raise_as(
            &f.engineer,
            json!({ "equipmentId": f.machine, "sensorId": f.sensor, "type": "DOOR_OPEN",
                "severity": "MINOR", "message": "sensor door" }),
        )
        .await;
    assert_ne!(with_sensor["id"], first["id"]);
    let audited = f.audited("raiseAlarm").await;
    assert_eq!(audited.len(), 4);
    assert_eq!(
        audited[0].entity_id.as_deref(),
        Some(s(&first["id"]).as_str())
    );
    assert_eq!(audited[0].user_id, Some(f.engineer_id));
}

#[tokio::test]
async fn a_gateway_raises_alarms_in_its_own_workshop_only() {
    let f = floor().await;
    let (gateway_id, token) = f.gateway().await;
    let a = f
        .raise_as(
            &token,
            json!({ "equipmentId": f.machine, "type": "COMMUNICATION_LOST", "severity": "CRITICAL",
                "message": "PLC silent" }),
        )
        .await;
    assert_eq!(a["severity"], "CRITICAL");
    assert_eq!(a["events"][0]["userId"], json!(gateway_id.to_string()));
    f.expect_refused(vec![(
        "another workshop's machine",
        &token,
        raise_doc(),
        json!({ "equipmentId": f.far_machine, "type": "X", "severity": "MAJOR", "message": "m" }),
        "NOT_FOUND",
    )])
    .await;
}

#[tokio::test]
async fn raise_alarm_refuses_bad_input_and_changes_nothing() {
    let f = floor().await;
    f.raise(&f.machine, "EXISTING").await;
    let base = |patch: Value| {
        let mut input = json!({ "equipmentId": f.machine, "type": "DOOR_OPEN",
            "severity": "MAJOR", "message": "door" });
        for (k, v) in patch.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let e = f.engineer.as_str();
    let d = raise_doc();
    f.expect_refused(vec![
        (
            "unknown machine",
            e,
            d.clone(),
            base(json!({ "equipmentId": MISSING })),
            "NOT_FOUND",
        ),
        (
            "machine out of scope",
            e,
            d.clone(),
            base(json!({ "equipmentId": f.far_machine })),
            "NOT_FOUND",
        ),
        (
            "malformed machine id",
            e,
            d.clone(),
            base(json!({ "equipmentId": "x" })),
            "BAD_USER_INPUT",
        ),
        (
            "unknown sensor",
            e,
            d.clone(),
            base(json!({ "sensorId": MISSING })),
            "NOT_FOUND",
        ),
        (
            "sensor of another machine",
            e,
            d.clone(),
            base(json!({ "sensorId": f.other_sensor })),
            "BAD_USER_INPUT",
        ),
        (
            "type with a space",
            e,
            d.clone(),
            base(json!({ "type": "DOOR OPEN" })),
            "BAD_USER_INPUT",
        ),
        (
            "empty type",
            e,
            d.clone(),
            base(json!({ "type": "" })),
            "BAD_USER_INPUT",
        ),
        (
            "type too long",
            e,
            d.clone(),
            base(json!({ "type": "T".repeat(65) })),
            "BAD_USER_INPUT",
        ),
        (
            "blank message",
            e,
            d.clone(),
            base(json!({ "message": "  " })),
            "BAD_USER_INPUT",
        ),
        (
            "message too long",
            e,
            d.clone(),
            base(json!({ "message": "m".repeat(501) })),
            "BAD_USER_INPUT",
        ),
        (
            "unknown severity",
            e,
            d.clone(),
            base(json!({ "severity": "HUGE" })),
            "BAD_USER_INPUT",
        ),
        (
            "a viewer",
            &f.viewer,
            d.clone(),
            base(json!({})),
            "FORBIDDEN",
        ),
        (
            "an operator",
            &f.operator,
            d.clone(),
            base(json!({})),
            "FORBIDDEN",
        ),
    ])
    .await;
    // Numbers a double cannot hold, written into the document (JSON cannot carry them).
    let before = f.state().await;
    for literal in ["1e400", "-1e400"] {
        let document = format!(
            "mutation {{ raiseAlarm(input: {{equipmentId: \"{}\", type: \"T\", severity: MAJOR, \
             message: \"m\", value: {literal}}}) {{ alarm {{ id }} }} }}",
            f.machine
        );
        let r = f.app.graphql_as(&f.engineer, &document, json!({})).await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{literal}: {}", r.body);
    }
    assert_eq!(f.state().await, before);
}

#[tokio::test]
async fn acknowledge_alarm_is_idempotent() {
    let f = floor().await;
    let a = f.raise(&f.machine, "OVERLOAD").await;
    let r = f
        .call(
            &f.operator,
            &ack_doc(),
            json!({ "id": a["id"], "note": "on it" }),
        )
        .await;
    let acked = &r.data()["acknowledgeAlarm"]["alarm"];
    assert_eq!(acked["status"], "ACTIVE_ACK");
    assert_eq!(acked["ackBy"], json!(f.operator_id.to_string()));
    assert_eq!(actions(acked), ["RAISED", "ACKNOWLEDGED"]);
    assert_eq!(acked["events"][1]["note"], "on it");
    assert_eq!(
        acked["events"][1]["userId"],
        json!(f.operator_id.to_string())
    );
    let events = f.app.count("alarm_events").await;
    let r = f
        .call(
            &f.engineer,
            &ack_doc(),
            json!({ "id": a["id"], "note": "again" }),
        )
        .await;
    let again = &r.data()["acknowledgeAlarm"]["alarm"];
    assert_eq!(
        again["ackTs"], acked["ackTs"],
        "a second acknowledgement changes nothing"
    );
    assert_eq!(again["ackBy"], acked["ackBy"]);
    assert_eq!(
        f.app.count("alarm_events").await,
        events,
        "no second event row"
    );
    assert_eq!(
        f.audited("acknowledgeAlarm").await.len(),
        2,
        "both calls are audited"
    );
    // A cleared alarm may still be acknowledged.
    let b = f.raise(&f.machine, "OTHER").await;
    f.call(
        &f.engineer,
        &doc("clearAlarm", "ClearAlarmInput"),
        json!({ "id": b["id"] }),
    )
    .await
    .data();
    let r = f
        .call(&f.operator, &ack_doc(), json!({ "id": b["id"] }))
        .await;
    assert_eq!(
        r.data()["acknowledgeAlarm"]["alarm"]["status"],
        "CLEARED_ACK"
    );
}

#[tokio::test]
async fn acknowledge_alarms_acknowledges_all_of_them_or_none() {
    let f = floor().await;
    let ids: Vec<Value> = [
        f.raise(&f.machine, "A1").await,
        f.raise(&f.machine, "A2").await,
        f.raise(&f.machine, "A3").await,
    ]
    .iter()
    .map(|a| a["id"].clone())
    .collect();
    f.call(&f.operator, &ack_doc(), json!({ "id": ids[0] }))
        .await
        .data();
    let first_ack = f.alarm(&ids[0]).await["ackTs"].clone();
    let r = f
        .call(
            &f.operator,
            &acks_doc(),
            json!({ "ids": [ids[0], ids[1], ids[2], ids[1]], "note": "shift start" }),
        )
        .await;
    let alarms = list(&r.data()["acknowledgeAlarms"]["alarms"]);
    let got: Vec<&Value> = alarms.iter().map(|a| &a["id"]).collect();
    assert_eq!(
        got,
        [&ids[0], &ids[1], &ids[2]],
        "in the order asked, repeats removed"
    );
    assert!(alarms.iter().all(|a| a["status"] == "ACTIVE_ACK"));
    assert_eq!(
        alarms[0]["ackTs"], first_ack,
        "the acknowledged one is left as it was"
    );
    assert_eq!(actions(&alarms[0]), ["RAISED", "ACKNOWLEDGED"]);
    assert_eq!(actions(&alarms[1]), ["RAISED", "ACKNOWLEDGED"]);
    assert_eq!(alarms[2]["events"][1]["note"], "shift start");

    let open = f.raise(&f.machine, "A4").await["id"].clone();
    let far = f.raise(&f.far_machine, "FAR").await["id"].clone();
    let too_many: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let o = f.operator.as_str();
    f.expect_refused(vec![
        (
            "501 ids",
            o,
            acks_doc(),
            json!({ "ids": too_many }),
            "BAD_USER_INPUT",
        ),
        (
            "no ids",
            o,
            acks_doc(),
            json!({ "ids": [] }),
            "BAD_USER_INPUT",
        ),
        (
            "one out of scope",
            o,
            acks_doc(),
            json!({ "ids": [open, far] }),
            "NOT_FOUND",
        ),
        (
            "one unknown",
            o,
            acks_doc(),
            json!({ "ids": [open, MISSING] }),
            "NOT_FOUND",
        ),
        (
            "a viewer",
            &f.viewer,
            acks_doc(),
            json!({ "ids": [open] }),
            "FORBIDDEN",
        ),
        (
            "note too long",
            o,
            acks_doc(),
            json!({ "ids": [open], "note": "n".repeat(2_001) }),
            "BAD_USER_INPUT",
        ),
    ])
    .await;
    let full: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
    let r = f.call(o, &acks_doc(), json!({ "ids": full })).await;
    assert_eq!(r.error_code(), "NOT_FOUND", "500 ids pass the count check");
}

#[tokio::test]
async fn clear_alarm_by_hand_is_idempotent_and_a_raise_after_it_opens_a_new_alarm() {
    let f = floor().await;
    let a = f.raise(&f.machine, "JAM").await;
    let clear = doc("clearAlarm", "ClearAlarmInput");
    f.expect_refused(vec![(
        "an operator",
        &f.operator,
        clear.clone(),
        json!({ "id": a["id"] }),
        "FORBIDDEN",
    )])
    .await;
    let r = f
        .call(
            &f.engineer,
            &clear,
            json!({ "id": a["id"], "note": "jam removed" }),
        )
        .await;
    let cleared = &r.data()["clearAlarm"]["alarm"];
    assert_eq!(cleared["status"], "CLEARED_UNACK");
    assert_eq!(cleared["clearedBy"], json!(f.engineer_id.to_string()));
    assert_eq!(actions(cleared), ["RAISED", "CLEARED"]);
    assert_eq!(cleared["events"][1]["note"], "jam removed");
    let events = f.app.count("alarm_events").await;
    let r = f.call(&f.admin, &clear, json!({ "id": a["id"] })).await;
    let again = &r.data()["clearAlarm"]["alarm"];
    assert_eq!(again["clearTs"], cleared["clearTs"]);
    assert_eq!(again["clearedBy"], cleared["clearedBy"]);
    assert_eq!(f.app.count("alarm_events").await, events);
    let next = f.raise(&f.machine, "JAM").await;
    assert_ne!(
        next["id"], a["id"],
        "a recurrence after the clear is a new alarm"
    );
    assert_eq!(next["occurrences"], 1);
    f.expect_refused(vec![(
        "unknown alarm",
        &f.engineer,
        clear.clone(),
        json!({ "id": MISSING }),
        "NOT_FOUND",
    )])
    .await;
}

#[tokio::test]
async fn assign_alarm_takes_active_people_who_see_the_workshop() {
    let f = floor().await;
    let a = f.raise(&f.machine, "LEAK").await;
    let assign = doc("assignAlarm", "AssignAlarmInput");
    let r = f
        .call(
            &f.engineer,
            &assign,
            json!({ "id": a["id"], "userId": f.operator_id.to_string() }),
        )
        .await;
    let assigned = &r.data()["assignAlarm"]["alarm"];
    assert_eq!(assigned["assigneeId"], json!(f.operator_id.to_string()));
    assert_eq!(actions(assigned), ["RAISED", "ASSIGNED"]);
    assert!(s(&assigned["events"][1]["note"]).contains("floor-operator"));
    assert_eq!(
        assigned["status"], "ACTIVE_UNACK",
        "assigning changes no state"
    );
    // The same assignee again changes nothing.
    let events = f.app.count("alarm_events").await;
    f.call(
        &f.engineer,
        &assign,
        json!({ "id": a["id"], "userId": f.operator_id.to_string() }),
    )
    .await
    .data();
    assert_eq!(f.app.count("alarm_events").await, events);
    // A manager sees every workshop without being assigned any.
    let (manager, _) = f.person("floor-manager", "MANAGER", false).await;
    let r = f
        .call(
            &f.engineer,
            &assign,
            json!({ "id": a["id"], "userId": manager.to_string() }),
        )
        .await;
    assert_eq!(
        r.data()["assignAlarm"]["alarm"]["assigneeId"],
        json!(manager.to_string())
    );
    let r = f
        .call(
            &f.engineer,
            &assign,
            json!({ "id": a["id"], "userId": null }),
        )
        .await;
    let unassigned = &r.data()["assignAlarm"]["alarm"];
    assert!(unassigned["assigneeId"].is_null());
    assert_eq!(unassigned["events"][3]["note"], "unassigned");

    let (outsider, _) = f.person("floor-outsider", "OPERATOR", false).await;
    let (retired, _) = f.person("floor-retired", "OPERATOR", true).await;
    f.call(
        &f.admin,
        "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
        json!({ "id": retired.to_string() }),
    )
    .await
    .data();
    let (gateway, _) = f.gateway().await;
    let far = f.raise(&f.far_machine, "FAR").await;
    let e = f.engineer.as_str();
    let with = |user: Value| json!({ "id": a["id"], "userId": user });
    f.expect_refused(vec![
        (
            "unknown assignee",
            e,
            assign.clone(),
            with(json!(MISSING)),
            "NOT_FOUND",
        ),
        (
            "assignee outside the workshop",
            e,
            assign.clone(),
            with(json!(outsider.to_string())),
            "BAD_USER_INPUT",
        ),
        (
            "deactivated assignee",
            e,
            assign.clone(),
            with(json!(retired.to_string())),
            "BAD_USER_INPUT",
        ),
        (
            "a gateway as assignee",
            e,
            assign.clone(),
            with(json!(gateway.to_string())),
            "BAD_USER_INPUT",
        ),
        (
            "alarm out of scope",
            e,
            assign.clone(),
            json!({ "id": far["id"], "userId": f.operator_id.to_string() }),
            "NOT_FOUND",
        ),
        (
            "an operator assigning",
            &f.operator,
            assign.clone(),
            with(json!(f.operator_id.to_string())),
            "FORBIDDEN",
        ),
    ])
    .await;
}

#[tokio::test]
async fn comment_alarm_adds_a_timeline_entry() {
    let f = floor().await;
    let a = f.raise(&f.machine, "NOISE").await;
    let r = f
        .call(
            &f.operator,
            &comment_doc(),
            json!({ "id": a["id"], "text": "bearing?\nchecking" }),
        )
        .await;
    let payload = &r.data()["commentAlarm"];
    let event = &payload["alarmEvent"];
    assert_eq!(event["action"], "COMMENTED");
    assert_eq!(event["note"], "bearing?\nchecking");
    assert_eq!(event["userId"], json!(f.operator_id.to_string()));
    assert_eq!(event["alarmId"], a["id"]);
    assert_eq!(
        payload["alarm"]["events"][1],
        json!({ "id": event["id"], "action": "COMMENTED",
        "ts": event["ts"], "userId": event["userId"], "note": event["note"] })
    );
    assert_eq!(payload["alarm"]["status"], "ACTIVE_UNACK");
    let longest = f
        .call(
            &f.operator,
            &comment_doc(),
            json!({ "id": a["id"], "text": "x".repeat(2_000) }),
        )
        .await;
    longest.data();
    let far = f.raise(&f.far_machine, "FAR").await;
    let o = f.operator.as_str();
    f.expect_refused(vec![
        (
            "empty",
            o,
            comment_doc(),
            json!({ "id": a["id"], "text": "" }),
            "BAD_USER_INPUT",
        ),
        (
            "blank",
            o,
            comment_doc(),
            json!({ "id": a["id"], "text": " \n " }),
            "BAD_USER_INPUT",
        ),
        (
            "too long",
            o,
            comment_doc(),
            json!({ "id": a["id"], "text": "x".repeat(2_001) }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown alarm",
            o,
            comment_doc(),
            json!({ "id": MISSING, "text": "hi" }),
            "NOT_FOUND",
        ),
        (
            "alarm out of scope",
            o,
            comment_doc(),
            json!({ "id": far["id"], "text": "hi" }),
            "NOT_FOUND",
        ),
        (
            "a viewer",
            &f.viewer,
            comment_doc(),
            json!({ "id": a["id"], "text": "hi" }),
            "FORBIDDEN",
        ),
    ])
    .await;
}

/// Active alarms of the workshop, from `alarmCounts`.
async fn active(f: &Floor) -> i64 {
    let r = f
        .app
        .graphql_as(
            &f.operator,
            "query($w: ID) { alarmCounts(workshopId: $w, groupBy: SEVERITY) { count } }",
            json!({ "w": f.workshop }),
        )
        .await;
    list(&r.data()["alarmCounts"])
        .iter()
        .map(|c| c["count"].as_i64().expect("count"))
        .sum()
}

#[tokio::test]
async fn a_shelved_alarm_does_not_count_as_active_until_unshelved() {
    let f = floor().await;
    let a = f.raise(&f.machine, "VIBRATION").await;
    let before = active(&f).await;
    let until = Utc::now() + Duration::hours(2);
    let shelve = doc("shelveAlarm", "ShelveAlarmInput");
    let unshelve = doc("unshelveAlarm", "UnshelveAlarmInput");
    let r = f
        .call(
            &f.operator,
            &shelve,
            json!({ "id": a["id"], "until": iso(until), "reason": "sensor swap" }),
        )
        .await;
    let shelved = &r.data()["shelveAlarm"]["alarm"];
    assert_eq!(shelved["shelved"], true);
    let kept: DateTime<Utc> = time(&shelved["shelvedUntil"]);
    assert!(
        (kept - until).num_milliseconds().abs() < 1,
        "{kept} vs {until}"
    );
    assert_eq!(actions(shelved), ["RAISED", "SHELVED"]);
    assert_eq!(shelved["events"][1]["note"], "sensor swap");
    assert_eq!(
        shelved["status"], "ACTIVE_UNACK",
        "shelving changes neither flag"
    );
    assert_eq!(active(&f).await, before - 1);

    let r = f
        .call(&f.operator, &unshelve, json!({ "id": a["id"] }))
        .await;
    let back = &r.data()["unshelveAlarm"]["alarm"];
    assert_eq!(back["shelved"], false);
    assert!(back["shelvedUntil"].is_null());
    assert_eq!(actions(back), ["RAISED", "SHELVED", "UNSHELVED"]);
    assert_eq!(active(&f).await, before);
    let events = f.app.count("alarm_events").await;
    f.call(&f.operator, &unshelve, json!({ "id": a["id"] }))
        .await
        .data();
    assert_eq!(
        f.app.count("alarm_events").await,
        events,
        "unshelving twice changes nothing"
    );

    let gone = f.raise(&f.machine, "GONE").await;
    f.call(
        &f.engineer,
        &doc("clearAlarm", "ClearAlarmInput"),
        json!({ "id": gone["id"] }),
    )
    .await
    .data();
    let far = f.raise(&f.far_machine, "FAR").await;
    let o = f.operator.as_str();
    let with = |until: DateTime<Utc>| json!({ "id": a["id"], "until": iso(until), "reason": "r" });
    f.expect_refused(vec![
        (
            "without until",
            o,
            shelve.clone(),
            json!({ "id": a["id"], "reason": "r" }),
            "BAD_USER_INPUT",
        ),
        (
            "until in the past",
            o,
            shelve.clone(),
            with(Utc::now() - Duration::minutes(1)),
            "BAD_USER_INPUT",
        ),
        (
            "beyond the maximum",
            o,
            shelve.clone(),
            with(Utc::now() + Duration::hours(25)),
            "BAD_USER_INPUT",
        ),
        (
            "empty reason",
            o,
            shelve.clone(),
            json!({ "id": a["id"], "until": iso(until), "reason": " " }),
            "BAD_USER_INPUT",
        ),
        (
            "without reason",
            o,
            shelve.clone(),
            json!({ "id": a["id"], "until": iso(until) }),
            "BAD_USER_INPUT",
        ),
        (
            "a cleared alarm",
            o,
            shelve.clone(),
            json!({ "id": gone["id"], "until": iso(until), "reason": "r" }),
            "CONFLICT",
        ),
        (
            "unknown alarm",
            o,
            shelve.clone(),
            json!({ "id": MISSING, "until": iso(until), "reason": "r" }),
            "NOT_FOUND",
        ),
        (
            "alarm out of scope",
            o,
            shelve.clone(),
            json!({ "id": far["id"], "until": iso(until), "reason": "r" }),
            "NOT_FOUND",
        ),
        (
            "a viewer",
            &f.viewer,
            shelve.clone(),
            with(until),
            "FORBIDDEN",
        ),
        (
            "unshelve out of scope",
            o,
            unshelve.clone(),
            json!({ "id": far["id"] }),
            "NOT_FOUND",
        ),
        (
            "unshelve as a viewer",
            &f.viewer,
            unshelve.clone(),
            json!({ "id": a["id"] }),
            "FORBIDDEN",
        ),
    ])
    .await;
}

#[tokio::test]
async fn alarms_outside_the_callers_workshops_are_not_found_by_any_mutation() {
    let f = floor().await;
    let far = f.raise(&f.far_machine, "FAR").await;
    let id = json!({ "id": far["id"] });
    let e = f.engineer.as_str();
    f.expect_refused(vec![
        ("acknowledge", e, ack_doc(), id.clone(), "NOT_FOUND"),
        (
            "clear",
            e,
            doc("clearAlarm", "ClearAlarmInput"),
            id.clone(),
            "NOT_FOUND",
        ),
        (
            "unshelve",
            e,
            doc("unshelveAlarm", "UnshelveAlarmInput"),
            id.clone(),
            "NOT_FOUND",
        ),
    ])
    .await;
    let r = f
        .app
        .graphql_as(e, "query($id: ID!) { alarmById(id: $id) { id } }", id)
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let message = r.error_message();
    let r = f
        .app
        .graphql_as(
            e,
            "query($id: ID!) { alarmById(id: $id) { id } }",
            json!({ "id": MISSING }),
        )
        .await;
    assert_eq!(
        r.error_message().replace(MISSING, "?"),
        message.replace(&s(&far["id"]), "?"),
        "hidden and missing alarms read the same"
    );
}

#[tokio::test]
async fn the_timeline_of_a_page_of_alarms_is_one_statement() {
    let f = floor().await;
    for n in 0..5 {
        let a = f.raise(&f.machine, &format!("T{n}")).await;
        f.call(&f.operator, &ack_doc(), json!({ "id": a["id"] }))
            .await
            .data();
    }
    let page = |first: i64| {
        format!(
            "{{ alarms(first: {first}, filter: {{open: true}}) {{ nodes {{ id events {{ id action }} }} }} }}"
        )
    };
    let one = f.app.graphql_as(&f.admin, &page(1), json!({})).await;
    let many = f.app.graphql_as(&f.admin, &page(8), json!({})).await;
    let nodes = list(&many.data()["alarms"]["nodes"]);
    assert!(nodes.len() >= 5);
    let with_events = nodes
        .iter()
        .filter(|n| !list(&n["events"]).is_empty())
        .count();
    assert_eq!(with_events, 5);
    assert_eq!(
        one.sql_statements(),
        many.sql_statements(),
        "one statement for every timeline"
    );
}

/// The next alarm-topic event within 10 s.
async fn next(bus: &mut Receiver<std::sync::Arc<Event>>) -> Event {
    tokio::time::timeout(std::time::Duration::from_secs(10), bus.recv())
        .await
        .expect("an event within 10 s")
        .expect("bus open")
        .as_ref()
        .clone()
}

#[tokio::test]
async fn mutations_publish_their_transitions_and_counts_after_the_commit() {
    let f = floor().await;
    let mut bus = f.app.state.events.subscribe(Topic::Alarms);
    let a = f.raise(&f.machine, "HEAT").await;
    let alarm_id: i64 = s(&a["id"]).parse().expect("id");
    let (raised, counts) = match (next(&mut bus).await, next(&mut bus).await) {
        (Event::Alarm(c), Event::AlarmCounts(n)) => (c, n),
        other => panic!("a change and counts, got {other:?}"),
    };
    assert_eq!(raised.action, AlarmAction::Raised);
    assert_eq!(raised.alarm_id, alarm_id);
    assert_eq!(raised.user_id, Some(f.engineer_id));
    assert_eq!(raised.alarm_event_id, id_of(&a["events"][0]));
    assert_eq!(counts.workshop_id.to_string(), f.workshop);

    f.call(&f.operator, &ack_doc(), json!({ "id": a["id"] }))
        .await
        .data();
    match (next(&mut bus).await, next(&mut bus).await) {
        (Event::Alarm(c), Event::AlarmCounts(n)) => {
            assert_eq!(c.action, AlarmAction::Acknowledged);
            assert!(c.acknowledged && c.user_id == Some(f.operator_id));
            assert_eq!(n.unacknowledged, counts.unacknowledged - 1);
            assert_eq!(n.open_by_severity, counts.open_by_severity);
        }
        other => panic!("{other:?}"),
    }
    // Nothing changes, nothing goes out.
    f.call(&f.operator, &ack_doc(), json!({ "id": a["id"] }))
        .await
        .data();
    assert!(matches!(bus.try_recv(), Err(TryRecvError::Empty)));

    f.call(
        &f.operator,
        &comment_doc(),
        json!({ "id": a["id"], "text": "hot" }),
    )
    .await
    .data();
    assert!(matches!(next(&mut bus).await, Event::Alarm(c) if c.action == AlarmAction::Commented));
    assert!(
        matches!(bus.try_recv(), Err(TryRecvError::Empty)),
        "a comment moves no count"
    );

    let until = Utc::now() + Duration::hours(1);
    f.call(
        &f.operator,
        &doc("shelveAlarm", "ShelveAlarmInput"),
        json!({ "id": a["id"], "until": iso(until), "reason": "known" }),
    )
    .await
    .data();
    match (next(&mut bus).await, next(&mut bus).await) {
        (Event::Alarm(c), Event::AlarmCounts(n)) => {
            assert_eq!(c.action, AlarmAction::Shelved);
            assert!(
                c.shelved_until
                    .is_some_and(|t| (t - until).num_milliseconds().abs() < 1)
            );
            assert_eq!(n.open_by_severity[3], counts.open_by_severity[3] - 1);
        }
        other => panic!("{other:?}"),
    }
    // Refused: nothing goes out.
    f.call(&f.viewer, &ack_doc(), json!({ "id": a["id"] }))
        .await;
    assert!(matches!(bus.try_recv(), Err(TryRecvError::Empty)));
}

#[tokio::test]
async fn an_alarm_acknowledged_on_one_instance_is_an_event_on_the_other() {
    let (_own, url) = shared_or_own_redis().await;
    let prefix = unique_redis_prefix();
    let f = floor().await;
    // Two more instances on the floor's database, bridged by one Redis.
    let shared_db = f.app.state.config.database.url.expose_secret().to_owned();
    let a_side = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    let b_side = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    let alarm = f.raise(&f.machine, "REMOTE").await;
    let mut on_a = a_side.state.events.subscribe(Topic::Alarms);
    let r = b_side
        .graphql_as(
            &f.operator,
            &ack_doc(),
            json!({ "i": { "id": alarm["id"] } }),
        )
        .await;
    assert_eq!(
        r.data()["acknowledgeAlarm"]["alarm"]["status"],
        "ACTIVE_ACK"
    );
    match next(&mut on_a).await {
        Event::Alarm(c) => {
            assert_eq!(c.action, AlarmAction::Acknowledged);
            assert_eq!(c.alarm_id.to_string(), s(&alarm["id"]));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&mut on_a).await, Event::AlarmCounts(_)));
}
