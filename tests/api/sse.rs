//! GraphQL over Server-Sent Events (`graphql-sse`, distinct connections): what a client that
//! cannot open a socket sees.

use std::time::Duration;

use entity::enums::Role;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::helpers::{SMALL, TestApp, insert_user_with_password};

const PASSWORD: &str = "correct horse battery staple";

/// `POST /graphql/stream` of `body` as the bearer of `token` (empty: none).
async fn post(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql/stream", app.address))
        .header("accept", "text/event-stream")
        .json(&body);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

/// Everything the stream sends until it ends (within 10 s).
async fn read_to_end(response: reqwest::Response) -> String {
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream")),
        "{:?}",
        response.headers()
    );
    let mut text = String::new();
    let mut bytes = response.bytes_stream();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = bytes.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        }
    })
    .await
    .expect("the stream ends in time");
    text
}

#[tokio::test]
async fn a_query_streams_one_next_then_complete() {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let response = post(&app, &admin, json!({ "query": "{ sites { code } }" })).await;
    assert_eq!(response.status(), 200);
    let text = read_to_end(response).await;
    let next = text.find("event: next").expect("a next event");
    let complete = text.find("event: complete").expect("a complete event");
    assert!(next < complete, "{text}");
    assert!(
        text.contains(r#"data: {"data":{"sites":[{"code":"PLANT-1"}]}}"#),
        "{text}"
    );
}

#[tokio::test]
async fn operations_refused_before_they_start_get_a_json_answer() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    let admin = app.admin_token().await;
    let cases = [
        (
            "invalid",
            admin.as_str(),
            json!({ "query": "{ nope }" }),
            400,
            None,
        ),
        (
            "bad token",
            "not-a-token",
            json!({ "query": "{ me { id } }" }),
            401,
            Some("UNAUTHENTICATED"),
        ),
        (
            "too deep",
            admin.as_str(),
            json!({ "query": format!("{{ {}a{} }}", "a { ".repeat(200), " }".repeat(200)) }),
            400,
            Some("QUERY_TOO_COMPLEX"),
        ),
    ];
    for (case, token, body, status, code) in cases {
        let response = post(&app, token, body).await;
        assert_eq!(response.status(), status, "{case}");
        let answer: Value = response.json().await.expect("JSON");
        assert!(
            answer["errors"][0]["message"].is_string(),
            "{case}: {answer}"
        );
        if let Some(code) = code {
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], code,
                "{case}: {answer}"
            );
        }
    }
    // GET needs `accept: text/event-stream`.
    let plain = app
        .client
        .get(format!(
            "{}/graphql/stream?query=%7B__typename%7D",
            app.address
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), 406);
    let streamed = app
        .client
        .get(format!(
            "{}/graphql/stream?query=%7B__typename%7D",
            app.address
        ))
        .header("accept", "text/event-stream")
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request");
    assert!(read_to_end(streamed).await.contains("QueryRoot"));
}

#[tokio::test]
async fn logging_out_ends_the_callers_open_stream_at_once() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    insert_user_with_password(&app, "olga", Role::Viewer, PASSWORD).await;
    let token = app.login("olga", PASSWORD).await;
    let subscription = json!({ "query": "subscription { alarmCountsChanged { count } }" });
    let response = post(&app, &token, subscription).await;
    assert_eq!(response.status(), 200);
    let out = app
        .graphql_as(&token, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(out.data()["logout"]["loggedOut"], true);
    let text = read_to_end(response).await;
    assert!(text.contains(": closed 4403"), "{text}");
    assert!(!text.contains("event: complete"), "{text}");
}
