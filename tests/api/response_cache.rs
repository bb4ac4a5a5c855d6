//! The whole-response cache, automatic persisted queries and ETags as a client sees them: a
//! repeated query is answered whole (no SQL, a `response` hit), every write is seen by the
//! next read (on this instance and on another sharing Redis), responses never cross a role
//! or workshop scope, errors, mutations and introspection are never cached, persisted
//! queries work before and after registration over POST and GET, and GET answers carry an
//! ETag that a matching `If-None-Match` turns into `304 Not Modified`.
//!
//! Each test runs with Redis when `TEST_REDIS_URL` is set (the suite's default app), and
//! in process only otherwise; the two-instance tests bring their own Redis when none is
//! shared.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{GqlResponse, LARGE, SMALL, TestApp, id_of, two_instances};

/// A line with its machines and their sensors' thresholds: no live values.
const LINE: &str = "query L($id: ID!) { lineById(id: $id) { id name equipment { id name \
    sensors { id name hi } } } }";

/// The plant tree without latest readings.
const PLANT: &str = "{ workshops(first: 100) { edges { node { id name lines { id name \
    equipment { id name status } } } } } }";

/// One machine with its sensors' latest readings: a live response.
const POINT: &str = "query P($id: ID!) { equipmentById(id: $id) { id name \
    sensors { id hi latest { value } } } }";

const STATS: &str =
    "{ cacheStats { kinds { kind entries l1 { hits misses } l2 { hits misses } } } }";

/// The `response` row of `cacheStats`: (L1 hits, L2 hits).
async fn response_hits(app: &TestApp) -> (f64, f64) {
    let r = app.graphql(STATS, json!({})).await;
    let row = r.data()["cacheStats"]["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == "response")
        .cloned()
        .unwrap_or_else(|| panic!("no response kind: {}", r.body));
    (
        row["l1"]["hits"].as_f64().expect("l1 hits"),
        row["l2"]["hits"].as_f64().expect("l2 hits"),
    )
}

async fn line(app: &TestApp, id: i64) -> GqlResponse {
    app.graphql(LINE, json!({ "id": id.to_string() })).await
}

async fn mutate(app: &TestApp, document: &str, input: Value) -> Value {
    app.graphql(document, json!({ "i": input }))
        .await
        .data()
        .clone()
}

async fn first(app: &TestApp, list: &str) -> i64 {
    id_of(&json!({ "id": app.first_id(list).await }))
}

/// Reads `query` until the cache answers it whole, returning that answer: the first read
/// fills the cache, the second must be a hit with no SQL.
async fn cached(app: &TestApp, query: &str, variables: Value) -> Value {
    app.graphql(query, variables.clone()).await.data();
    let before = response_hits(app).await.0;
    let r = app.graphql(query, variables).await;
    assert_eq!(r.sql_statements(), 0, "a cached response runs no SQL");
    assert_eq!(
        response_hits(app).await.0,
        before + 1.0,
        "served from the response cache: {}",
        r.body
    );
    r.data().clone()
}

#[tokio::test]
async fn a_repeated_query_is_answered_whole_without_sql() {
    let app = TestApp::seeded(SMALL).await;
    let id = first(&app, "lines").await;
    let cold = line(&app, id).await;
    assert!(
        cold.sql_statements() > 0,
        "the first read goes to the database"
    );
    let warm = cached(&app, LINE, json!({ "id": id.to_string() })).await;
    assert_eq!(&warm, cold.data(), "the same answer");
    // Layout does not matter: the document is normalised before it is hashed.
    let relaid = LINE.replace(' ', "\n  ").replace("name", "name,");
    let before = response_hits(&app).await.0;
    let r = app.graphql(&relaid, json!({ "id": id.to_string() })).await;
    assert_eq!((r.data(), r.sql_statements()), (&warm, 0));
    assert_eq!(response_hits(&app).await.0, before + 1.0);
    // Other variables are another response.
    let other = app.graphql(LINE, json!({ "id": "999999" })).await;
    assert!(other.body["data"]["lineById"].is_null() || other.body.get("errors").is_some());
}

#[tokio::test]
async fn without_redis_responses_are_cached_in_process() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.redis.url = None).await;
    let id = first(&app, "lines").await;
    cached(&app, LINE, json!({ "id": id.to_string() })).await;
    cached(&app, PLANT, json!({})).await;
    assert_eq!(response_hits(&app).await.1, 0.0, "no Redis level");
}

#[tokio::test]
async fn every_write_is_seen_by_the_next_read() {
    // Live responses may live a minute here, so no read depends on the clock: a reading
    // must drop them, not their age.
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.cache.response.live_max_age = std::time::Duration::from_secs(60);
    })
    .await;
    let line_id = first(&app, "lines").await;
    let workshop = first(&app, "workshops").await;
    let machine = first(&app, "equipment").await;
    let vars = json!({ "id": line_id.to_string() });

    // The plant tree: a workshop renamed, a workshop created.
    cached(&app, PLANT, json!({})).await;
    mutate(
        &app,
        "mutation($i: UpdateWorkshopInput!) { updateWorkshop(input: $i) { workshop { id } } }",
        json!({ "id": workshop.to_string(), "name": "Renamed hall" }),
    )
    .await;
    let tree = app.graphql(PLANT, json!({})).await;
    assert_eq!(
        tree.data()["workshops"]["edges"][0]["node"]["name"],
        "Renamed hall"
    );
    let count = |v: &Value| v["workshops"]["edges"].as_array().map_or(0, Vec::len);
    let before = count(&cached(&app, PLANT, json!({})).await);
    mutate(
        &app,
        "mutation($i: CreateWorkshopInput!) { createWorkshop(input: $i) { workshop { id } } }",
        json!({ "code": "WS-CACHE", "name": "New hall" }),
    )
    .await;
    assert_eq!(
        count(app.graphql(PLANT, json!({})).await.data()),
        before + 1
    );

    // The plant tree and a line: a line renamed.
    cached(&app, PLANT, json!({})).await;
    cached(&app, LINE, vars.clone()).await;
    mutate(
        &app,
        "mutation($i: UpdateLineInput!) { updateLine(input: $i) { line { id } } }",
        json!({ "id": line_id.to_string(), "name": "Renamed line" }),
    )
    .await;
    assert_eq!(
        line(&app, line_id).await.data()["lineById"]["name"],
        "Renamed line"
    );
    let tree = app.graphql(PLANT, json!({})).await;
    assert!(
        tree.body.to_string().contains("Renamed line"),
        "{}",
        tree.body
    );

    // A line and a machine: the machine renamed.
    cached(&app, LINE, vars.clone()).await;
    let point = json!({ "id": machine.to_string() });
    cached(&app, POINT, point.clone()).await;
    mutate(
        &app,
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
        json!({ "id": machine.to_string(), "name": "Renamed machine" }),
    )
    .await;
    let r = app.graphql(POINT, point.clone()).await;
    assert_eq!(r.data()["equipmentById"]["name"], "Renamed machine");
    assert!(
        line(&app, line_id)
            .await
            .body
            .to_string()
            .contains("Renamed machine")
    );

    // A sensor's threshold, seen in the line.
    let before = cached(&app, LINE, vars.clone()).await;
    let sensor = id_of(&before["lineById"]["equipment"][0]["sensors"][0]);
    mutate(
        &app,
        "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { __typename } }",
        json!({ "id": sensor.to_string(), "thresholds": { "hi": 61.5, "hiHi": 70.0 } }),
    )
    .await;
    let after = line(&app, line_id).await;
    assert_eq!(
        after.data()["lineById"]["equipment"][0]["sensors"][0]["hi"],
        61.5
    );

    // A new reading: the live response shows it at once.
    let shown = cached(&app, POINT, point.clone()).await;
    let sensor = id_of(&shown["equipmentById"]["sensors"][0]);
    let r = mutate(
        &app,
        "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { accepted } }",
        json!({ "readings": [{ "sensorId": sensor.to_string(),
            "ts": crate::helpers::iso(chrono::Utc::now()), "value": 12.75 }] }),
    )
    .await;
    assert_eq!(r["ingestReadings"]["accepted"], 1);
    let r = app.graphql(POINT, point).await;
    let latest = r.data()["equipmentById"]["sensors"]
        .as_array()
        .expect("sensors")
        .iter()
        .find(|s| id_of(s) == sensor)
        .map(|s| s["latest"]["value"].clone());
    assert_eq!(latest, Some(json!(12.75)));

    // `invalidateCache(all: true)` drops whole responses too.
    cached(&app, LINE, vars.clone()).await;
    mutate(
        &app,
        "mutation($i: Boolean) { invalidateCache(all: $i) { all } }",
        json!(true),
    )
    .await;
    assert!(line(&app, line_id).await.sql_statements() > 0);
}

/// A user of `role` in `workshop`, logged in.
async fn user_of(app: &TestApp, admin: &str, name: &str, role: &str, workshop: i64) -> String {
    app.graphql_as(
        admin,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
        json!({ "i": { "username": name, "role": role, "workshopIds": [workshop.to_string()],
            "password": "response cache password 1" } }),
    )
    .await
    .data();
    app.login(name, "response cache password 1").await
}

fn workshop_ids(r: &GqlResponse) -> Vec<i64> {
    r.data()["workshops"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| id_of(&e["node"]))
        .collect()
}

#[tokio::test]
async fn responses_never_cross_a_role_or_a_workshop_scope() {
    let app = TestApp::seeded(LARGE).await;
    let admin = app.admin_token().await;
    let all = app.graphql_as(&admin, PLANT, json!({})).await;
    let all = workshop_ids(&all);
    assert_eq!(all.len(), 2);
    // The admin's answers are cached first.
    let again = app.graphql_as(&admin, PLANT, json!({})).await;
    assert_eq!(again.sql_statements(), 0);
    let a = user_of(&app, &admin, "viewer-a", "VIEWER", all[0]).await;
    let b = user_of(&app, &admin, "viewer-b", "VIEWER", all[1]).await;
    let operator = user_of(&app, &admin, "operator-a", "OPERATOR", all[0]).await;
    for _ in 0..2 {
        assert_eq!(
            workshop_ids(&app.graphql_as(&a, PLANT, json!({})).await),
            [all[0]]
        );
        assert_eq!(
            workshop_ids(&app.graphql_as(&b, PLANT, json!({})).await),
            [all[1]]
        );
        assert_eq!(
            workshop_ids(&app.graphql_as(&operator, PLANT, json!({})).await),
            [all[0]]
        );
    }
    // A line of workshop B, cached for the admin and for B's viewer, is not A's.
    let tree = app.graphql_as(&admin, PLANT, json!({})).await;
    let their_line = tree.data()["workshops"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|w| id_of(&w["node"]) == all[1])
        .map(|w| id_of(&w["node"]["lines"][0]))
        .expect("a line in workshop B");
    let vars = json!({ "id": their_line.to_string() });
    for token in [&admin, &admin, &b, &b] {
        app.graphql_as(token, LINE, vars.clone()).await.data();
    }
    let r = app.graphql_as(&a, LINE, vars).await;
    assert!(
        r.body["data"]["lineById"].is_null(),
        "another workshop's cached line: {}",
        r.body
    );
}

#[tokio::test]
async fn errors_mutations_introspection_and_untagged_reads_are_not_cached() {
    let app = TestApp::seeded(SMALL).await;
    let machine = first(&app, "equipment").await;
    let hits = response_hits(&app).await.0;
    let twice = |query: &'static str, vars: Value| {
        let app = &app;
        async move {
            app.graphql(query, vars.clone()).await;
            app.graphql(query, vars).await
        }
    };
    // An error (an unknown machine): the second read looks again.
    let r = twice(POINT, json!({ "id": "999999" })).await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    assert!(r.sql_statements() > 0, "errors are not cached");
    // Introspection, and a query mixing plant data with something untagged.
    let r = twice("{ __schema { queryType { name } } }", json!({})).await;
    r.data();
    let mixed = "query($id: ID!) { equipmentById(id: $id) { id } cacheStats { enabled } }";
    twice(mixed, json!({ "id": machine.to_string() }))
        .await
        .data();
    // Machines with their open alarms: the alarms are read with SQL no tag covers.
    let alarms = "query($id: ID!) { equipmentById(id: $id) { id openAlarms { id } } }";
    let r = twice(alarms, json!({ "id": machine.to_string() })).await;
    assert!(r.sql_statements() > 0, "untagged reads are not cached");
    // A mutation.
    let rename =
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { equipment { name } } }";
    let vars = json!({ "i": { "id": machine.to_string(), "name": "Same name" } });
    let r = twice(rename, vars).await;
    assert!(r.sql_statements() > 0, "mutations always run");
    assert_eq!(response_hits(&app).await.0, hits, "none of them was a hit");
}

#[tokio::test]
async fn identical_concurrent_misses_execute_once() {
    let app = TestApp::seeded(SMALL).await;
    let id = first(&app, "lines").await;
    let vars = json!({ "id": id.to_string() });
    let runs = futures::future::join_all((0..8).map(|_| app.graphql(LINE, vars.clone()))).await;
    let total: u32 = runs.iter().map(GqlResponse::sql_statements).sum();
    let answers: Vec<&Value> = runs.iter().map(GqlResponse::data).collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // Cold, one execution costs: the line, its machines, their sensors.
    assert_eq!(
        total, 3,
        "the eight requests ran one execution between them"
    );
}

fn hash(query: &str) -> String {
    format!("{:x}", Sha256::digest(query.as_bytes()))
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// `GET /graphql` with `params` and extra headers.
async fn get(app: &TestApp, params: &[(&str, String)], headers: &[(&str, &str)]) -> GqlResponse {
    let mut request = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(params);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    GqlResponse {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn persisted_queries_before_and_after_registration() {
    let app = TestApp::seeded(SMALL).await;
    let id = first(&app, "lines").await.to_string();
    let h = hash(LINE);
    let vars = json!({ "id": id });
    let by_hash = json!({ "variables": vars, "extensions": persisted(&h) });
    // Unknown hash: the client is told to send the text.
    let r = app.post_json(&by_hash).await;
    assert_eq!(r.error_code(), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(r.error_message(), "PersistedQueryNotFound");
    let params = |hash: &str| {
        vec![
            ("variables", vars.to_string()),
            ("extensions", persisted(hash).to_string()),
        ]
    };
    let r = get(&app, &params(&h), &[]).await;
    assert_eq!(r.error_code(), "PERSISTED_QUERY_NOT_FOUND");
    // A hash that is not the text's.
    let wrong =
        json!({ "query": LINE, "variables": vars, "extensions": persisted(&hash("{ a }")) });
    let r = app.post_json(&wrong).await;
    assert_eq!(r.error_code(), "PERSISTED_QUERY_HASH_MISMATCH");
    for bad in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": h } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "xyz" } }),
        json!({ "persistedQuery": "yes" }),
    ] {
        let r = app.post_json(&json!({ "extensions": bad })).await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{bad}");
    }
    // Registration, then the hash alone works over POST and GET.
    let register = json!({ "query": LINE, "variables": vars, "extensions": persisted(&h) });
    let expected = app.post_json(&register).await.data().clone();
    assert_eq!(app.post_json(&by_hash).await.data(), &expected);
    let r = get(&app, &params(&h), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.data(), &expected);
    // A persisted mutation is still refused over GET.
    let rename = "mutation { updateEquipment(input: {id: \"1\", name: \"x\"}) { __typename } }";
    let rh = hash(rename);
    app.post_json(&json!({ "query": rename, "extensions": persisted(&rh) }))
        .await;
    let r = get(&app, &[("extensions", persisted(&rh).to_string())], &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_query_persisted_on_one_instance_is_known_to_the_other() {
    let (_redis, a, b) = two_instances().await;
    let h = hash(PLANT);
    let by_hash = json!({ "extensions": persisted(&h) });
    assert_eq!(
        b.post_json(&by_hash).await.error_code(),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let registered = a
        .post_json(&json!({ "query": PLANT, "extensions": persisted(&h) }))
        .await;
    assert_eq!(b.post_json(&by_hash).await.data(), registered.data());
}

#[tokio::test]
async fn get_answers_carry_an_etag_and_revalidate_to_304() {
    let app = TestApp::seeded(SMALL).await;
    let machine = first(&app, "equipment").await;
    let query = "query E($id: ID!) { equipmentById(id: $id) { id name } }";
    let params = vec![
        ("query", query.to_owned()),
        (
            "variables",
            json!({ "id": machine.to_string() }).to_string(),
        ),
    ];
    let header = |r: &GqlResponse, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let first = get(&app, &params, &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = header(&first, "etag");
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert_eq!(etag.len(), 66, "a quoted SHA-256: {etag}");
    assert_eq!(header(&first, "cache-control"), "private, no-cache");
    let not_modified = get(&app, &params, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        not_modified.body,
        Value::String(String::new()),
        "an empty body"
    );
    assert_eq!(header(&not_modified, "etag"), etag);
    let other = get(&app, &params, &[("if-none-match", "\"something else\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    // After a write the representation changes: 200 with a new ETag.
    mutate(
        &app,
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
        json!({ "id": machine.to_string(), "name": "Changed for the ETag" }),
    )
    .await;
    let changed = get(&app, &params, &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(
        changed.data()["equipmentById"]["name"],
        "Changed for the ETag"
    );
    assert_ne!(header(&changed, "etag"), etag);
    // POST answers are never stored by anyone.
    let post = app
        .graphql(query, json!({ "id": machine.to_string() }))
        .await;
    assert_eq!(header(&post, "cache-control"), "no-store");
    assert!(header(&post, "etag").is_empty());
}

#[tokio::test]
async fn a_write_on_one_instance_drops_the_response_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let id = first(&a, "lines").await;
    let vars = json!({ "id": id.to_string() });
    let on_a = cached(&a, LINE, vars.clone()).await;
    // B finds A's response in Redis.
    let (_, l2_before) = response_hits(&b).await;
    let r = line(&b, id).await;
    assert_eq!(r.data(), &on_a);
    assert_eq!(r.sql_statements(), 0, "B is answered from Redis");
    assert_eq!(response_hits(&b).await.1, l2_before + 1.0);
    // A write on B; A's in-process copy goes with the bus event.
    mutate(
        &b,
        "mutation($i: UpdateLineInput!) { updateLine(input: $i) { line { id } } }",
        json!({ "id": id.to_string(), "name": "Written on B" }),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = line(&a, id).await;
        if r.data()["lineById"]["name"] == "Written on B" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "A still shows {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // And Redis no longer holds the old answer: a third instance-like read on B is fresh.
    assert_eq!(
        line(&b, id).await.data()["lineById"]["name"],
        "Written on B"
    );
}
