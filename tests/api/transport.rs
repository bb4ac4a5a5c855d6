//! GraphQL over HTTP: media types, status codes, batches, GET, limits, health, WebSocket.

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::helpers::{SMALL, TestApp, ws_connect};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[tokio::test]
async fn post_json_answers_json() {
    let app = TestApp::seeded(SMALL).await;
    let response = app.graphql("{ sites { code } }", json!({})).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.data()["sites"][0]["code"], "PLANT-1");
    assert!(response.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn graphql_response_media_type_gets_spec_status_codes() {
    let app = TestApp::seeded(SMALL).await;
    let ok = app
        .post_raw(
            "application/json",
            Some(GRAPHQL_RESPONSE),
            br#"{"query":"{ sites { code } }"}"#.to_vec(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.headers["content-type"], GRAPHQL_RESPONSE);
    let invalid = app
        .post_raw(
            "application/json",
            Some(GRAPHQL_RESPONSE),
            br#"{"query":"{ sites { nope } }"}"#.to_vec(),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.error_code(), "BAD_USER_INPUT");
    // The same invalid request as plain JSON keeps the legacy 200.
    let legacy = app
        .post_raw(
            "application/json",
            None,
            br#"{"query":"{ sites { nope } }"}"#.to_vec(),
        )
        .await;
    assert_eq!(legacy.status, StatusCode::OK);
    assert_eq!(legacy.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn malformed_bodies_and_media_types_get_clear_errors() {
    let app = TestApp::seeded(SMALL).await;
    let cases: Vec<(&str, &str, &[u8], StatusCode)> = vec![
        (
            "not JSON",
            "application/json",
            b"{not json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "JSON but no query",
            "application/json",
            b"{\"foo\":1}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty query",
            "application/json",
            b"{\"query\":\"\"}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "a number",
            "application/json",
            b"42",
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty body",
            "application/json",
            b"",
            StatusCode::BAD_REQUEST,
        ),
        (
            "text/plain",
            "text/plain",
            b"{\"query\":\"{ sites { code } }\"}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "form",
            "application/x-www-form-urlencoded",
            b"query=x",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (name, content_type, body, status) in cases {
        let response = app.post_raw(content_type, None, body.to_vec()).await;
        assert_eq!(response.status, status, "{name}: {}", response.body);
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{name}");
    }
}

#[tokio::test]
async fn query_errors_carry_codes() {
    let app = TestApp::seeded(SMALL).await;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "syntax error",
            "{ sites { code ",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown field",
            "{ sites { nope } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "unknown argument",
            "{ sites(x: 1) { code } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "wrong variable type",
            "query Q($id: ID!) { lineById(id: $id) { code } }",
            json!({ "id": { "not": "an id" } }),
            "BAD_USER_INPUT",
        ),
        (
            "missing variable",
            "query Q($id: ID!) { lineById(id: $id) { code } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "enum typo",
            "{ equipment(filter: { kind: LASER }) { totalCount } }",
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "too deep",
            "{ sensors { edges { node { equipment { line { workshop { lines { equipment { \
             sensors { equipment { line { workshop { code } } } } } } } } } } } } }",
            json!({}),
            "QUERY_TOO_COMPLEX",
        ),
        (
            "unknown id",
            "{ lineById(id: \"999999\") { code } }",
            json!({}),
            "NOT_FOUND",
        ),
    ];
    for (name, query, variables, code) in cases {
        let response = app.graphql(query, variables).await;
        assert_eq!(response.error_code(), code, "{name}: {}", response.body);
    }
}

#[tokio::test]
async fn complexity_counts_list_sizes() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.graphql.max_complexity = 5_000).await;
    // 10 alarms × their machine's sensors (estimated 10 each) is cheap enough...
    let cheap = app
        .graphql(
            "{ alarms(first: 10) { edges { node { equipment { sensors { tag } } } } } }",
            json!({}),
        )
        .await;
    cheap.data();
    // ...but the same shape for 500 alarms is not, however few rows exist.
    let costly = app
        .graphql(
            "{ alarms(first: 500) { edges { node { equipment { sensors { tag } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(costly.error_code(), "QUERY_TOO_COMPLEX", "{}", costly.body);
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations() {
    let app = TestApp::seeded(SMALL).await;
    let ok = app
        .get("/graphql?query=%7B%20sites%20%7B%20code%20%7D%20%7D")
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.data()["sites"][0]["code"], "PLANT-1");
    let mutation = app
        .get("/graphql?query=mutation%20%7B%20deleteWorkshop(input%3A%7Bid%3A%221%22%7D)%20%7B%20deletedId%20%7D%20%7D")
        .await;
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.error_code(), "BAD_USER_INPUT");
    assert_eq!(mutation.headers["allow"], "POST");
    assert_eq!(
        app.count("workshops").await,
        1,
        "the GET mutation must not run"
    );
}

#[tokio::test]
async fn batches_run_each_operation_and_are_bounded() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.graphql.max_batch = 3).await;
    let batch = json!([
        { "query": "{ sites { code } }" },
        { "query": "{ workshops { totalCount } }" },
    ]);
    let response = app.post_json(&batch).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body[0]["data"]["sites"][0]["code"], "PLANT-1");
    assert_eq!(response.body[1]["data"]["workshops"]["totalCount"], 1);
    let too_many = app
        .post_json(&json!(vec![json!({ "query": "{ sites { code } }" }); 4]))
        .await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_many.error_code(), "BAD_USER_INPUT");
    let empty = app.post_json(&json!([])).await;
    assert_eq!(empty.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.server.body_limit_bytes = 1024).await;
    let padding = "x".repeat(4096);
    let body = json!({ "query": format!("{{ sites {{ code }} }} # {padding}") });
    let response = app
        .post_raw(
            "application/json",
            None,
            serde_json::to_vec(&body).expect("json"),
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn large_responses_are_compressed() {
    let app = TestApp::seeded(crate::helpers::LARGE).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": "{ sensors(first: 100) { edges { node { id tag name unit lo hi } } } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let small = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": "{ sites { code } }" }))
        .send()
        .await
        .expect("request");
    assert!(
        small.headers().get("content-encoding").is_none(),
        "tiny bodies stay plain"
    );
}

#[tokio::test]
async fn health_endpoints_report_the_database() {
    let app = TestApp::spawn().await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.body["status"], "ok");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["database"]["status"], "up");
    assert!(ready.body["database"]["latencyMs"].as_f64().is_some());
    // Closing the pool makes the database unreachable for this instance.
    app.state
        .db
        .write
        .clone()
        .close()
        .await
        .expect("close pool");
    let down = app.get("/health/ready").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.body["database"]["status"], "down");
    // A GraphQL request now fails as INTERNAL, without details, not as a dropped connection.
    let response = app.graphql("{ workshops { totalCount } }", json!({})).await;
    assert_eq!(response.error_code(), "INTERNAL");
    assert_eq!(response.error_message(), "internal error");
}

#[tokio::test]
async fn graphiql_is_served_in_development() {
    let app = TestApp::spawn().await;
    let page = app.get("/graphiql").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .as_str()
            .is_some_and(|html| html.contains("graphiql"))
    );
    let hardened = TestApp::spawn_with(None, |c| {
        c.server.graphiql = false;
        c.server.introspection = false;
    })
    .await;
    assert_eq!(
        hardened.get("/graphiql").await.status,
        StatusCode::NOT_FOUND
    );
    // With introspection off the schema is simply not revealed.
    let introspection = hardened
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        introspection.body["data"]["__schema"].is_null(),
        "{}",
        introspection.body
    );
    let open = app
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert!(open.data()["__schema"]["types"].is_array());
}

#[tokio::test]
async fn websocket_accepts_graphql_transport_ws() {
    let app = TestApp::seeded(SMALL).await;
    let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": {} }).to_string(),
        ))
        .await
        .expect("send init");
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack");
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ sites { code } }" } })
                .to_string(),
        ))
        .await
        .expect("send query");
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next");
    assert_eq!(next["payload"]["data"]["sites"][0]["code"], "PLANT-1");
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("stream open")
            .expect("message");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON message");
        }
    }
}

#[tokio::test]
async fn the_shutdown_handle_stops_the_server_and_frees_the_port() {
    use smart_factory::{config::Config, startup::Application};
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/stop.db?mode=rwc", dir.path().display());
    let app = Application::build(Config::for_database(&url).expect("config"))
        .await
        .expect("build");
    let address = app.local_addr().expect("address");
    let stop = app.shutdown_handle();
    let running = tokio::spawn(app.run_until_stopped());
    let live = reqwest::get(format!("http://{address}/health/live"))
        .await
        .expect("live");
    assert_eq!(live.status(), StatusCode::OK);
    stop.send(true).expect("signal");
    let result = tokio::time::timeout(std::time::Duration::from_secs(15), running)
        .await
        .expect("stopped within 15 s")
        .expect("task joined");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        reqwest::get(format!("http://{address}/health/live"))
            .await
            .is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn alias_bombs_and_wide_operations_are_refused() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.graphql.document.max_aliases = 20;
        c.graphql.document.max_root_fields = 8;
    })
    .await;
    let aliased = |n: usize| {
        let fields: String = (0..n).map(|i| format!("a{i}: sites {{ code }} ")).collect();
        format!("{{ {fields} }}")
    };
    let fine = app.graphql(&aliased(8), json!({})).await;
    assert_eq!(fine.data()["a7"][0]["code"], "PLANT-1");
    let wide = app.graphql(&aliased(9), json!({})).await;
    assert_eq!(wide.error_code(), "QUERY_TOO_COMPLEX");
    assert!(
        wide.error_message().contains("root fields"),
        "{}",
        wide.body
    );
    let nested: String = (0..25).map(|i| format!("n{i}: code ")).collect();
    let bomb = app
        .graphql(&format!("{{ sites {{ {nested} }} }}"), json!({}))
        .await;
    assert_eq!(bomb.error_code(), "QUERY_TOO_COMPLEX");
    assert!(bomb.error_message().contains("aliases"), "{}", bomb.body);
    let strict = app
        .post_raw(
            "application/json",
            Some(GRAPHQL_RESPONSE),
            serde_json::to_vec(&json!({ "query": aliased(30) })).expect("json"),
        )
        .await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn document_limits_follow_the_configuration() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.graphql.document.max_bytes = 200;
        c.graphql.document.max_selections = 6;
        c.graphql.document.max_nesting = 5;
    })
    .await;
    let fine = app.graphql("{ sites { code } }", json!({})).await;
    assert_eq!(fine.data()["sites"][0]["code"], "PLANT-1");
    let long = format!("{{ sites {{ code }} }} {}", "#".repeat(200));
    let refused = app.graphql(&long, json!({})).await;
    assert_eq!(refused.error_code(), "DOCUMENT_TOO_LARGE");
    assert!(
        refused.error_message().contains("SF_MAX_DOCUMENT_BYTES"),
        "{}",
        refused.body
    );
    let wide = "{ ...F ...F ...F } fragment F on QueryRoot { sites { code } }";
    let refused = app.graphql(wide, json!({})).await;
    assert_eq!(refused.error_code(), "QUERY_TOO_COMPLEX");
    assert!(
        refused.error_message().contains("SF_MAX_SELECTIONS"),
        "{}",
        refused.body
    );
    let deep = app
        .graphql("{ sites(a: [[[[1]]]]) { code } }", json!({}))
        .await;
    assert_eq!(deep.error_code(), "QUERY_TOO_COMPLEX");
    assert!(
        deep.error_message().contains("SF_MAX_NESTING"),
        "{}",
        deep.body
    );
    // The same limits on a socket: the guard is an extension every transport passes.
    let mut socket = ws_connect(&app.address, "graphql-transport-ws").await;
    let init = json!({ "type": "connection_init", "payload": {} });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("send init");
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": wide } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("send");
    // Refused before it ran: the protocol's `error` message, with the list of errors.
    let refused = next_json(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
}

#[tokio::test]
async fn a_socket_message_over_the_limit_closes_that_socket_with_1009_only() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.sockets.max_message_bytes = 64 * 1024).await;
    let mut socket = ws_connect(&app.address, "graphql-transport-ws").await;
    let huge = json!({ "type": "connection_init", "payload": { "x": "y".repeat(100 * 1024) } });
    let _ = socket.send(Message::text(huge.to_string())).await;
    let close = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(Message::Text(text))) => {
                    panic!("an answer to an oversized message: {text}")
                }
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the server closes the socket within 10 s");
    // 1009 (Message Too Big); `None` when the close frame lost the race with the unread rest
    // of the message, which TCP discards with a reset. Never an answer.
    assert!(matches!(close, Some(1009) | None), "{close:?}");
    let fine = app.graphql("{ sites { code } }", json!({})).await;
    assert_eq!(fine.data()["sites"][0]["code"], "PLANT-1");
}
