//! One policy path: each limit and each refusal, over every transport — HTTP POST, HTTP GET,
//! both WebSocket protocols and SSE — answers with the same code.

use std::time::Duration;

use entity::enums::Role;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{SMALL, TestApp, insert_user_with_password, ws_connect};

const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug)]
enum Over {
    Post,
    Get,
    TransportWs,
    LegacyWs,
    Sse,
}

const EVERY: [Over; 5] = [
    Over::Post,
    Over::Get,
    Over::TransportWs,
    Over::LegacyWs,
    Over::Sse,
];

/// Runs `query` over `over` as the bearer of `token` (empty: none); the errors' first code.
async fn code_of(app: &TestApp, over: Over, token: &str, query: &str) -> String {
    let answer = run(app, over, token, query).await;
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{over:?}: no error code in {answer}"))
        .to_owned()
}

/// The answer (`{data, errors}`) of `query` over `over`.
async fn run(app: &TestApp, over: Over, token: &str, query: &str) -> Value {
    let body = json!({ "query": query });
    let with_token = |request: reqwest::RequestBuilder| {
        if token.is_empty() {
            request
        } else {
            request.bearer_auth(token)
        }
    };
    match over {
        Over::Post => {
            let request = app
                .client
                .post(format!("{}/graphql", app.address))
                .json(&body);
            with_token(request)
                .send()
                .await
                .expect("POST")
                .json()
                .await
                .expect("JSON")
        }
        Over::Get => {
            let request = app
                .client
                .get(format!("{}/graphql", app.address))
                .query(&[("query", query)]);
            with_token(request)
                .send()
                .await
                .expect("GET")
                .json()
                .await
                .expect("JSON")
        }
        Over::Sse => {
            let request = app
                .client
                .post(format!("{}/graphql/stream", app.address))
                .header("accept", "text/event-stream")
                .json(&body);
            let response = with_token(request).send().await.expect("POST stream");
            let text = response.text().await.expect("body");
            match text.find("data: ") {
                Some(start) if text.starts_with("event:") || text.contains("event: next") => {
                    let line = text[start + 6..].lines().next().unwrap_or("");
                    serde_json::from_str(line).expect("JSON data")
                }
                _ => serde_json::from_str(&text).expect("a JSON refusal"),
            }
        }
        Over::TransportWs | Over::LegacyWs => {
            let (protocol, start) = if matches!(over, Over::LegacyWs) {
                ("graphql-ws", "start")
            } else {
                ("graphql-transport-ws", "subscribe")
            };
            let mut socket = ws_connect(&app.address, protocol).await;
            let payload = if token.is_empty() {
                json!({})
            } else {
                json!({ "Authorization": format!("Bearer {token}") })
            };
            let init = json!({ "type": "connection_init", "payload": payload });
            socket
                .send(Message::text(init.to_string()))
                .await
                .expect("init");
            let run = json!({ "id": "1", "type": start, "payload": { "query": query } });
            socket
                .send(Message::text(run.to_string()))
                .await
                .expect("send");
            loop {
                let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
                    .await
                    .expect("an answer in time")
                    .expect("socket open")
                    .expect("message");
                let Message::Text(text) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).expect("JSON");
                match value["type"].as_str() {
                    Some("next" | "data") => return value["payload"].clone(),
                    Some("error") => return json!({ "errors": value["payload"] }),
                    _ => {}
                }
            }
        }
    }
}

#[tokio::test]
async fn every_limit_answers_the_same_code_over_every_transport() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.graphql.document.max_aliases = 2;
        c.graphql.document.max_root_fields = 3;
        c.graphql.document.max_nesting = 8;
        c.graphql.max_complexity = 50;
        c.graphql.document.max_bytes = 2_000;
    })
    .await;
    let admin = app.admin_token().await;
    let cases = [
        (
            "aliases",
            "{ a: __typename b: __typename c: __typename }".to_owned(),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "root fields",
            "{ sites { code } workshops { totalCount } lines { totalCount } me { id } }".to_owned(),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "nesting",
            format!("{{ {}__typename{} }}", "sites { ".repeat(9), " }".repeat(9)),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "complexity",
            "{ sensors(first: 500) { nodes { id name } } }".to_owned(),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "bytes",
            format!("{{ __typename {} }}", " ".repeat(3_000)),
            "DOCUMENT_TOO_LARGE",
        ),
        ("validation", "{ nope }".to_owned(), "BAD_USER_INPUT"),
    ];
    for (case, query, code) in &cases {
        for over in EVERY {
            assert_eq!(
                &code_of(&app, over, &admin, query).await,
                code,
                "{case} over {over:?}"
            );
        }
    }
}

#[tokio::test]
async fn refusals_of_the_caller_answer_the_same_code_over_every_transport() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    insert_user_with_password(&app, "vera", Role::Viewer, PASSWORD).await;
    let viewer = app.login("vera", PASSWORD).await;
    for over in EVERY {
        // Anonymous: may only log in.
        assert_eq!(
            code_of(&app, over, "", "{ me { id } }").await,
            "UNAUTHENTICATED",
            "{over:?}"
        );
        // A viewer asking for an admin's list.
        let refused = "{ users { totalCount } }";
        assert_eq!(
            code_of(&app, over, &viewer, refused).await,
            "FORBIDDEN",
            "{over:?}"
        );
    }
    // Each refusal was a security event (once a minute per caller and field: one row).
    let admin = app.admin_token().await;
    let events = app
        .graphql_as(
            &admin,
            "{ securityEvents(filter: {kind: \"forbidden\"}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events.data()["securityEvents"]["totalCount"],
        1,
        "{}",
        events.body
    );
}

#[tokio::test]
async fn the_request_timeout_and_the_rate_limit_hold_over_every_transport() {
    // Loaders that wait longer than an operation may run: every operation that loads a
    // relation runs out of time, whatever carried it.
    let slow = TestApp::spawn_with(Some(SMALL), |c| {
        c.server.request_timeout = Duration::from_millis(100);
        c.graphql.loader_delay = Duration::from_secs(2);
    })
    .await;
    let nested = "{ workshops { nodes { lines { id } } } }";
    for over in EVERY {
        assert_eq!(
            code_of(&slow, over, "", nested).await,
            "TIMEOUT",
            "{over:?}"
        );
    }
    let limited = TestApp::spawn_with(None, |c| {
        c.auth.dev_admin_fallback = false;
        c.rate_limit.anonymous = "1/h,1".parse().expect("quota");
    })
    .await;
    let _first = run(&limited, Over::Post, "", "{ __typename }").await;
    for over in EVERY {
        assert_eq!(
            code_of(&limited, over, "", "{ __typename }").await,
            "RATE_LIMITED",
            "{over:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_mutation_over_every_transport_leaves_its_audit_row() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    insert_user_with_password(&app, "vera", Role::Viewer, PASSWORD).await;
    let viewer = app.login("vera", PASSWORD).await;
    let before = app.count("audit_log").await;
    let mutation =
        "mutation { createWorkshop(input: {code: \"W-X\", name: \"X\"}) { workshop { id } } }";
    for over in [Over::Post, Over::TransportWs, Over::LegacyWs, Over::Sse] {
        assert_eq!(
            code_of(&app, over, &viewer, mutation).await,
            "FORBIDDEN",
            "{over:?}"
        );
    }
    assert_eq!(
        app.count("audit_log").await - before,
        4,
        "one error row per refusal"
    );
    assert_eq!(app.count("workshops").await, 1, "nothing created");
}
