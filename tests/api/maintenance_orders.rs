//! Maintenance order writes through the API: requests by role and kind, unique numbers under
//! concurrent requests, every lifecycle state's legal and illegal moves, the machine going
//! into MAINTENANCE at the start and back to its previous status at the end, and each refusal
//! with its code and the data unchanged.

use chrono::{Duration, Utc};
use entity::{alarm, downtime_reason, enums::ReasonCategory, maintenance_order};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};

use crate::{
    equipment_status::{
        Plant, Refusal, STATUS_EVENT, TWO_WORKSHOPS, audit_rows, call, expect_refusals,
        nothing_more, ok, open_interval, operations, person, plant, published, set_status,
    },
    helpers::{GqlResponse, TestApp, id_of, iso, time},
};

const ORDER: &str = "id number kind priority status title description alarmId assigneeId \
    scheduledFor startedAt completedAt downtimeS equipment { id status }";
const CREATE: (&str, &str) = ("createMaintenanceOrder", "CreateMaintenanceOrderInput");
const UPDATE: (&str, &str) = ("updateMaintenanceOrder", "UpdateMaintenanceOrderInput");
const TRANSITION: (&str, &str) = (
    "transitionMaintenanceOrder",
    "TransitionMaintenanceOrderInput",
);

/// The people of a maintenance test, in the first workshop.
struct Crew {
    plant: Plant,
    engineer: String,
    engineer_id: i64,
    operator: String,
    operator_id: i64,
    viewer: String,
}

async fn crew(app: &TestApp) -> Crew {
    let plant = plant(app).await;
    let w = plant.workshops[0];
    let (engineer_id, engineer) = person(app, &plant.admin, "engineer", "ENGINEER", w).await;
    let (operator_id, operator) = person(app, &plant.admin, "operator", "OPERATOR", w).await;
    let (_, viewer) = person(app, &plant.admin, "viewer", "VIEWER", w).await;
    Crew {
        plant,
        engineer,
        engineer_id,
        operator,
        operator_id,
        viewer,
    }
}

/// A new machine of the first workshop, RUNNING, with no maintenance history.
async fn machine(app: &TestApp, crew: &Crew, code: &str) -> i64 {
    let line = crew.plant.in_workshop(0)[0].line;
    let r = app
        .graphql_as(
            &crew.plant.admin,
            "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { equipment { id } } }",
            json!({ "i": { "lineId": line.to_string(), "code": code, "name": code, "kind": "CNC" } }),
        )
        .await;
    let id = id_of(&r.data()["createEquipment"]["equipment"]);
    set_status(
        app,
        &crew.operator,
        json!({ "equipmentId": id.to_string(), "status": "RUNNING" }),
    )
    .await;
    id
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let r = call(
        app,
        token,
        CREATE.0,
        CREATE.1,
        &format!("order {{ {ORDER} }}"),
        input,
    )
    .await;
    ok(&r, CREATE.0)["order"].clone()
}

fn request(machine: i64, kind: &str) -> Value {
    json!({ "equipmentId": machine.to_string(), "kind": kind, "title": "Check spindle" })
}

async fn transition(
    app: &TestApp,
    token: &str,
    order: &Value,
    to: &str,
    extra: Value,
) -> GqlResponse {
    let mut input = json!({ "id": order["id"], "to": to });
    for (k, v) in extra.as_object().expect("object") {
        input[k] = v.clone();
    }
    let selection =
        format!("order {{ {ORDER} }} statusEvent {{ {STATUS_EVENT} }} equipment {{ id status }}");
    call(app, token, TRANSITION.0, TRANSITION.1, &selection, input).await
}

/// Moves `order` to `to` as the engineer, failing the test on an error.
async fn moved(app: &TestApp, crew: &Crew, order: &Value, to: &str, extra: Value) -> Value {
    let r = transition(app, &crew.engineer, order, to, extra).await;
    let got = ok(&r, TRANSITION.0);
    assert_eq!(got["order"]["status"], to);
    got
}

/// A refused move: its code, and nothing changed; the message.
async fn refused(
    app: &TestApp,
    token: &str,
    order: &Value,
    to: &str,
    extra: Value,
    code: &str,
) -> String {
    let before = operations(app).await;
    let r = transition(app, token, order, to, extra).await;
    assert_eq!(r.error_code(), code, "→ {to}: {}", r.body);
    assert_eq!(operations(app).await, before, "a refused move changed data");
    r.error_message()
}

async fn insert_alarm(app: &TestApp, machine: i64, workshop: i64) -> i64 {
    let now = Utc::now();
    alarm::Entity::insert(alarm::ActiveModel {
        workshop_id: Set(Some(workshop)),
        equipment_id: Set(Some(machine)),
        sensor_id: Set(None),
        r#type: Set("SPINDLE_VIBRATION".into()),
        severity: Set(4),
        message: Set("vibration high".into()),
        value: Set(None),
        threshold: Set(None),
        details: Set(None),
        occurrences: Set(1),
        start_ts: Set(now),
        last_ts: Set(now),
        acknowledged: Set(false),
        ack_ts: Set(None),
        ack_by: Set(None),
        cleared: Set(false),
        clear_ts: Set(None),
        cleared_by: Set(None),
        assignee_id: Set(None),
        shelved_until: Set(None),
        ..Default::default()
    })
    .exec(&app.state.db.write)
    .await
    .expect("insert alarm")
    .last_insert_id
}

#[tokio::test]
async fn an_operator_requests_corrective_maintenance() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let alarm = insert_alarm(&app, machine, crew.plant.workshops[0]).await;
    let mut rx = app.state.events.subscribe(Topic::Maintenance);

    let mut input = request(machine, "CORRECTIVE");
    input["alarmId"] = json!(alarm.to_string());
    input["description"] = json!("Grinding noise\nsince the night shift");
    let order = create(&app, &crew.operator, input).await;
    let id = id_of(&order);
    assert_eq!(order["status"], "REQUESTED");
    assert_eq!(order["kind"], "CORRECTIVE");
    assert_eq!(order["priority"], 3);
    assert_eq!(order["alarmId"], json!(alarm.to_string()));
    assert_eq!(
        order["description"],
        "Grinding noise\nsince the night shift"
    );
    assert_eq!(
        order["number"],
        json!(format!("MO-{}-{id}", Utc::now().format("%Y%m%d")))
    );
    assert_eq!(order["equipment"]["id"], json!(machine.to_string()));
    let row = maintenance_order::Entity::find_by_id(id)
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.created_by, Some(crew.operator_id));
    assert_eq!(audit_rows(&app, CREATE.0, id).await.len(), 1);
    match published(&mut rx) {
        Event::Maintenance(change) => {
            assert_eq!((change.order_id, change.place.equipment_id), (id, machine));
            assert_eq!(change.previous, None);
            assert_eq!(change.alarm_id, Some(alarm));
        }
        other => panic!("a maintenance change, got {other:?}"),
    }

    // Engineers plan: a scheduled order starts SCHEDULED, assigned.
    let mut input = request(machine, "PREVENTIVE");
    let when = Utc::now() + Duration::days(3);
    input["scheduledFor"] = json!(iso(when));
    input["assigneeId"] = json!(crew.operator_id.to_string());
    input["priority"] = json!(1);
    let planned = create(&app, &crew.engineer, input).await;
    assert_eq!(planned["status"], "SCHEDULED");
    assert_eq!(planned["assigneeId"], json!(crew.operator_id.to_string()));
    assert_eq!(planned["priority"], 1);
    assert!(time(&planned["scheduledFor"]) - when < Duration::seconds(1));
}

#[tokio::test]
async fn concurrent_requests_get_distinct_numbers() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let calls = (0..8).map(|_| {
        call(
            &app,
            &crew.operator,
            CREATE.0,
            CREATE.1,
            "order { id number }",
            request(machine, "CORRECTIVE"),
        )
    });
    let responses = futures::future::join_all(calls).await;
    let mut numbers: Vec<String> = responses
        .iter()
        .map(|r| {
            ok(r, CREATE.0)["order"]["number"]
                .as_str()
                .expect("number")
                .to_owned()
        })
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        8,
        "every request got its own number: {numbers:?}"
    );
}

#[tokio::test]
async fn creating_refuses_bad_input() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let other = machine_two(&app, &crew).await;
    let alarm_elsewhere = insert_alarm(&app, other, crew.plant.workshops[0]).await;
    let hidden = crew.plant.in_workshop(1)[0];
    let hidden_alarm = insert_alarm(&app, hidden.id, hidden.workshop).await;
    let (_, foreign_viewer) = person(
        &app,
        &crew.plant.admin,
        "viewer-2",
        "VIEWER",
        hidden.workshop,
    )
    .await;
    let viewer_id = viewer_user(&app).await;
    let with = |kind: &str, changes: Value| {
        let mut input = request(machine, kind);
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let case = |name, token: &String, input, code, names| Refusal {
        name,
        token: token.clone(),
        field: CREATE.0,
        input_type: CREATE.1,
        input,
        code,
        names,
    };
    let (e, o, bad) = (&crew.engineer, &crew.operator, "BAD_USER_INPUT");
    expect_refusals(
        &app,
        vec![
            case(
                "operator, preventive",
                o,
                with("PREVENTIVE", json!({})),
                "FORBIDDEN",
                None,
            ),
            case(
                "operator, predictive",
                o,
                with("PREDICTIVE", json!({})),
                "FORBIDDEN",
                None,
            ),
            case(
                "operator, scheduling",
                o,
                with("CORRECTIVE", json!({ "scheduledFor": iso(Utc::now()) })),
                "FORBIDDEN",
                None,
            ),
            case(
                "operator, assigning",
                o,
                with(
                    "CORRECTIVE",
                    json!({ "assigneeId": crew.engineer_id.to_string() }),
                ),
                "FORBIDDEN",
                None,
            ),
            case(
                "a viewer",
                &crew.viewer,
                with("CORRECTIVE", json!({})),
                "FORBIDDEN",
                None,
            ),
            case(
                "another workshop's viewer",
                &foreign_viewer,
                with("CORRECTIVE", json!({})),
                "FORBIDDEN",
                None,
            ),
            case(
                "alarm of another machine",
                e,
                with(
                    "CORRECTIVE",
                    json!({ "alarmId": alarm_elsewhere.to_string() }),
                ),
                bad,
                Some("alarmId"),
            ),
            case(
                "hidden alarm",
                e,
                with("CORRECTIVE", json!({ "alarmId": hidden_alarm.to_string() })),
                "NOT_FOUND",
                None,
            ),
            case(
                "unknown alarm",
                e,
                with("CORRECTIVE", json!({ "alarmId": "987654321" })),
                "NOT_FOUND",
                None,
            ),
            case(
                "machine of another workshop",
                e,
                {
                    let mut i = with("CORRECTIVE", json!({}));
                    i["equipmentId"] = json!(hidden.id.to_string());
                    i
                },
                "NOT_FOUND",
                None,
            ),
            case(
                "unknown machine",
                e,
                with("CORRECTIVE", json!({ "equipmentId": "987654321" })),
                "NOT_FOUND",
                None,
            ),
            case(
                "empty title",
                e,
                with("CORRECTIVE", json!({ "title": "  " })),
                bad,
                Some("title"),
            ),
            case(
                "overlong title",
                e,
                with("CORRECTIVE", json!({ "title": "t".repeat(201) })),
                bad,
                Some("title"),
            ),
            case(
                "overlong description",
                e,
                with("CORRECTIVE", json!({ "description": "d".repeat(4001) })),
                bad,
                Some("description"),
            ),
            case(
                "priority 0",
                e,
                with("CORRECTIVE", json!({ "priority": 0 })),
                bad,
                Some("priority"),
            ),
            case(
                "priority 6",
                e,
                with("CORRECTIVE", json!({ "priority": 6 })),
                bad,
                Some("priority"),
            ),
            case(
                "a viewer as assignee",
                e,
                with("CORRECTIVE", json!({ "assigneeId": viewer_id.to_string() })),
                bad,
                Some("assigneeId"),
            ),
            case(
                "an unknown assignee",
                e,
                with("CORRECTIVE", json!({ "assigneeId": "987654321" })),
                bad,
                Some("assigneeId"),
            ),
        ],
    )
    .await;
}

/// A second new machine of the first workshop.
async fn machine_two(app: &TestApp, crew: &Crew) -> i64 {
    machine(app, crew, "MX-2").await
}

/// The id of the crew's viewer.
async fn viewer_user(app: &TestApp) -> i64 {
    entity::user::Entity::find()
        .filter(entity::user::Column::Username.eq("viewer"))
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("the viewer")
        .id
}

#[tokio::test]
async fn every_lifecycle_state_has_its_legal_and_illegal_moves() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let order = create(&app, &crew.engineer, request(machine, "PREVENTIVE")).await;
    let mut status_rx = app.state.events.subscribe(Topic::Equipment);
    let mut rx = app.state.events.subscribe(Topic::Maintenance);
    let none = json!({});

    // REQUESTED
    let why = refused(
        &app,
        &crew.engineer,
        &order,
        "IN_PROGRESS",
        none.clone(),
        "CONFLICT",
    )
    .await;
    assert!(why.contains("SCHEDULED or CANCELLED"), "{why}");
    refused(
        &app,
        &crew.operator,
        &order,
        "SCHEDULED",
        none.clone(),
        "FORBIDDEN",
    )
    .await;
    moved(&app, &crew, &order, "SCHEDULED", none.clone()).await;
    // SCHEDULED
    refused(
        &app,
        &crew.engineer,
        &order,
        "DONE",
        none.clone(),
        "CONFLICT",
    )
    .await;
    let started = moved(&app, &crew, &order, "IN_PROGRESS", none.clone()).await;
    assert!(!started["order"]["startedAt"].is_null());
    assert_eq!(started["equipment"]["status"], "MAINTENANCE");
    assert_eq!(started["statusEvent"]["status"], "MAINTENANCE");
    assert_eq!(started["statusEvent"]["reasonCode"], "PLANNED-MAINT");
    assert_eq!(started["statusEvent"]["source"], "SYSTEM");
    assert_eq!(
        started["statusEvent"]["userId"],
        json!(crew.engineer_id.to_string())
    );
    let reason = downtime_reason::Entity::find()
        .filter(downtime_reason::Column::Code.eq("PLANNED-MAINT"))
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("the reason was added");
    assert_eq!(reason.category, ReasonCategory::Planned);
    // IN_PROGRESS
    refused(
        &app,
        &crew.engineer,
        &order,
        "SCHEDULED",
        none.clone(),
        "CONFLICT",
    )
    .await;
    let held = moved(&app, &crew, &order, "ON_HOLD", none.clone()).await;
    assert!(
        held["statusEvent"].is_null(),
        "on hold, the machine stays in maintenance"
    );
    // ON_HOLD
    refused(
        &app,
        &crew.engineer,
        &order,
        "REQUESTED",
        none.clone(),
        "CONFLICT",
    )
    .await;
    let resumed = moved(&app, &crew, &order, "IN_PROGRESS", none.clone()).await;
    assert_eq!(
        resumed["order"]["startedAt"], started["order"]["startedAt"],
        "resuming keeps the start"
    );
    moved(&app, &crew, &order, "ON_HOLD", none.clone()).await;
    let done = moved(&app, &crew, &order, "DONE", none.clone()).await;
    assert!(!done["order"]["completedAt"].is_null());
    assert!(done["order"]["downtimeS"].as_i64().is_some_and(|d| d >= 0));
    assert_eq!(
        done["equipment"]["status"], "RUNNING",
        "back to what it was"
    );
    assert_eq!(done["order"]["equipment"]["status"], "RUNNING");
    // DONE
    let why = refused(
        &app,
        &crew.engineer,
        &order,
        "CANCELLED",
        none.clone(),
        "CONFLICT",
    )
    .await;
    assert!(why.contains("closed"), "{why}");
    assert_eq!(audit_rows(&app, TRANSITION.0, id_of(&order)).await.len(), 6);

    // CANCELLED, from REQUESTED: closed.
    let other = create(&app, &crew.engineer, request(machine, "CORRECTIVE")).await;
    moved(&app, &crew, &other, "CANCELLED", none.clone()).await;
    refused(
        &app,
        &crew.engineer,
        &other,
        "SCHEDULED",
        none.clone(),
        "CONFLICT",
    )
    .await;

    // Events: the two status moves, and every maintenance move in order.
    for want in ["maintenance", "running"] {
        match published(&mut status_rx) {
            Event::EquipmentStatus(c) => assert_eq!(c.status.as_str(), want),
            other => panic!("a status change, got {other:?}"),
        }
    }
    nothing_more(&mut status_rx);
    let mut moves = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let Event::Maintenance(c) = event.as_ref() {
            moves.push((c.previous.map(|s| s.as_str()), c.status.as_str()));
        }
    }
    assert_eq!(
        moves,
        [
            (Some("requested"), "scheduled"),
            (Some("scheduled"), "in_progress"),
            (Some("in_progress"), "on_hold"),
            (Some("on_hold"), "in_progress"),
            (Some("in_progress"), "on_hold"),
            (Some("on_hold"), "done"),
            (None, "requested"),
            (Some("requested"), "cancelled"),
        ]
    );
}

/// Backdates an order's start by `hours`.
async fn started_hours_ago(app: &TestApp, order: &Value, hours: i64) {
    maintenance_order::Entity::update_many()
        .col_expr(
            maintenance_order::Column::StartedAt,
            Expr::value(Some(Utc::now() - Duration::hours(hours))),
        )
        .filter(maintenance_order::Column::Id.eq(id_of(order)))
        .exec(&app.state.db.write)
        .await
        .expect("backdate");
}

#[tokio::test]
async fn finishing_restores_the_previous_status_and_reason_and_books_the_downtime() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    set_status(
        &app,
        &crew.operator,
        json!({ "equipmentId": machine.to_string(),
        "status": "DOWN", "reasonCode": "MATERIAL" }),
    )
    .await;
    let order = create(&app, &crew.operator, request(machine, "CORRECTIVE")).await;
    moved(&app, &crew, &order, "SCHEDULED", json!({})).await;
    let started = moved(&app, &crew, &order, "IN_PROGRESS", json!({})).await;
    assert_eq!(
        started["statusEvent"]["reasonCode"], "BREAKDOWN",
        "a repair costs availability"
    );
    started_hours_ago(&app, &order, 1).await;

    let none = json!({});
    refused(
        &app,
        &crew.engineer,
        &order,
        "DONE",
        json!({ "downtimeS": 7200 }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &app,
        &crew.engineer,
        &order,
        "DONE",
        json!({ "downtimeS": -1 }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &app,
        &crew.engineer,
        &order,
        "ON_HOLD",
        json!({ "downtimeS": 10 }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &app,
        &crew.engineer,
        &order,
        "DONE",
        json!({ "note": "n".repeat(2001) }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &app,
        &crew.operator,
        &order,
        "DONE",
        none.clone(),
        "FORBIDDEN",
    )
    .await;

    let done = moved(
        &app,
        &crew,
        &order,
        "DONE",
        json!({ "downtimeS": 1800, "note": "bearing replaced" }),
    )
    .await;
    assert_eq!(done["order"]["downtimeS"], 1800);
    assert_eq!(done["statusEvent"]["status"], "DOWN");
    assert_eq!(
        done["statusEvent"]["reasonCode"], "MATERIAL",
        "the previous interval, as it was"
    );
    let open = open_interval(&app, machine).await;
    assert_eq!(open.id, id_of(&done["statusEvent"]));
    let audit = audit_rows(&app, TRANSITION.0, id_of(&order)).await;
    let last = audit.last().expect("an audit row");
    assert_eq!(
        last.payload.as_ref().expect("payload")["arguments"]["input"]["note"],
        "bearing replaced",
        "the note is kept in the audit log"
    );

    // The default downtime is the time since work started.
    let second = create(&app, &crew.engineer, request(machine, "PREVENTIVE")).await;
    moved(&app, &crew, &second, "SCHEDULED", none.clone()).await;
    moved(&app, &crew, &second, "IN_PROGRESS", none.clone()).await;
    started_hours_ago(&app, &second, 2).await;
    let done = moved(&app, &crew, &second, "DONE", none.clone()).await;
    let downtime = done["order"]["downtimeS"].as_i64().expect("downtime");
    assert!(
        (7200..7260).contains(&downtime),
        "about two hours: {downtime}"
    );
    assert_eq!(done["equipment"]["status"], "DOWN");

    // Cancelling started work gives the machine back too.
    let third = create(&app, &crew.engineer, request(machine, "PREVENTIVE")).await;
    moved(&app, &crew, &third, "SCHEDULED", none.clone()).await;
    moved(&app, &crew, &third, "IN_PROGRESS", none.clone()).await;
    let cancelled = moved(&app, &crew, &third, "CANCELLED", none.clone()).await;
    assert_eq!(cancelled["equipment"]["status"], "DOWN");
}

#[tokio::test]
async fn a_second_running_order_keeps_the_machine_in_maintenance() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let none = json!({});
    let mut orders = Vec::new();
    for kind in ["PREVENTIVE", "CORRECTIVE"] {
        let order = create(&app, &crew.engineer, request(machine, kind)).await;
        moved(&app, &crew, &order, "SCHEDULED", none.clone()).await;
        orders.push(order);
    }
    let first = moved(&app, &crew, &orders[0], "IN_PROGRESS", none.clone()).await;
    assert_eq!(first["equipment"]["status"], "MAINTENANCE");
    let second = moved(&app, &crew, &orders[1], "IN_PROGRESS", none.clone()).await;
    assert!(second["statusEvent"].is_null(), "already in maintenance");
    let done = moved(&app, &crew, &orders[0], "DONE", none.clone()).await;
    assert!(
        done["statusEvent"].is_null(),
        "the other order still works on it"
    );
    assert_eq!(
        open_interval(&app, machine).await.status.as_str(),
        "maintenance"
    );
    let done = moved(&app, &crew, &orders[1], "DONE", none.clone()).await;
    assert_eq!(done["equipment"]["status"], "RUNNING");
}

#[tokio::test]
async fn engineers_update_open_orders_only() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let machine = machine(&app, &crew, "MX-1").await;
    let mut input = request(machine, "CORRECTIVE");
    input["description"] = json!("first words");
    let order = create(&app, &crew.operator, input).await;
    let mut rx = app.state.events.subscribe(Topic::Maintenance);
    let when = Utc::now() + Duration::days(1);
    let r = call(
        &app,
        &crew.engineer,
        UPDATE.0,
        UPDATE.1,
        &format!("order {{ {ORDER} }}"),
        json!({ "id": order["id"], "title": "Replace bearing", "description": null, "priority": 2,
            "assigneeId": crew.engineer_id.to_string(), "scheduledFor": iso(when) }),
    )
    .await;
    let got = ok(&r, UPDATE.0)["order"].clone();
    assert_eq!(got["title"], "Replace bearing");
    assert!(got["description"].is_null());
    assert_eq!(got["priority"], 2);
    assert_eq!(got["assigneeId"], json!(crew.engineer_id.to_string()));
    assert_eq!(
        got["status"], "REQUESTED",
        "planning a time does not move the state"
    );
    assert_eq!(audit_rows(&app, UPDATE.0, id_of(&order)).await.len(), 1);
    assert!(
        matches!(published(&mut rx), Event::Maintenance(c) if c.assignee_id == Some(crew.engineer_id))
    );
    let r = call(
        &app,
        &crew.engineer,
        UPDATE.0,
        UPDATE.1,
        "order { assigneeId scheduledFor }",
        json!({ "id": order["id"], "assigneeId": null, "scheduledFor": null }),
    )
    .await;
    let got = ok(&r, UPDATE.0)["order"].clone();
    assert!(got["assigneeId"].is_null() && got["scheduledFor"].is_null());

    let closed = create(&app, &crew.engineer, request(machine, "CORRECTIVE")).await;
    moved(&app, &crew, &closed, "CANCELLED", json!({})).await;
    let hidden = crew.plant.in_workshop(1)[0];
    let foreign = create(&app, &crew.plant.admin, request(hidden.id, "CORRECTIVE")).await;
    let case = |name, token: &String, input, code, names| Refusal {
        name,
        token: token.clone(),
        field: UPDATE.0,
        input_type: UPDATE.1,
        input,
        code,
        names,
    };
    let (e, bad) = (&crew.engineer, "BAD_USER_INPUT");
    expect_refusals(
        &app,
        vec![
            case(
                "closed order",
                e,
                json!({ "id": closed["id"], "title": "Again" }),
                "CONFLICT",
                None,
            ),
            case(
                "an operator",
                &crew.operator,
                json!({ "id": order["id"], "title": "Mine" }),
                "FORBIDDEN",
                None,
            ),
            case(
                "priority 9",
                e,
                json!({ "id": order["id"], "priority": 9 }),
                bad,
                Some("priority"),
            ),
            case(
                "overlong title",
                e,
                json!({ "id": order["id"], "title": "t".repeat(201) }),
                bad,
                Some("title"),
            ),
            case(
                "a viewer as assignee",
                e,
                json!({ "id": order["id"], "assigneeId": viewer_user(&app).await.to_string() }),
                bad,
                Some("assigneeId"),
            ),
            case(
                "another workshop's order",
                e,
                json!({ "id": foreign["id"], "title": "X" }),
                "NOT_FOUND",
                None,
            ),
            case(
                "unknown order",
                e,
                json!({ "id": "987654321", "title": "X" }),
                "NOT_FOUND",
                None,
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn transitions_of_hidden_or_unknown_orders_are_not_found() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let hidden = crew.plant.in_workshop(1)[0];
    let foreign = create(&app, &crew.plant.admin, request(hidden.id, "CORRECTIVE")).await;
    let case = |name, token: &String, input, code| Refusal {
        name,
        token: token.clone(),
        field: TRANSITION.0,
        input_type: TRANSITION.1,
        input,
        code,
        names: None,
    };
    expect_refusals(
        &app,
        vec![
            case(
                "another workshop's order",
                &crew.engineer,
                json!({ "id": foreign["id"], "to": "SCHEDULED" }),
                "NOT_FOUND",
            ),
            case(
                "unknown order",
                &crew.engineer,
                json!({ "id": "987654321", "to": "SCHEDULED" }),
                "NOT_FOUND",
            ),
            case(
                "a viewer",
                &crew.viewer,
                json!({ "id": foreign["id"], "to": "SCHEDULED" }),
                "FORBIDDEN",
            ),
        ],
    )
    .await;
}
