//! The statement budget: SQL statements per request depend on the query's shape, never on
//! the number of rows.

use serde_json::json;

use crate::helpers::{LARGE, SMALL, TestApp};

const PLANT: &str = "{ workshops(first: 100) { edges { node { id code lines { id code \
    equipment { id code status sensors { id tag latest { ts value quality } } } } } } } }";

const LINE: &str = "query Line($id: ID!) { lineById(id: $id) { id code equipment { id code \
    status sensors { id tag latest { ts value } } openAlarms { id severity } } } \
    alarms(filter: {lineId: $id, open: true}, first: 100) { totalCount edges { node { id \
    severity equipment { id code line { code } } } } } }";

async fn plant_statements(app: &TestApp) -> (u32, usize) {
    let response = app.graphql(PLANT, json!({})).await;
    let data = response.data();
    let sensors: usize = data["workshops"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .flat_map(|w| w["node"]["lines"].as_array().cloned().unwrap_or_default())
        .flat_map(|l| l["equipment"].as_array().cloned().unwrap_or_default())
        .map(|e| e["sensors"].as_array().map_or(0, Vec::len))
        .sum();
    (response.sql_statements(), sensors)
}

#[tokio::test]
async fn plant_tree_costs_one_statement_per_level_whatever_the_size() {
    let small = TestApp::seeded(SMALL).await;
    let large = TestApp::seeded(LARGE).await;
    let (small_sql, small_sensors) = plant_statements(&small).await;
    let (large_sql, large_sensors) = plant_statements(&large).await;
    assert_eq!(small_sensors, 4);
    assert_eq!(large_sensors, 40, "the large fixture has 10x the sensors");
    // workshops, lines, equipment, sensors joined with their latest reading.
    assert_eq!(small_sql, 4, "root + one statement per relation level");
    assert_eq!(
        large_sql, small_sql,
        "statement count must not grow with rows"
    );
}

#[tokio::test]
async fn line_dashboard_costs_the_same_on_a_big_line() {
    let small = TestApp::seeded(SMALL).await;
    let large = TestApp::seeded(crate::helpers::Shape {
        machines_per_line: 20,
        ..SMALL
    })
    .await;
    let mut counts = Vec::new();
    for app in [&small, &large] {
        let id = app.first_id("lines").await;
        let response = app.graphql(LINE, json!({ "id": id })).await;
        let data = response.data();
        assert!(
            data["lineById"]["equipment"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        );
        counts.push(response.sql_statements());
    }
    // lineById 1; equipment 1; sensors+latest 1; open alarms 1;
    // alarms: count 1 + page 1; their equipment 1; that equipment's line 1.
    assert_eq!(counts[0], 8, "statements for the line dashboard");
    assert_eq!(
        counts[1], counts[0],
        "statement count must not grow with the line's size"
    );
}

#[tokio::test]
async fn point_query_is_two_statements() {
    let app = TestApp::seeded(SMALL).await;
    let id = app.first_id("equipment").await;
    let response = app
        .graphql(
            "query P($id: ID!) { equipmentById(id: $id) { id sensors { tag latest { value } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        response.data()["equipmentById"]["sensors"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(response.sql_statements(), 2);
}

#[tokio::test]
async fn statements_are_exported_as_metrics() {
    let app = TestApp::seeded(SMALL).await;
    app.graphql(PLANT, json!({})).await.data();
    let metrics = app.get("/metrics").await;
    let text = metrics.body.as_str().expect("text body").to_owned();
    assert!(
        text.contains("sf_sql_statements_per_request_bucket"),
        "{text}"
    );
    assert!(
        text.contains("sf_graphql_requests_total{outcome=\"ok\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn order_and_maintenance_lists_load_relations_per_level() {
    const ORDERS: &str = "{ productionOrders(first: 200) { edges { node { number \
        product { sku } line { code workshop { code } } } } } }";
    const MAINTENANCE: &str = "{ maintenanceOrders(first: 200) { nodes { number \
        equipment { code line { code } sensors { tag } } } } }";
    const SHIFTS: &str = "query S($from: DateTime!, $to: DateTime!) { shifts(from: $from, \
        to: $to) { name workshop { code lines { code } } } }";
    let now = chrono::Utc::now();
    let range = json!({
        "from": (now - chrono::Duration::days(2)).to_rfc3339(),
        "to": (now + chrono::Duration::days(2)).to_rfc3339(),
    });
    let mut counts = Vec::new();
    for shape in [SMALL, LARGE] {
        let app = TestApp::seeded(shape).await;
        let orders = app.graphql(ORDERS, json!({})).await;
        assert!(
            !orders.data()["productionOrders"]["edges"]
                .as_array()
                .expect("edges")
                .is_empty()
        );
        let maintenance = app.graphql(MAINTENANCE, json!({})).await;
        maintenance.data();
        let shifts = app.graphql(SHIFTS, range.clone()).await;
        assert!(
            !shifts.data()["shifts"]
                .as_array()
                .expect("shifts")
                .is_empty()
        );
        counts.push((
            orders.sql_statements(),
            maintenance.sql_statements(),
            shifts.sql_statements(),
        ));
    }
    // orders, products, lines, workshops | orders, equipment, sensors (the lines are cached
    // since the orders query loaded them) | shifts, workshops, lines.
    assert_eq!(counts[0], (4, 3, 3));
    assert_eq!(
        counts[1], counts[0],
        "statement counts must not grow with the data"
    );
}
