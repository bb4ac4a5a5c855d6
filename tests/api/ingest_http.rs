//! `POST /ingest` as a PLC bridge uses it: a JSON array, a bearer token, per-row rejections,
//! and clear refusals that store nothing.

use chrono::Utc;
use entity::enums::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use smart_factory::events::{Event, Topic};

use crate::helpers::{SMALL, TestApp, insert_user_with_password, iso};

const PASSWORD: &str = "ingest http password";

struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<String>,
}

async fn post(app: &TestApp, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Answer {
    let mut request = app
        .client
        .post(format!("{}/ingest", app.address))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        retry_after,
    }
}

fn code(answer: &Answer) -> &str {
    answer.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error code in {}", answer.body))
}

async fn sensor_ids(app: &TestApp) -> Vec<String> {
    let r = app
        .graphql("{ sensors(first: 2) { edges { node { id } } } }", json!({}))
        .await;
    r.data()["sensors"]["edges"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn readings_are_stored_once_with_per_row_rejections_and_published() {
    let app = TestApp::seeded(SMALL).await;
    let token = app.admin_token().await;
    let ids = sensor_ids(&app).await;
    let mut events = app.state.events.subscribe(Topic::Readings);
    let now = iso(Utc::now());
    let rows = json!([
        { "sensorId": ids[0], "ts": now, "value": 1.5 },
        { "sensorId": ids[1].parse::<i64>().expect("numeric"), "ts": now, "value": 2.5, "quality": 100 },
        { "sensorId": "999999", "ts": now, "value": 3.5 },
        { "sensorId": ids[0], "ts": iso(Utc::now() + chrono::Duration::hours(1)), "value": 4.5 },
    ]);
    let body = serde_json::to_vec(&rows).expect("json");
    let before = app.count("sensor_readings").await;
    let first = post(&app, Some(&token), "application/json", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["accepted"], 2);
    assert_eq!(first.body["inserted"], 2);
    let rejected: Vec<_> = first.body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().expect("index"),
                r["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (2, "NOT_FOUND".to_owned()),
            (3, "BAD_USER_INPUT".to_owned())
        ]
    );
    assert_eq!(app.count("sensor_readings").await, before + 2);
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
        .await
        .expect("an event")
        .expect("open");
    assert!(matches!(event.as_ref(), Event::Readings { readings } if readings.len() == 2));
    // A resend stores nothing new.
    let again = post(&app, Some(&token), "application/json", body).await;
    assert_eq!(
        (
            again.body["accepted"].clone(),
            again.body["inserted"].clone()
        ),
        (json!(2), json!(0))
    );
    assert_eq!(app.count("sensor_readings").await, before + 2);
}

/// A refused request: name, token, content type, body, status and code expected.
type Refusal<'a> = (
    &'a str,
    Option<&'a str>,
    &'a str,
    Vec<u8>,
    StatusCode,
    &'a str,
);

#[tokio::test]
async fn refused_requests_get_their_status_and_code_and_store_nothing() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.dev_admin_fallback = false;
        c.server.body_limit_bytes = 600 * 1024;
    })
    .await;
    insert_user_with_password(&app, "watcher", Role::Viewer, PASSWORD).await;
    let viewer = app.login("watcher", PASSWORD).await;
    let admin = app.admin_token().await;
    let ids = {
        let r = app
            .graphql_as(
                &admin,
                "{ sensors(first: 1) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        r.data()["sensors"]["edges"][0]["node"]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let one =
        serde_json::to_vec(&json!([{ "sensorId": ids, "ts": iso(Utc::now()), "value": 1.0 }]))
            .expect("json");
    let too_many: Vec<Value> = (0..5_001)
        .map(|i| json!({ "sensorId": ids, "ts": iso(Utc::now() - chrono::Duration::seconds(i)), "value": 1.0 }))
        .collect();
    let before = app.count("sensor_readings").await;
    let cases: Vec<Refusal> = vec![
        (
            "no token",
            None,
            "application/json",
            one.clone(),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "a forged token",
            Some("sfgw_forged"),
            "application/json",
            one.clone(),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "a viewer",
            Some(&viewer),
            "application/json",
            one.clone(),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
        (
            "wrong content type",
            Some(&admin),
            "text/plain",
            one.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
        ),
        (
            "malformed JSON",
            Some(&admin),
            "application/json",
            b"[{\"sensorId\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "an object, not an array",
            Some(&admin),
            "application/json",
            b"{\"sensorId\": 1}".to_vec(),
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "an unknown field",
            Some(&admin),
            "application/json",
            br#"[{"sensorId": 1, "ts": "2026-12-01T00:00:00Z", "value": 1, "x": 1}]"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "a value of 1e400",
            Some(&admin),
            "application/json",
            br#"[{"sensorId": 1, "ts": "2026-12-01T00:00:00Z", "value": 1e400}]"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "5,001 rows",
            Some(&admin),
            "application/json",
            serde_json::to_vec(&too_many).expect("json"),
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        ),
        (
            "an oversized body",
            Some(&admin),
            "application/json",
            vec![b' '; 700 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
        ),
    ];
    for (name, token, content_type, body, status, expected) in cases {
        let answer = post(&app, token, content_type, body).await;
        assert_eq!(answer.status, status, "{name}: {}", answer.body);
        assert_eq!(code(&answer), expected, "{name}");
        assert_eq!(
            app.count("sensor_readings").await,
            before,
            "{name} stored something"
        );
    }
}

#[tokio::test]
async fn ingest_is_rate_limited_like_the_callers_class() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.rate_limit.user = "5/h,5".parse().expect("quota");
    })
    .await;
    let token = app.admin_token().await;
    let body = serde_json::to_vec(&json!([])).expect("json");
    let first = post(&app, Some(&token), "application/json", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = post(&app, Some(&token), "application/json", body).await;
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.body
    );
    assert_eq!(code(&second), "RATE_LIMITED");
    assert!(second.retry_after.is_some());
}
