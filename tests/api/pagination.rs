//! Cursor pagination of the connections: page sizes, malformed and foreign cursors, the end of
//! a list, and walking every page.

use std::collections::HashSet;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::helpers::{LARGE, SMALL, Shape, TestApp, list};

/// Builds one page query of `field` with extra literal `args` and a node `selection`.
fn page_query(field: &str, args: &str, selection: &str) -> String {
    format!(
        "query Page($first: Int, $after: String) {{ {field}(first: $first, after: $after, {args}) \
         {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} \
         edges {{ cursor node {{ id {selection} }} }} nodes {{ id {selection} }} }} }}"
    )
}

/// Walks every page of `field` (with literal `args`, e.g. `orderBy: SEVERITY_DESC`) `page_size`
/// at a time, checking each page's invariants, and returns the nodes in the order visited.
pub async fn walk(
    app: &TestApp,
    field: &str,
    args: &str,
    selection: &str,
    page_size: usize,
) -> Vec<Value> {
    let query = page_query(field, args, selection);
    let mut after: Option<String> = None;
    let mut nodes: Vec<Value> = Vec::new();
    let mut total: Option<i64> = None;
    loop {
        let response = app
            .graphql(&query, json!({ "first": page_size, "after": after }))
            .await;
        let conn = &response.data()[field];
        let edges = list(&conn["edges"]);
        let page_nodes: Vec<Value> = edges.iter().map(|e| e["node"].clone()).collect();
        assert_eq!(
            list(&conn["nodes"]),
            &page_nodes,
            "`nodes` equals the edges' nodes"
        );
        assert!(edges.len() <= page_size, "a page holds at most `first`");
        let page_total = conn["totalCount"].as_i64().expect("totalCount");
        assert_eq!(
            *total.get_or_insert(page_total),
            page_total,
            "totalCount does not depend on the page"
        );
        let info = &conn["pageInfo"];
        assert_eq!(info["hasPreviousPage"], json!(after.is_some()));
        assert_eq!(
            info["startCursor"],
            edges.first().map_or(Value::Null, |e| e["cursor"].clone())
        );
        assert_eq!(
            info["endCursor"],
            edges.last().map_or(Value::Null, |e| e["cursor"].clone())
        );
        nodes.extend(page_nodes);
        let has_next = info["hasNextPage"].as_bool().expect("hasNextPage");
        if !has_next {
            break;
        }
        assert_eq!(edges.len(), page_size, "only the last page may be short");
        after = Some(
            info["endCursor"]
                .as_str()
                .expect("a next page has an end cursor")
                .to_owned(),
        );
        assert!(nodes.len() <= 10_000, "runaway pagination");
    }
    let ids: HashSet<&str> = nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), nodes.len(), "every item is visited once");
    assert_eq!(
        Some(nodes.len() as i64),
        total,
        "the walk visits totalCount items"
    );
    nodes
}

/// Every item of `field` in one page.
async fn one_page(app: &TestApp, field: &str, args: &str, selection: &str) -> Vec<Value> {
    let query = page_query(field, args, selection);
    let response = app.graphql(&query, json!({ "first": 500 })).await;
    let conn = &response.data()[field];
    assert_eq!(conn["pageInfo"]["hasNextPage"], json!(false));
    list(&conn["nodes"]).clone()
}

/// The connections under test: field, extra arguments, a sort-relevant selection.
const CONNECTIONS: [(&str, &str, &str); 8] = [
    ("workshops", "", "code"),
    ("lines", "", "code"),
    ("equipment", "", "code"),
    ("equipment", "orderBy: STATUS_SINCE_DESC", "statusSince"),
    ("sensors", "", "tag"),
    ("alarms", "orderBy: SEVERITY_DESC", "severity"),
    ("productionOrders", "", "plannedStart"),
    ("maintenanceOrders", "orderBy: PRIORITY_ASC", "priority"),
];

/// Whether `a` comes before `b` in the order of a connection sorted by `selection`: the sort
/// key, then the id in the same direction.
fn in_order(selection: &str, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let id = |v: &Value| -> i64 {
        v["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("numeric id")
    };
    let time = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v[selection].as_str().expect("a timestamp"))
            .expect("RFC 3339")
    };
    let rank = |v: &Value| {
        ["INDETERMINATE", "WARNING", "MINOR", "MAJOR", "CRITICAL"]
            .iter()
            .position(|s| v["severity"] == json!(s))
            .expect("a severity")
    };
    let (key, descending) = match selection {
        "code" | "tag" => (a[selection].as_str().cmp(&b[selection].as_str()), false),
        "statusSince" => (time(a).cmp(&time(b)), true),
        "plannedStart" => (time(a).cmp(&time(b)), false),
        "priority" => (a["priority"].as_i64().cmp(&b["priority"].as_i64()), false),
        "severity" => (rank(a).cmp(&rank(b)), true),
        other => panic!("no order known for {other}"),
    };
    let ordering = key.then(id(a).cmp(&id(b)));
    ordering
        == if descending {
            Ordering::Greater
        } else {
            Ordering::Less
        }
}

async fn first_cursor(app: &TestApp, field: &str, args: &str) -> String {
    let query = page_query(field, args, "");
    let response = app.graphql(&query, json!({ "first": 1 })).await;
    response.data()[field]["edges"][0]["cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a cursor of {field}: {}", response.body))
        .to_owned()
}

#[tokio::test]
async fn walking_small_pages_visits_every_item_once_in_order() {
    let app = TestApp::seeded(LARGE).await;
    for (field, args, selection) in CONNECTIONS {
        let all = one_page(&app, field, args, selection).await;
        assert!(all.len() > 1, "{field}: the fixture has several pages");
        for pair in all.windows(2) {
            assert!(
                in_order(selection, &pair[0], &pair[1]),
                "{field}({args}): {} before {}",
                pair[0],
                pair[1]
            );
        }
        for size in [1, 3] {
            if field == "productionOrders" && size == 1 {
                continue; // 270 orders: one walk is enough.
            }
            let walked = walk(&app, field, args, selection, size).await;
            assert_eq!(walked, all, "{field}({args}) in pages of {size}");
        }
    }
}

#[tokio::test]
async fn first_zero_returns_no_edges_but_page_info_and_total() {
    let app = TestApp::seeded(SMALL).await;
    for (field, args, _) in CONNECTIONS {
        let all = one_page(&app, field, args, "").await;
        let query = page_query(field, args, "");
        let response = app.graphql(&query, json!({ "first": 0 })).await;
        let conn = &response.data()[field];
        assert_eq!(conn["edges"], json!([]), "{field}");
        assert_eq!(conn["nodes"], json!([]), "{field}");
        assert_eq!(conn["totalCount"], json!(all.len()), "{field}");
        assert_eq!(
            conn["pageInfo"],
            json!({ "hasNextPage": !all.is_empty(), "hasPreviousPage": false,
                    "startCursor": null, "endCursor": null }),
            "{field}"
        );
    }
}

#[tokio::test]
async fn first_must_be_between_zero_and_the_maximum() {
    let app = TestApp::seeded(SMALL).await;
    let max = app.state.config.graphql.max_page_size;
    assert_eq!(max, 500);
    for (field, args, _) in CONNECTIONS {
        let query = page_query(field, args, "");
        for bad in [json!(-1), json!(i32::MIN), json!(max + 1), json!(max * 2)] {
            let response = app.graphql(&query, json!({ "first": bad })).await;
            assert_eq!(
                response.error_code(),
                "BAD_USER_INPUT",
                "{field} first {bad}"
            );
            assert!(response.body["data"].is_null(), "{}", response.body);
        }
        // So large that the complexity limit refuses it before the resolver runs.
        let response = app.graphql(&query, json!({ "first": i32::MAX })).await;
        assert!(response.body["data"].is_null(), "{}", response.body);
        assert!(
            ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"].contains(&response.error_code().as_str()),
            "{}",
            response.body
        );
        let response = app.graphql(&query, json!({ "first": max })).await;
        assert!(response.data()[field]["totalCount"].as_i64().is_some());
    }
}

#[tokio::test]
async fn the_default_page_size_applies_without_first() {
    let app = TestApp::seeded(SMALL).await;
    // 27 orders on SMALL's one line: under the default of 50.
    let response = app
        .graphql(
            "{ productionOrders { totalCount pageInfo { hasNextPage } nodes { id } } }",
            json!({}),
        )
        .await;
    let conn = &response.data()["productionOrders"];
    assert_eq!(conn["totalCount"], json!(27));
    assert_eq!(list(&conn["nodes"]).len(), 27);
    assert_eq!(conn["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn malformed_cursors_are_bad_input() {
    let app = TestApp::seeded(SMALL).await;
    let random = URL_SAFE_NO_PAD.encode(b"\x93\x11\xfe random bytes \x00\x7f");
    let json_not_cursor = URL_SAFE_NO_PAD.encode(br#"{"k":"equipment/code"}"#);
    let long = "A".repeat(600);
    let malformed = [
        "%%%",
        "",
        "not base64!",
        random.as_str(),
        json_not_cursor.as_str(),
        long.as_str(),
    ];
    for (field, args, _) in CONNECTIONS {
        let query = page_query(field, args, "");
        for cursor in malformed {
            let response = app
                .graphql(&query, json!({ "first": 5, "after": cursor }))
                .await;
            assert_eq!(
                response.error_code(),
                "BAD_USER_INPUT",
                "{field} after {cursor:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_cursor_of_another_list_or_ordering_is_bad_input() {
    let app = TestApp::seeded(SMALL).await;
    let alarm_cursor = first_cursor(&app, "alarms", "").await;
    let equipment_by_code = first_cursor(&app, "equipment", "orderBy: CODE_ASC").await;
    let cases = [
        ("equipment", "", alarm_cursor.clone()),
        ("sensors", "", equipment_by_code.clone()),
        ("workshops", "", equipment_by_code.clone()),
        ("equipment", "orderBy: NAME_ASC", equipment_by_code.clone()),
        (
            "equipment",
            "orderBy: STATUS_SINCE_DESC",
            equipment_by_code.clone(),
        ),
        ("alarms", "orderBy: SEVERITY_DESC", alarm_cursor.clone()),
        ("alarms", "orderBy: LAST_DESC", alarm_cursor.clone()),
        (
            "productionOrders",
            "",
            first_cursor(&app, "maintenanceOrders", "").await,
        ),
        (
            "maintenanceOrders",
            "orderBy: PRIORITY_ASC",
            first_cursor(&app, "maintenanceOrders", "orderBy: CREATED_DESC").await,
        ),
        (
            "productionOrders",
            "orderBy: CREATED_DESC",
            first_cursor(&app, "productionOrders", "orderBy: PLANNED_START_ASC").await,
        ),
    ];
    for (field, args, cursor) in cases {
        let query = page_query(field, args, "");
        let response = app
            .graphql(&query, json!({ "first": 5, "after": cursor }))
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{field}({args})");
    }
    // The same cursors are accepted by their own list and ordering.
    for (field, args, cursor) in [
        ("alarms", "", alarm_cursor),
        ("equipment", "orderBy: CODE_ASC", equipment_by_code.clone()),
        ("equipment", "", equipment_by_code),
    ] {
        let query = page_query(field, args, "");
        let response = app
            .graphql(&query, json!({ "first": 5, "after": cursor }))
            .await;
        assert_eq!(
            response.data()[field]["pageInfo"]["hasPreviousPage"],
            json!(true)
        );
    }
}

#[tokio::test]
async fn after_the_last_item_the_page_is_empty() {
    let app = TestApp::seeded(SMALL).await;
    for (field, args, _) in CONNECTIONS {
        let query = page_query(field, args, "");
        let response = app.graphql(&query, json!({ "first": 500 })).await;
        let conn = &response.data()[field];
        let last = list(&conn["edges"])
            .last()
            .map(|e| e["cursor"].clone())
            .unwrap_or_else(|| panic!("{field} has items"));
        let total = conn["totalCount"].clone();
        let response = app
            .graphql(&query, json!({ "first": 5, "after": last }))
            .await;
        let conn = &response.data()[field];
        assert_eq!(conn["edges"], json!([]), "{field}");
        assert_eq!(conn["nodes"], json!([]), "{field}");
        assert_eq!(conn["pageInfo"]["hasNextPage"], json!(false), "{field}");
        assert_eq!(conn["pageInfo"]["endCursor"], Value::Null, "{field}");
        assert_eq!(
            conn["totalCount"], total,
            "{field}: the total ignores the cursor"
        );
    }
}

#[tokio::test]
async fn a_page_continues_right_after_its_cursor_with_a_filter() {
    let app = TestApp::seeded(Shape {
        machines_per_line: 3,
        ..LARGE
    })
    .await;
    let workshop = app.first_id("workshops").await;
    let args = format!("filter: {{workshopId: \"{workshop}\"}}");
    let all = one_page(&app, "equipment", &args, "code workshopId").await;
    assert_eq!(all.len(), 15, "5 lines of 3 machines");
    assert!(all.iter().all(|e| e["workshopId"] == json!(workshop)));
    let walked = walk(&app, "equipment", &args, "code workshopId", 4).await;
    assert_eq!(walked, all);
    // Starting after the 6th item yields the 7th onwards.
    let query = page_query("equipment", &args, "code workshopId");
    let response = app.graphql(&query, json!({ "first": 6 })).await;
    let cursor = response.data()["equipment"]["pageInfo"]["endCursor"].clone();
    let response = app
        .graphql(&query, json!({ "first": 500, "after": cursor }))
        .await;
    assert_eq!(
        list(&response.data()["equipment"]["nodes"]),
        &all[6..].to_vec()
    );
}

/// A cursor as the server encodes it, forged with any content.
fn forge(content: &Value) -> String {
    URL_SAFE_NO_PAD.encode(content.to_string())
}

#[tokio::test]
async fn forged_cursors_with_the_wrong_value_type_are_bad_input() {
    let app = TestApp::seeded(SMALL).await;
    let cases = [
        // A time ordering with a text or number value.
        (
            "alarms",
            "",
            json!({ "k": "alarms/start_desc", "v": { "Text": "abc" }, "id": 1 }),
        ),
        (
            "alarms",
            "",
            json!({ "k": "alarms/start_desc", "v": { "Int": 5 }, "id": 1 }),
        ),
        // A text ordering with a number or time value.
        (
            "equipment",
            "",
            json!({ "k": "equipment/code", "v": { "Int": 5 }, "id": 1 }),
        ),
        (
            "sensors",
            "",
            json!({ "k": "sensors/tag", "v": { "Time": "2020-01-01T00:00:00Z" }, "id": 1 }),
        ),
        // A number ordering with a text value.
        (
            "alarms",
            "orderBy: SEVERITY_DESC",
            json!({ "k": "alarms/severity_desc", "v": { "Text": "5" }, "id": 1 }),
        ),
        (
            "maintenanceOrders",
            "orderBy: PRIORITY_ASC",
            json!({ "k": "maintenance_orders/priority", "v": { "Text": "x" }, "id": 1 }),
        ),
        // Text no database can compare.
        (
            "workshops",
            "",
            json!({ "k": "workshops/code", "v": { "Text": "a\u{0}b" }, "id": 1 }),
        ),
        // Not the shape of a cursor.
        (
            "workshops",
            "",
            json!({ "k": "workshops/code", "v": "WS-01", "id": 1 }),
        ),
        (
            "workshops",
            "",
            json!({ "k": "workshops/code", "v": { "Text": "WS-01" } }),
        ),
        ("workshops", "", json!([1, 2, 3])),
    ];
    for (field, args, cursor) in cases {
        let query = page_query(field, args, "");
        let response = app
            .graphql(&query, json!({ "first": 5, "after": forge(&cursor) }))
            .await;
        assert_eq!(
            response.error_code(),
            "BAD_USER_INPUT",
            "{field}({args}) after {cursor}: {}",
            response.body
        );
    }
    // A well-formed forged cursor is as good as a real one.
    let query = page_query("workshops", "", "code");
    let cursor = forge(&json!({ "k": "workshops/code", "v": { "Text": "WS-00" }, "id": 1 }));
    let response = app
        .graphql(&query, json!({ "first": 5, "after": cursor }))
        .await;
    assert_eq!(
        response.data()["workshops"]["nodes"],
        json!([{ "id": "1", "code": "WS-01" }])
    );
}
