//! Production order writes through the API: planning, every lifecycle state's legal and
//! illegal moves with the roles that may make them, reports adding to their order's totals,
//! shift planning, and each refusal with its code and the data unchanged.

use chrono::{Duration, DurationRound, Utc};
use entity::production_order;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};

use crate::{
    equipment_status::{
        Plant, Refusal, TWO_WORKSHOPS, audit_rows, call, expect_refusals, gateway, nothing_more,
        ok, operations, person, plant, published, whole_seconds,
    },
    helpers::{TestApp, id_of, iso, time},
};

const ORDER: &str = "id number status priority qtyPlanned qtyGood qtyScrap plannedStart \
    plannedEnd actualStart actualEnd line { id } product { id }";
const CREATE: (&str, &str) = ("createProductionOrder", "CreateProductionOrderInput");
const UPDATE: (&str, &str) = ("updateProductionOrder", "UpdateProductionOrderInput");
const TRANSITION: (&str, &str) = (
    "transitionProductionOrder",
    "TransitionProductionOrderInput",
);
const REPORT: (&str, &str) = ("reportProduction", "ReportProductionInput");

/// The people of a production test, all in the first workshop.
struct Crew {
    plant: Plant,
    manager: String,
    operator: String,
    operator_id: i64,
    viewer: String,
}

async fn crew(app: &TestApp) -> Crew {
    let plant = plant(app).await;
    let w = plant.workshops[0];
    let (_, manager) = person(app, &plant.admin, "manager", "MANAGER", w).await;
    let (operator_id, operator) = person(app, &plant.admin, "operator", "OPERATOR", w).await;
    let (_, viewer) = person(app, &plant.admin, "viewer", "VIEWER", w).await;
    Crew {
        plant,
        manager,
        operator,
        operator_id,
        viewer,
    }
}

fn order_input(crew: &Crew, line: i64, number: &str) -> Value {
    let start = whole_seconds(Utc::now() + Duration::hours(1));
    json!({ "number": number, "productId": crew.plant.products[0].to_string(),
        "lineId": line.to_string(), "qtyPlanned": 100, "plannedStart": iso(start),
        "plannedEnd": iso(start + Duration::hours(8)) })
}

async fn create(app: &TestApp, crew: &Crew, line: i64, number: &str) -> Value {
    let r = call(
        app,
        &crew.manager,
        CREATE.0,
        CREATE.1,
        &format!("order {{ {ORDER} }}"),
        order_input(crew, line, number),
    )
    .await;
    ok(&r, CREATE.0)["order"].clone()
}

async fn transition(
    app: &TestApp,
    token: &str,
    order: &Value,
    to: &str,
) -> crate::helpers::GqlResponse {
    call(
        app,
        token,
        TRANSITION.0,
        TRANSITION.1,
        &format!("order {{ {ORDER} }}"),
        json!({ "id": order["id"], "to": to }),
    )
    .await
}

/// Moves `order` to `to`, failing the test on an error.
async fn moved(app: &TestApp, token: &str, order: &Value, to: &str) -> Value {
    let r = transition(app, token, order, to).await;
    let got = ok(&r, TRANSITION.0)["order"].clone();
    assert_eq!(got["status"], to);
    got
}

/// A refused move: its code, and nothing changed.
async fn refused(app: &TestApp, token: &str, order: &Value, to: &str, code: &str) -> String {
    let before = operations(app).await;
    let r = transition(app, token, order, to).await;
    assert_eq!(
        r.error_code(),
        code,
        "{} → {to}: {}",
        order["status"],
        r.body
    );
    assert_eq!(operations(app).await, before, "a refused move changed data");
    r.error_message()
}

async fn new_machine(app: &TestApp, admin: &str, line: i64, code: &str) -> i64 {
    let r = app
        .graphql_as(
            admin,
            "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { equipment { id } } }",
            json!({ "i": { "lineId": line.to_string(), "code": code, "name": code, "kind": "PRESS" } }),
        )
        .await;
    id_of(&r.data()["createEquipment"]["equipment"])
}

#[tokio::test]
async fn a_manager_creates_a_draft_order() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let line = crew.plant.in_workshop(0)[0].line;
    let mut rx = app.state.events.subscribe(Topic::Production);
    let input = order_input(&crew, line, "PO-T-1");
    let order = create(&app, &crew, line, "PO-T-1").await;
    assert_eq!(order["number"], "PO-T-1");
    assert_eq!(order["status"], "DRAFT");
    assert_eq!(order["priority"], 0);
    assert_eq!(
        (order["qtyPlanned"].clone(), order["qtyGood"].clone()),
        (json!(100), json!(0))
    );
    assert_eq!(order["line"]["id"], json!(line.to_string()));
    assert_eq!(time(&order["plannedStart"]), time(&input["plannedStart"]));
    assert!(order["actualStart"].is_null() && order["actualEnd"].is_null());
    assert_eq!(audit_rows(&app, CREATE.0, id_of(&order)).await.len(), 1);
    match published(&mut rx) {
        Event::OrderProgress(p) => {
            assert_eq!((p.order_id, p.line_id), (id_of(&order), line));
            assert_eq!((p.percent, p.rate_per_hour, p.eta), (0.0, None, None));
        }
        other => panic!("order progress, got {other:?}"),
    }
}

#[tokio::test]
async fn creating_an_order_refuses_bad_input() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let line = crew.plant.in_workshop(0)[0].line;
    create(&app, &crew, line, "PO-TAKEN").await;
    let with = |changes: Value| {
        let mut input = order_input(&crew, line, "PO-NEW");
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let start = Utc::now() + Duration::hours(1);
    let case = |name, token: &String, input, code, names| Refusal {
        name,
        token: token.clone(),
        field: CREATE.0,
        input_type: CREATE.1,
        input,
        code,
        names,
    };
    let bad = "BAD_USER_INPUT";
    expect_refusals(
        &app,
        vec![
            case("taken number", &crew.manager, with(json!({ "number": "PO-TAKEN" })), "CONFLICT", None),
            case("overlong number", &crew.manager, with(json!({ "number": "P".repeat(33) })), bad, Some("number")),
            case("empty number", &crew.manager, with(json!({ "number": "" })), bad, Some("number")),
            case("unknown product", &crew.manager, with(json!({ "productId": "987654321" })), "NOT_FOUND", None),
            case("unknown line", &crew.manager, with(json!({ "lineId": "987654321" })), "NOT_FOUND", None),
            case("zero quantity", &crew.manager, with(json!({ "qtyPlanned": 0 })), bad, Some("qtyPlanned")),
            case("negative quantity", &crew.manager, with(json!({ "qtyPlanned": -5 })), bad, Some("qtyPlanned")),
            case("priority out of range", &crew.manager, with(json!({ "priority": 101 })), bad, Some("priority")),
            case("end before start", &crew.manager,
                with(json!({ "plannedStart": iso(start), "plannedEnd": iso(start - Duration::minutes(1)) })), bad, Some("plannedEnd")),
            case("end at start", &crew.manager,
                with(json!({ "plannedStart": iso(start), "plannedEnd": iso(start) })), bad, Some("plannedEnd")),
            case("an operator", &crew.operator, with(json!({})), "FORBIDDEN", None),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_plan_changes_while_draft_or_released_only() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let line = crew.plant.in_workshop(0)[0].line;
    let other_line = crew.plant.in_workshop(0)[1].line;
    let order = create(&app, &crew, line, "PO-PLAN").await;
    create(&app, &crew, line, "PO-OTHER").await;
    let update = |token: &String, changes: Value| {
        let mut input = json!({ "id": order["id"] });
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        let token = token.clone();
        let app = &app;
        async move {
            call(
                app,
                &token,
                UPDATE.0,
                UPDATE.1,
                &format!("order {{ {ORDER} }}"),
                input,
            )
            .await
        }
    };

    let got = update(
        &crew.manager,
        json!({ "number": "PO-PLAN-2", "qtyPlanned": 250,
        "lineId": other_line.to_string() }),
    )
    .await;
    let got = ok(&got, UPDATE.0)["order"].clone();
    assert_eq!(
        (got["number"].clone(), got["qtyPlanned"].clone()),
        (json!("PO-PLAN-2"), json!(250))
    );
    assert_eq!(got["line"]["id"], json!(other_line.to_string()));
    assert_eq!(audit_rows(&app, UPDATE.0, id_of(&order)).await.len(), 1);

    moved(&app, &crew.manager, &order, "RELEASED").await;
    let got = update(&crew.manager, json!({ "qtyPlanned": 300 })).await;
    assert_eq!(ok(&got, UPDATE.0)["order"]["qtyPlanned"], 300);

    let before = operations(&app).await;
    for (name, token, changes, code) in [
        (
            "taken number",
            &crew.manager,
            json!({ "number": "PO-OTHER" }),
            "CONFLICT",
        ),
        (
            "end before start",
            &crew.manager,
            json!({ "plannedEnd": iso(time(&order["plannedStart"]) - Duration::hours(1)) }),
            "BAD_USER_INPUT",
        ),
        (
            "an operator",
            &crew.operator,
            json!({ "priority": 5 }),
            "FORBIDDEN",
        ),
    ] {
        let r = update(token, changes).await;
        assert_eq!(r.error_code(), code, "{name}: {}", r.body);
        assert_eq!(operations(&app).await, before, "{name} changed data");
    }

    moved(&app, &crew.operator, &order, "IN_PROGRESS").await;
    let before = operations(&app).await;
    let r = update(&crew.manager, json!({ "qtyPlanned": 400 })).await;
    assert_eq!(r.error_code(), "CONFLICT", "{}", r.body);
    assert!(
        r.error_message().contains("DRAFT or RELEASED"),
        "{}",
        r.error_message()
    );
    assert_eq!(operations(&app).await, before);
    let got = update(&crew.manager, json!({ "priority": 7 })).await;
    assert_eq!(
        ok(&got, UPDATE.0)["order"]["priority"],
        7,
        "priority moves while running"
    );

    moved(&app, &crew.operator, &order, "COMPLETED").await;
    let before = operations(&app).await;
    let r = update(&crew.manager, json!({ "priority": 8 })).await;
    assert_eq!(r.error_code(), "CONFLICT", "{}", r.body);
    assert_eq!(operations(&app).await, before);
}

#[tokio::test]
async fn every_lifecycle_state_has_its_legal_and_illegal_moves() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let line = crew.plant.in_workshop(0)[0].line;
    let (m, o) = (&crew.manager, &crew.operator);
    let order = create(&app, &crew, line, "PO-LIFE").await;
    let mut rx = app.state.events.subscribe(Topic::Production);

    // DRAFT
    let why = refused(&app, m, &order, "IN_PROGRESS", "CONFLICT").await;
    assert!(
        why.contains("DRAFT") && why.contains("RELEASED or CANCELLED"),
        "{why}"
    );
    refused(&app, o, &order, "RELEASED", "FORBIDDEN").await;
    refused(&app, &crew.viewer, &order, "RELEASED", "FORBIDDEN").await;
    moved(&app, m, &order, "RELEASED").await;
    // RELEASED
    let why = refused(&app, m, &order, "PAUSED", "CONFLICT").await;
    assert!(why.contains("IN_PROGRESS or CANCELLED"), "{why}");
    let started = moved(&app, o, &order, "IN_PROGRESS").await;
    let actual_start = time(&started["actualStart"]);
    assert!(started["actualEnd"].is_null());
    assert_eq!(audit_rows(&app, TRANSITION.0, id_of(&order)).await.len(), 2);
    // IN_PROGRESS
    let why = refused(&app, m, &order, "RELEASED", "CONFLICT").await;
    assert!(why.contains("PAUSED or COMPLETED or CANCELLED"), "{why}");
    moved(&app, o, &order, "PAUSED").await;
    // PAUSED
    refused(&app, o, &order, "PAUSED", "CONFLICT").await;
    let resumed = moved(&app, o, &order, "IN_PROGRESS").await;
    assert_eq!(
        time(&resumed["actualStart"]),
        actual_start,
        "resuming keeps the start"
    );
    moved(&app, o, &order, "PAUSED").await;
    let done = moved(&app, o, &order, "COMPLETED").await;
    assert!(time(&done["actualEnd"]) >= actual_start);
    // COMPLETED
    let why = refused(&app, m, &order, "CANCELLED", "CONFLICT").await;
    assert!(why.contains("closed"), "{why}");

    // Cancelling (manager) from DRAFT; CANCELLED is closed.
    let other = create(&app, &crew, line, "PO-CANCEL").await;
    refused(&app, o, &other, "CANCELLED", "FORBIDDEN").await;
    let cancelled = moved(&app, m, &other, "CANCELLED").await;
    assert!(
        !cancelled["actualEnd"].is_null(),
        "cancelling ends the order"
    );
    refused(&app, m, &other, "DRAFT", "CONFLICT").await;

    // Completing straight from IN_PROGRESS.
    let third = create(&app, &crew, line, "PO-DIRECT").await;
    moved(&app, m, &third, "RELEASED").await;
    moved(&app, o, &third, "IN_PROGRESS").await;
    moved(&app, o, &third, "COMPLETED").await;

    // One progress event per successful write since subscribing, in order.
    let mut statuses = Vec::new();
    while let Ok(event) = rx.try_recv() {
        match event.as_ref() {
            Event::OrderProgress(p) => statuses.push(p.status.as_str()),
            other => panic!("order progress, got {other:?}"),
        }
    }
    assert_eq!(
        statuses,
        [
            "released",
            "in_progress",
            "paused",
            "in_progress",
            "paused",
            "completed",
            "draft",
            "cancelled",
            "draft",
            "released",
            "in_progress",
            "completed"
        ]
    );
    // A hidden order: NOT_FOUND before any state check.
    let hidden_line = crew.plant.in_workshop(1)[0].line;
    let (_, foreign) = person(
        &app,
        &crew.plant.admin,
        "op-2",
        "OPERATOR",
        crew.plant.workshops[1],
    )
    .await;
    let hidden = create(&app, &crew, hidden_line, "PO-HIDDEN").await;
    moved(&app, m, &hidden, "RELEASED").await;
    refused(&app, o, &hidden, "IN_PROGRESS", "NOT_FOUND").await;
    moved(&app, &foreign, &hidden, "IN_PROGRESS").await;
    refused(
        &app,
        m,
        &json!({ "id": "987654321", "status": "?" }),
        "RELEASED",
        "NOT_FOUND",
    )
    .await;
}

/// An order of `line` running since two hours ago, and a new machine on the line.
async fn running_order(app: &TestApp, crew: &Crew, line: i64, number: &str) -> (Value, i64) {
    let order = create(app, crew, line, number).await;
    moved(app, &crew.manager, &order, "RELEASED").await;
    moved(app, &crew.operator, &order, "IN_PROGRESS").await;
    let since = whole_seconds(Utc::now() - Duration::hours(2));
    production_order::Entity::update_many()
        .col_expr(
            production_order::Column::ActualStart,
            Expr::value(Some(since)),
        )
        .filter(production_order::Column::Id.eq(id_of(&order)))
        .exec(&app.state.db.write)
        .await
        .expect("backdate the start");
    let machine = new_machine(app, &crew.plant.admin, line, &format!("M-{number}")).await;
    let mut order = order;
    order["actualStart"] = json!(iso(since));
    (order, machine)
}

fn report_input(
    machine: i64,
    order: &Value,
    from_min: i64,
    to_min: i64,
    counts: [i32; 3],
) -> Value {
    let start = time(&order["actualStart"]);
    json!({ "equipmentId": machine.to_string(), "orderId": order["id"],
        "periodStart": iso(start + Duration::minutes(from_min)),
        "periodEnd": iso(start + Duration::minutes(to_min)),
        "totalCount": counts[0], "goodCount": counts[1], "scrapCount": counts[2] })
}

const REPORTED: &str = "report { id equipmentId orderId shiftId periodStart periodEnd totalCount \
    goodCount scrapCount scrapReason reportedBy } order { id qtyGood qtyScrap status }";

#[tokio::test]
async fn reports_add_to_the_order_totals_and_take_the_shift() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let line = crew.plant.in_workshop(0)[0].line;
    let (order, machine) = running_order(&app, &crew, line, "PO-REP").await;
    let mut rx = app.state.events.subscribe(Topic::Production);

    let mut input = report_input(machine, &order, 10, 25, [50, 45, 3]);
    input["scrapReason"] = json!("burr");
    let r = call(
        &app,
        &crew.operator,
        REPORT.0,
        REPORT.1,
        REPORTED,
        input.clone(),
    )
    .await;
    let got = ok(&r, REPORT.0);
    let report = &got["report"];
    assert_eq!(
        (
            report["totalCount"].clone(),
            report["goodCount"].clone(),
            report["scrapCount"].clone()
        ),
        (json!(50), json!(45), json!(3))
    );
    assert_eq!(report["scrapReason"], "burr");
    assert_eq!(report["reportedBy"], json!(crew.operator_id.to_string()));
    assert_eq!(time(&report["periodStart"]), time(&input["periodStart"]));
    assert_eq!(
        (
            got["order"]["qtyGood"].clone(),
            got["order"]["qtyScrap"].clone()
        ),
        (json!(45), json!(3))
    );
    assert_eq!(audit_rows(&app, REPORT.0, id_of(report)).await.len(), 1);

    // The shift is the workshop's seeded shift covering the period's start.
    let start = time(&input["periodStart"]);
    let shifts = app
        .graphql_as(
            &crew.manager,
            "query($w: ID, $from: DateTime!, $to: DateTime!) { shifts(workshopId: $w, from: $from, to: $to) { id startsAt endsAt } }",
            json!({ "w": crew.plant.workshops[0].to_string(), "from": iso(start), "to": iso(start + Duration::seconds(1)) }),
        )
        .await;
    let covering: Vec<&Value> = shifts.data()["shifts"]
        .as_array()
        .expect("shifts")
        .iter()
        .filter(|s| time(&s["startsAt"]) <= start && start < time(&s["endsAt"]))
        .collect();
    assert_eq!(covering.len(), 1, "one seeded shift covers the start");
    assert_eq!(report["shiftId"], covering[0]["id"]);

    match published(&mut rx) {
        Event::OrderProgress(p) => {
            assert_eq!((p.qty_good, p.qty_scrap, p.percent), (45, 3, 45.0));
            let rate = p.rate_per_hour.expect("a rate");
            assert!(
                rate > 0.0 && rate <= 45.0 / 2.0,
                "45 good in about two hours: {rate}"
            );
            assert!(p.eta.is_some_and(|eta| eta > Utc::now()), "an ETA ahead");
        }
        other => panic!("order progress, got {other:?}"),
    }

    // A second period right after the first: the totals add up. Paused orders take reports.
    moved(&app, &crew.operator, &order, "PAUSED").await;
    let input = report_input(machine, &order, 25, 40, [42, 40, 2]);
    let r = call(&app, &crew.operator, REPORT.0, REPORT.1, REPORTED, input).await;
    let got = ok(&r, REPORT.0);
    assert_eq!(
        (
            got["order"]["qtyGood"].clone(),
            got["order"]["qtyScrap"].clone()
        ),
        (json!(85), json!(5))
    );
    let stored = production_order::Entity::find_by_id(id_of(&order))
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("order");
    assert_eq!((stored.qty_good, stored.qty_scrap), (85, 5));
    rx.try_recv().expect("the pause");
    assert!(matches!(published(&mut rx), Event::OrderProgress(p) if p.qty_good == 85));
    nothing_more(&mut rx);
}

#[tokio::test]
async fn report_refusals_answer_their_code_and_change_nothing() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let [first, second] = [crew.plant.in_workshop(0)[0], crew.plant.in_workshop(0)[1]];
    let (order, machine) = running_order(&app, &crew, first.line, "PO-BAD").await;
    let r = call(
        &app,
        &crew.operator,
        REPORT.0,
        REPORT.1,
        "__typename",
        report_input(machine, &order, 10, 25, [10, 10, 0]),
    )
    .await;
    ok(&r, REPORT.0);
    let draft = create(&app, &crew, first.line, "PO-DRAFT").await;
    let foreign_line = crew.plant.in_workshop(1)[0].line;
    let foreign = create(&app, &crew, foreign_line, "PO-FOREIGN").await;
    let foreign_machine = crew.plant.in_workshop(1)[0].id;
    let gateway = gateway(&app, &crew.plant.admin, "gw", crew.plant.workshops[0]).await;

    let fine = || report_input(machine, &order, 30, 40, [10, 8, 1]);
    let with = |changes: Value| {
        let mut input = fine();
        for (k, v) in changes.as_object().expect("object") {
            input[k] = v.clone();
        }
        input
    };
    let at = |min: i64| json!(iso(time(&order["actualStart"]) + Duration::minutes(min)));
    let case = |name, token: &String, input, code, names| Refusal {
        name,
        token: token.clone(),
        field: REPORT.0,
        input_type: REPORT.1,
        input,
        code,
        names,
    };
    let (op, bad) = (&crew.operator, "BAD_USER_INPUT");
    expect_refusals(
        &app,
        vec![
            case(
                "negative total",
                op,
                with(json!({ "totalCount": -1, "goodCount": 0, "scrapCount": 0 })),
                bad,
                Some("totalCount"),
            ),
            case(
                "negative good",
                op,
                with(json!({ "goodCount": -1 })),
                bad,
                Some("goodCount"),
            ),
            case(
                "negative scrap",
                op,
                with(json!({ "scrapCount": -1 })),
                bad,
                Some("scrapCount"),
            ),
            case(
                "good and scrap over total",
                op,
                with(json!({ "goodCount": 9, "scrapCount": 2 })),
                bad,
                Some("goodCount"),
            ),
            case(
                "count too large",
                op,
                with(json!({ "totalCount": 1_000_001 })),
                bad,
                Some("totalCount"),
            ),
            case(
                "empty period",
                op,
                with(json!({ "periodStart": at(30), "periodEnd": at(30) })),
                bad,
                Some("periodEnd"),
            ),
            case(
                "reversed period",
                op,
                with(json!({ "periodStart": at(40), "periodEnd": at(30) })),
                bad,
                Some("periodEnd"),
            ),
            case(
                "period in the future",
                op,
                with(json!({ "periodEnd": iso(Utc::now() + Duration::hours(1)) })),
                bad,
                Some("periodEnd"),
            ),
            case(
                "before the order started",
                op,
                with(json!({ "periodStart": at(-10), "periodEnd": at(5) })),
                bad,
                Some("periodStart"),
            ),
            case(
                "overlapping an earlier report",
                op,
                with(json!({ "periodStart": at(20), "periodEnd": at(30) })),
                "CONFLICT",
                None,
            ),
            case(
                "enclosing an earlier report",
                op,
                with(json!({ "periodStart": at(5), "periodEnd": at(30) })),
                "CONFLICT",
                None,
            ),
            case(
                "machine on another line",
                op,
                with(json!({ "equipmentId": second.id.to_string() })),
                bad,
                Some("equipmentId"),
            ),
            case(
                "order not running",
                op,
                with(json!({ "orderId": draft["id"] })),
                "CONFLICT",
                None,
            ),
            case(
                "machine of another workshop",
                op,
                with(json!({ "equipmentId": foreign_machine.to_string() })),
                "NOT_FOUND",
                None,
            ),
            case(
                "order of another workshop",
                op,
                with(json!({ "orderId": foreign["id"] })),
                "NOT_FOUND",
                None,
            ),
            case(
                "unknown order",
                op,
                with(json!({ "orderId": "987654321" })),
                "NOT_FOUND",
                None,
            ),
            case(
                "overlong scrap reason",
                op,
                with(json!({ "scrapReason": "x".repeat(201) })),
                bad,
                Some("scrapReason"),
            ),
            case("a viewer", &crew.viewer, fine(), "FORBIDDEN", None),
            case("a gateway", &gateway, fine(), "FORBIDDEN", None),
        ],
    )
    .await;
}

const SHIFT: &str = "shift { id name startsAt endsAt plannedBreakS workshop { id } }";

#[tokio::test]
async fn shifts_are_planned_changed_and_deleted() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let [w0, w1] = crew.plant.workshops;
    // Well after the seeded shifts (yesterday to tomorrow).
    let day = Utc::now().duration_trunc(Duration::days(1)).expect("day") + Duration::days(10);
    let shift = |w: i64, name: &str, from_h: i64, to_h: i64| {
        json!({ "workshopId": w.to_string(), "name": name,
            "startsAt": iso(day + Duration::hours(from_h)), "endsAt": iso(day + Duration::hours(to_h)),
            "plannedBreakS": 1800 })
    };
    let create = |input: Value| {
        let app = &app;
        let token = crew.manager.clone();
        async move { call(app, &token, "createShift", "CreateShiftInput", SHIFT, input).await }
    };

    let early = ok(&create(shift(w0, "Early", 6, 14)).await, "createShift")["shift"].clone();
    assert_eq!(early["name"], "Early");
    assert_eq!(early["plannedBreakS"], 1800);
    assert_eq!(early["workshop"]["id"], json!(w0.to_string()));
    assert_eq!(
        audit_rows(&app, "createShift", id_of(&early)).await.len(),
        1
    );
    // Touching is not overlapping; another workshop's shifts do not count.
    let late = ok(&create(shift(w0, "Late", 14, 22)).await, "createShift")["shift"].clone();
    ok(&create(shift(w1, "Early", 6, 14)).await, "createShift");

    let before = operations(&app).await;
    let r = create(shift(w0, "Overlap", 13, 15)).await;
    assert_eq!(r.error_code(), "CONFLICT", "{}", r.body);
    assert_eq!(operations(&app).await, before);

    let update = |input: Value| {
        let app = &app;
        let token = crew.manager.clone();
        async move { call(app, &token, "updateShift", "UpdateShiftInput", SHIFT, input).await }
    };
    let got = update(
        json!({ "id": early["id"], "name": "Morning", "plannedBreakS": 2700,
        "startsAt": iso(day + Duration::hours(5)) }),
    )
    .await;
    let got = ok(&got, "updateShift")["shift"].clone();
    assert_eq!(
        (got["name"].clone(), got["plannedBreakS"].clone()),
        (json!("Morning"), json!(2700))
    );
    assert_eq!(time(&got["startsAt"]), day + Duration::hours(5));
    assert_eq!(
        audit_rows(&app, "updateShift", id_of(&early)).await.len(),
        1
    );
    let before = operations(&app).await;
    let r = update(json!({ "id": early["id"], "endsAt": iso(day + Duration::hours(15)) })).await;
    assert_eq!(r.error_code(), "CONFLICT", "overlaps Late: {}", r.body);
    assert_eq!(operations(&app).await, before);

    let delete = |id: &Value| {
        let app = &app;
        let token = crew.manager.clone();
        let id = id.clone();
        async move {
            call(
                app,
                &token,
                "deleteShift",
                "DeleteInput",
                "deletedId",
                json!({ "id": id }),
            )
            .await
        }
    };
    let r = delete(&late["id"]).await;
    assert_eq!(ok(&r, "deleteShift")["deletedId"], late["id"]);
    assert_eq!(audit_rows(&app, "deleteShift", id_of(&late)).await.len(), 1);
    let r = delete(&late["id"]).await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    // The freed hours take a new shift.
    ok(&create(shift(w0, "Late", 14, 22)).await, "createShift");
}

#[tokio::test]
async fn shift_refusals_answer_their_code_and_change_nothing() {
    let app = TestApp::seeded(TWO_WORKSHOPS).await;
    let crew = crew(&app).await;
    let w0 = crew.plant.workshops[0];
    let (_, engineer) = person(&app, &crew.plant.admin, "engineer", "ENGINEER", w0).await;
    let day = Utc::now().duration_trunc(Duration::days(1)).expect("day") + Duration::days(10);
    let shift = |name: &str, from_h: i64, to_h: i64, break_s: i64| {
        json!({ "workshopId": w0.to_string(), "name": name,
            "startsAt": iso(day + Duration::hours(from_h)), "endsAt": iso(day + Duration::hours(to_h)),
            "plannedBreakS": break_s })
    };
    let existing = call(
        &app,
        &crew.manager,
        "createShift",
        "CreateShiftInput",
        "shift { id }",
        shift("Night", 22, 30, 0),
    )
    .await;
    let existing = ok(&existing, "createShift")["shift"]["id"].clone();
    let case = |name, token: &String, field, input_type, input, code, names| Refusal {
        name,
        token: token.clone(),
        field,
        input_type,
        input,
        code,
        names,
    };
    let (m, bad, c) = (
        &crew.manager,
        "BAD_USER_INPUT",
        ("createShift", "CreateShiftInput"),
    );
    let u = ("updateShift", "UpdateShiftInput");
    expect_refusals(
        &app,
        vec![
            case(
                "empty name",
                m,
                c.0,
                c.1,
                shift(" ", 6, 14, 0),
                bad,
                Some("name"),
            ),
            case(
                "overlong name",
                m,
                c.0,
                c.1,
                shift(&"n".repeat(65), 6, 14, 0),
                bad,
                Some("name"),
            ),
            case(
                "ends at its start",
                m,
                c.0,
                c.1,
                shift("A", 6, 6, 0),
                bad,
                Some("endsAt"),
            ),
            case(
                "ends before its start",
                m,
                c.0,
                c.1,
                shift("A", 8, 6, 0),
                bad,
                Some("endsAt"),
            ),
            case(
                "longer than a day",
                m,
                c.0,
                c.1,
                shift("A", -4, 21, 0),
                bad,
                Some("endsAt"),
            ),
            case(
                "negative breaks",
                m,
                c.0,
                c.1,
                shift("A", 6, 14, -1),
                bad,
                Some("plannedBreakS"),
            ),
            case(
                "breaks longer than the shift",
                m,
                c.0,
                c.1,
                shift("A", 6, 14, 8 * 3600 + 1),
                bad,
                Some("plannedBreakS"),
            ),
            case(
                "overlapping",
                m,
                c.0,
                c.1,
                shift("A", 21, 23, 0),
                "CONFLICT",
                None,
            ),
            case(
                "unknown workshop",
                m,
                c.0,
                c.1,
                {
                    let mut s = shift("A", 6, 14, 0);
                    s["workshopId"] = json!("987654321");
                    s
                },
                "NOT_FOUND",
                None,
            ),
            case(
                "an operator",
                &crew.operator,
                c.0,
                c.1,
                shift("A", 6, 14, 0),
                "FORBIDDEN",
                None,
            ),
            case(
                "an engineer",
                &engineer,
                c.0,
                c.1,
                shift("A", 6, 14, 0),
                "FORBIDDEN",
                None,
            ),
            case(
                "update: overlong name",
                m,
                u.0,
                u.1,
                json!({ "id": existing, "name": "n".repeat(65) }),
                bad,
                Some("name"),
            ),
            case(
                "update: too long",
                m,
                u.0,
                u.1,
                json!({ "id": existing, "endsAt": iso(day + Duration::hours(47)) }),
                bad,
                Some("endsAt"),
            ),
            case(
                "update: breaks past the end",
                m,
                u.0,
                u.1,
                json!({ "id": existing, "plannedBreakS": 8 * 3600 + 1 }),
                bad,
                Some("plannedBreakS"),
            ),
            case(
                "update: unknown shift",
                m,
                u.0,
                u.1,
                json!({ "id": "987654321", "name": "X" }),
                "NOT_FOUND",
                None,
            ),
            case(
                "delete: an operator",
                &crew.operator,
                "deleteShift",
                "DeleteInput",
                json!({ "id": existing }),
                "FORBIDDEN",
                None,
            ),
        ],
    )
    .await;
}
