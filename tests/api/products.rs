//! Products through the API: list, search, point query, create/update/delete, and refused
//! input (each with its code, and the data unchanged afterwards).

use serde_json::{Value, json};

use crate::{
    bad_input::{Case, case, expect_refused, id_of, mutate, nodes, op, snapshot, strings},
    helpers::{HOSTILE_STRINGS, SMALL, TestApp, hostile_index},
};

const PRODUCT: &str = "id sku name unit idealCycleTimeS";
const PRODUCTS: &str = "query($search: String) { products(search: $search, first: 100) \
    { totalCount edges { node { id sku name unit idealCycleTimeS } } } }";
const PRODUCT_BY_ID: &str =
    "query($id: ID!) { productById(id: $id) { id sku name unit idealCycleTimeS } }";

fn create_product() -> String {
    op(
        "createProduct",
        "CreateProductInput",
        &format!("product {{ {PRODUCT} }}"),
    )
}
fn update_product() -> String {
    op(
        "updateProduct",
        "UpdateProductInput",
        &format!("product {{ {PRODUCT} }}"),
    )
}
fn delete_product() -> String {
    op("deleteProduct", "DeleteInput", "deletedId")
}

async fn products(app: &TestApp, search: Option<&str>) -> Vec<Value> {
    let response = app.graphql(PRODUCTS, json!({ "search": search })).await;
    nodes(&response.data()["products"])
}

async fn skus(app: &TestApp, search: &str) -> Vec<String> {
    strings(&products(app, Some(search)).await, "sku")
}

async fn product(app: &TestApp, id: &str) -> Value {
    app.graphql(PRODUCT_BY_ID, json!({ "id": id })).await.data()["productById"].clone()
}

#[tokio::test]
async fn products_are_listed_by_sku_and_searched_in_sku_and_name() {
    let app = TestApp::seeded(SMALL).await;
    let response = app.graphql(PRODUCTS, json!({})).await;
    assert_eq!(response.data()["products"]["totalCount"], 3);
    let all = nodes(&response.data()["products"]);
    assert_eq!(strings(&all, "sku"), ["SKU-0001", "SKU-0002", "SKU-0003"]);
    assert_eq!(strings(&all, "name"), ["Part 1", "Part 2", "Part 3"]);
    assert!(all.iter().all(|p| p["unit"] == "pcs"));
    let cycles: Vec<f64> = all
        .iter()
        .map(|p| p["idealCycleTimeS"].as_f64().expect("number"))
        .collect();
    assert_eq!(cycles, [20.0, 25.0, 30.0]);

    let cases: [(&str, &[&str]); 9] = [
        ("sku-0002", &["SKU-0002"]),
        ("PART 3", &["SKU-0003"]),
        ("part", &["SKU-0001", "SKU-0002", "SKU-0003"]),
        ("000", &["SKU-0001", "SKU-0002", "SKU-0003"]),
        ("nothing like it", &[]),
        ("%", &[]),
        ("_", &[]),
        ("\\", &[]),
        ("  ", &["SKU-0001", "SKU-0002", "SKU-0003"]),
    ];
    for (search, expected) in cases {
        assert_eq!(skus(&app, search).await, expected, "search {search:?}");
    }
}

#[tokio::test]
async fn product_by_id_returns_the_product() {
    let app = TestApp::seeded(SMALL).await;
    let all = products(&app, None).await;
    let p = product(&app, &id_of(&all[1])).await;
    assert_eq!(
        p,
        json!({ "id": all[1]["id"], "sku": "SKU-0002", "name": "Part 2", "unit": "pcs",
                "idealCycleTimeS": 25.0 })
    );
}

#[tokio::test]
async fn product_create_update_delete_round_trip() {
    let app = TestApp::seeded(SMALL).await;
    let before = app.count("products").await;

    // The unit defaults to `pcs`; SKU and name are trimmed.
    let created = mutate(
        &app,
        &create_product(),
        json!({ "sku": " GEAR-12 ", "name": "  Gear 12  ", "idealCycleTimeS": 42.5 }),
    )
    .await["product"]
        .clone();
    assert_eq!(created["sku"], "GEAR-12");
    assert_eq!(created["name"], "Gear 12");
    assert_eq!(created["unit"], "pcs");
    assert_eq!(created["idealCycleTimeS"], 42.5);
    let id = id_of(&created);
    assert_eq!(app.count("products").await, before + 1);
    assert_eq!(product(&app, &id).await, created);
    assert_eq!(skus(&app, "gear").await, ["GEAR-12"]);

    let with_unit = mutate(
        &app,
        &create_product(),
        json!({ "sku": "OIL-1", "name": "Oil", "unit": "l", "idealCycleTimeS": 86_400 }),
    )
    .await;
    assert_eq!(with_unit["product"]["unit"], "l");
    assert_eq!(with_unit["product"]["idealCycleTimeS"], 86_400.0);

    // Omitted fields stay as they are.
    let updated = mutate(
        &app,
        &update_product(),
        json!({ "id": id, "name": "Gear twelve" }),
    )
    .await["product"]
        .clone();
    assert_eq!(updated["name"], "Gear twelve");
    assert_eq!(updated["sku"], "GEAR-12");
    assert_eq!(updated["unit"], "pcs");
    assert_eq!(updated["idealCycleTimeS"], 42.5);

    let updated = mutate(
        &app,
        &update_product(),
        json!({ "id": id, "sku": "GEAR-13", "unit": "kg", "idealCycleTimeS": 0.5 }),
    )
    .await["product"]
        .clone();
    assert_eq!(
        updated,
        json!({ "id": id, "sku": "GEAR-13", "name": "Gear twelve", "unit": "kg",
                "idealCycleTimeS": 0.5 })
    );
    assert_eq!(product(&app, &id).await, updated);
    // Keeping its own SKU is no conflict.
    let same = mutate(
        &app,
        &update_product(),
        json!({ "id": id, "sku": "GEAR-13" }),
    )
    .await;
    assert_eq!(same["product"]["sku"], "GEAR-13");

    let deleted = mutate(&app, &delete_product(), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    let gone = app.graphql(PRODUCT_BY_ID, json!({ "id": id })).await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    assert_eq!(app.count("products").await, before + 1);
    assert_eq!(skus(&app, "gear").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_product_that_orders_refer_to_cannot_be_deleted() {
    let app = TestApp::seeded(SMALL).await;
    let all = products(&app, None).await;
    let id = id_of(&all[0]);
    let orders = app
        .graphql(
            "query($p: ID!) { productionOrders(filter: { productId: $p }) { totalCount } }",
            json!({ "p": id }),
        )
        .await;
    assert!(
        orders.data()["productionOrders"]["totalCount"]
            .as_i64()
            .is_some_and(|n| n > 0),
        "the seed gives every product orders: {}",
        orders.body
    );
    let cases: Vec<Case> = vec![(
        "delete a product with orders".into(),
        delete_product(),
        json!({ "input": { "id": id } }),
        "CONFLICT",
    )];
    expect_refused(&app, cases).await;
    assert_eq!(product(&app, &id).await["sku"], "SKU-0001");
}

#[tokio::test]
async fn hostile_product_text_is_stored_verbatim_and_searched_literally() {
    let app = TestApp::seeded(SMALL).await;
    let unit = |s: &str| s.chars().take(16).collect::<String>();
    let mut ids = Vec::new();
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let created = mutate(
            &app,
            &create_product(),
            json!({ "sku": format!("H-{i}"), "name": h, "unit": unit(h), "idealCycleTimeS": 1 }),
        )
        .await["product"]
            .clone();
        assert_eq!(created["name"], *h);
        assert_eq!(created["unit"], unit(h));
        ids.push(id_of(&created));
    }
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let read = product(&app, &ids[i]).await;
        assert_eq!((&read["name"], &read["unit"]), (&json!(h), &json!(unit(h))));
        assert_eq!(skus(&app, h).await, [format!("H-{i}")], "search {h:?}");
    }
    let wild = hostile_index("%");
    let quote = hostile_index("'1'='1");
    for (needle, index) in [("%", wild), ("_", wild), ("\\", wild), ("'1'='1", quote)] {
        assert_eq!(
            skus(&app, needle).await,
            [format!("H-{index}")],
            "search {needle:?}"
        );
    }
    // Updates store them verbatim too.
    let n = HOSTILE_STRINGS.len();
    for (i, id) in ids.iter().enumerate() {
        let h = HOSTILE_STRINGS[(i + 1) % n];
        mutate(
            &app,
            &update_product(),
            json!({ "id": id, "name": h, "unit": unit(h) }),
        )
        .await;
        let read = product(&app, id).await;
        assert_eq!((&read["name"], &read["unit"]), (&json!(h), &json!(unit(h))));
    }
    assert_eq!(app.count("products").await, 3 + n as i64);
}

#[tokio::test]
async fn bad_product_input_is_refused_and_changes_nothing() {
    let app = TestApp::seeded(SMALL).await;
    let all = products(&app, None).await;
    let target = id_of(&all[1]);
    let create = create_product();
    let update = update_product();
    let new = json!({ "sku": "NEW-1", "name": "New", "unit": "pcs", "idealCycleTimeS": 10 });
    let patch = json!({ "id": target });

    let case = |label: &str, query: &str, base: &Value, patch: Value, code: &'static str| -> Case {
        let mut c = case(label, query, base, patch, code);
        c.0 = c.0.chars().take(100).collect();
        c
    };
    let mut cases: Vec<Case> = Vec::new();
    for (label, query, base) in [("create", &create, &new), ("update", &update, &patch)] {
        let texts: [(&str, usize); 2] = [("name", 200), ("unit", 16)];
        for (field, max) in texts {
            for bad in [
                "x".repeat(max + 1),
                "é".repeat(max + 1),
                String::new(),
                "   ".into(),
                "a\u{0}b".into(),
                "a\nb".into(),
                "a\u{7}b".into(),
                "a\u{1b}b".into(),
            ] {
                cases.push(case(
                    label,
                    query,
                    base,
                    json!({ field: bad }),
                    "BAD_USER_INPUT",
                ));
            }
        }
        for bad in [
            "S".repeat(65),
            String::new(),
            " ".into(),
            "SKU 1".into(),
            "-SKU".into(),
            "SKU'1".into(),
            "SKU%".into(),
            "SKÜ".into(),
            "SKU\u{0}".into(),
        ] {
            cases.push(case(
                label,
                query,
                base,
                json!({ "sku": bad }),
                "BAD_USER_INPUT",
            ));
        }
        for cycle in [
            json!(0),
            json!(-1),
            json!(-0.0001),
            json!(86_400.001),
            json!(1e300),
            json!("slow"),
        ] {
            cases.push(case(
                label,
                query,
                base,
                json!({ "idealCycleTimeS": cycle }),
                "BAD_USER_INPUT",
            ));
        }
        cases.push(case(
            label,
            query,
            base,
            json!({ "sku": "SKU-0001" }),
            "CONFLICT",
        ));
        cases.push(case(
            label,
            query,
            base,
            json!({ "sku": " SKU-0003 " }),
            "CONFLICT",
        ));
    }
    cases.push(case(
        "create",
        &create,
        &new,
        json!({ "idealCycleTimeS": null }),
        "BAD_USER_INPUT",
    ));
    cases.push(case(
        "create",
        &create,
        &new,
        json!({ "sku": null }),
        "BAD_USER_INPUT",
    ));
    for bad in ["abc", "-1", "0", "", "1.0"] {
        cases.push(case(
            "update",
            &update,
            &patch,
            json!({ "id": bad }),
            "BAD_USER_INPUT",
        ));
        cases.push((
            format!("delete: id {bad:?}"),
            delete_product(),
            json!({ "input": { "id": bad } }),
            "BAD_USER_INPUT",
        ));
        cases.push((
            format!("productById({bad:?})"),
            PRODUCT_BY_ID.to_owned(),
            json!({ "id": bad }),
            "BAD_USER_INPUT",
        ));
    }
    cases.push(case(
        "update",
        &update,
        &patch,
        json!({ "id": "999999" }),
        "NOT_FOUND",
    ));
    cases.push((
        "delete: unknown id".into(),
        delete_product(),
        json!({ "input": { "id": "999999" } }),
        "NOT_FOUND",
    ));
    cases.push((
        "productById(unknown)".into(),
        PRODUCT_BY_ID.to_owned(),
        json!({ "id": "999999" }),
        "NOT_FOUND",
    ));
    for (what, search) in [("101 chars", "s".repeat(101)), ("NUL", "a\u{0}".to_owned())] {
        cases.push((
            format!("products(search: {what})"),
            PRODUCTS.to_owned(),
            json!({ "search": search }),
            "BAD_USER_INPUT",
        ));
    }
    // Non-finite numbers as literals in the query text.
    let create_literal = |literal: &str| {
        format!(
            "mutation {{ createProduct(input: {{ sku: \"LIT-1\", name: \"Literal\", \
             idealCycleTimeS: {literal} }}) {{ product {{ id idealCycleTimeS }} }} }}"
        )
    };
    let update_literal = |literal: &str| {
        format!(
            "mutation($id: ID!) {{ updateProduct(input: {{ id: $id, \
             idealCycleTimeS: {literal} }}) {{ product {{ id idealCycleTimeS }} }} }}"
        )
    };
    for literal in ["1e400", "-1e400"] {
        cases.push((
            format!("create: idealCycleTimeS literal {literal}"),
            create_literal(literal),
            json!({}),
            "BAD_USER_INPUT",
        ));
        cases.push((
            format!("update: idealCycleTimeS literal {literal}"),
            update_literal(literal),
            json!({ "id": target }),
            "BAD_USER_INPUT",
        ));
    }
    expect_refused(&app, cases).await;

    // The boundaries are accepted.
    let ok = mutate(
        &app,
        &create_product(),
        json!({ "sku": "S".repeat(64), "name": "é".repeat(200), "unit": "u".repeat(16),
                "idealCycleTimeS": 0.001 }),
    )
    .await;
    assert_eq!(ok["product"]["sku"], "S".repeat(64));
    assert_eq!(ok["product"]["name"], "é".repeat(200));

    // The literal queries themselves are sound: a finite literal goes through.
    let response = app.graphql(&create_literal("12.5"), json!({})).await;
    assert_eq!(
        response.data()["createProduct"]["product"]["idealCycleTimeS"],
        12.5
    );
    let response = app
        .graphql(&update_literal("3e1"), json!({ "id": target }))
        .await;
    assert_eq!(
        response.data()["updateProduct"]["product"]["idealCycleTimeS"],
        30.0
    );
}

#[tokio::test]
async fn a_non_finite_cycle_time_in_json_variables_is_refused_with_a_code() {
    let app = TestApp::seeded(SMALL).await;
    let before = snapshot(&app).await;
    let body = r#"{"query":"mutation($input: CreateProductInput!) { createProduct(input: $input) { product { idealCycleTimeS } } }","variables":{"input":{"sku":"INF-1","name":"Inf","idealCycleTimeS":1e400}}}"#;
    let response = app
        .post_raw("application/json", None, body.as_bytes().to_vec())
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT", "{}", response.body);
    assert_eq!(snapshot(&app).await, before);
}
