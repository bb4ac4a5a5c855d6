//! The two-level cache as a client sees it: repeated reads cost no SQL, every write that
//! changes cached data is visible on the next read (on this instance and on another one
//! sharing Redis), scopes never leak through the cache, latest readings stay fresh from
//! ingest, a corrupt Redis value is a miss, and a dead Redis only slows the server down.
//!
//! Each test runs on whichever database the suite uses; Redis comes from `TEST_REDIS_URL`
//! or a `redis-server` of the test's own, so no test skips.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smart_factory::cache::Tag;

use crate::helpers::{
    LARGE, RedisServer, SMALL, TestApp, id_of, shared_or_own_redis, two_instances,
    unique_redis_prefix,
};

const POINT: &str = "query P($id: ID!) { equipmentById(id: $id) { id name status \
    line { id name } sensors { id name hi latest { value ts } } } }";

const LINE: &str = "query L($id: ID!) { lineById(id: $id) { id equipment { id name status } } }";

const WORKSHOP: &str = "query W($id: ID!) { workshopById(id: $id) { id lines { id name } } }";

const STATS: &str = "{ cacheStats { enabled redis bytesRaw bytesStored redisCommands \
    kinds { kind entries l1 { hits misses ratio } l2 { hits misses } } } }";

/// The `cacheStats` row of `kind`.
fn kind<'a>(stats: &'a Value, kind: &str) -> &'a Value {
    stats["cacheStats"]["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no stats for {kind}: {stats}"))
}

async fn stats(app: &TestApp) -> Value {
    app.graphql(STATS, json!({})).await.data().clone()
}

async fn point(app: &TestApp, id: i64) -> (Value, u32) {
    let r = app.graphql(POINT, json!({ "id": id.to_string() })).await;
    (r.data()["equipmentById"].clone(), r.sql_statements())
}

async fn mutate(app: &TestApp, document: &str, input: Value) -> Value {
    app.graphql(document, json!({ "i": input }))
        .await
        .data()
        .clone()
}

/// Polls `read` until `done` holds, failing after 10 s (the bus delay between instances).
async fn eventually<F, Fut>(what: &str, mut read: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = read().await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: still {value}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_repeated_point_query_runs_no_sql_and_counts_hits() {
    // The loaders' level: whole responses would answer the second read before them
    // (tests/api/response_cache.rs).
    let app = TestApp::spawn_with(Some(SMALL), |c| c.cache.response.enabled = false).await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    let (first, cold) = point(&app, id).await;
    assert!(cold > 0, "the first read goes to the database");
    let (second, warm) = point(&app, id).await;
    assert_eq!(second, first, "the same answer");
    assert_eq!(warm, 0, "the second identical request runs no SQL");
    let s = stats(&app).await;
    assert_eq!(s["cacheStats"]["enabled"], true);
    for k in [
        "equipment_by_id",
        "line_by_id",
        "sensors_by_equipment",
        "latest_reading",
    ] {
        assert!(
            kind(&s, k)["l1"]["hits"].as_f64().unwrap_or(0.0) >= 1.0,
            "{k} hit: {s}"
        );
    }
    let expected_redis = if crate::helpers::test_redis_url().is_some() {
        "up"
    } else {
        "off"
    };
    assert_eq!(s["cacheStats"]["redis"], expected_redis);
}

#[tokio::test]
async fn without_redis_the_cache_is_in_process_only() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.redis.url = None).await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    let (first, _) = point(&app, id).await;
    let (second, warm) = point(&app, id).await;
    assert_eq!((second, warm), (first, 0));
    let s = stats(&app).await;
    assert_eq!(s["cacheStats"]["redis"], "off");
    assert_eq!(kind(&s, "equipment_by_id")["l2"]["hits"], 0.0);
    assert_eq!(s["cacheStats"]["redisCommands"], 0.0);
}

#[tokio::test]
async fn with_the_cache_off_every_read_goes_to_the_database() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.cache.enabled = false).await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    let (first, cold) = point(&app, id).await;
    let (second, again) = point(&app, id).await;
    assert_eq!(second, first);
    assert_eq!(again, cold, "no cache: the same statements again");
}

/// Mutations that change data some loader caches, each exercised below, and those that
/// change nothing cached. Together they must be the schema's whole mutation list, so a new
/// mutation cannot land without deciding which it is.
const CACHED_WRITES: &[&str] = &[
    "updateEquipment",
    "createEquipment",
    "deleteEquipment",
    "setEquipmentStatus",
    "transitionMaintenanceOrder",
    "updateSensor",
    "createSensor",
    "deleteSensor",
    "updateLine",
    "createLine",
    "deleteLine",
    "ingestReadings",
    "invalidateCache",
    // The `workshops` tag of whole responses (tests/api/response_cache.rs).
    "createWorkshop",
    "updateWorkshop",
    "deleteWorkshop",
];

/// Their writes touch no cached kind (users, tokens, products, orders, shifts,
/// alarms are read uncached; maintenance orders change a machine only when they move).
const UNCACHED_WRITES: &[&str] = &[
    // Jobs and maintenance: the job queue, rollups and retention are not cached reads.
    "runMaintenance",
    "retryJob",
    "login",
    "refreshToken",
    "revokeSession",
    "changePassword",
    "createUser",
    "updateUser",
    "setUserWorkshops",
    "deactivateUser",
    "deleteUser",
    "createApiToken",
    "revokeApiToken",
    "createProduct",
    "updateProduct",
    "deleteProduct",
    "createProductionOrder",
    "updateProductionOrder",
    "transitionProductionOrder",
    "reportProduction",
    "createShift",
    "updateShift",
    "deleteShift",
    "createMaintenanceOrder",
    "updateMaintenanceOrder",
    "raiseAlarm",
    "acknowledgeAlarm",
    "acknowledgeAlarms",
    "clearAlarm",
    "assignAlarm",
    "commentAlarm",
    "shelveAlarm",
    "unshelveAlarm",
    "logout",
    "logoutAll",
];

#[tokio::test]
async fn every_mutation_is_classified_for_the_cache() {
    let app = TestApp::spawn().await;
    let schema: std::collections::BTreeSet<String> = app
        .graphql(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await
        .data()["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect();
    let listed: std::collections::BTreeSet<String> = CACHED_WRITES
        .iter()
        .chain(UNCACHED_WRITES)
        .map(|m| (*m).to_owned())
        .collect();
    assert_eq!(listed.len(), CACHED_WRITES.len() + UNCACHED_WRITES.len());
    assert_eq!(
        listed, schema,
        "classify the new mutation in tests/api/cache.rs"
    );
}

/// Reads the point query twice: the second is served by the cache (no SQL).
async fn warm(app: &TestApp, id: i64) {
    point(app, id).await;
    assert_eq!(point(app, id).await.1, 0, "warm before the write");
}

/// read → write → read for each write path of `CACHED_WRITES`, on a warm cache.
#[tokio::test]
async fn every_cached_write_is_seen_by_the_next_read() {
    let app = TestApp::seeded(SMALL).await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    let (machine, _) = point(&app, id).await;
    let line = id_of(&machine["line"]);
    let workshop = {
        let r = app
            .graphql(
                "query($id: ID!) { lineById(id: $id) { workshop { id } } }",
                json!({ "id": line.to_string() }),
            )
            .await;
        id_of(&r.data()["lineById"]["workshop"])
    };
    let line_read = || async {
        let r = app.graphql(LINE, json!({ "id": line.to_string() })).await;
        r.data()["lineById"].clone()
    };
    let workshop_read = || async {
        let r = app
            .graphql(WORKSHOP, json!({ "id": workshop.to_string() }))
            .await;
        r.data()["workshopById"].clone()
    };

    // updateEquipment: the row and the line's list.
    warm(&app, id).await;
    line_read().await;
    mutate(
        &app,
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
        json!({ "id": id.to_string(), "name": "Renamed machine" }),
    )
    .await;
    assert_eq!(point(&app, id).await.0["name"], "Renamed machine");
    let listed = line_read().await;
    assert!(
        listed["equipment"]
            .as_array()
            .expect("list")
            .iter()
            .any(|e| e["name"] == "Renamed machine"),
        "{listed}"
    );

    // setEquipmentStatus.
    warm(&app, id).await;
    let status = if point(&app, id).await.0["status"] == "IDLE" {
        "RUNNING"
    } else {
        "IDLE"
    };
    let changed = mutate(
        &app,
        "mutation($i: SetEquipmentStatusInput!) { setEquipmentStatus(input: $i) { changed } }",
        json!({ "equipmentId": id.to_string(), "status": status }),
    )
    .await;
    assert_eq!(changed["setEquipmentStatus"]["changed"], true);
    assert_eq!(point(&app, id).await.0["status"], status);
    let listed = line_read().await;
    assert!(
        listed["equipment"]
            .as_array()
            .expect("list")
            .iter()
            .any(|e| id_of(e) == id && e["status"] == status),
        "{listed}"
    );

    // transitionMaintenanceOrder: starting work puts the machine into MAINTENANCE.
    let order = mutate(
        &app,
        "mutation($i: CreateMaintenanceOrderInput!) { createMaintenanceOrder(input: $i) { order { id } } }",
        json!({ "equipmentId": id.to_string(), "kind": "CORRECTIVE", "title": "cache test" }),
    )
    .await;
    let order = id_of(&order["createMaintenanceOrder"]["order"]);
    for to in ["SCHEDULED", "IN_PROGRESS"] {
        warm(&app, id).await;
        mutate(
            &app,
            "mutation($i: TransitionMaintenanceOrderInput!) { transitionMaintenanceOrder(input: $i) { order { status } } }",
            json!({ "id": order.to_string(), "to": to }),
        )
        .await;
    }
    assert_eq!(point(&app, id).await.0["status"], "MAINTENANCE");

    // updateSensor.
    warm(&app, id).await;
    let sensor = id_of(&point(&app, id).await.0["sensors"][0]);
    mutate(
        &app,
        "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { __typename } }",
        json!({ "id": sensor.to_string(), "name": "Renamed sensor",
            "thresholds": { "hi": 42.5, "hiHi": 50.0 } }),
    )
    .await;
    let after = point(&app, id).await.0;
    let renamed = after["sensors"]
        .as_array()
        .expect("sensors")
        .iter()
        .find(|s| id_of(s) == sensor)
        .cloned()
        .expect("still there");
    assert_eq!(
        (renamed["name"].clone(), renamed["hi"].clone()),
        (json!("Renamed sensor"), json!(42.5))
    );
    let r = app
        .graphql(
            "query($id: ID!) { sensorById(id: $id) { name } }",
            json!({ "id": sensor.to_string() }),
        )
        .await;
    assert_eq!(r.data()["sensorById"]["name"], "Renamed sensor");

    // createSensor, then deleteSensor.
    warm(&app, id).await;
    let before = point(&app, id).await.0["sensors"].as_array().map(Vec::len);
    let created = mutate(
        &app,
        "mutation($i: CreateSensorInput!) { createSensor(input: $i) { sensor { id } } }",
        json!({ "equipmentId": id.to_string(), "tag": "CACHE.NEW", "name": "New",
            "metric": "TEMPERATURE", "unit": "degC", "sampleIntervalMs": 1000 }),
    )
    .await;
    let new_sensor = id_of(&created["createSensor"]["sensor"]);
    let grown = point(&app, id).await.0["sensors"].as_array().map(Vec::len);
    assert_eq!(grown, before.map(|n| n + 1), "createSensor");
    mutate(
        &app,
        "mutation($i: DeleteInput!) { deleteSensor(input: $i) { deletedId } }",
        json!({ "id": new_sensor.to_string() }),
    )
    .await;
    let shrunk = point(&app, id).await.0["sensors"].as_array().map(Vec::len);
    assert_eq!(shrunk, before, "deleteSensor");

    // updateLine: seen through the machine's `line`.
    warm(&app, id).await;
    mutate(
        &app,
        "mutation($i: UpdateLineInput!) { updateLine(input: $i) { __typename } }",
        json!({ "id": line.to_string(), "name": "Renamed line" }),
    )
    .await;
    assert_eq!(point(&app, id).await.0["line"]["name"], "Renamed line");
    let lines = workshop_read().await;
    assert!(
        lines["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .any(|l| l["name"] == "Renamed line"),
        "{lines}"
    );

    // createEquipment, then deleteEquipment: the line's list.
    let count = |v: &Value, field: &str| v[field].as_array().map_or(0, Vec::len);
    let before = count(&line_read().await, "equipment");
    line_read().await;
    let created = mutate(
        &app,
        "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { equipment { id } } }",
        json!({ "lineId": line.to_string(), "code": "EQ-CACHE", "name": "New", "kind": "CNC" }),
    )
    .await;
    let new_machine = id_of(&created["createEquipment"]["equipment"]);
    assert_eq!(
        count(&line_read().await, "equipment"),
        before + 1,
        "createEquipment"
    );
    point(&app, new_machine).await;
    mutate(
        &app,
        "mutation($i: DeleteInput!) { deleteEquipment(input: $i) { deletedId } }",
        json!({ "id": new_machine.to_string() }),
    )
    .await;
    assert_eq!(
        count(&line_read().await, "equipment"),
        before,
        "deleteEquipment"
    );
    let gone = app
        .graphql(POINT, json!({ "id": new_machine.to_string() }))
        .await;
    assert_eq!(
        gone.error_code(),
        "NOT_FOUND",
        "a deleted machine is not served from the cache"
    );

    // createLine, then deleteLine: the workshop's list.
    let before = count(&workshop_read().await, "lines");
    workshop_read().await;
    let created = mutate(
        &app,
        "mutation($i: CreateLineInput!) { createLine(input: $i) { line { id } } }",
        json!({ "workshopId": workshop.to_string(), "code": "L-CACHE", "name": "New line" }),
    )
    .await;
    let new_line = id_of(&created["createLine"]["line"]);
    assert_eq!(
        count(&workshop_read().await, "lines"),
        before + 1,
        "createLine"
    );
    mutate(
        &app,
        "mutation($i: DeleteInput!) { deleteLine(input: $i) { deletedId } }",
        json!({ "id": new_line.to_string() }),
    )
    .await;
    assert_eq!(count(&workshop_read().await, "lines"), before, "deleteLine");

    // ingestReadings: the latest value, written through (no SQL for the read after).
    warm(&app, id).await;
    let ts = chrono::Utc::now();
    let r = mutate(
        &app,
        "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { accepted } }",
        json!({ "readings": [{ "sensorId": sensor.to_string(),
            "ts": crate::helpers::iso(ts), "value": 77.25 }] }),
    )
    .await;
    assert_eq!(r["ingestReadings"]["accepted"], 1);
    let (after, sql) = point(&app, id).await;
    let latest = after["sensors"]
        .as_array()
        .expect("sensors")
        .iter()
        .find(|s| id_of(s) == sensor)
        .map(|s| s["latest"]["value"].clone());
    assert_eq!(latest, Some(json!(77.25)), "the latest value is fresh");
    assert_eq!(sql, 0, "and costs no SQL on a warm instance");
}

#[tokio::test]
async fn invalidate_cache_is_for_admins_and_checks_its_tags() {
    let app = TestApp::seeded(SMALL).await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    point(&app, id).await;
    assert_eq!(point(&app, id).await.1, 0);
    let admin = app.admin_token().await;
    let invalidate = "mutation($t: [String!], $all: Boolean) { invalidateCache(tags: $t, all: $all) { invalidated all } }";
    let r = app
        .graphql_as(
            &admin,
            invalidate,
            json!({ "t": [format!("equipment:{id}")] }),
        )
        .await;
    assert_eq!(r.data()["invalidateCache"]["invalidated"], 1);
    assert_eq!(
        point(&app, id).await.1,
        1,
        "only the machine's row is read again"
    );
    let r = app
        .graphql_as(&admin, invalidate, json!({ "all": true }))
        .await;
    assert_eq!(r.data()["invalidateCache"]["all"], true);
    assert!(point(&app, id).await.1 >= 2, "everything is read again");
    for bad in [
        json!({ "t": ["equipment:x"] }),
        json!({}),
        json!({ "t": ["line:1"], "all": true }),
    ] {
        let r = app.graphql_as(&admin, invalidate, bad.clone()).await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{bad}: {}", r.body);
    }
    let workshop = id_of(&json!({ "id": app.first_id("workshops").await }));
    let viewer = viewer_of(&app, &admin, "cache-viewer", workshop).await;
    let r = app
        .graphql_as(&viewer, invalidate, json!({ "all": true }))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app.graphql_as(&viewer, STATS, json!({})).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
}

/// A viewer of `workshop`, logged in.
async fn viewer_of(app: &TestApp, admin: &str, name: &str, workshop: i64) -> String {
    let workshops = vec![workshop.to_string()];
    app.graphql_as(
        admin,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
        json!({ "i": { "username": name, "role": "VIEWER", "workshopIds": workshops,
            "password": "cache test password 1" } }),
    )
    .await
    .data();
    app.login(name, "cache test password 1").await
}

#[tokio::test]
async fn cached_rows_never_cross_a_workshop_scope() {
    let app = TestApp::seeded(LARGE).await;
    let admin = app.admin_token().await;
    let r = app
        .graphql_as(
            &admin,
            "{ equipment(first: 100) { edges { node { id workshopId lineId } } } }",
            json!({}),
        )
        .await;
    let machines: Vec<(i64, i64, i64)> = r.data()["equipment"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let n = &e["node"];
            let num = |f: &str| n[f].as_str().and_then(|v| v.parse().ok()).expect("id");
            (num("id"), num("workshopId"), num("lineId"))
        })
        .collect();
    let (mine, my_workshop, my_line) = machines[0];
    let (theirs, _, their_line) = *machines
        .iter()
        .find(|m| m.1 != my_workshop)
        .expect("a machine of another workshop");
    // The admin warms every kind for both machines.
    for m in [mine, theirs] {
        let r = app
            .graphql_as(&admin, POINT, json!({ "id": m.to_string() }))
            .await;
        r.data();
        let r = app
            .graphql_as(&admin, POINT, json!({ "id": m.to_string() }))
            .await;
        assert_eq!(r.sql_statements(), 0, "warm");
    }
    for l in [my_line, their_line] {
        app.graphql_as(&admin, LINE, json!({ "id": l.to_string() }))
            .await
            .data();
    }
    let viewer = viewer_of(&app, &admin, "scoped-viewer", my_workshop).await;
    let r = app
        .graphql_as(&viewer, POINT, json!({ "id": mine.to_string() }))
        .await;
    assert_eq!(
        id_of(&r.data()["equipmentById"]),
        mine,
        "own workshop: served"
    );
    let r = app
        .graphql_as(&viewer, POINT, json!({ "id": theirs.to_string() }))
        .await;
    assert_eq!(
        r.error_code(),
        "NOT_FOUND",
        "another workshop's cached machine"
    );
    let r = app
        .graphql_as(&viewer, LINE, json!({ "id": their_line.to_string() }))
        .await;
    assert!(
        r.body["data"]["lineById"].is_null(),
        "another workshop's cached line: {}",
        r.body
    );
    // The other machine's sensors, cached by id for the admin, stay hidden too.
    let r = app
        .graphql_as(&admin, POINT, json!({ "id": theirs.to_string() }))
        .await;
    for sensor in r.data()["equipmentById"]["sensors"]
        .as_array()
        .expect("sensors")
    {
        let q = "query($id: ID!) { sensorById(id: $id) { id } }";
        let id = json!({ "id": sensor["id"] });
        app.graphql_as(&admin, q, id.clone()).await.data();
        let r = app.graphql_as(&viewer, q, id).await;
        assert_eq!(r.error_code(), "NOT_FOUND", "{}", r.body);
    }
}

#[tokio::test]
async fn a_write_on_one_instance_is_seen_by_the_other() {
    let (_redis, a, b) = two_instances().await;
    let id = id_of(&json!({ "id": a.first_id("equipment").await }));
    point(&a, id).await;
    assert_eq!(point(&a, id).await.1, 0, "A's L1 is warm");
    // B reads what A put in Redis: no statement for the cached kinds.
    let (on_b, b_sql) = point(&b, id).await;
    assert_eq!(on_b, point(&a, id).await.0);
    assert_eq!(
        b_sql, 1,
        "B is served from Redis, but for the in-process latest readings"
    );
    let s = stats(&b).await;
    assert!(
        kind(&s, "equipment_by_id")["l2"]["hits"].as_f64() >= Some(1.0),
        "{s}"
    );
    mutate(
        &b,
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
        json!({ "id": id.to_string(), "name": "Written on B" }),
    )
    .await;
    eventually(
        "A sees B's write",
        || async { point(&a, id).await.0 },
        |v| v["name"] == "Written on B",
    )
    .await;
}

#[tokio::test]
async fn a_corrupt_redis_value_is_a_miss() {
    let (_redis, a, b) = two_instances().await;
    let id = id_of(&json!({ "id": a.first_id("equipment").await }));
    let (expected, _) = point(&a, id).await;
    let l2 = a.state.cache.l2().expect("Redis is configured");
    assert!(
        l2.put_raw(
            smart_factory::cache::Kind::EquipmentById,
            id,
            b"\x01\x01garbage".to_vec()
        )
        .await
    );
    let (on_b, sql) = point(&b, id).await;
    assert_eq!(on_b, expected, "the right answer, from the database");
    // The corrupt row, and the latest readings (in process only, B has none yet).
    assert_eq!(sql, 2, "only the corrupt row is read again");
    let s = stats(&b).await;
    assert!(
        kind(&s, "equipment_by_id")["l2"]["misses"].as_f64() >= Some(1.0),
        "{s}"
    );
}

#[tokio::test]
async fn values_over_the_threshold_are_compressed_in_redis_and_read_back() {
    let (_own, url) = shared_or_own_redis().await;
    let prefix = unique_redis_prefix();
    // The loaders' values, not whole responses, are what this reads back from Redis.
    let a = TestApp::spawn_with(Some(LARGE), |c| {
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
        c.cache.compress_min_bytes = 256;
        c.cache.response.enabled = false;
    })
    .await;
    let shared_db = secrecy::ExposeSecret::expose_secret(&a.state.config.database.url).to_owned();
    let b = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = Some(url.clone().into());
        c.redis.prefix = prefix.clone();
        c.cache.compress_min_bytes = 256;
        c.cache.response.enabled = false;
    })
    .await;
    let line = a.first_id("lines").await;
    let on_a = a.graphql(LINE, json!({ "id": line })).await.data().clone();
    let on_b = b.graphql(LINE, json!({ "id": line })).await;
    assert_eq!(on_b.data(), &on_a);
    assert_eq!(
        on_b.sql_statements(),
        1,
        "the root line (read uncached); its machines came from Redis"
    );
    let s = stats(&a).await;
    let (raw, stored) = (
        s["cacheStats"]["bytesRaw"].as_f64().expect("raw"),
        s["cacheStats"]["bytesStored"].as_f64().expect("stored"),
    );
    assert!(stored < raw, "the line's machines list was compressed: {s}");
}

#[tokio::test]
async fn a_dead_redis_only_slows_the_cache_down() {
    let mut redis = RedisServer::start().await;
    let port = redis.port;
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.redis.url = Some(redis.url().into());
        c.redis.prefix = unique_redis_prefix();
        c.redis.timeout = Duration::from_millis(200);
        c.cache.breaker_probe = Duration::from_millis(200);
    })
    .await;
    let id = id_of(&json!({ "id": app.first_id("equipment").await }));
    point(&app, id).await;
    assert_eq!(app.get("/health/ready").await.body["redis"]["status"], "up");
    redis.kill();
    // Writes and reads go on; the write is seen at once.
    mutate(
        &app,
        "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
        json!({ "id": id.to_string(), "name": "While Redis is down" }),
    )
    .await;
    let ready = eventually(
        "readiness reports Redis degraded",
        || async {
            // Another instance's write, say: an L1 miss, so the cache tries Redis.
            app.state.cache.invalidate(&[Tag::Equipment(id)]).await;
            assert_eq!(point(&app, id).await.0["name"], "While Redis is down");
            let r = app.get("/health/ready").await;
            assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
            r.body
        },
        |b| b["redis"]["status"] == "degraded" && app.state.cache.redis_state() == "degraded",
    )
    .await;
    assert_eq!(ready["status"], "ready");
    let metrics = app.get("/metrics").await;
    let text = metrics.body.as_str().expect("text");
    assert!(text.contains("sf_cache_redis_up 0"), "{text}");
    assert!(text.contains("sf_cache_breaker_opened_total 1"), "{text}");
    assert!(text.contains("sf_cache_lookups_total{"), "{text}");
    let _back = RedisServer::start_on(port).await;
    eventually(
        "Redis is used again",
        || async {
            app.state.cache.invalidate(&[Tag::Equipment(id)]).await;
            point(&app, id).await;
            app.get("/health/ready").await.body
        },
        |b| b["redis"]["status"] == "up" && app.state.cache.redis_state() == "up",
    )
    .await;
    let before = stats(&app).await["cacheStats"]["redisCommands"].clone();
    // An L1 miss goes to Redis again.
    app.state.cache.invalidate(&[Tag::Equipment(id)]).await;
    assert_eq!(point(&app, id).await.0["name"], "While Redis is down");
    let after = stats(&app).await["cacheStats"]["redisCommands"].clone();
    assert!(after.as_f64() > before.as_f64(), "{before} → {after}");
}
