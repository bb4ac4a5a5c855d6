//! Production orders, shifts and maintenance orders: filters and orderings checked against
//! the full lists, by-id lookups, and range validation.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use entity::{enums::Role, maintenance_order, production_order};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{SMALL, Shape, TestApp, expected, id_of, ids, insert_user, iso, list, time},
    pagination::walk,
};

/// Two workshops of two lines with two machines: 108 orders, 18 shifts, 8 maintenance orders.
const PLANT: Shape = Shape {
    workshops: 2,
    lines_per_workshop: 2,
    machines_per_line: 2,
    sensors_per_machine: 1,
    fast_share: 0.0,
    history_hours: 1,
    products: 3,
};

const ORDER: &str = "number status priority qtyPlanned qtyGood qtyScrap progress plannedStart \
    plannedEnd actualStart actualEnd product { id sku name } line { id code workshop { id } }";

const MAINTENANCE: &str = "number kind priority status title description alarmId assigneeId \
    scheduledFor startedAt completedAt downtimeS createdAt equipment { id workshopId }";

/// A time every backend stores exactly (PostgreSQL keeps microseconds).
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).expect("a representable time")
}

async fn orders(app: &TestApp, args: &str) -> Vec<Value> {
    walk(app, "productionOrders", args, ORDER, 20).await
}

async fn maintenance(app: &TestApp, args: &str) -> Vec<Value> {
    walk(app, "maintenanceOrders", args, MAINTENANCE, 3).await
}

// ---------------------------------------------------------------------------------------------
// productionOrders

#[tokio::test]
async fn production_orders_are_by_planned_start_by_default() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    assert_eq!(all.len(), 4 * 27, "27 orders per line over three days");
    for pair in all.windows(2) {
        let (a, b) = (
            time(&pair[0]["plannedStart"]),
            time(&pair[1]["plannedStart"]),
        );
        assert!(
            a < b || (a == b && id_of(&pair[0]) < id_of(&pair[1])),
            "earliest first: {} then {}",
            pair[0],
            pair[1]
        );
    }
    let explicit = orders(&app, "orderBy: PLANNED_START_ASC").await;
    assert_eq!(explicit, all);
}

#[tokio::test]
async fn production_orders_newest_first_follows_creation_time() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    // The seed creates every order at once: give them distinct, shuffled creation times.
    let base = whole_seconds(Utc::now() - Duration::days(3));
    let mut created: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for id in ids(&all) {
        // Groups of equal times keep the id tie-break in play.
        let at = base + Duration::minutes((id * 37) % 11);
        created.insert(id, at);
        production_order::Entity::update_many()
            .col_expr(production_order::Column::CreatedAt, Expr::value(at))
            .filter(production_order::Column::Id.eq(id))
            .exec(&app.state.db.write)
            .await
            .expect("update created_at");
    }
    let mut want: Vec<i64> = created.keys().copied().collect();
    want.sort_by(|a, b| created[b].cmp(&created[a]).then(b.cmp(a)));
    for size in [20, 7] {
        let got = walk(
            &app,
            "productionOrders",
            "orderBy: CREATED_DESC",
            ORDER,
            size,
        )
        .await;
        assert_eq!(ids(&got), want, "pages of {size}");
    }
}

#[tokio::test]
async fn production_orders_filter_by_workshop_and_line() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    let workshop = all[0]["line"]["workshop"]["id"].clone();
    let got = orders(&app, &format!("filter: {{workshopId: {workshop}}}")).await;
    let want = expected(&all, |o| o["line"]["workshop"]["id"] == workshop);
    assert_eq!(want.len(), 54);
    assert_eq!(ids(&got), want);

    let line = all[all.len() - 1]["line"]["id"].clone();
    let got = orders(&app, &format!("filter: {{lineId: {line}}}")).await;
    let want = expected(&all, |o| o["line"]["id"] == line);
    assert_eq!(want.len(), 27);
    assert_eq!(ids(&got), want);
    assert!(got.iter().all(|o| o["line"]["id"] == line), "nested line");

    // A line of the other workshop with this workshop: nothing.
    let other = all
        .iter()
        .find(|o| o["line"]["workshop"]["id"] != workshop)
        .map(|o| o["line"]["id"].clone())
        .expect("an order of the other workshop");
    let got = orders(
        &app,
        &format!("filter: {{workshopId: {workshop}, lineId: {other}}}"),
    )
    .await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn production_orders_filter_by_status_list() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    let sets: [&[&str]; 6] = [
        &[],
        &["COMPLETED"],
        &["RELEASED"],
        &["DRAFT", "COMPLETED"],
        &["IN_PROGRESS", "PAUSED", "CANCELLED"],
        &["CANCELLED"],
    ];
    for set in sets {
        let got = orders(&app, &format!("filter: {{status: [{}]}}", set.join(", "))).await;
        let want = expected(&all, |o| set.iter().any(|s| o["status"] == json!(s)));
        assert_eq!(ids(&got), want, "status {set:?}");
    }
    let completed = expected(&all, |o| o["status"] == json!("COMPLETED"));
    let draft = expected(&all, |o| o["status"] == json!("DRAFT"));
    assert!(
        !completed.is_empty() && !draft.is_empty(),
        "the seed spans the lifecycle"
    );
}

#[tokio::test]
async fn production_orders_filter_by_product_with_the_nested_product() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    let response = app
        .graphql(
            "{ products(first: 10) { nodes { id sku name } } }",
            json!({}),
        )
        .await;
    let products = list(&response.data()["products"]["nodes"]).clone();
    assert_eq!(products.len(), 3);
    let mut seen = 0;
    for p in &products {
        let got = orders(&app, &format!("filter: {{productId: {}}}", p["id"])).await;
        assert!(!got.is_empty());
        assert_eq!(ids(&got), expected(&all, |o| o["product"]["id"] == p["id"]));
        for o in &got {
            assert_eq!(&o["product"], p, "the nested product is the order's");
        }
        seen += got.len();
    }
    assert_eq!(seen, all.len());
}

#[tokio::test]
async fn production_orders_filter_by_planned_start_range() {
    let app = TestApp::seeded(PLANT).await;
    let all = orders(&app, "").await;
    let from = time(&all[20]["plannedStart"]);
    let to = time(&all[80]["plannedStart"]);
    let got = orders(
        &app,
        &format!(
            "filter: {{plannedFrom: \"{}\", plannedTo: \"{}\"}}",
            iso(from),
            iso(to)
        ),
    )
    .await;
    let want = expected(&all, |o| {
        let t = time(&o["plannedStart"]);
        t >= from && t < to
    });
    assert!(want.contains(&id_of(&all[20])), "plannedFrom is inclusive");
    assert!(!want.contains(&id_of(&all[80])), "plannedTo is exclusive");
    assert_eq!(ids(&got), want);
    let got = orders(&app, &format!("filter: {{plannedFrom: \"{}\"}}", iso(to))).await;
    assert_eq!(
        ids(&got),
        expected(&all, |o| time(&o["plannedStart"]) >= to)
    );
    let got = orders(&app, &format!("filter: {{plannedTo: \"{}\"}}", iso(from))).await;
    assert_eq!(
        ids(&got),
        expected(&all, |o| time(&o["plannedStart"]) < from)
    );
}

#[tokio::test]
async fn production_order_progress_is_a_share_between_zero_and_one() {
    let app = TestApp::seeded(SMALL).await;
    let all = orders(&app, "").await;
    // Overproduction and an empty plan, which the seed does not make.
    let (over, empty) = (id_of(&all[0]), id_of(&all[1]));
    let db = &app.state.db.write;
    production_order::Entity::update_many()
        .col_expr(production_order::Column::QtyPlanned, Expr::value(100))
        .col_expr(production_order::Column::QtyGood, Expr::value(150))
        .filter(production_order::Column::Id.eq(over))
        .exec(db)
        .await
        .expect("overproduce");
    production_order::Entity::update_many()
        .col_expr(production_order::Column::QtyPlanned, Expr::value(0))
        .filter(production_order::Column::Id.eq(empty))
        .exec(db)
        .await
        .expect("empty plan");
    let all = orders(&app, "").await;
    let mut partial = 0;
    for o in &all {
        let progress = o["progress"].as_f64().expect("progress");
        assert!((0.0..=1.0).contains(&progress), "{o}");
        let (good, planned) = (
            o["qtyGood"].as_f64().expect("qtyGood"),
            o["qtyPlanned"].as_f64().expect("qtyPlanned"),
        );
        let want = if planned <= 0.0 {
            0.0
        } else {
            (good / planned).min(1.0)
        };
        assert!((progress - want).abs() < 1e-12, "{o}");
        if progress > 0.0 && progress < 1.0 {
            partial += 1;
        }
    }
    assert!(partial > 0, "some orders are part-done");
    let by_id = |id: i64| all.iter().find(|o| id_of(o) == id).expect("order");
    assert_eq!(by_id(over)["progress"], json!(1.0));
    assert_eq!(by_id(empty)["progress"], json!(0.0));
}

#[tokio::test]
async fn production_order_by_id_returns_the_listed_order() {
    let app = TestApp::seeded(SMALL).await;
    let all = orders(&app, "").await;
    let query = format!("query O($id: ID!) {{ productionOrderById(id: $id) {{ id {ORDER} }} }}");
    for o in [&all[0], &all[13], &all[26]] {
        let response = app.graphql(&query, json!({ "id": o["id"] })).await;
        assert_eq!(&response.data()["productionOrderById"], o);
    }
    let response = app.graphql(&query, json!({ "id": "987654" })).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    let response = app.graphql(&query, json!({ "id": "PO-000001" })).await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn production_orders_refuse_malformed_filter_ids() {
    let app = TestApp::seeded(SMALL).await;
    for filter in [
        "{workshopId: \"x\"}",
        "{lineId: \"0\"}",
        "{productId: \"-1\"}",
    ] {
        let response = app
            .graphql(
                &format!("{{ productionOrders(filter: {filter}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{filter}");
    }
}

// ---------------------------------------------------------------------------------------------
// shifts

const SHIFTS: &str = "query S($w: ID, $from: DateTime!, $to: DateTime!) { \
    shifts(workshopId: $w, from: $from, to: $to) { id name startsAt endsAt plannedBreakS \
    workshop { id } } }";

async fn shifts(app: &TestApp, w: Value, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
    let response = app
        .graphql(SHIFTS, json!({ "w": w, "from": iso(from), "to": iso(to) }))
        .await;
    list(&response.data()["shifts"]).clone()
}

/// Every seeded shift: they run from yesterday 00:00 for three days.
async fn all_shifts(app: &TestApp) -> Vec<Value> {
    let now = Utc::now();
    shifts(
        app,
        Value::Null,
        now - Duration::days(5),
        now + Duration::days(5),
    )
    .await
}

#[tokio::test]
async fn shifts_are_by_start_and_overlap_the_range() {
    let app = TestApp::seeded(PLANT).await;
    let all = all_shifts(&app).await;
    assert_eq!(all.len(), 18, "9 shifts in each of 2 workshops");
    for pair in all.windows(2) {
        assert!(time(&pair[0]["startsAt"]) <= time(&pair[1]["startsAt"]));
    }
    for s in &all {
        assert_eq!(
            time(&s["endsAt"]) - time(&s["startsAt"]),
            Duration::hours(8)
        );
        assert_eq!(s["plannedBreakS"], json!(1_800));
    }
    let first = time(&all[0]["startsAt"]);
    // Ranges inside, across and at the boundaries of shifts.
    let ranges = [
        (first + Duration::hours(8), first + Duration::hours(16)),
        (first + Duration::hours(7), first + Duration::hours(9)),
        (
            first + Duration::hours(8) - Duration::seconds(1),
            first + Duration::hours(8),
        ),
        (
            first + Duration::hours(8),
            first + Duration::hours(8) + Duration::seconds(1),
        ),
        (first - Duration::hours(1), first),
        (first + Duration::hours(71), first + Duration::hours(80)),
    ];
    for (from, to) in ranges {
        let got = shifts(&app, Value::Null, from, to).await;
        let want = expected(&all, |s| {
            time(&s["startsAt"]) < to && time(&s["endsAt"]) > from
        });
        let mut got_ids = ids(&got);
        got_ids.sort_unstable();
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        assert_eq!(got_ids, want_sorted, "[{from}, {to})");
    }
    let one = shifts(
        &app,
        Value::Null,
        first + Duration::hours(8),
        first + Duration::hours(16),
    )
    .await;
    assert_eq!(one.len(), 2, "exactly the one shift of each workshop");
}

#[tokio::test]
async fn shifts_filter_by_workshop() {
    let app = TestApp::seeded(PLANT).await;
    let all = all_shifts(&app).await;
    let workshop = all[0]["workshop"]["id"].clone();
    let now = Utc::now();
    let got = shifts(
        &app,
        workshop.clone(),
        now - Duration::days(5),
        now + Duration::days(5),
    )
    .await;
    assert_eq!(got.len(), 9);
    assert_eq!(
        ids(&got),
        expected(&all, |s| s["workshop"]["id"] == workshop)
    );
    let got = shifts(
        &app,
        json!("987654"),
        now - Duration::days(5),
        now + Duration::days(5),
    )
    .await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn shifts_refuse_long_reversed_and_far_away_ranges() {
    let app = TestApp::seeded(SMALL).await;
    let now = Utc::now();
    // Exactly 93 days is allowed.
    let got = shifts(&app, Value::Null, now - Duration::days(93), now).await;
    assert!(!got.is_empty());
    let cases = [
        ("94 days", iso(now - Duration::days(94)), iso(now)),
        (
            "93 days and a second",
            iso(now - Duration::days(93) - Duration::seconds(1)),
            iso(now),
        ),
        ("from = to", iso(now), iso(now)),
        ("from > to", iso(now), iso(now - Duration::hours(1))),
        ("year 9999", iso(now), "9999-06-01T00:00:00Z".to_owned()),
        ("year 1000", "1000-06-01T00:00:00Z".to_owned(), iso(now)),
    ];
    for (what, from, to) in cases {
        let response = app.graphql(SHIFTS, json!({ "from": from, "to": to })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{what}");
    }
    let response = app
        .graphql(
            SHIFTS,
            json!({ "w": "nope", "from": iso(now), "to": iso(now + Duration::hours(1)) }),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

// ---------------------------------------------------------------------------------------------
// maintenanceOrders

#[tokio::test]
async fn maintenance_orders_one_per_machine_newest_first() {
    let app = TestApp::seeded(PLANT).await;
    let all = maintenance(&app, "").await;
    assert_eq!(all.len(), 8, "one per machine");
    let mut machines: Vec<Value> = all.iter().map(|m| m["equipment"]["id"].clone()).collect();
    machines.sort_by_key(|m| m.as_str().map(str::to_owned));
    machines.dedup();
    assert_eq!(machines.len(), 8);
    for pair in all.windows(2) {
        let (a, b) = (time(&pair[0]["createdAt"]), time(&pair[1]["createdAt"]));
        assert!(a > b || (a == b && id_of(&pair[0]) > id_of(&pair[1])));
    }
    // Distinct creation times: the order must follow them, not the ids.
    let db = &app.state.db.write;
    let base = whole_seconds(Utc::now() - Duration::days(1));
    let mut created = BTreeMap::new();
    for (n, id) in ids(&all).into_iter().enumerate() {
        let at = base + Duration::minutes([5, 1, 7, 3, 3, 0, 6, 2][n]);
        created.insert(id, at);
        maintenance_order::Entity::update_many()
            .col_expr(maintenance_order::Column::CreatedAt, Expr::value(at))
            .filter(maintenance_order::Column::Id.eq(id))
            .exec(db)
            .await
            .expect("update created_at");
    }
    let mut want: Vec<i64> = created.keys().copied().collect();
    want.sort_by(|a, b| created[b].cmp(&created[a]).then(b.cmp(a)));
    let got = maintenance(&app, "orderBy: CREATED_DESC").await;
    assert_eq!(ids(&got), want);
    for o in &got {
        assert_eq!(time(&o["createdAt"]), created[&id_of(o)]);
    }
}

#[tokio::test]
async fn maintenance_orders_most_urgent_first() {
    let app = TestApp::seeded(PLANT).await;
    let all = maintenance(&app, "").await;
    let got = maintenance(&app, "orderBy: PRIORITY_ASC").await;
    let mut want = all.clone();
    want.sort_by_key(|o| (o["priority"].as_i64(), id_of(o)));
    assert_eq!(ids(&got), ids(&want));
    let priorities: Vec<i64> = got.iter().filter_map(|o| o["priority"].as_i64()).collect();
    assert!(
        priorities.first() < priorities.last(),
        "mixed priorities: {priorities:?}"
    );
}

#[tokio::test]
async fn maintenance_orders_filter_by_workshop_equipment_status_and_kind() {
    let app = TestApp::seeded(PLANT).await;
    let all = maintenance(&app, "").await;
    let workshop = all[0]["equipment"]["workshopId"].clone();
    let got = maintenance(&app, &format!("filter: {{workshopId: {workshop}}}")).await;
    let want = expected(&all, |o| o["equipment"]["workshopId"] == workshop);
    assert_eq!(want.len(), 4);
    assert_eq!(ids(&got), want);

    let machine = all[3]["equipment"]["id"].clone();
    let got = maintenance(&app, &format!("filter: {{equipmentId: {machine}}}")).await;
    assert_eq!(ids(&got), vec![id_of(&all[3])]);

    for set in [
        vec![],
        vec!["DONE"],
        vec!["SCHEDULED", "REQUESTED"],
        vec!["IN_PROGRESS", "ON_HOLD", "CANCELLED"],
        vec!["ON_HOLD"],
    ] {
        let got = maintenance(&app, &format!("filter: {{status: [{}]}}", set.join(", "))).await;
        let want = expected(&all, |o| set.iter().any(|s| o["status"] == json!(s)));
        assert_eq!(ids(&got), want, "status {set:?}");
    }
    for kind in ["CORRECTIVE", "PREVENTIVE", "PREDICTIVE"] {
        let got = maintenance(&app, &format!("filter: {{kind: {kind}}}")).await;
        let want = expected(&all, |o| o["kind"] == json!(kind));
        assert_eq!(ids(&got), want, "kind {kind}");
    }
    let corrective = expected(&all, |o| o["kind"] == json!("CORRECTIVE"));
    assert!(!corrective.is_empty() && corrective.len() < all.len());
    let got = maintenance(
        &app,
        &format!("filter: {{workshopId: {workshop}, kind: PREVENTIVE, status: [DONE, SCHEDULED]}}"),
    )
    .await;
    let want = expected(&all, |o| {
        o["equipment"]["workshopId"] == workshop
            && o["kind"] == json!("PREVENTIVE")
            && (o["status"] == json!("DONE") || o["status"] == json!("SCHEDULED"))
    });
    assert_eq!(ids(&got), want);
}

#[tokio::test]
async fn maintenance_orders_filter_by_assignee() {
    let app = TestApp::seeded(PLANT).await;
    let all = maintenance(&app, "").await;
    assert!(all.iter().all(|o| o["assigneeId"].is_null()));
    let tech = insert_user(&app, "fitter", Role::Engineer).await;
    let chosen = vec![id_of(&all[1]), id_of(&all[6])];
    maintenance_order::Entity::update_many()
        .col_expr(maintenance_order::Column::AssigneeId, Expr::value(tech))
        .filter(maintenance_order::Column::Id.is_in(chosen.clone()))
        .exec(&app.state.db.write)
        .await
        .expect("assign");
    let got = maintenance(&app, &format!("filter: {{assigneeId: \"{tech}\"}}")).await;
    assert_eq!(ids(&got), chosen);
    assert!(
        got.iter()
            .all(|o| o["assigneeId"] == json!(tech.to_string()))
    );
    let got = maintenance(&app, "filter: {assigneeId: \"987654\"}").await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn maintenance_order_by_id_returns_the_listed_order() {
    let app = TestApp::seeded(SMALL).await;
    let all = maintenance(&app, "").await;
    assert_eq!(all.len(), 2);
    let query =
        format!("query M($id: ID!) {{ maintenanceOrderById(id: $id) {{ id {MAINTENANCE} }} }}");
    for o in &all {
        let response = app.graphql(&query, json!({ "id": o["id"] })).await;
        assert_eq!(&response.data()["maintenanceOrderById"], o);
    }
    let response = app.graphql(&query, json!({ "id": "987654" })).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    let response = app.graphql(&query, json!({ "id": "MO-000001" })).await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}
