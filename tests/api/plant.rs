//! Plant structure through the API: sites, workshops, lines, equipment and sensors; their
//! queries, filters, orderings and relations, every mutation, and refused input (each with
//! its code, and the data unchanged afterwards).

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{HOSTILE_STRINGS, LARGE, SMALL, TestApp};

// ---------------------------------------------------------------------------------------
// Shared helpers (also used by `products.rs`).
// ---------------------------------------------------------------------------------------

/// One refused request: (case name, query, variables, expected `extensions.code`).
pub(crate) type Case = (String, String, Value, &'static str);

/// Everything a failed write could have touched: every row of the plant with every field,
/// and every product.
const SNAPSHOT: [&str; 5] = [
    "{ sites { id code name timezone } }",
    "{ workshops(first: 100) { totalCount edges { node { id code name description createdAt \
      site { id } } } } }",
    "{ lines(first: 100) { totalCount edges { node { id code name status \
      bottleneckEquipmentId workshop { id } } } } }",
    "{ equipment(first: 100) { totalCount edges { node { id code name kind model serialNo \
      idealCycleTimeS status statusSince attributes lineId workshopId } } } }",
    "{ sensors(first: 100) { totalCount edges { node { id tag name metric unit \
      sampleIntervalMs loLo lo hi hiHi deadband active equipmentId } } } \
      products(first: 100) { totalCount edges { node { id sku name unit idealCycleTimeS } } } }",
];

/// Tables whose row counts must not move when a write is refused.
const TABLES: [&str; 6] = [
    "sites",
    "workshops",
    "production_lines",
    "equipment",
    "sensors",
    "products",
];

/// The state a refused write must leave as it was: API view plus raw row counts.
pub(crate) async fn snapshot(app: &TestApp) -> (Value, Vec<i64>) {
    let mut view = Vec::with_capacity(SNAPSHOT.len());
    for query in SNAPSHOT {
        view.push(app.graphql(query, json!({})).await.data().clone());
    }
    let view = Value::Array(view);
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push(app.count(table).await);
    }
    (view, counts)
}

/// Runs every case, expecting its error code and no change to the data; reports every
/// failing case by name.
pub(crate) async fn expect_refused(app: &TestApp, cases: Vec<Case>) {
    assert!(!cases.is_empty(), "no cases");
    let total = cases.len();
    let before = snapshot(app).await;
    let mut failures = Vec::new();
    for (name, query, variables, code) in cases {
        let response = app.graphql(&query, variables).await;
        let got = response.body["errors"][0]["extensions"]["code"].as_str();
        if got != Some(code) {
            failures.push(format!("{name}: expected {code}, got {}", response.body));
            continue;
        }
        if snapshot(app).await != before {
            failures.push(format!("{name}: refused with {code} but the data changed"));
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

/// A mutation taking one `input`.
pub(crate) fn op(field: &str, input_type: &str, selection: &str) -> String {
    format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}")
}

/// `base` with the keys of `patch` replaced (a `null` in `patch` removes the key).
pub(crate) fn with(base: &Value, patch: Value) -> Value {
    let mut out = base.clone();
    if let (Some(out), Value::Object(patch)) = (out.as_object_mut(), patch) {
        for (k, v) in patch {
            if v.is_null() {
                out.remove(&k);
            } else {
                out.insert(k, v);
            }
        }
    }
    out
}

/// Runs a mutation that must succeed and returns its payload.
pub(crate) async fn mutate(app: &TestApp, query: &str, input: Value) -> Value {
    let response = app.graphql(query, json!({ "input": input })).await;
    let data = response.data();
    let field = data
        .as_object()
        .and_then(|o| o.values().next())
        .expect("one mutation field");
    field.clone()
}

/// The nodes of a connection.
pub(crate) fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// One string field of every item of a list.
pub(crate) fn strings(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i[field]
                .as_str()
                .unwrap_or_else(|| panic!("`{field}` in {i}"))
                .to_owned()
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

// ---------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------

const WORKSHOP: &str = "id code name description createdAt site { code }";
const LINE: &str = "id code name status bottleneckEquipmentId workshop { id code }";
const EQUIPMENT: &str = "id code name kind model serialNo idealCycleTimeS status statusSince \
    attributes lineId workshopId line { id code } workshop { id code }";
const SENSOR: &str = "id tag name metric unit sampleIntervalMs loLo lo hi hiHi deadband active \
    equipmentId equipment { id code }";

fn create_workshop() -> String {
    op(
        "createWorkshop",
        "CreateWorkshopInput",
        &format!("workshop {{ {WORKSHOP} }}"),
    )
}
fn update_workshop() -> String {
    op(
        "updateWorkshop",
        "UpdateWorkshopInput",
        &format!("workshop {{ {WORKSHOP} }}"),
    )
}
fn create_line() -> String {
    op(
        "createLine",
        "CreateLineInput",
        &format!("line {{ {LINE} }}"),
    )
}
fn update_line() -> String {
    op(
        "updateLine",
        "UpdateLineInput",
        &format!("line {{ {LINE} }}"),
    )
}
fn create_equipment() -> String {
    op(
        "createEquipment",
        "CreateEquipmentInput",
        &format!("equipment {{ {EQUIPMENT} }}"),
    )
}
fn update_equipment() -> String {
    op(
        "updateEquipment",
        "UpdateEquipmentInput",
        &format!("equipment {{ {EQUIPMENT} }}"),
    )
}
fn create_sensor() -> String {
    op(
        "createSensor",
        "CreateSensorInput",
        &format!("sensor {{ {SENSOR} }}"),
    )
}
fn update_sensor() -> String {
    op(
        "updateSensor",
        "UpdateSensorInput",
        &format!("sensor {{ {SENSOR} }}"),
    )
}
fn delete(field: &str) -> String {
    op(field, "DeleteInput", "deletedId")
}

const WORKSHOP_BY_ID: &str = "query($id: ID!) { workshopById(id: $id) { id code name \
    description createdAt site { id code name timezone } lines { id code equipment { code } } } }";
const LINE_BY_ID: &str = "query($id: ID!) { lineById(id: $id) { id code name status \
    bottleneckEquipmentId workshop { id code } equipment { id code } } }";
const EQUIPMENT_BY_ID: &str = "query($id: ID!) { equipmentById(id: $id) { id code name kind \
    model serialNo idealCycleTimeS status statusSince attributes lineId workshopId \
    line { id code } workshop { id code } sensors { id tag } } }";
const SENSOR_BY_ID: &str = "query($id: ID!) { sensorById(id: $id) { id tag name metric unit \
    sampleIntervalMs loLo lo hi hiHi deadband active equipmentId \
    equipment { id code line { code } } } }";

async fn by_id(app: &TestApp, query: &str, id: &str) -> Value {
    let response = app.graphql(query, json!({ "id": id })).await;
    let data = response.data();
    data.as_object()
        .and_then(|o| o.values().next())
        .expect("one field")
        .clone()
}

async fn list(app: &TestApp, query: &str, variables: Value) -> Vec<Value> {
    let response = app.graphql(query, variables).await;
    let data = response.data();
    nodes(
        data.as_object()
            .and_then(|o| o.values().next())
            .expect("one field"),
    )
}

const WORKSHOPS: &str = "query($filter: WorkshopFilter) { workshops(filter: $filter, first: 100) \
    { totalCount edges { node { id code name description site { code } lines { code } } } } }";
const LINES: &str = "query($filter: LineFilter) { lines(filter: $filter, first: 100) \
    { totalCount edges { node { id code name status workshop { code } equipment { code } } } } }";
const EQUIPMENT_LIST: &str = "query($filter: EquipmentFilter, $order: EquipmentOrder) \
    { equipment(filter: $filter, orderBy: $order, first: 100) { totalCount edges { node \
    { id code name kind model status statusSince line { code } workshop { code } } } } }";
const SENSORS: &str = "query($filter: SensorFilter) { sensors(filter: $filter, first: 100) \
    { totalCount edges { node { id tag name metric active equipment { code line { code } } } } } }";

async fn codes(app: &TestApp, query: &str, filter: Value, field: &str) -> Vec<String> {
    strings(&list(app, query, json!({ "filter": filter })).await, field)
}

/// Ids of the seeded SMALL plant.
struct Small {
    workshop: String,
    line: String,
    /// WS-01-L1-M01, WS-01-L1-M02.
    machines: [String; 2],
    /// WS-01-L1-M01.TEMPERATURE.
    sensor: String,
}

async fn small_ids(app: &TestApp) -> Small {
    let machines = list(app, EQUIPMENT_LIST, json!({})).await;
    Small {
        workshop: app.first_id("workshops").await,
        line: app.first_id("lines").await,
        machines: [id_of(&machines[0]), id_of(&machines[1])],
        sensor: app.first_id("sensors").await,
    }
}

fn equipment_input(line: &str, code: &str) -> Value {
    json!({ "lineId": line, "code": code, "name": "Test machine", "kind": "ROBOT" })
}

fn sensor_input(equipment: &str, tag: &str) -> Value {
    json!({ "equipmentId": equipment, "tag": tag, "name": "Test sensor", "metric": "PRESSURE",
            "unit": "bar", "sampleIntervalMs": 1000 })
}

// ---------------------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sites_lists_the_one_seeded_site() {
    let app = TestApp::seeded(SMALL).await;
    let response = app
        .graphql("{ sites { id code name timezone } }", json!({}))
        .await;
    let sites = response.data()["sites"].as_array().expect("list").clone();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0]["code"], "PLANT-1");
    assert_eq!(sites[0]["name"], "Demo plant");
    assert_eq!(sites[0]["timezone"], "UTC");
    let empty = TestApp::spawn().await;
    let response = empty.graphql("{ sites { id } }", json!({})).await;
    assert_eq!(response.data()["sites"], json!([]));
}

#[tokio::test]
async fn workshops_list_their_site_and_lines_and_filter_by_site_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(WORKSHOPS, json!({})).await;
    let data = response.data();
    assert_eq!(data["workshops"]["totalCount"], 2);
    let all = nodes(&data["workshops"]);
    assert_eq!(strings(&all, "code"), ["WS-01", "WS-02"]);
    assert_eq!(strings(&all, "name"), ["Workshop 1", "Workshop 2"]);
    assert_eq!(all[1]["description"], "Assembly hall 2");
    assert_eq!(all[0]["site"]["code"], "PLANT-1");
    let lines: Vec<String> = (1..=5).map(|l| format!("WS-02-L{l}")).collect();
    assert_eq!(
        strings(all[1]["lines"].as_array().expect("lines"), "code"),
        lines
    );

    let site = app.graphql("{ sites { id } }", json!({})).await.data()["sites"][0]["id"].clone();
    let cases = [
        (json!({ "siteId": site }), vec!["WS-01", "WS-02"]),
        (json!({ "siteId": "999999" }), vec![]),
        (json!({ "search": "ws-02" }), vec!["WS-02"]),
        (json!({ "search": "WORKSHOP 1" }), vec!["WS-01"]),
        (json!({ "search": "workshop" }), vec!["WS-01", "WS-02"]),
        // The description is not searched.
        (json!({ "search": "Assembly" }), vec![]),
        // Blank means no search.
        (json!({ "search": "   " }), vec!["WS-01", "WS-02"]),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, WORKSHOPS, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn workshop_by_id_returns_the_workshop_with_site_lines_and_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let w = by_id(&app, WORKSHOP_BY_ID, &ids.workshop).await;
    assert_eq!(w["id"], ids.workshop.as_str());
    assert_eq!(w["code"], "WS-01");
    assert_eq!(w["name"], "Workshop 1");
    assert_eq!(w["description"], "Assembly hall 1");
    assert!(w["createdAt"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(w["site"]["code"], "PLANT-1");
    assert_eq!(w["site"]["timezone"], "UTC");
    assert_eq!(w["lines"][0]["id"], ids.line.as_str());
    assert_eq!(w["lines"][0]["code"], "WS-01-L1");
    assert_eq!(
        w["lines"][0]["equipment"],
        json!([{ "code": "WS-01-L1-M01" }, { "code": "WS-01-L1-M02" }])
    );
}

#[tokio::test]
async fn lines_list_their_workshop_and_equipment_and_filter_by_workshop_status_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(LINES, json!({})).await;
    assert_eq!(response.data()["lines"]["totalCount"], 10);
    let all = nodes(&response.data()["lines"]);
    let expected: Vec<String> = (1..=2)
        .flat_map(|w| (1..=5).map(move |l| format!("WS-0{w}-L{l}")))
        .collect();
    assert_eq!(strings(&all, "code"), expected, "by code");
    assert!(all.iter().all(|l| l["status"] == "RUNNING"));
    assert_eq!(all[7]["name"], "Workshop 2 line 3");
    assert_eq!(all[7]["workshop"]["code"], "WS-02");
    assert_eq!(
        all[7]["equipment"],
        json!([{ "code": "WS-02-L3-M01" }, { "code": "WS-02-L3-M02" }])
    );

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let down = id_of(&all[3]);
    mutate(
        &app,
        &update_line(),
        json!({ "id": down, "status": "DOWN" }),
    )
    .await;

    let cases = [
        (json!({ "workshopId": ws2 }), expected[5..].to_vec()),
        (json!({ "workshopId": "999999" }), vec![]),
        (json!({ "status": ["DOWN"] }), vec!["WS-01-L4".to_owned()]),
        (
            json!({ "status": ["RUNNING"] }),
            expected
                .iter()
                .filter(|c| *c != "WS-01-L4")
                .cloned()
                .collect(),
        ),
        (json!({ "status": ["RUNNING", "DOWN"] }), expected.clone()),
        (json!({ "status": ["IDLE", "OFFLINE"] }), vec![]),
        (
            json!({ "search": "l3" }),
            vec!["WS-01-L3".to_owned(), "WS-02-L3".to_owned()],
        ),
        (
            json!({ "search": "workshop 2 LINE 4" }),
            vec!["WS-02-L4".to_owned()],
        ),
        (json!({ "workshopId": ws2, "status": ["DOWN"] }), vec![]),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, LINES, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn line_by_id_returns_the_line_with_workshop_and_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let line = by_id(&app, LINE_BY_ID, &ids.line).await;
    assert_eq!(line["id"], ids.line.as_str());
    assert_eq!(line["code"], "WS-01-L1");
    assert_eq!(line["name"], "Workshop 1 line 1");
    assert_eq!(line["status"], "RUNNING");
    assert_eq!(line["bottleneckEquipmentId"], Value::Null);
    assert_eq!(line["workshop"]["id"], ids.workshop.as_str());
    assert_eq!(line["workshop"]["code"], "WS-01");
    assert_eq!(
        strings(line["equipment"].as_array().expect("list"), "id"),
        ids.machines
    );
}

#[tokio::test]
async fn equipment_filters_by_workshop_line_kind_status_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(EQUIPMENT_LIST, json!({})).await;
    assert_eq!(response.data()["equipment"]["totalCount"], 20);
    let all = nodes(&response.data()["equipment"]);
    let seeded: Vec<String> = (1..=2)
        .flat_map(|w| {
            (1..=5).flat_map(move |l| (1..=2).map(move |m| format!("WS-0{w}-L{l}-M0{m}")))
        })
        .collect();
    assert_eq!(strings(&all, "code"), seeded, "by code");
    let ending = |suffix: &str| -> Vec<String> {
        seeded
            .iter()
            .filter(|c| c.ends_with(suffix))
            .cloned()
            .collect()
    };
    assert!(all.iter().all(|e| {
        e["line"]["code"]
            .as_str()
            .is_some_and(|l| e["code"].as_str().is_some_and(|c| c.starts_with(l)))
    }));

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let line = app
        .graphql(LINES, json!({ "filter": { "search": "WS-01-L2" } }))
        .await
        .data()["lines"]["edges"][0]["node"]["id"]
        .clone();

    // A machine in a state no seeded machine is in, so that the status filter must choose.
    let created = mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": line, "code": "WS-01-L2-M03", "name": "Spare", "kind": "OTHER" }),
    )
    .await;
    assert_eq!(created["equipment"]["status"], "OFFLINE");
    let mut every = seeded.clone();
    every.insert(4, "WS-01-L2-M03".to_owned());
    let response = app.graphql(EQUIPMENT_LIST, json!({})).await;
    let all = nodes(&response.data()["equipment"]);
    assert_eq!(strings(&all, "code"), every);

    let cases = [
        (json!({ "workshopId": ws2 }), every[11..].to_vec()),
        (json!({ "workshopId": "999999" }), vec![]),
        (
            json!({ "lineId": line }),
            vec!["WS-01-L2-M01", "WS-01-L2-M02", "WS-01-L2-M03"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (json!({ "kind": "CNC" }), ending("M01")),
        (json!({ "kind": "PRESS" }), ending("M02")),
        (json!({ "kind": "OTHER" }), vec!["WS-01-L2-M03".to_owned()]),
        (json!({ "kind": "WELDER" }), vec![]),
        (
            json!({ "kind": "CNC", "workshopId": ws2 }),
            every[11..]
                .iter()
                .filter(|c| c.ends_with("M01"))
                .cloned()
                .collect(),
        ),
        (
            json!({ "kind": "CNC", "lineId": line }),
            vec!["WS-01-L2-M01".to_owned()],
        ),
        // The model (X-110 on every second machine), case-insensitive.
        (json!({ "search": "x-110" }), ending("M02")),
        // The name.
        (json!({ "search": "press" }), ending("M02")),
        (
            json!({ "search": "spare" }),
            vec!["WS-01-L2-M03".to_owned()],
        ),
        // The code.
        (
            json!({ "search": "ws-02-l5-m01" }),
            vec!["WS-02-L5-M01".to_owned()],
        ),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
        (json!({ "search": "\\" }), vec![]),
        (json!({ "status": [] }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, EQUIPMENT_LIST, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }

    // Status: each state the machines are in selects exactly them, and lists combine.
    let statuses = ["RUNNING", "IDLE", "SETUP", "DOWN", "MAINTENANCE", "OFFLINE"];
    let in_state = |states: &[&str]| -> Vec<String> {
        all.iter()
            .filter(|e| states.iter().any(|s| e["status"] == *s))
            .map(|e| e["code"].as_str().expect("code").to_owned())
            .collect()
    };
    for status in statuses {
        let got = codes(&app, EQUIPMENT_LIST, json!({ "status": [status] }), "code").await;
        assert_eq!(got, in_state(&[status]), "status {status}");
    }
    let pair = ["OFFLINE", all[0]["status"].as_str().expect("status")];
    let got = codes(&app, EQUIPMENT_LIST, json!({ "status": pair }), "code").await;
    assert_eq!(got, in_state(&pair), "status {pair:?}");
    assert!(got.len() >= 2 && got.len() <= every.len());
    let got = codes(&app, EQUIPMENT_LIST, json!({ "status": statuses }), "code").await;
    assert_eq!(got, every, "every status");
}

#[tokio::test]
async fn equipment_order_by_code_name_and_status_since() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    // Last by code, first by name, newest status.
    mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": ids.line, "code": "ZZZ-9", "name": "AAA", "kind": "CNC" }),
    )
    .await;
    let order = |order: &'static str| {
        let app = &app;
        async move { list(app, EQUIPMENT_LIST, json!({ "order": order })).await }
    };

    let default = order("CODE_ASC").await;
    assert_eq!(
        strings(&default, "code"),
        ["WS-01-L1-M01", "WS-01-L1-M02", "ZZZ-9"]
    );
    let unordered = list(&app, EQUIPMENT_LIST, json!({})).await;
    assert_eq!(unordered, default, "CODE_ASC is the default");

    let by_name = order("NAME_ASC").await;
    assert_eq!(strings(&by_name, "name"), ["AAA", "CNC 1", "PRESS 2"]);
    assert_eq!(
        strings(&by_name, "code"),
        ["ZZZ-9", "WS-01-L1-M01", "WS-01-L1-M02"]
    );

    let by_since = order("STATUS_SINCE_DESC").await;
    assert_eq!(
        by_since[0]["code"], "ZZZ-9",
        "the new machine changed state last"
    );
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = strings(&by_since, "statusSince")
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(
        sorted(strings(&by_since, "code")),
        sorted(strings(&default, "code"))
    );
}

#[tokio::test]
async fn equipment_by_id_returns_every_field_line_workshop_and_sensors() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let cases = [
        (
            &ids.machines[0],
            "WS-01-L1-M01",
            "CNC 1",
            "CNC",
            "X-100",
            20.0,
            2020,
            0,
        ),
        (
            &ids.machines[1],
            "WS-01-L1-M02",
            "PRESS 2",
            "PRESS",
            "X-110",
            25.0,
            2021,
            1,
        ),
    ];
    for (id, code, name, kind, model, cycle, year, m) in cases {
        let e = by_id(&app, EQUIPMENT_BY_ID, id).await;
        assert_eq!(e["id"], id.as_str());
        assert_eq!(e["code"], code);
        assert_eq!(e["name"], name);
        assert_eq!(e["kind"], kind);
        assert_eq!(e["model"], model);
        let line_id: i64 = ids.line.parse().expect("numeric id");
        assert_eq!(e["serialNo"], format!("SN{:06}", line_id * 100 + m));
        assert_eq!(e["idealCycleTimeS"], cycle);
        assert_eq!(e["attributes"], json!({ "vendor": "Acme", "year": year }));
        assert!(e["status"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(e["lineId"], ids.line.as_str());
        assert_eq!(e["workshopId"], ids.workshop.as_str());
        assert_eq!(e["line"], json!({ "id": ids.line, "code": "WS-01-L1" }));
        assert_eq!(
            e["workshop"],
            json!({ "id": ids.workshop, "code": "WS-01" })
        );
        let tags = strings(e["sensors"].as_array().expect("sensors"), "tag");
        assert_eq!(
            tags,
            [
                format!("{code}.TEMPERATURE"),
                format!("{code}.VIBRATION_RMS")
            ]
        );
    }
}

#[tokio::test]
async fn sensors_filter_by_workshop_line_equipment_metric_active_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(SENSORS, json!({})).await;
    assert_eq!(response.data()["sensors"]["totalCount"], 40);
    let all = nodes(&response.data()["sensors"]);
    let tags = strings(&all, "tag");
    assert_eq!(tags, sorted(tags.clone()), "by tag");
    assert!(all.iter().all(|s| s["active"] == true));
    assert!(all.iter().all(|s| s["tag"].as_str().is_some_and(|t| {
        s["equipment"]["code"]
            .as_str()
            .is_some_and(|c| t.starts_with(c))
    })));
    let with = |f: &dyn Fn(&str) -> bool| -> Vec<String> {
        tags.iter().filter(|t| f(t)).cloned().collect()
    };

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let line = app
        .graphql(LINES, json!({ "filter": { "search": "WS-02-L3" } }))
        .await
        .data()["lines"]["edges"][0]["node"]["id"]
        .clone();
    let machine = app
        .graphql(
            EQUIPMENT_LIST,
            json!({ "filter": { "search": "WS-01-L5-M02" } }),
        )
        .await
        .data()["equipment"]["edges"][0]["node"]["id"]
        .clone();

    let off = with(&|t| t == "WS-01-L1-M02.TEMPERATURE")[0].clone();
    let off_id = all
        .iter()
        .find(|s| s["tag"] == off.as_str())
        .map(id_of)
        .expect("sensor");
    mutate(
        &app,
        &update_sensor(),
        json!({ "id": off_id, "active": false }),
    )
    .await;

    let cases = [
        (
            json!({ "workshopId": ws2 }),
            with(&|t| t.starts_with("WS-02")),
        ),
        (json!({ "workshopId": "999999" }), vec![]),
        (
            json!({ "lineId": line }),
            with(&|t| t.starts_with("WS-02-L3-")),
        ),
        (json!({ "lineId": "999999" }), vec![]),
        (
            json!({ "equipmentId": machine }),
            with(&|t| t.starts_with("WS-01-L5-M02.")),
        ),
        (
            json!({ "metric": "TEMPERATURE" }),
            with(&|t| t.ends_with(".TEMPERATURE")),
        ),
        (
            json!({ "metric": "VIBRATION_RMS" }),
            with(&|t| t.ends_with(".VIBRATION_RMS")),
        ),
        (json!({ "metric": "PRESSURE" }), vec![]),
        (json!({ "active": false }), vec![off.clone()]),
        (json!({ "active": true }), with(&|t| *t != off)),
        (
            json!({ "lineId": line, "metric": "TEMPERATURE" }),
            with(&|t| t.starts_with("WS-02-L3-") && t.ends_with(".TEMPERATURE")),
        ),
        (json!({ "workshopId": ws2, "active": false }), vec![]),
        // `_` is a literal underscore: only VIBRATION_RMS tags hold one.
        (json!({ "search": "_" }), with(&|t| t.contains('_'))),
        (json!({ "search": "%" }), vec![]),
        (
            json!({ "search": "vibration_rms" }),
            with(&|t| t.ends_with(".VIBRATION_RMS")),
        ),
        // The name: "CNC 1 temperature".
        (
            json!({ "search": "CNC 1 TEMP" }),
            with(&|t| t.ends_with("-M01.TEMPERATURE")),
        ),
        (
            json!({ "search": "ws-01-l2-m01." }),
            with(&|t| t.starts_with("WS-01-L2-M01.")),
        ),
    ];
    for (filter, expected) in cases {
        assert!(!tags.is_empty());
        assert_eq!(
            codes(&app, SENSORS, filter.clone(), "tag").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn sensor_by_id_returns_thresholds_and_its_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let s = by_id(&app, SENSOR_BY_ID, &ids.sensor).await;
    assert_eq!(s["id"], ids.sensor.as_str());
    assert_eq!(s["tag"], "WS-01-L1-M01.TEMPERATURE");
    assert_eq!(s["name"], "CNC 1 temperature");
    assert_eq!(s["metric"], "TEMPERATURE");
    assert_eq!(s["unit"], "°C");
    assert_eq!(s["sampleIntervalMs"], 10_000);
    assert_eq!(s["loLo"], 5.0);
    assert_eq!(s["lo"], 15.0);
    assert_eq!(s["hi"], 75.0);
    assert_eq!(s["hiHi"], 90.0);
    assert_eq!(s["deadband"], (75.0_f64 - 15.0) * 0.02);
    assert_eq!(s["active"], true);
    assert_eq!(s["equipmentId"], ids.machines[0].as_str());
    assert_eq!(s["equipment"]["id"], ids.machines[0].as_str());
    assert_eq!(s["equipment"]["code"], "WS-01-L1-M01");
    assert_eq!(s["equipment"]["line"]["code"], "WS-01-L1");
}

// ---------------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn workshop_create_update_delete_round_trip() {
    let app = TestApp::seeded(SMALL).await;
    let before = app.count("workshops").await;

    // The site may be omitted while there is one; the name is trimmed.
    let created = mutate(
        &app,
        &create_workshop(),
        json!({ "code": " WS-NEW ", "name": "  Paint shop  ", "description": "Line 1\nLine 2" }),
    )
    .await["workshop"]
        .clone();
    assert_eq!(created["code"], "WS-NEW");
    assert_eq!(created["name"], "Paint shop");
    assert_eq!(created["description"], "Line 1\nLine 2");
    assert_eq!(created["site"]["code"], "PLANT-1");
    let id = id_of(&created);
    assert_eq!(app.count("workshops").await, before + 1);
    let read = by_id(&app, WORKSHOP_BY_ID, &id).await;
    assert_eq!(read["code"], "WS-NEW");
    assert_eq!(read["description"], "Line 1\nLine 2");
    assert_eq!(read["lines"], json!([]));
    assert_eq!(
        codes(&app, WORKSHOPS, json!({}), "code").await,
        ["WS-01", "WS-NEW"]
    );

    // With an explicit site.
    let site = app.graphql("{ sites { id } }", json!({})).await.data()["sites"][0]["id"].clone();
    let other = mutate(
        &app,
        &create_workshop(),
        json!({ "siteId": site, "code": "WS-SITE", "name": "Sited" }),
    )
    .await["workshop"]
        .clone();
    assert_eq!(other["site"]["code"], "PLANT-1");
    assert_eq!(other["description"], Value::Null);

    // Omitting a field leaves it.
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "name": "Paint" }),
    )
    .await;
    assert_eq!(updated["workshop"]["name"], "Paint");
    assert_eq!(updated["workshop"]["code"], "WS-NEW");
    assert_eq!(updated["workshop"]["description"], "Line 1\nLine 2");
    assert_eq!(by_id(&app, WORKSHOP_BY_ID, &id).await["name"], "Paint");

    // A value sets it, `null` clears it.
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "code": "WS-PAINT", "description": "New" }),
    )
    .await;
    assert_eq!(updated["workshop"]["code"], "WS-PAINT");
    assert_eq!(updated["workshop"]["description"], "New");
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "description": null }),
    )
    .await;
    assert_eq!(updated["workshop"]["description"], Value::Null);
    assert_eq!(updated["workshop"]["name"], "Paint");
    let read = by_id(&app, WORKSHOP_BY_ID, &id).await;
    assert_eq!(read["description"], Value::Null);
    assert_eq!(read["code"], "WS-PAINT");

    // Keeping its own code is no conflict.
    let same = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "code": "WS-PAINT" }),
    )
    .await;
    assert_eq!(same["workshop"]["code"], "WS-PAINT");

    let deleted = mutate(&app, &delete("deleteWorkshop"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    let gone = app.graphql(WORKSHOP_BY_ID, json!({ "id": id })).await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    assert_eq!(
        app.count("workshops").await,
        before + 1,
        "only the sited one left"
    );
    let again = app
        .graphql(&delete("deleteWorkshop"), json!({ "input": { "id": id } }))
        .await;
    assert_eq!(again.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn line_create_update_delete_round_trip_with_bottleneck() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("production_lines").await;

    let created = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": ids.workshop, "code": "WS-01-L9", "name": "Packing" }),
    )
    .await["line"]
        .clone();
    assert_eq!(created["code"], "WS-01-L9");
    assert_eq!(created["name"], "Packing");
    assert_eq!(created["status"], "IDLE", "default state");
    assert_eq!(created["bottleneckEquipmentId"], Value::Null);
    assert_eq!(created["workshop"]["id"], ids.workshop.as_str());
    let id = id_of(&created);
    assert_eq!(app.count("production_lines").await, before + 1);
    let read = by_id(&app, WORKSHOP_BY_ID, &ids.workshop).await;
    assert_eq!(
        strings(read["lines"].as_array().expect("lines"), "code"),
        ["WS-01-L1", "WS-01-L9"]
    );

    let with_status = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": ids.workshop, "code": "WS-01-L8", "name": "Off", "status": "OFFLINE" }),
    )
    .await;
    assert_eq!(with_status["line"]["status"], "OFFLINE");

    let updated = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "name": "Packing 2", "status": "DOWN" }),
    )
    .await["line"]
        .clone();
    assert_eq!(updated["name"], "Packing 2");
    assert_eq!(updated["status"], "DOWN");
    assert_eq!(updated["code"], "WS-01-L9");
    let read = by_id(&app, LINE_BY_ID, &id).await;
    assert_eq!(read["status"], "DOWN");
    assert_eq!(read["name"], "Packing 2");

    // The bottleneck: a machine of this line; `null` clears it, omitting leaves it.
    let machine = mutate(&app, &create_equipment(), equipment_input(&id, "PK-1")).await;
    let machine = id_of(&machine["equipment"]);
    let set = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "bottleneckEquipmentId": machine }),
    )
    .await;
    assert_eq!(set["line"]["bottleneckEquipmentId"], machine.as_str());
    let kept = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "code": "WS-01-L7" }),
    )
    .await;
    assert_eq!(kept["line"]["bottleneckEquipmentId"], machine.as_str());
    assert_eq!(kept["line"]["code"], "WS-01-L7");
    assert_eq!(
        by_id(&app, LINE_BY_ID, &id).await["bottleneckEquipmentId"],
        machine.as_str()
    );
    let cleared = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "bottleneckEquipmentId": null }),
    )
    .await;
    assert_eq!(cleared["line"]["bottleneckEquipmentId"], Value::Null);
    assert_eq!(
        by_id(&app, LINE_BY_ID, &id).await["bottleneckEquipmentId"],
        Value::Null
    );

    // A line's code is unique within its workshop only.
    let ws2 = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "WS-02", "name": "Second" }),
    )
    .await;
    let twin = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": id_of(&ws2["workshop"]), "code": "WS-01-L1", "name": "Twin" }),
    )
    .await;
    assert_eq!(twin["line"]["code"], "WS-01-L1");
    assert_eq!(twin["line"]["workshop"]["code"], "WS-02");

    mutate(&app, &delete("deleteEquipment"), json!({ "id": machine })).await;
    let deleted = mutate(&app, &delete("deleteLine"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(LINE_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("production_lines").await, before + 2);
}

#[tokio::test]
async fn deleting_the_bottleneck_machine_clears_the_line_reference() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let machine = mutate(
        &app,
        &create_equipment(),
        equipment_input(&ids.line, "BN-1"),
    )
    .await;
    let machine = id_of(&machine["equipment"]);
    mutate(
        &app,
        &update_line(),
        json!({ "id": ids.line, "bottleneckEquipmentId": machine }),
    )
    .await;
    mutate(&app, &delete("deleteEquipment"), json!({ "id": machine })).await;
    let line = by_id(&app, LINE_BY_ID, &ids.line).await;
    assert_eq!(
        line["bottleneckEquipmentId"],
        Value::Null,
        "a line must not name a deleted machine as its bottleneck"
    );
}

#[tokio::test]
async fn equipment_create_update_delete_round_trip() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("equipment").await;

    let created = mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": ids.line, "code": "WS-01-L1-M03", "name": "Welder 3", "kind": "WELDER",
                "model": "W-9", "serialNo": "SN-42", "idealCycleTimeS": 12.5,
                "attributes": { "vendor": "Kuka", "axes": 6, "tags": ["a", "b"], "nested": { "x": null } } }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(created["code"], "WS-01-L1-M03");
    assert_eq!(created["name"], "Welder 3");
    assert_eq!(created["kind"], "WELDER");
    assert_eq!(created["model"], "W-9");
    assert_eq!(created["serialNo"], "SN-42");
    assert_eq!(created["idealCycleTimeS"], 12.5);
    assert_eq!(created["status"], "OFFLINE", "new machines start offline");
    assert_eq!(
        created["attributes"],
        json!({ "vendor": "Kuka", "axes": 6, "tags": ["a", "b"], "nested": { "x": null } })
    );
    assert_eq!(created["lineId"], ids.line.as_str());
    assert_eq!(created["workshopId"], ids.workshop.as_str());
    assert_eq!(created["line"]["code"], "WS-01-L1");
    assert_eq!(created["workshop"]["code"], "WS-01");
    let id = id_of(&created);
    assert_eq!(app.count("equipment").await, before + 1);
    let read = by_id(&app, EQUIPMENT_BY_ID, &id).await;
    for field in [
        "code",
        "name",
        "kind",
        "model",
        "serialNo",
        "idealCycleTimeS",
        "attributes",
        "statusSince",
    ] {
        assert_eq!(read[field], created[field], "{field}");
    }
    assert_eq!(
        strings(
            by_id(&app, LINE_BY_ID, &ids.line).await["equipment"]
                .as_array()
                .expect("list"),
            "code"
        ),
        ["WS-01-L1-M01", "WS-01-L1-M02", "WS-01-L1-M03"]
    );

    // Minimal input: optional fields absent, attributes an empty object.
    let minimal = mutate(
        &app,
        &create_equipment(),
        equipment_input(&ids.line, "MIN-1"),
    )
    .await;
    let minimal = &minimal["equipment"];
    assert_eq!(minimal["model"], Value::Null);
    assert_eq!(minimal["serialNo"], Value::Null);
    assert_eq!(minimal["idealCycleTimeS"], Value::Null);
    assert_eq!(minimal["attributes"], json!({}));

    // Omitting leaves, a value sets, `null` clears.
    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "name": "Welder three", "kind": "ROBOT", "idealCycleTimeS": 30 }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["name"], "Welder three");
    assert_eq!(updated["kind"], "ROBOT");
    assert_eq!(updated["idealCycleTimeS"], 30.0);
    assert_eq!(updated["model"], "W-9");
    assert_eq!(updated["serialNo"], "SN-42");
    assert_eq!(updated["code"], "WS-01-L1-M03");
    assert_eq!(updated["attributes"], created["attributes"]);

    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "model": null, "idealCycleTimeS": null, "attributes": { "v": 2 } }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["model"], Value::Null);
    assert_eq!(updated["idealCycleTimeS"], Value::Null);
    assert_eq!(updated["serialNo"], "SN-42", "omitted: kept");
    assert_eq!(
        updated["attributes"],
        json!({ "v": 2 }),
        "replaced, not merged"
    );
    let read = by_id(&app, EQUIPMENT_BY_ID, &id).await;
    assert_eq!(read["model"], Value::Null);
    assert_eq!(read["serialNo"], "SN-42");
    assert_eq!(read["idealCycleTimeS"], Value::Null);
    assert_eq!(read["attributes"], json!({ "v": 2 }));

    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "serialNo": null, "model": "W-10", "code": "WS-01-L1-M09" }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["serialNo"], Value::Null);
    assert_eq!(updated["model"], "W-10");
    assert_eq!(updated["code"], "WS-01-L1-M09");

    // The same code in another workshop is no conflict.
    let ws2 = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "WS-02", "name": "Second" }),
    )
    .await;
    let line2 = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": id_of(&ws2["workshop"]), "code": "L1", "name": "L" }),
    )
    .await;
    let twin = mutate(
        &app,
        &create_equipment(),
        equipment_input(&id_of(&line2["line"]), "WS-01-L1-M09"),
    )
    .await;
    assert_eq!(twin["equipment"]["workshop"]["code"], "WS-02");

    let deleted = mutate(&app, &delete("deleteEquipment"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(EQUIPMENT_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("equipment").await, before + 2);
}

#[tokio::test]
async fn sensor_create_update_delete_round_trip_with_thresholds() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("sensors").await;

    let created = mutate(
        &app,
        &create_sensor(),
        json!({ "equipmentId": ids.machines[1], "tag": "WS-01-L1-M02.PRESSURE", "name": "Press pressure",
                "metric": "PRESSURE", "unit": "bar", "sampleIntervalMs": 500,
                "thresholds": { "loLo": 1.0, "lo": 2.5, "hi": 8.0, "hiHi": 9.5, "deadband": 0.1 } }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(created["tag"], "WS-01-L1-M02.PRESSURE");
    assert_eq!(created["name"], "Press pressure");
    assert_eq!(created["metric"], "PRESSURE");
    assert_eq!(created["unit"], "bar");
    assert_eq!(created["sampleIntervalMs"], 500);
    assert_eq!(
        [
            &created["loLo"],
            &created["lo"],
            &created["hi"],
            &created["hiHi"],
            &created["deadband"]
        ],
        [
            &json!(1.0),
            &json!(2.5),
            &json!(8.0),
            &json!(9.5),
            &json!(0.1)
        ]
    );
    assert_eq!(created["active"], true);
    assert_eq!(created["equipmentId"], ids.machines[1].as_str());
    assert_eq!(created["equipment"]["code"], "WS-01-L1-M02");
    let id = id_of(&created);
    assert_eq!(app.count("sensors").await, before + 1);
    let read = by_id(&app, SENSOR_BY_ID, &id).await;
    for field in [
        "tag",
        "unit",
        "loLo",
        "lo",
        "hi",
        "hiHi",
        "deadband",
        "sampleIntervalMs",
    ] {
        assert_eq!(read[field], created[field], "{field}");
    }
    let machine = by_id(&app, EQUIPMENT_BY_ID, &ids.machines[1]).await;
    assert_eq!(
        strings(machine["sensors"].as_array().expect("list"), "tag"),
        [
            "WS-01-L1-M02.PRESSURE",
            "WS-01-L1-M02.TEMPERATURE",
            "WS-01-L1-M02.VIBRATION_RMS"
        ]
    );

    // Boundaries of the sampling interval; thresholds may be equal; no thresholds at all.
    for (tag, interval) in [("B-10", 10), ("B-DAY", 86_400_000)] {
        let s = mutate(
            &app,
            &create_sensor(),
            with(
                &sensor_input(&ids.machines[0], tag),
                json!({ "sampleIntervalMs": interval, "thresholds": { "lo": 3, "hi": 3 } }),
            ),
        )
        .await;
        assert_eq!(s["sensor"]["sampleIntervalMs"], interval);
        assert_eq!(s["sensor"]["loLo"], Value::Null);
        assert_eq!(s["sensor"]["lo"], 3.0);
        assert_eq!(s["sensor"]["hi"], 3.0);
    }

    // Omitted fields stay; thresholds, when given, replace all five.
    let updated = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "name": "Pressure", "unit": "kPa", "sampleIntervalMs": 2000,
                "metric": "LEVEL", "active": false, "thresholds": { "hi": 800, "hiHi": 950 } }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(updated["name"], "Pressure");
    assert_eq!(updated["unit"], "kPa");
    assert_eq!(updated["metric"], "LEVEL");
    assert_eq!(updated["sampleIntervalMs"], 2000);
    assert_eq!(updated["active"], false);
    assert_eq!(updated["tag"], "WS-01-L1-M02.PRESSURE");
    assert_eq!(updated["loLo"], Value::Null);
    assert_eq!(updated["lo"], Value::Null);
    assert_eq!(updated["hi"], 800.0);
    assert_eq!(updated["hiHi"], 950.0);
    assert_eq!(updated["deadband"], Value::Null);
    let read = by_id(&app, SENSOR_BY_ID, &id).await;
    assert_eq!(read["hi"], 800.0);
    assert_eq!(read["lo"], Value::Null);
    assert_eq!(read["active"], false);

    let kept = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "tag": "P-1", "active": true }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(kept["tag"], "P-1");
    assert_eq!(kept["hi"], 800.0, "thresholds omitted: kept");
    assert_eq!(kept["hiHi"], 950.0);
    assert_eq!(kept["unit"], "kPa");
    assert_eq!(kept["active"], true);

    let cleared = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "thresholds": {} }),
    )
    .await["sensor"]
        .clone();
    for field in ["loLo", "lo", "hi", "hiHi", "deadband"] {
        assert_eq!(cleared[field], Value::Null, "{field}");
    }

    let deleted = mutate(&app, &delete("deleteSensor"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(SENSOR_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("sensors").await, before + 2);
    // A seeded sensor with readings and a latest value may be deleted too.
    let seeded = mutate(&app, &delete("deleteSensor"), json!({ "id": ids.sensor })).await;
    assert_eq!(seeded["deletedId"], ids.sensor.as_str());
    assert_eq!(app.count("sensors").await, before + 1);
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
async fn hostile_text_is_stored_verbatim_and_searched_literally() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let n = HOSTILE_STRINGS.len();
    let unit = |s: &str| s.chars().take(16).collect::<String>();
    let mut made = Vec::new();
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let code = format!("H-{i}");
        let w = mutate(
            &app,
            &create_workshop(),
            json!({ "code": code, "name": h, "description": h }),
        )
        .await["workshop"]
            .clone();
        assert_eq!(
            (&w["name"], &w["description"]),
            (&json!(h), &json!(h)),
            "{h}"
        );
        let l = mutate(
            &app,
            &create_line(),
            json!({ "workshopId": ids.workshop, "code": code, "name": h }),
        )
        .await["line"]
            .clone();
        assert_eq!(l["name"], *h);
        let e = mutate(
            &app,
            &create_equipment(),
            json!({ "lineId": id_of(&l), "code": code, "name": h, "kind": "OTHER",
                    "model": h, "serialNo": h, "attributes": { "note": h } }),
        )
        .await["equipment"]
            .clone();
        assert_eq!(
            (
                &e["name"],
                &e["model"],
                &e["serialNo"],
                &e["attributes"]["note"]
            ),
            (&json!(h), &json!(h), &json!(h), &json!(h))
        );
        let s = mutate(
            &app,
            &create_sensor(),
            with(
                &sensor_input(&id_of(&e), &code),
                json!({ "name": h, "unit": unit(h) }),
            ),
        )
        .await["sensor"]
            .clone();
        assert_eq!((&s["name"], &s["unit"]), (&json!(h), &json!(unit(h))));
        made.push((id_of(&w), id_of(&l), id_of(&e), id_of(&s)));
    }

    // Read back exactly.
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let (w, l, e, s) = &made[i];
        let w = by_id(&app, WORKSHOP_BY_ID, w).await;
        assert_eq!((&w["name"], &w["description"]), (&json!(h), &json!(h)));
        assert_eq!(by_id(&app, LINE_BY_ID, l).await["name"], *h);
        let e = by_id(&app, EQUIPMENT_BY_ID, e).await;
        assert_eq!(
            (&e["name"], &e["model"], &e["serialNo"], &e["attributes"]),
            (&json!(h), &json!(h), &json!(h), &json!({ "note": h }))
        );
        let s = by_id(&app, SENSOR_BY_ID, s).await;
        assert_eq!((&s["name"], &s["unit"]), (&json!(h), &json!(unit(h))));
    }

    // Search for each string finds exactly the row holding it, in every list.
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let code = format!("H-{i}");
        for (query, field) in [
            (WORKSHOPS, "code"),
            (LINES, "code"),
            (EQUIPMENT_LIST, "code"),
            (SENSORS, "tag"),
        ] {
            let found = codes(&app, query, json!({ "search": h }), field).await;
            assert_eq!(found, [code.as_str()], "search {h:?} in {query}");
        }
    }
    // Fragments that are wildcards or quotes elsewhere match only literally.
    let wild = HOSTILE_STRINGS
        .iter()
        .position(|h| h.contains('%'))
        .expect("a wildcard string");
    let quote = HOSTILE_STRINGS
        .iter()
        .position(|h| h.contains("'1'='1"))
        .expect("a quote string");
    for (needle, index) in [
        ("%", wild),
        ("_", wild),
        ("\\", wild),
        ("'1'='1", quote),
        ("%_", wild),
    ] {
        for query in [WORKSHOPS, LINES, EQUIPMENT_LIST] {
            let found = codes(&app, query, json!({ "search": needle }), "code").await;
            assert_eq!(
                found,
                [format!("H-{index}")],
                "search {needle:?} in {query}"
            );
        }
    }
    let found = codes(&app, SENSORS, json!({ "search": "'1'='1" }), "tag").await;
    assert_eq!(found, [format!("H-{quote}")]);
    let found = codes(&app, SENSORS, json!({ "search": "%" }), "tag").await;
    assert_eq!(found, [format!("H-{wild}")]);

    // Updates store them verbatim too (each row gets the next string).
    for (i, (w, l, e, s)) in made.iter().enumerate() {
        let h = HOSTILE_STRINGS[(i + 1) % n];
        let got = mutate(
            &app,
            &update_workshop(),
            json!({ "id": w, "name": h, "description": h }),
        )
        .await;
        assert_eq!(got["workshop"]["name"], h);
        assert_eq!(by_id(&app, WORKSHOP_BY_ID, w).await["description"], h);
        mutate(&app, &update_line(), json!({ "id": l, "name": h })).await;
        assert_eq!(by_id(&app, LINE_BY_ID, l).await["name"], h);
        mutate(
            &app,
            &update_equipment(),
            json!({ "id": e, "name": h, "model": h, "serialNo": h }),
        )
        .await;
        let read = by_id(&app, EQUIPMENT_BY_ID, e).await;
        assert_eq!(
            (&read["name"], &read["model"], &read["serialNo"]),
            (&json!(h), &json!(h), &json!(h))
        );
        mutate(
            &app,
            &update_sensor(),
            json!({ "id": s, "name": h, "unit": unit(h) }),
        )
        .await;
        let read = by_id(&app, SENSOR_BY_ID, s).await;
        assert_eq!((&read["name"], &read["unit"]), (&json!(h), &json!(unit(h))));
    }
    // The tables are all still there.
    assert_eq!(app.count("equipment").await, 2 + n as i64);
}

// ---------------------------------------------------------------------------------------
// Refused input: tables of (case, query, variables, code).
// ---------------------------------------------------------------------------------------

/// Cases that check one text field of a create/update `input` built on `base`.
fn text_cases(
    label: &str,
    query: &str,
    base: &Value,
    field: &str,
    max: usize,
    required: bool,
    single_line: bool,
) -> Vec<Case> {
    let mut bad: Vec<(String, Value)> = vec![
        (format!("{} chars", max + 1), json!("x".repeat(max + 1))),
        (
            format!("{} multibyte chars", max + 1),
            json!("é".repeat(max + 1)),
        ),
        ("NUL".into(), json!("a\u{0}b")),
        ("BEL".into(), json!("a\u{7}b")),
        ("ESC".into(), json!("a\u{1b}[31m")),
        ("DEL".into(), json!("a\u{7f}b")),
        ("C1 control".into(), json!("a\u{85}b")),
    ];
    if required {
        bad.push(("empty".into(), json!("")));
        bad.push(("blank".into(), json!(" \t ")));
    }
    if single_line {
        bad.push(("line break".into(), json!("a\nb")));
        bad.push(("tab".into(), json!("a\tb")));
    }
    bad.into_iter()
        .map(|(what, value)| {
            (
                format!("{label}: {field} {what}"),
                query.to_owned(),
                json!({ "input": with(base, json!({ field: value })) }),
                "BAD_USER_INPUT",
            )
        })
        .collect()
}

/// Cases that check a code-like field (`code`, `tag`).
fn code_cases(label: &str, query: &str, base: &Value, field: &str, max: usize) -> Vec<Case> {
    let bad = [
        (format!("{} chars", max + 1), "C".repeat(max + 1)),
        ("empty".into(), String::new()),
        ("blank".into(), "   ".into()),
        ("space inside".into(), "A B".into()),
        ("leading dash".into(), "-A".into()),
        ("leading dot".into(), ".A".into()),
        ("non-ASCII".into(), "CÖDE".into()),
        ("quote".into(), "A'B".into()),
        ("SQL".into(), "A';DROP TABLE x;--".into()),
        ("percent".into(), "A%".into()),
        ("NUL".into(), "A\u{0}".into()),
        ("newline".into(), "A\nB".into()),
    ];
    bad.into_iter()
        .map(|(what, value)| {
            (
                format!("{label}: {field} {what}"),
                query.to_owned(),
                json!({ "input": with(base, json!({ field: value })) }),
                "BAD_USER_INPUT",
            )
        })
        .collect()
}

/// Malformed and unknown ids given as `field` of an `input` built on `base`.
fn id_cases(
    label: &str,
    query: &str,
    base: &Value,
    field: &str,
    unknown: &'static str,
) -> Vec<Case> {
    let mut cases: Vec<Case> = ["abc", "-1", "0", "1.5", "", " 1", "99999999999999999999"]
        .into_iter()
        .map(|bad| {
            (
                format!("{label}: {field} {bad:?}"),
                query.to_owned(),
                json!({ "input": with(base, json!({ field: bad })) }),
                "BAD_USER_INPUT",
            )
        })
        .collect();
    cases.push((
        format!("{label}: {field} unknown"),
        query.to_owned(),
        json!({ "input": with(base, json!({ field: "999999" })) }),
        unknown,
    ));
    cases
}

/// `input` on `base` with one field replaced, as a case.
fn case(label: &str, query: &str, base: &Value, patch: Value, code: &'static str) -> Case {
    (
        format!("{label}: {patch}"),
        query.to_owned(),
        json!({ "input": with(base, patch) }),
        code,
    )
}

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
