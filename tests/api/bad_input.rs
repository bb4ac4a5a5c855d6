//! Shared by the plant and product tests: the refused-input table runner (every case gets its
//! code and leaves the data as it was) with the builders of its tables, and the mutation and
//! connection helpers those tests use.

use serde_json::{Value, json};

use crate::helpers::TestApp;

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

/// The `id` of a node, as the API gives it.
pub(crate) fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

// ---------------------------------------------------------------------------------------
// Refused input: tables of (case, query, variables, code).
// ---------------------------------------------------------------------------------------

/// Cases that check one text field of a create/update `input` built on `base`.
pub(crate) fn text_cases(
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
pub(crate) fn code_cases(
    label: &str,
    query: &str,
    base: &Value,
    field: &str,
    max: usize,
) -> Vec<Case> {
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
pub(crate) fn id_cases(
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
pub(crate) fn case(
    label: &str,
    query: &str,
    base: &Value,
    patch: Value,
    code: &'static str,
) -> Case {
    (
        format!("{label}: {patch}"),
        query.to_owned(),
        json!({ "input": with(base, patch) }),
        code,
    )
}
