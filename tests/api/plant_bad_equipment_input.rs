//! Refused equipment and sensor input (each with its code, and the data unchanged
//! afterwards), non-finite numbers included.

use serde_json::json;

use crate::{
    bad_input::{
        Case, case, code_cases, expect_refused, id_cases, id_of, mutate, snapshot, text_cases, with,
    },
    helpers::{SMALL, TestApp},
    plant_ops::{
        create_equipment, create_sensor, delete, sensor_input, small_ids, update_equipment,
        update_sensor,
    },
};

#[tokio::test]
async fn bad_equipment_input_is_refused_and_changes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let create = create_equipment();
    let update = update_equipment();
    let new = json!({ "lineId": ids.line, "code": "M-NEW", "name": "New", "kind": "CNC",
                      "model": "m", "serialNo": "s", "idealCycleTimeS": 10 });
    let patch = json!({ "id": ids.machines[1] });
    let mut cases: Vec<Case> = Vec::new();
    for (label, query, base) in [("create", &create, &new), ("update", &update, &patch)] {
        cases.extend(text_cases(label, query, base, "name", 200, true, true));
        cases.extend(text_cases(label, query, base, "model", 100, false, false));
        cases.extend(text_cases(
            label, query, base, "serialNo", 100, false, false,
        ));
        cases.extend(code_cases(label, query, base, "code", 32));
        for cycle in [
            json!(0),
            json!(-1),
            json!(-0.001),
            json!(86_400.5),
            json!(1e300),
            json!("fast"),
        ] {
            cases.push(case(
                label,
                query,
                base,
                json!({ "idealCycleTimeS": cycle }),
                "BAD_USER_INPUT",
            ));
        }
        for attributes in [
            json!([1, 2]),
            json!("text"),
            json!(42),
            json!(true),
            json!({ "blob": "x".repeat(17 * 1024) }),
            // NUL cannot be stored (PostgreSQL's jsonb refuses it), in values or keys.
            json!({ "note": "a\u{0}b" }),
            json!({ "list": ["ok", { "deep": "\u{0}" }] }),
            json!({ "a\u{0}": 1 }),
        ] {
            let mut c = case(
                label,
                query,
                base,
                json!({ "attributes": attributes }),
                "BAD_USER_INPUT",
            );
            c.0 = c.0.chars().take(80).collect();
            cases.push(c);
        }
        cases.push(case(
            label,
            query,
            base,
            json!({ "kind": "SPACESHIP" }),
            "BAD_USER_INPUT",
        ));
    }
    cases.extend(id_cases("create", &create, &new, "lineId", "NOT_FOUND"));
    cases.extend(id_cases("update", &update, &patch, "id", "NOT_FOUND"));
    cases.extend([
        case(
            "create",
            &create,
            &new,
            json!({ "code": "WS-01-L1-M01" }),
            "CONFLICT",
        ),
        case(
            "update",
            &update,
            &patch,
            json!({ "code": "WS-01-L1-M01" }),
            "CONFLICT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "kind": null }),
            "BAD_USER_INPUT",
        ),
    ]);
    // Non-finite numbers written as literals in the query text (JSON cannot carry them).
    let create_literal = |literal: &str| {
        format!(
            "mutation($line: ID!) {{ createEquipment(input: {{ lineId: $line, code: \"LIT\", \
             name: \"Literal\", kind: CNC, idealCycleTimeS: {literal} }}) {{ equipment {{ id \
             idealCycleTimeS }} }} }}"
        )
    };
    let update_literal = |literal: &str| {
        format!(
            "mutation($id: ID!) {{ updateEquipment(input: {{ id: $id, \
             idealCycleTimeS: {literal} }}) {{ equipment {{ id idealCycleTimeS }} }} }}"
        )
    };
    for literal in ["1e400", "-1e400", "1e999999"] {
        cases.push((
            format!("create: idealCycleTimeS literal {literal}"),
            create_literal(literal),
            json!({ "line": ids.line }),
            "BAD_USER_INPUT",
        ));
        cases.push((
            format!("update: idealCycleTimeS literal {literal}"),
            update_literal(literal),
            json!({ "id": ids.machines[1] }),
            "BAD_USER_INPUT",
        ));
    }
    for id in ["abc", "-1"] {
        cases.push((
            format!("delete: id {id:?}"),
            delete("deleteEquipment"),
            json!({ "input": { "id": id } }),
            "BAD_USER_INPUT",
        ));
    }
    cases.push((
        "delete: unknown id".into(),
        delete("deleteEquipment"),
        json!({ "input": { "id": "999999" } }),
        "NOT_FOUND",
    ));
    cases.push((
        "delete: equipment with sensors".into(),
        delete("deleteEquipment"),
        json!({ "input": { "id": ids.machines[0] } }),
        "CONFLICT",
    ));
    expect_refused(&app, cases).await;

    // Boundaries are accepted.
    let ok = mutate(
        &app,
        &create_equipment(),
        with(
            &new,
            json!({ "idealCycleTimeS": 86_400, "model": "m".repeat(100), "serialNo": "s".repeat(100),
                    "attributes": { "blob": "x".repeat(15 * 1024) } }),
        ),
    )
    .await;
    assert_eq!(ok["equipment"]["idealCycleTimeS"], 86_400.0);
    let tiny = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id_of(&ok["equipment"]), "idealCycleTimeS": 0.001 }),
    )
    .await;
    assert_eq!(tiny["equipment"]["idealCycleTimeS"], 0.001);

    // The literal queries themselves are sound: a finite literal goes through.
    let response = app
        .graphql(&create_literal("12.5"), json!({ "line": ids.line }))
        .await;
    assert_eq!(
        response.data()["createEquipment"]["equipment"]["idealCycleTimeS"],
        12.5
    );
    let response = app
        .graphql(&update_literal("1.5e1"), json!({ "id": ids.machines[1] }))
        .await;
    assert_eq!(
        response.data()["updateEquipment"]["equipment"]["idealCycleTimeS"],
        15.0
    );
}

#[tokio::test]
async fn bad_sensor_input_is_refused_and_changes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let create = create_sensor();
    let update = update_sensor();
    let new = sensor_input(&ids.machines[0], "S-NEW");
    let patch = json!({ "id": ids.sensor });
    let mut cases: Vec<Case> = Vec::new();
    for (label, query, base) in [("create", &create, &new), ("update", &update, &patch)] {
        cases.extend(text_cases(label, query, base, "name", 200, true, true));
        cases.extend(text_cases(label, query, base, "unit", 16, true, true));
        cases.extend(code_cases(label, query, base, "tag", 64));
        for interval in [
            json!(9),
            json!(0),
            json!(-1),
            json!(86_400_001),
            json!(2_147_483_648_i64),
            json!(1.5),
        ] {
            cases.push(case(
                label,
                query,
                base,
                json!({ "sampleIntervalMs": interval }),
                "BAD_USER_INPUT",
            ));
        }
        for thresholds in [
            json!({ "loLo": 2, "lo": 1 }),
            json!({ "lo": 5, "hi": 4 }),
            json!({ "hi": 10, "hiHi": 9 }),
            json!({ "loLo": 10, "hiHi": 9 }),
            json!({ "loLo": 1, "lo": 2, "hi": 3, "hiHi": 2.5 }),
            json!({ "loLo": 0, "lo": 5, "hi": 4, "hiHi": 9 }),
            json!({ "lo": 1, "hiHi": 0 }),
            json!({ "deadband": -0.5 }),
            json!({ "deadband": 1e13 }),
            json!({ "hi": "high" }),
        ] {
            cases.push(case(
                label,
                query,
                base,
                json!({ "thresholds": thresholds }),
                "BAD_USER_INPUT",
            ));
        }
        cases.push(case(
            label,
            query,
            base,
            json!({ "metric": "SMELL" }),
            "BAD_USER_INPUT",
        ));
    }
    cases.extend(id_cases(
        "create",
        &create,
        &new,
        "equipmentId",
        "NOT_FOUND",
    ));
    cases.extend(id_cases("update", &update, &patch, "id", "NOT_FOUND"));
    cases.extend([
        case(
            "create",
            &create,
            &new,
            json!({ "tag": "WS-01-L1-M02.TEMPERATURE" }),
            "CONFLICT",
        ),
        case(
            "update",
            &update,
            &patch,
            json!({ "tag": "WS-01-L1-M01.VIBRATION_RMS" }),
            "CONFLICT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "unit": null }),
            "BAD_USER_INPUT",
        ),
        case(
            "create",
            &create,
            &new,
            json!({ "sampleIntervalMs": null }),
            "BAD_USER_INPUT",
        ),
    ]);
    // Non-finite thresholds as literals in the query text.
    let update_literal = |field: &str, literal: &str| {
        format!(
            "mutation($id: ID!) {{ updateSensor(input: {{ id: $id, thresholds: \
             {{ {field}: {literal} }} }}) {{ sensor {{ id hi loLo deadband }} }} }}"
        )
    };
    let create_literal = |field: &str, literal: &str| {
        format!(
            "mutation($eq: ID!) {{ createSensor(input: {{ equipmentId: $eq, tag: \"LIT\", \
             name: \"Literal\", metric: OTHER, unit: \"u\", sampleIntervalMs: 1000, \
             thresholds: {{ {field}: {literal} }} }}) {{ sensor {{ id hi loLo deadband }} }} }}"
        )
    };
    for (field, literal) in [("hi", "1e400"), ("loLo", "-1e400"), ("deadband", "1e400")] {
        cases.push((
            format!("update: thresholds.{field} literal {literal}"),
            update_literal(field, literal),
            json!({ "id": ids.sensor }),
            "BAD_USER_INPUT",
        ));
        cases.push((
            format!("create: thresholds.{field} literal {literal}"),
            create_literal(field, literal),
            json!({ "eq": ids.machines[0] }),
            "BAD_USER_INPUT",
        ));
    }
    for id in ["abc", "-1"] {
        cases.push((
            format!("delete: id {id:?}"),
            delete("deleteSensor"),
            json!({ "input": { "id": id } }),
            "BAD_USER_INPUT",
        ));
    }
    cases.push((
        "delete: unknown id".into(),
        delete("deleteSensor"),
        json!({ "input": { "id": "999999" } }),
        "NOT_FOUND",
    ));
    expect_refused(&app, cases).await;

    // The literal queries themselves are sound: a finite literal goes through.
    let response = app
        .graphql(&update_literal("hi", "1e3"), json!({ "id": ids.sensor }))
        .await;
    assert_eq!(response.data()["updateSensor"]["sensor"]["hi"], 1000.0);
    let response = app
        .graphql(
            &create_literal("loLo", "-4.5"),
            json!({ "eq": ids.machines[0] }),
        )
        .await;
    assert_eq!(response.data()["createSensor"]["sensor"]["loLo"], -4.5);
}

#[tokio::test]
async fn a_non_finite_number_in_json_variables_is_refused_with_a_code() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = snapshot(&app).await;
    // `1e400` is valid JSON syntax, but no finite double.
    let body = format!(
        r#"{{"query":"mutation($input: UpdateEquipmentInput!) {{ updateEquipment(input: $input) {{ equipment {{ idealCycleTimeS }} }} }}","variables":{{"input":{{"id":"{}","idealCycleTimeS":1e400}}}}}}"#,
        ids.machines[0]
    );
    let response = app
        .post_raw("application/json", None, body.into_bytes())
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT", "{}", response.body);
    assert_eq!(snapshot(&app).await, before);
}
