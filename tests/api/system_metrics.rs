//! `systemMetrics`, `systemMetricsHistory` and the `systemMetrics` subscription: values that
//! move under load, the cluster view of two instances, history rows with an injected clock,
//! admins only, and the argument limits.

use std::{sync::Arc, time::Duration};

use entity::enums::Role;
use serde_json::{Value, json};
use smart_factory::telemetry::clock::ManualClock;
use tokio::time::Instant;

use crate::{
    helpers::{SMALL, TestApp, insert_user_with_password, iso, two_instances},
    live_client::{LiveClient, Transport},
};

const CURRENT: &str = "query($i: String) { systemMetrics(instance: $i) { instance version at \
    uptimeS requestsPerS latencyP50Ms latencyP95Ms latencyP99Ms errorRate sqlStatementsPerS \
    sqlP95Ms poolInUse poolIdle poolAcquireMs wsConnections subscriptions rssBytes cacheHitRatio \
    cache { kind lookups l1Hits l2Hits hitRatio } jobQueueDepth instances { instance } } }";

/// An app whose collector ticks every 100 ms.
async fn fast_app() -> TestApp {
    TestApp::spawn_with(Some(SMALL), |c| {
        c.metrics.interval = Duration::from_millis(100);
    })
    .await
}

/// A logged-in user of `role`.
async fn token_of(app: &TestApp, role: Role) -> String {
    let name = format!("metrics-{}", role.as_str());
    insert_user_with_password(app, &name, role, "correct-horse-battery").await;
    app.login(&name, "correct-horse-battery").await
}

/// Polls `systemMetrics` until `done` holds of it; fails after 20 s.
async fn until(app: &TestApp, token: &str, vars: Value, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.graphql_as(token, CURRENT, vars.clone()).await;
        let m = r.data()["systemMetrics"].clone();
        if done(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "systemMetrics never got there: {m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn system_metrics_move_under_load() {
    let app = fast_app().await;
    let admin = app.admin_token().await;
    let id = app.state.instance_id.to_string();
    let load = "{ workshops(first: 10) { nodes { id lines { id } } } }";
    let m = until(&app, &admin, json!({}), |m| {
        m["requestsPerS"].as_f64() > Some(0.0)
            && m["latencyP95Ms"].as_f64() > Some(0.0)
            && m["sqlStatementsPerS"].as_f64() > Some(0.0)
    })
    .await;
    // Meanwhile the poll itself is load; add some more, so the window sees SQL-heavy work.
    for _ in 0..20 {
        app.graphql_as(&admin, load, json!({})).await.data();
    }
    assert_eq!(m["instance"], "cluster");
    assert_eq!(m["version"], smart_factory::VERSION);
    assert!(m["jobQueueDepth"].is_null(), "no job queue yet");
    assert!(
        m["poolAcquireMs"].as_f64() >= Some(0.0),
        "the probe got a connection: {m}"
    );
    assert!(m["rssBytes"].as_f64() > Some(1e6), "{m}");
    let listed: Vec<&str> = m["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["instance"].as_str())
        .collect();
    assert_eq!(listed, [id.as_str()]);
    let one = until(&app, &admin, json!({ "i": id }), |m| {
        m["poolInUse"].as_i64().unwrap_or(0) + m["poolIdle"].as_i64().unwrap_or(0) > 0
    })
    .await;
    assert_eq!(one["instance"], id.as_str());
    assert_eq!(one["instances"], json!([]));
    let unknown = app
        .graphql_as(&admin, CURRENT, json!({ "i": "no-such-instance" }))
        .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn the_cache_hit_ratio_per_kind_moves_with_cached_reads() {
    // The reader below is load, not a rate-limit test: its plant tree costs enough
    // complexity that the per-user quota would refuse it within a second. The loaders'
    // kinds are the subject, so the whole-response cache is off.
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.metrics.interval = Duration::from_millis(100);
        c.rate_limit.enabled = false;
        // Through the loaders' caches, not the whole-response cache in front of them.
        c.cache.response.enabled = false;
    })
    .await;
    let admin = app.admin_token().await;
    // The plant tree through the cached loaders, over and over: after the first read every
    // lookup is a hit.
    let load = "{ workshops(first: 10) { nodes { id lines { id equipment { id code } } } } }";
    let reader = {
        let (client, address, token) = (app.client.clone(), app.address.clone(), admin.clone());
        tokio::spawn(async move {
            loop {
                let sent = client
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({ "query": load }))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        let status = r.status();
                        panic!("{status}: {}", r.text().await.unwrap_or_default())
                    }
                    Err(e) => panic!("{e}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let m = until(&app, &admin, json!({}), |m| {
        m["cacheHitRatio"].as_f64() > Some(0.5)
            && m["cache"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"] == "lines_by_workshop"))
    })
    .await;
    reader.abort();
    let kinds = m["cache"].as_array().expect("kinds");
    for k in kinds {
        let lookups = k["lookups"].as_i64().expect("lookups");
        let hits = k["l1Hits"].as_i64().expect("l1") + k["l2Hits"].as_i64().expect("l2");
        assert!(lookups > 0 && hits <= lookups, "{k}");
        let ratio = k["hitRatio"].as_f64().expect("a ratio with lookups");
        assert!((ratio - hits as f64 / lookups as f64).abs() < 1e-9, "{k}");
    }
}

#[tokio::test]
async fn non_admins_are_forbidden_on_every_metrics_field_and_the_subscription() {
    let app = fast_app().await;
    let now = chrono::Utc::now();
    let history =
        "query($f: DateTime!, $t: DateTime!) { systemMetricsHistory(from: $f, to: $t) { at } }";
    let range = json!({ "f": iso(now - chrono::Duration::hours(1)), "t": iso(now) });
    for role in [Role::Viewer, Role::Operator, Role::Engineer, Role::Manager] {
        let token = token_of(&app, role).await;
        let current = app.graphql_as(&token, CURRENT, json!({})).await;
        assert_eq!(current.error_code(), "FORBIDDEN", "{role:?}");
        let past = app.graphql_as(&token, history, range.clone()).await;
        assert_eq!(past.error_code(), "FORBIDDEN", "{role:?}");
        for transport in Transport::ALL {
            let mut client = LiveClient::open(&app, transport, &token).await;
            client
                .subscribe(
                    "m",
                    "subscription { systemMetrics { instance } }",
                    json!({}),
                )
                .await;
            assert_eq!(
                client.error_code("m").await,
                "FORBIDDEN",
                "{role:?} {transport:?}"
            );
        }
    }
}

#[tokio::test]
async fn bad_ranges_steps_and_intervals_are_bad_user_input() {
    let app = fast_app().await;
    let admin = app.admin_token().await;
    let now = chrono::Utc::now();
    let history = "query($f: DateTime!, $t: DateTime!, $s: Int) { \
        systemMetricsHistory(from: $f, to: $t, stepS: $s) { at } }";
    let hour = chrono::Duration::hours(1);
    for (from, to, step) in [
        (now, now, 60),
        (now, now - hour, 60),
        (now - chrono::Duration::days(8), now, 60),
        (now - hour, now, 10),
        (now - hour, now, 100_000),
    ] {
        let r = app
            .graphql_as(
                &admin,
                history,
                json!({ "f": iso(from), "t": iso(to), "s": step }),
            )
            .await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{from} {to} {step}");
    }
    let mut client = LiveClient::open(&app, Transport::GraphqlTransportWs, &admin).await;
    client
        .subscribe(
            "m",
            "subscription { systemMetrics(intervalMs: 499) { instance } }",
            json!({}),
        )
        .await;
    assert_eq!(client.error_code("m").await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_subscription_sends_the_cluster_view_on_every_transport() {
    let app = fast_app().await;
    let admin = app.admin_token().await;
    let id = app.state.instance_id.to_string();
    for transport in Transport::ALL {
        let mut client = LiveClient::open(&app, transport, &admin).await;
        client
            .subscribe(
                "m",
                "subscription { systemMetrics(intervalMs: 500) { instance at instances { instance } } }",
                json!({}),
            )
            .await;
        let first = client.next("m").await;
        let second = client.next("m").await;
        for got in [&first, &second] {
            let m = &got["data"]["systemMetrics"];
            assert_eq!(m["instance"], "cluster", "{transport:?}: {got}");
            assert_eq!(m["instances"][0]["instance"], id.as_str());
        }
        let at = |v: &Value| crate::helpers::time(&v["data"]["systemMetrics"]["at"]);
        assert!(at(&second) >= at(&first), "{transport:?}");
    }
}

#[tokio::test]
async fn two_instances_on_one_redis_both_appear_in_the_cluster_view() {
    let (_redis, a, b) = two_instances().await;
    let admin = a.admin_token().await;
    let (ida, idb) = (
        a.state.instance_id.to_string(),
        b.state.instance_id.to_string(),
    );
    assert_ne!(ida, idb);
    let m = until(&a, &admin, json!({}), |m| {
        m["instances"].as_array().is_some_and(|l| l.len() == 2)
    })
    .await;
    let mut listed: Vec<String> = m["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .map(|i| i["instance"].as_str().unwrap_or_default().to_owned())
        .collect();
    listed.sort();
    let mut both = vec![ida, idb.clone()];
    both.sort();
    assert_eq!(listed, both);
    // The other instance alone, by its id, from this one.
    let other = a.graphql_as(&admin, CURRENT, json!({ "i": idb })).await;
    assert_eq!(other.data()["systemMetrics"]["instance"], idb.as_str());
}

#[tokio::test]
async fn history_rows_are_written_once_a_minute_of_the_injected_clock() {
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:30Z")
        .expect("time")
        .to_utc();
    let clock = Arc::new(ManualClock::new(start));
    let injected = clock.clone();
    let app = TestApp::spawn_with(None, move |c| {
        c.metrics.interval = Duration::from_millis(100);
        c.metrics.clock = injected;
    })
    .await;
    let admin = app.admin_token().await;
    let rows = || async { app.count("metric_snapshots").await };
    let wait_for = |n: i64| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        while rows().await < n {
            assert!(Instant::now() < deadline, "fewer than {n} history rows");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for(1).await;
    // Many ticks, one minute: still one row.
    let ticks = app.state.monitor.local().at;
    assert_eq!(ticks, start);
    assert_eq!(rows().await, 1);
    clock.advance(chrono::Duration::seconds(60));
    wait_for(2).await;
    clock.advance(chrono::Duration::seconds(60));
    wait_for(3).await;
    let history = "query($f: DateTime!, $t: DateTime!, $s: Int) { \
        systemMetricsHistory(from: $f, to: $t, stepS: $s) { instance at metrics { instance uptimeS } } }";
    let vars = |step: i32| {
        json!({
            "f": iso(start - chrono::Duration::minutes(1)),
            "t": iso(start + chrono::Duration::minutes(5)),
            "s": step,
        })
    };
    let r = app.graphql_as(&admin, history, vars(60)).await;
    let points = r.data()["systemMetricsHistory"]
        .as_array()
        .expect("points")
        .clone();
    assert_eq!(points.len(), 3, "{points:?}");
    let id = app.state.instance_id.to_string();
    assert!(points.iter().all(|p| p["instance"] == id.as_str()));
    assert_eq!(crate::helpers::time(&points[0]["at"]), start);
    // Coarser steps thin the points: 10:00:30, 10:01:30 and 10:02:30 in 5-minute buckets.
    let r = app.graphql_as(&admin, history, vars(300)).await;
    assert_eq!(
        r.data()["systemMetricsHistory"].as_array().map(Vec::len),
        Some(1)
    );
}
