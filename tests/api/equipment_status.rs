//! `setEquipmentStatus`: the open interval closed and the next opened, gateways and people,
//! repeats that write nothing, explicit times, and every refusal leaving the data as it was.
//! Also the helpers the production and maintenance workflow tests share.

use chrono::{DateTime, Duration, Utc};
use entity::{
    audit_log, downtime_reason, equipment, equipment_status_event, maintenance_order,
    production_order, production_report, shift,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

use crate::{
    bad_input::op,
    helpers::{GqlResponse, Shape, TestApp, id_of, iso, time},
};

/// Two workshops, each with two lines of one machine.
pub(crate) const TWO_WORKSHOPS: Shape = Shape {
    workshops: 2,
    lines_per_workshop: 2,
    machines_per_line: 1,
    sensors_per_machine: 1,
    fast_share: 0.0,
    history_hours: 1,
    products: 2,
};

const PASSWORD: &str = "workflow test password";

/// A machine of the seeded plant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Machine {
    pub(crate) id: i64,
    pub(crate) line: i64,
    pub(crate) workshop: i64,
}

/// The seeded plant as an admin sees it.
pub(crate) struct Plant {
    pub(crate) admin: String,
    /// By code: the first workshop, then the second.
    pub(crate) workshops: [i64; 2],
    /// By code; two per workshop, one machine each.
    pub(crate) machines: Vec<Machine>,
    pub(crate) products: Vec<i64>,
}

impl Plant {
    /// The machines of workshop `w` (0 or 1).
    pub(crate) fn in_workshop(&self, w: usize) -> Vec<Machine> {
        self.machines
            .iter()
            .copied()
            .filter(|m| m.workshop == self.workshops[w])
            .collect()
    }
}

/// The seeded plant's ids, and an admin token.
pub(crate) async fn plant(app: &TestApp) -> Plant {
    let admin = app.admin_token().await;
    let r = app
        .graphql_as(
            &admin,
            "{ workshops(first: 10) { edges { node { id } } } \
               equipment(first: 100, orderBy: CODE_ASC) { edges { node { id lineId workshopId } } } \
               products(first: 10) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let data = r.data();
    let nodes = |field: &str| -> Vec<Value> {
        data[field]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    let workshops: Vec<i64> = nodes("workshops").iter().map(id_of).collect();
    let num = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).expect("an id");
    Plant {
        workshops: [workshops[0], workshops[1]],
        machines: nodes("equipment")
            .iter()
            .map(|n| Machine {
                id: id_of(n),
                line: num(&n["lineId"]),
                workshop: num(&n["workshopId"]),
            })
            .collect(),
        products: nodes("products").iter().map(id_of).collect(),
        admin,
    }
}

/// A person of `role` (API spelling) assigned to `workshop`: their id and an access token.
pub(crate) async fn person(
    app: &TestApp,
    admin: &str,
    username: &str,
    role: &str,
    workshop: i64,
) -> (i64, String) {
    let r = app
        .graphql_as(
            admin,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "username": username, "password": PASSWORD, "role": role,
                "workshopIds": [workshop.to_string()] } }),
        )
        .await;
    let id = id_of(&r.data()["createUser"]["user"]);
    (id, app.login(username, PASSWORD).await)
}

/// A gateway token for `workshop`.
pub(crate) async fn gateway(app: &TestApp, admin: &str, username: &str, workshop: i64) -> String {
    let r = app
        .graphql_as(
            admin,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": { "username": username, "role": "GATEWAY" } }),
        )
        .await;
    let user = id_of(&r.data()["createUser"]["user"]);
    let r = app
        .graphql_as(
            admin,
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            json!({ "i": { "userId": user.to_string(), "name": username,
                "workshopId": workshop.to_string() } }),
        )
        .await;
    r.data()["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Runs mutation `field` (input type `input_type`) as `token`.
pub(crate) async fn call(
    app: &TestApp,
    token: &str,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> GqlResponse {
    app.graphql_as(
        token,
        &op(field, input_type, selection),
        json!({ "input": input }),
    )
    .await
}

/// `data.<field>` of a successful call.
pub(crate) fn ok(response: &GqlResponse, field: &str) -> Value {
    response.data()[field].clone()
}

/// The successful audit rows of `action` for `entity_id`.
pub(crate) async fn audit_rows(
    app: &TestApp,
    action: &str,
    entity_id: i64,
) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .filter(audit_log::Column::EntityId.eq(entity_id.to_string()))
        .all(&app.state.db.write)
        .await
        .expect("audit rows")
        .into_iter()
        .filter(|row| row.payload.as_ref().is_some_and(|p| p["ok"] == json!(true)))
        .collect()
}

/// Every audit row of `action`, successful or not.
pub(crate) async fn audit_count(app: &TestApp, action: &str) -> usize {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .all(&app.state.db.write)
        .await
        .expect("audit rows")
        .len()
}

/// Every row a refused workflow write could have touched.
pub(crate) async fn operations(app: &TestApp) -> Value {
    let db = &app.state.db.write;
    json!({
        "equipment": equipment::Entity::find().order_by_asc(equipment::Column::Id).all(db).await.expect("equipment"),
        "status": equipment_status_event::Entity::find().order_by_asc(equipment_status_event::Column::Id).all(db).await.expect("status events"),
        "reasons": downtime_reason::Entity::find().order_by_asc(downtime_reason::Column::Id).all(db).await.expect("reasons"),
        "orders": production_order::Entity::find().order_by_asc(production_order::Column::Id).all(db).await.expect("orders"),
        "reports": production_report::Entity::find().order_by_asc(production_report::Column::Id).all(db).await.expect("reports"),
        "shifts": shift::Entity::find().order_by_asc(shift::Column::Id).all(db).await.expect("shifts"),
        "maintenance": maintenance_order::Entity::find().order_by_asc(maintenance_order::Column::Id).all(db).await.expect("maintenance"),
    })
}

/// One refused call: name, token, the mutation's field, input type and input, the expected
/// code and (for `BAD_USER_INPUT`) the field it names.
pub(crate) struct Refusal {
    pub(crate) name: &'static str,
    pub(crate) token: String,
    pub(crate) field: &'static str,
    pub(crate) input_type: &'static str,
    pub(crate) input: Value,
    pub(crate) code: &'static str,
    pub(crate) names: Option<&'static str>,
}

/// Runs every refusal, expecting its code (and field) and no change to the operational data;
/// reports every failing case by name.
pub(crate) async fn expect_refusals(app: &TestApp, cases: Vec<Refusal>) {
    assert!(!cases.is_empty(), "no cases");
    let total = cases.len();
    let before = operations(app).await;
    let mut failures = Vec::new();
    for case in cases {
        let r = call(
            app,
            &case.token,
            case.field,
            case.input_type,
            "__typename",
            case.input,
        )
        .await;
        let error = &r.body["errors"][0]["extensions"];
        if error["code"].as_str() != Some(case.code) {
            failures.push(format!(
                "{}: expected {}, got {}",
                case.name, case.code, r.body
            ));
            continue;
        }
        if let Some(field) = case.names
            && error["field"].as_str() != Some(field)
        {
            failures.push(format!(
                "{}: expected field {field}, got {}",
                case.name, r.body
            ));
        }
        if operations(app).await != before {
            failures.push(format!("{}: refused but the data changed", case.name));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The next event on `rx`, which must already be there (events go out before the response).
pub(crate) fn published(rx: &mut Receiver<std::sync::Arc<Event>>) -> Event {
    rx.try_recv().expect("an event published").as_ref().clone()
}

/// Nothing more on `rx`.
pub(crate) fn nothing_more(rx: &mut Receiver<std::sync::Arc<Event>>) {
    assert!(
        matches!(rx.try_recv(), Err(TryRecvError::Empty)),
        "no further event expected"
    );
}

/// A time every backend stores exactly (PostgreSQL keeps microseconds).
pub(crate) fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("a representable time")
}

pub(crate) const STATUS_EVENT: &str =
    "id equipmentId status reasonCode reasonName startedAt endedAt source userId";

const SET: &str = "SetEquipmentStatusInput";

fn set_selection() -> String {
    format!("event {{ {STATUS_EVENT} }} changed equipment {{ id status statusSince }}")
}

/// Sets a status as `token`, failing the test on an error.
pub(crate) async fn set_status(app: &TestApp, token: &str, input: Value) -> Value {
    let r = call(
        app,
        token,
        "setEquipmentStatus",
        SET,
        &set_selection(),
        input,
    )
    .await;
    ok(&r, "setEquipmentStatus")
}

/// The machine's intervals, oldest first.
pub(crate) async fn intervals(app: &TestApp, machine: i64) -> Vec<equipment_status_event::Model> {
    equipment_status_event::Entity::find()
        .filter(equipment_status_event::Column::EquipmentId.eq(machine))
        .order_by_asc(equipment_status_event::Column::StartedAt)
        .order_by_asc(equipment_status_event::Column::Id)
        .all(&app.state.db.write)
        .await
        .expect("intervals")
}

/// The machine's open interval (exactly one).
pub(crate) async fn open_interval(app: &TestApp, machine: i64) -> equipment_status_event::Model {
    let open: Vec<_> = intervals(app, machine)
        .await
        .into_iter()
        .filter(|e| e.ended_at.is_none())
        .collect();
    assert_eq!(open.len(), 1, "one open interval: {open:?}");
    open[0].clone()
}

#[tokio::test]
async fn an_operator_closes_the_open_interval_and_opens_the_next() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let machine = plant.in_workshop(0)[0];
    let (operator, token) = person(&app, &plant.admin, "op", "OPERATOR", machine.workshop).await;
    let before = open_interval(&app, machine.id).await;
    let mut rx = app.state.events.subscribe(Topic::Equipment);

    let input = json!({ "equipmentId": machine.id.to_string(), "status": "DOWN",
        "reasonCode": "BREAKDOWN" });
    let got = set_status(&app, &token, input).await;

    assert_eq!(got["changed"], json!(true));
    let event = &got["event"];
    assert_eq!(event["status"], "DOWN");
    assert_eq!(event["reasonCode"], "BREAKDOWN");
    assert_eq!(event["reasonName"], "Breakdown");
    assert_eq!(event["source"], "MANUAL");
    assert_eq!(event["userId"], json!(operator.to_string()));
    assert!(event["endedAt"].is_null());
    let at = time(&event["startedAt"]);
    assert_eq!(got["equipment"]["status"], "DOWN");
    assert_eq!(time(&got["equipment"]["statusSince"]), at);

    let closed = equipment_status_event::Entity::find_by_id(before.id)
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("the old interval");
    assert_eq!(closed.ended_at, Some(at), "closed where the next begins");
    let open = open_interval(&app, machine.id).await;
    assert_eq!(open.id, id_of(event));
    assert_eq!(
        audit_rows(&app, "setEquipmentStatus", open.id).await.len(),
        1
    );

    match published(&mut rx) {
        Event::EquipmentStatus(change) => {
            assert_eq!(change.status_event_id, open.id);
            assert_eq!(change.place.equipment_id, machine.id);
            assert_eq!(change.place.line_id, machine.line);
            assert_eq!(change.place.workshop_id, machine.workshop);
            assert_eq!(change.previous, Some(before.status));
            assert_eq!(change.reason_code.as_deref(), Some("BREAKDOWN"));
            assert_eq!(change.user_id, Some(operator));
            assert_eq!(change.at, at);
        }
        other => panic!("a status change, got {other:?}"),
    }
    nothing_more(&mut rx);
}

#[tokio::test]
async fn a_gateway_sets_status_in_its_own_workshop_only() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let own = plant.in_workshop(0)[0];
    let other = plant.in_workshop(1)[0];
    let token = gateway(&app, &plant.admin, "gw", own.workshop).await;

    let input = json!({ "equipmentId": own.id.to_string(), "status": "SETUP",
        "reasonCode": "CHANGEOVER" });
    let got = set_status(&app, &token, input).await;
    assert_eq!(got["event"]["source"], "GATEWAY");
    assert!(got["event"]["userId"].is_null(), "gateways are no person");
    assert_eq!(got["equipment"]["status"], "SETUP");

    let before = operations(&app).await;
    let r = call(
        &app,
        &token,
        "setEquipmentStatus",
        SET,
        "changed",
        json!({ "equipmentId": other.id.to_string(), "status": "IDLE" }),
    )
    .await;
    assert_eq!(
        r.error_code(),
        "NOT_FOUND",
        "another workshop looks missing"
    );
    assert_eq!(operations(&app).await, before);
}

#[tokio::test]
async fn repeating_the_status_and_reason_writes_nothing() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let machine = plant.in_workshop(0)[0];
    let (_, token) = person(&app, &plant.admin, "op", "OPERATOR", machine.workshop).await;
    let input = json!({ "equipmentId": machine.id.to_string(), "status": "DOWN",
        "reasonCode": "BREAKDOWN" });
    let first = set_status(&app, &token, input.clone()).await;

    let before = operations(&app).await;
    let audits = audit_count(&app, "setEquipmentStatus").await;
    let mut rx = app.state.events.subscribe(Topic::Equipment);
    let again = set_status(&app, &token, input).await;
    assert_eq!(again["changed"], json!(false));
    assert_eq!(
        again["event"], first["event"],
        "the current interval, unchanged"
    );
    assert_eq!(operations(&app).await, before, "nothing written");
    assert_eq!(
        audit_count(&app, "setEquipmentStatus").await,
        audits,
        "no audit row"
    );
    nothing_more(&mut rx);

    // Same status, another reason: a new interval.
    let input = json!({ "equipmentId": machine.id.to_string(), "status": "DOWN",
        "reasonCode": "MATERIAL" });
    let other = set_status(&app, &token, input).await;
    assert_eq!(other["changed"], json!(true));
    assert_ne!(other["event"]["id"], first["event"]["id"]);
    assert!(matches!(published(&mut rx), Event::EquipmentStatus(_)));
}

#[tokio::test]
async fn an_explicit_time_ends_the_open_interval_then() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let machine = plant.in_workshop(0)[0];
    let (_, token) = person(&app, &plant.admin, "op", "OPERATOR", machine.workshop).await;
    let open = open_interval(&app, machine.id).await;
    let at =
        whole_seconds(open.started_at + (Utc::now() - open.started_at) / 2).max(open.started_at);

    let input = json!({ "equipmentId": machine.id.to_string(), "status": "IDLE",
        "at": iso(at) });
    let got = set_status(&app, &token, input).await;
    assert_eq!(time(&got["event"]["startedAt"]), at);
    let closed = equipment_status_event::Entity::find_by_id(open.id)
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(closed.ended_at, Some(at));

    // A time slightly ahead (within the clock skew) is taken as given.
    let ahead = whole_seconds(Utc::now() + Duration::seconds(2));
    let input = json!({ "equipmentId": machine.id.to_string(), "status": "RUNNING",
        "at": iso(ahead) });
    let got = set_status(&app, &token, input).await;
    assert_eq!(time(&got["event"]["startedAt"]), ahead);
}

#[tokio::test]
async fn a_new_machine_gets_its_first_interval() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let line = plant.in_workshop(0)[0].line;
    let r = app
        .graphql_as(
            &plant.admin,
            "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { equipment { id } } }",
            json!({ "i": { "lineId": line.to_string(), "code": "NEW-1", "name": "New",
                "kind": "ROBOT" } }),
        )
        .await;
    let machine = id_of(&r.data()["createEquipment"]["equipment"]);
    assert!(intervals(&app, machine).await.is_empty());
    let got = set_status(
        &app,
        &plant.admin,
        json!({ "equipmentId": machine.to_string(), "status": "RUNNING" }),
    )
    .await;
    assert_eq!(got["changed"], json!(true));
    let all = intervals(&app, machine).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id_of(&got["event"]));
}

#[tokio::test]
async fn status_refusals_answer_their_code_and_change_nothing() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let plant = plant(&app).await;
    let machine = plant.in_workshop(0)[0];
    let hidden = plant.in_workshop(1)[0];
    let (_, operator) = person(&app, &plant.admin, "op", "OPERATOR", machine.workshop).await;
    let (_, viewer) = person(&app, &plant.admin, "viewer", "VIEWER", machine.workshop).await;
    let open = open_interval(&app, machine.id).await;
    let id = machine.id.to_string();
    let case = |name, token: &String, input, code, names| Refusal {
        name,
        token: token.clone(),
        field: "setEquipmentStatus",
        input_type: SET,
        input,
        code,
        names,
    };
    let bad = "BAD_USER_INPUT";
    expect_refusals(
        &app,
        vec![
            case("unknown reason", &operator,
                json!({ "equipmentId": id, "status": "DOWN", "reasonCode": "NO-SUCH" }), bad, Some("reasonCode")),
            case("DOWN without a reason", &operator,
                json!({ "equipmentId": id, "status": "DOWN" }), bad, Some("reasonCode")),
            case("SETUP without a reason", &operator,
                json!({ "equipmentId": id, "status": "SETUP" }), bad, Some("reasonCode")),
            case("MAINTENANCE with a blank reason", &operator,
                json!({ "equipmentId": id, "status": "MAINTENANCE", "reasonCode": "  " }), bad, Some("reasonCode")),
            case("RUNNING with a reason", &operator,
                json!({ "equipmentId": id, "status": "RUNNING", "reasonCode": "JAM" }), bad, Some("reasonCode")),
            case("overlong reason", &operator,
                json!({ "equipmentId": id, "status": "DOWN", "reasonCode": "X".repeat(33) }), bad, Some("reasonCode")),
            case("time in the future", &operator,
                json!({ "equipmentId": id, "status": "IDLE", "at": iso(Utc::now() + Duration::minutes(1)) }), bad, Some("at")),
            case("time before the open interval", &operator,
                json!({ "equipmentId": id, "status": "IDLE", "at": iso(open.started_at - Duration::seconds(1)) }), bad, Some("at")),
            case("machine of another workshop", &operator,
                json!({ "equipmentId": hidden.id.to_string(), "status": "IDLE" }), "NOT_FOUND", None),
            case("unknown machine", &operator,
                json!({ "equipmentId": "987654321", "status": "IDLE" }), "NOT_FOUND", None),
            case("malformed id", &operator,
                json!({ "equipmentId": "abc", "status": "IDLE" }), bad, Some("equipmentId")),
            case("a viewer", &viewer,
                json!({ "equipmentId": id, "status": "IDLE" }), "FORBIDDEN", None),
        ],
    )
    .await;
}
