//! Hostile documents against the real binary (debug profile under `cargo test`) in the
//! production profile, anonymous, on SQLite — as the attack was first seen: every case of
//! the corpus over every transport (POST with both media types, GET, a batch, both WebSocket
//! protocols), each answered with a 4xx or a coded GraphQL error and a short message, never a
//! 5xx, and the process alive after every case. Plus the shutdown that must finish whatever
//! requests are doing, and the deepest nesting the configuration allows.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::ws_connect,
    hostile_corpus::{Case, Payload, cases, deep_list, deep_object, deep_selection},
    process::{PRODUCTION_SECRET, ServerProcess},
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// A message may quote a 300-character excerpt plus its own words.
const MAX_MESSAGE: usize = 400;
/// `SF_BODY_LIMIT_BYTES`' default.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The production profile, anonymous limits out of the way (the corpus is larger than the
/// anonymous burst; the rate limit has tests of its own).
async fn production(extra: &[(&str, &str)]) -> ServerProcess {
    let mut env = vec![
        ("SF_ENV", "production"),
        ("SF_JWT_SECRET", PRODUCTION_SECRET),
        ("SF_RATE_LIMIT", "off"),
    ];
    env.extend_from_slice(extra);
    ServerProcess::start(&env).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// What one transport answered, normalised.
struct Answer {
    /// HTTP status (101 for sockets).
    status: u16,
    /// The GraphQL response (or the first of a batch); `Null` when a socket closed instead.
    body: Value,
}

fn first_response(body: &Value) -> &Value {
    body.as_array().and_then(|a| a.first()).unwrap_or(body)
}

/// The socket message limit of the server under test (the default).
const SOCKET_MESSAGE_LIMIT: usize = 256 * 1024;

/// Checks one answer: never a 5xx; errors coded, as the case allows, with short messages.
fn check(case: &Case, transport: &str, answer: &Answer) {
    let context = format!("{} over {transport}", case.name);
    assert!(
        answer.status < 500,
        "{context}: status {} {}",
        answer.status,
        answer.body
    );
    let response = first_response(&answer.body);
    assert!(
        !response.is_null(),
        "{context}: no response (socket closed?)"
    );
    let errors = response["errors"].as_array();
    if let Some(errors) = errors {
        assert!(errors.len() <= 21, "{context}: {} errors", errors.len());
        for err in errors {
            let message = err["message"].as_str().unwrap_or("");
            assert!(
                message.chars().count() <= MAX_MESSAGE,
                "{context}: a {}-character message",
                message.len()
            );
            assert!(
                err["extensions"]["code"].is_string(),
                "{context}: an error without a code: {err}"
            );
        }
    }
    if !case.codes.is_empty() {
        let code = errors
            .and_then(|e| e.first())
            .and_then(|e| e["extensions"]["code"].as_str())
            .unwrap_or_else(|| panic!("{context}: expected an error, got {response}"));
        assert!(
            case.codes.contains(&code),
            "{context}: code {code}, expected one of {:?}: {response}",
            case.codes
        );
    }
}

async fn post(
    server: &ServerProcess,
    client: &reqwest::Client,
    body: Vec<u8>,
    accept: &str,
) -> Answer {
    let response = client
        .post(format!("{}/graphql", server.address))
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if accept == GRAPHQL_RESPONSE && status == StatusCode::BAD_REQUEST && body.is_object() {
        // A request that never ran has no `data` entry at all under this media type.
        assert!(body.get("data").is_none(), "`data` in a 400: {body}");
    }
    Answer {
        status: status.as_u16(),
        body,
    }
}

async fn get(
    server: &ServerProcess,
    client: &reqwest::Client,
    query: &str,
    vars: &Value,
) -> Answer {
    let response = client
        .get(format!("{}/graphql", server.address))
        .query(&[("query", query), ("variables", &vars.to_string())])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// Sends `payload` as one operation over a socket speaking `protocol`; the first response,
/// or `Null` when the server closed the socket instead.
async fn over_socket(server: &ServerProcess, protocol: &'static str, payload: Value) -> Answer {
    let mut socket = ws_connect(&server.address, protocol).await;
    let init = json!({ "type": "connection_init", "payload": {} });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let start = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    let sent = socket
        .send(Message::text(
            json!({ "id": "1", "type": start, "payload": payload }).to_string(),
        ))
        .await;
    let mut body = Value::Null;
    let mut close = None;
    if sent.is_ok() {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), socket.next())
                .await
                .expect("the socket answers within 30 s");
            let Some(Ok(message)) = next else { break };
            let Message::Text(text) = message else {
                if let Message::Close(frame) = message {
                    close = frame.map(|f| u16::from(f.code));
                    break;
                }
                continue;
            };
            let frame: Value = serde_json::from_str(&text).expect("JSON frame");
            if matches!(frame["type"].as_str(), Some("next" | "data")) {
                body = frame["payload"].clone();
                break;
            }
            // Refused before it ran: the protocol's `error` message carries the list.
            if frame["type"] == "error" {
                body = json!({ "errors": frame["payload"] });
                break;
            }
        }
    }
    // A socket the server closed answers with the close code instead of a status.
    Answer {
        status: close.unwrap_or(101),
        body,
    }
}

#[tokio::test]
async fn every_hostile_document_over_every_transport_is_refused_and_the_server_lives() {
    let mut server = production(&[]).await;
    let client = client();
    let limits = smart_factory::security::document::DocumentLimits::default();
    let corpus = cases(limits.max_nesting);
    let total = corpus.len();
    let mut answers = 0;
    for case in corpus {
        match &case.payload {
            Payload::Raw(body) => {
                for accept in [GRAPHQL_RESPONSE, "application/json"] {
                    let answer = post(&server, &client, body.clone(), accept).await;
                    check(&case, &format!("POST ({accept})"), &answer);
                    answers += 1;
                }
            }
            Payload::Graphql { query, variables } => {
                let request = json!({ "query": query, "variables": variables });
                let bytes = serde_json::to_vec(&request).expect("json");
                for accept in [GRAPHQL_RESPONSE, "application/json"] {
                    let answer = post(&server, &client, bytes.clone(), accept).await;
                    check(&case, &format!("POST ({accept})"), &answer);
                    answers += 1;
                }
                let batch = serde_json::to_vec(&json!([request, request])).expect("json");
                let batch_len = batch.len();
                let answer = post(&server, &client, batch, GRAPHQL_RESPONSE).await;
                if batch_len > BODY_LIMIT {
                    assert_eq!(answer.status, 413, "{}: batch {}", case.name, answer.body);
                } else if query.len() * 2 <= limits.max_bytes {
                    check(&case, "a batch of two", &answer);
                } else {
                    // Two of them pass the batch's byte budget whatever each one is.
                    assert_eq!(
                        answer.body["errors"][0]["extensions"]["code"], "DOCUMENT_TOO_LARGE",
                        "{}: batch {}",
                        case.name, answer.body
                    );
                }
                // Past a few kilobytes a URL is the HTTP layer's to refuse (414/431).
                if query.len() < 6_000 && variables.to_string().len() < 6_000 {
                    let answer = get(&server, &client, query, variables).await;
                    check(&case, "GET", &answer);
                    answers += 1;
                }
                // A socket message over `SF_WS_MAX_MESSAGE_BYTES` closes that socket (1009).
                let frame = json!({ "id": "1", "type": "subscribe", "payload": request });
                let oversized = frame.to_string().len() > SOCKET_MESSAGE_LIMIT;
                for protocol in ["graphql-transport-ws", "graphql-ws"] {
                    let answer = over_socket(&server, protocol, request.clone()).await;
                    if oversized {
                        // 1009, or a reset when the close frame loses the race with the
                        // unread rest of the message (TCP drops it on close): never an answer.
                        assert!(
                            answer.status == 1009 || answer.body.is_null(),
                            "{}: {protocol}: {} {}",
                            case.name,
                            answer.status,
                            answer.body
                        );
                    } else {
                        check(&case, protocol, &answer);
                    }
                    answers += 1;
                }
            }
        }
        assert!(
            server.alive(&client).await,
            "the server died on `{}`",
            case.name
        );
    }
    assert!(total >= 40, "the corpus has {total} cases");
    eprintln!("{total} cases, {answers} answers checked");
    assert!(
        answers >= total * 4,
        "only {answers} answers for {total} cases"
    );
}

#[tokio::test]
async fn the_deepest_nesting_the_configuration_allows_parses_on_a_worker_stack() {
    let max = smart_factory::config::MAX_SAFE_NESTING;
    let max_text = max.to_string();
    let mut server = production(&[
        ("SF_MAX_NESTING", max_text.as_str()),
        ("SF_MAX_DEPTH", "200"),
    ])
    .await;
    let client = client();
    // Each exactly at the limit: the field's `{` and the argument's `(` count.
    for query in [
        format!("{{ __typename(a: {}) }}", deep_list(max - 2)),
        format!("{{ __typename(a: {}) }}", deep_object(max - 2)),
        format!(
            "query($v: {}Int{}) {{ __typename }}",
            "[".repeat(max - 1),
            "]".repeat(max - 1)
        ),
        deep_selection(max),
    ] {
        let answer = post(
            &server,
            &client,
            serde_json::to_vec(&json!({ "query": query })).expect("json"),
            GRAPHQL_RESPONSE,
        )
        .await;
        assert!(answer.status < 500, "{}", answer.body);
        assert!(server.alive(&client).await, "died on {}", &query[..40]);
    }
    let refused = post(
        &server,
        &client,
        serde_json::to_vec(&json!({ "query": deep_selection(max + 1) })).expect("json"),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
}

#[tokio::test]
async fn shutdown_finishes_within_the_grace_period_whatever_requests_are_doing() {
    use tokio::io::AsyncWriteExt as _;
    let mut server = production(&[("SF_SHUTDOWN_GRACE_S", "1")]).await;
    let client = client();
    assert!(server.alive(&client).await);
    // A request whose body never finishes arriving, and an idle socket: draining would wait
    // for both forever.
    let host = server.address.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    stalled
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
                 content-length: 1000\r\n\r\n{{\"query\": \""
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let _socket = ws_connect(&server.address, "graphql-transport-ws").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait_for_exit(Duration::from_secs(30));
        (status, server)
    })
    .await
    .expect("join");
    let (status, server) = status;
    let status = status.expect("the server exits after SIGTERM despite open requests");
    assert!(status.success(), "exit status {status}");
    assert!(
        server.logged("stopping anyway"),
        "the forced stop is logged: {:?}",
        server.log.lock().expect("log")
    );
    drop(stalled);
}
