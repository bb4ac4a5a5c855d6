//! Refused plant input (each with its code, and the data unchanged afterwards): workshops and
//! lines, deletes that would orphan children, and point queries and list filters.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{
    bad_input::{
        Case, case, code_cases, expect_refused, id_cases, id_of, mutate, strings, text_cases, with,
    },
    helpers::{SMALL, TestApp},
    plant_ops::{
        EQUIPMENT_BY_ID, LINE_BY_ID, WORKSHOP_BY_ID, WORKSHOPS, by_id, codes, create_line,
        create_workshop, delete, small_ids, update_line, update_workshop,
    },
};

#[tokio::test]
async fn bad_workshop_input_is_refused_and_changes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let other = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "WS-02", "name": "Second" }),
    )
    .await;
    let other = id_of(&other["workshop"]);

    let create = create_workshop();
    let update = update_workshop();
    let new = json!({ "code": "WS-NEW", "name": "New", "description": "d" });
    let patch = json!({ "id": other });
    let mut cases: Vec<Case> = Vec::new();
    for (label, query, base) in [("create", &create, &new), ("update", &update, &patch)] {
        cases.extend(text_cases(label, query, base, "name", 200, true, true));
        cases.extend(text_cases(
            label,
            query,
            base,
            "description",
            2000,
            false,
            false,
        ));
        cases.extend(code_cases(label, query, base, "code", 32));
    }
    cases.extend(id_cases("create", &create, &new, "siteId", "NOT_FOUND"));
    cases.extend(id_cases("update", &update, &patch, "id", "NOT_FOUND"));
    cases.extend([
        case(
            "create",
            &create,
            &new,
            json!({ "code": "WS-01" }),
            "CONFLICT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "code": " WS-01 " }),
            "CONFLICT",
        ),
        case(
            "update",
            &update,
            &patch,
            json!({ "code": "WS-01" }),
            "CONFLICT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "name": null }),
            "BAD_USER_INPUT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "code": null }),
            "BAD_USER_INPUT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "name": 5 }),
            "BAD_USER_INPUT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "extra": 1 }),
            "BAD_USER_INPUT",
        ),
        case(
            "update",
            &update,
            &patch,
            json!({ "id": null }),
            "BAD_USER_INPUT",
        ),
    ]);
    for id in ["abc", "-1", "0"] {
        cases.push((
            format!("delete: id {id:?}"),
            delete("deleteWorkshop"),
            json!({ "input": { "id": id } }),
            "BAD_USER_INPUT",
        ));
    }
    cases.push((
        "delete: unknown id".into(),
        delete("deleteWorkshop"),
        json!({ "input": { "id": "999999" } }),
        "NOT_FOUND",
    ));
    cases.push((
        "delete: workshop with lines".into(),
        delete("deleteWorkshop"),
        json!({ "input": { "id": ids.workshop } }),
        "CONFLICT",
    ));
    expect_refused(&app, cases).await;

    // Boundaries are accepted.
    let ok = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "C".repeat(32), "name": "é".repeat(200), "description": "d".repeat(2000) }),
    )
    .await;
    assert_eq!(ok["workshop"]["name"], "é".repeat(200));
    assert_eq!(ok["workshop"]["code"], "C".repeat(32));
}

#[tokio::test]
async fn creating_a_workshop_without_a_site_needs_exactly_one_site() {
    let create = json!({ "input": { "code": "WS-09", "name": "Ninth" } });

    // No site at all.
    let empty = TestApp::spawn().await;
    let response = empty.graphql(&create_workshop(), create.clone()).await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT", "{}", response.body);
    assert!(
        response.error_message().contains("exactly one site"),
        "{}",
        response.body
    );
    assert_eq!(empty.count("workshops").await, 0);

    // Two sites: the site must be named, and the site filter tells them apart.
    let app = TestApp::seeded(SMALL).await;
    app.state
        .db
        .write
        .execute_unprepared(
            "INSERT INTO sites (code, name, timezone) VALUES ('PLANT-2', 'Second plant', 'UTC')",
        )
        .await
        .expect("second site");
    let sites = app.graphql("{ sites { id code } }", json!({})).await;
    let sites = sites.data()["sites"].as_array().expect("sites").clone();
    assert_eq!(strings(&sites, "code"), ["PLANT-1", "PLANT-2"]);
    let cases: Vec<Case> = vec![(
        "two sites, none named".into(),
        create_workshop(),
        create.clone(),
        "BAD_USER_INPUT",
    )];
    expect_refused(&app, cases).await;
    let created = mutate(
        &app,
        &create_workshop(),
        with(&create["input"], json!({ "siteId": sites[1]["id"] })),
    )
    .await;
    assert_eq!(created["workshop"]["site"]["code"], "PLANT-2");
    for (site, expected) in [(&sites[0]["id"], "WS-01"), (&sites[1]["id"], "WS-09")] {
        assert_eq!(
            codes(&app, WORKSHOPS, json!({ "siteId": site }), "code").await,
            [expected]
        );
    }
}

#[tokio::test]
async fn bad_line_input_is_refused_and_changes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let other = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": ids.workshop, "code": "WS-01-L2", "name": "Second" }),
    )
    .await;
    let other = id_of(&other["line"]);

    let create = create_line();
    let update = update_line();
    let new = json!({ "workshopId": ids.workshop, "code": "L-NEW", "name": "New" });
    let patch = json!({ "id": other });
    let mut cases: Vec<Case> = Vec::new();
    for (label, query, base) in [("create", &create, &new), ("update", &update, &patch)] {
        cases.extend(text_cases(label, query, base, "name", 200, true, true));
        cases.extend(code_cases(label, query, base, "code", 32));
        cases.push(case(
            label,
            query,
            base,
            json!({ "status": "FLYING" }),
            "BAD_USER_INPUT",
        ));
        cases.push(case(
            label,
            query,
            base,
            json!({ "status": "running" }),
            "BAD_USER_INPUT",
        ));
    }
    cases.extend(id_cases("create", &create, &new, "workshopId", "NOT_FOUND"));
    cases.extend(id_cases("update", &update, &patch, "id", "NOT_FOUND"));
    // Bottleneck: malformed, unknown, or a machine of another line.
    cases.extend(id_cases(
        "update",
        &update,
        &patch,
        "bottleneckEquipmentId",
        "BAD_USER_INPUT",
    ));
    cases.extend([
        case(
            "update",
            &update,
            &patch,
            json!({ "bottleneckEquipmentId": ids.machines[0] }),
            "BAD_USER_INPUT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "code": "WS-01-L1" }),
            "CONFLICT",
        ),
        case(
            "update",
            &update,
            &patch,
            json!({ "code": "WS-01-L1" }),
            "CONFLICT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "workshopId": null }),
            "BAD_USER_INPUT",
        ),
    ]);
    for id in ["abc", "-1"] {
        cases.push((
            format!("delete: id {id:?}"),
            delete("deleteLine"),
            json!({ "input": { "id": id } }),
            "BAD_USER_INPUT",
        ));
    }
    cases.push((
        "delete: unknown id".into(),
        delete("deleteLine"),
        json!({ "input": { "id": "999999" } }),
        "NOT_FOUND",
    ));
    cases.push((
        "delete: line with equipment".into(),
        delete("deleteLine"),
        json!({ "input": { "id": ids.line } }),
        "CONFLICT",
    ));
    expect_refused(&app, cases).await;
}

#[tokio::test]
async fn deleting_a_parent_that_still_has_children_is_a_conflict_and_deletes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let cases: Vec<Case> = vec![
        (
            "workshop with lines".into(),
            delete("deleteWorkshop"),
            json!({ "input": { "id": ids.workshop } }),
            "CONFLICT",
        ),
        (
            "line with equipment".into(),
            delete("deleteLine"),
            json!({ "input": { "id": ids.line } }),
            "CONFLICT",
        ),
        (
            "equipment with sensors".into(),
            delete("deleteEquipment"),
            json!({ "input": { "id": ids.machines[0] } }),
            "CONFLICT",
        ),
    ];
    expect_refused(&app, cases).await;
    assert_eq!(
        by_id(&app, WORKSHOP_BY_ID, &ids.workshop).await["code"],
        "WS-01"
    );
    assert_eq!(by_id(&app, LINE_BY_ID, &ids.line).await["code"], "WS-01-L1");
    assert_eq!(
        by_id(&app, EQUIPMENT_BY_ID, &ids.machines[0]).await["sensors"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn point_queries_refuse_unknown_and_malformed_ids_and_bad_filters() {
    let app = TestApp::seeded(SMALL).await;
    let mut cases: Vec<Case> = Vec::new();
    for field in ["workshopById", "lineById", "equipmentById", "sensorById"] {
        let query = format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}");
        for bad in ["abc", "-1", "0", "1e3", "", "99999999999999999999"] {
            cases.push((
                format!("{field}({bad:?})"),
                query.clone(),
                json!({ "id": bad }),
                "BAD_USER_INPUT",
            ));
        }
        for unknown in [
            json!("999999"),
            json!(999_999),
            json!("9223372036854775807"),
        ] {
            cases.push((
                format!("{field}({unknown})"),
                query.clone(),
                json!({ "id": unknown }),
                "NOT_FOUND",
            ));
        }
        cases.push((
            format!("{field}(null)"),
            query.clone(),
            json!({ "id": null }),
            "BAD_USER_INPUT",
        ));
    }
    let filters = [
        ("workshops", "WorkshopFilter", "siteId"),
        ("lines", "LineFilter", "workshopId"),
        ("equipment", "EquipmentFilter", "workshopId"),
        ("equipment", "EquipmentFilter", "lineId"),
        ("sensors", "SensorFilter", "workshopId"),
        ("sensors", "SensorFilter", "lineId"),
        ("sensors", "SensorFilter", "equipmentId"),
    ];
    for (list, input, field) in filters {
        let query =
            format!("query($f: {input}) {{ {list}(filter: $f) {{ edges {{ node {{ id }} }} }} }}");
        for bad in ["abc", "-1", "0"] {
            cases.push((
                format!("{list}({field}: {bad:?})"),
                query.clone(),
                json!({ "f": { field: bad } }),
                "BAD_USER_INPUT",
            ));
        }
    }
    for (list, input) in [
        ("workshops", "WorkshopFilter"),
        ("lines", "LineFilter"),
        ("equipment", "EquipmentFilter"),
        ("sensors", "SensorFilter"),
    ] {
        let query =
            format!("query($f: {input}) {{ {list}(filter: $f) {{ edges {{ node {{ id }} }} }} }}");
        for (what, search) in [("101 chars", "s".repeat(101)), ("NUL", "a\u{0}".into())] {
            cases.push((
                format!("{list}(search: {what})"),
                query.clone(),
                json!({ "f": { "search": search } }),
                "BAD_USER_INPUT",
            ));
        }
    }
    cases.extend([
        (
            "equipment(kind: unknown)".into(),
            "{ equipment(filter: { kind: BOAT }) { totalCount } }".into(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "equipment(status: unknown)".into(),
            "{ equipment(filter: { status: [RUNNING, ASLEEP] }) { totalCount } }".into(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "equipment(orderBy: unknown)".into(),
            "{ equipment(orderBy: PRICE_DESC) { totalCount } }".into(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "sensors(metric: unknown)".into(),
            "{ sensors(filter: { metric: SMELL }) { totalCount } }".into(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "lines(status: unknown)".into(),
            "{ lines(filter: { status: [SLEEPING] }) { totalCount } }".into(),
            json!({}),
            "BAD_USER_INPUT",
        ),
    ]);
    expect_refused(&app, cases).await;
}
