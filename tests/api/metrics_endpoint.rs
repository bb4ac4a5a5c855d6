//! `/metrics`: parsed by a real Prometheus text parser, counters that move under load,
//! bounded operation labels, slow operations, build info and the optional bearer token.

use std::time::Duration;

use prometheus_parse::{Scrape, Value as Sample};
use serde_json::json;
use tokio::time::Instant;

use crate::helpers::{SMALL, TestApp};

/// The scrape of `app` (with `token` as bearer, when given).
async fn scrape(app: &TestApp, token: Option<&str>) -> Scrape {
    let mut request = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text parses")
}

/// The sum of every sample of `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v) => *v,
            Sample::Histogram(_) | Sample::Summary(_) => 1.0,
        })
        .sum()
}

fn has(scrape: &Scrape, name: &str) -> bool {
    scrape.samples.iter().any(|s| s.metric == name)
}

#[tokio::test]
async fn metrics_parse_and_their_counters_move_under_load() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.metrics.interval = Duration::from_millis(100);
        c.metrics.operations = vec!["Plant".to_owned()].into();
        // Every operation counts as slow: the counter must move.
        c.metrics.slow_operation = Duration::ZERO;
    })
    .await;
    let admin = app.admin_token().await;
    let before = scrape(&app, None).await;
    for _ in 0..10 {
        app.graphql_as(
            &admin,
            "query Plant { workshops(first: 5) { nodes { id } } }",
            json!({}),
        )
        .await
        .data();
        app.graphql_as(&admin, "query Anything { me { id } }", json!({}))
            .await;
    }
    let requests = |s: &Scrape| value(s, "sf_graphql_requests_total", &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let s = scrape(&app, None).await;
        // The gauges follow the collector's next tick.
        if value(&s, "sf_graphql_requests_per_second", &[]) > 0.0 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(requests(&after) >= requests(&before) + 20.0);
    assert!(
        value(&after, "sf_sql_statements_total", &[])
            > value(&before, "sf_sql_statements_total", &[])
    );
    let plant = [("operation", "Plant"), ("outcome", "ok")];
    assert_eq!(value(&after, "sf_graphql_operations_total", &plant), 10.0);
    assert!(
        value(
            &after,
            "sf_graphql_operations_total",
            &[("operation", "other")]
        ) >= 10.0
    );
    assert!(
        !after
            .samples
            .iter()
            .any(|s| s.labels.get("operation") == Some("Anything")),
        "an unlisted operation name must not become a label"
    );
    assert!(value(&after, "sf_slow_operations_total", &[]) >= 20.0);
    assert!(
        value(&after, "sf_metrics_ticks_total", &[])
            > value(&before, "sf_metrics_ticks_total", &[])
    );
    assert!(value(&after, "sf_graphql_requests_per_second", &[]) > 0.0);
    assert!(value(&after, "sf_process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(&after, "sf_db_pool_connections", &[]) > 0.0);
    assert!(value(&after, "sf_ready", &[]) == 1.0);
    for name in [
        "sf_process_cpu_percent",
        "sf_machine_cpu_percent",
        "sf_uptime_seconds",
        "sf_graphql_latency_milliseconds",
        "sf_sql_p95_milliseconds",
    ] {
        assert!(has(&after, name), "{name} missing");
    }
    let build: Vec<_> = after
        .samples
        .iter()
        .filter(|s| s.metric == "sf_build_info")
        .collect();
    assert_eq!(build.len(), 1);
    assert_eq!(build[0].labels.get("version"), Some(smart_factory::VERSION));
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() {
    let app = TestApp::spawn_with(None, |c| {
        c.metrics.token = Some("scrape-secret-123".to_owned().into());
    })
    .await;
    let url = format!("{}/metrics", app.address);
    let none = app.client.get(&url).send().await.expect("GET");
    assert_eq!(none.status(), 401);
    for wrong in ["scrape-secret-12", "scrape-secret-1234", "", "x"] {
        let r = app
            .client
            .get(&url)
            .bearer_auth(wrong)
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 401, "{wrong:?}");
    }
    let basic = app
        .client
        .get(&url)
        .header("authorization", "Basic scrape-secret-123")
        .send()
        .await
        .expect("GET");
    assert_eq!(basic.status(), 401);
    let ok = scrape(&app, Some("scrape-secret-123")).await;
    assert!(has(&ok, "sf_build_info"));
}
