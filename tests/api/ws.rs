//! The WebSocket serve loop as a client meets it: the handshake, both protocols' close codes,
//! connection limits, and the server closing sockets on its own — revocation, expiry and
//! shutdown — without waiting for the client.

use std::time::Duration;

use entity::enums::Role;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    SMALL, TestApp, WsStream, insert_user_with_password, two_instances, ws_connect,
};

const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];
const PASSWORD: &str = "correct horse battery staple";

/// How long a test waits for something the server should do at once.
const DEADLINE: Duration = Duration::from_secs(5);

async fn send(socket: &mut WsStream, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// Sends `connection_init` with `token` (if any).
async fn init(socket: &mut WsStream, token: Option<&str>) {
    let payload = token.map_or_else(
        || json!({}),
        |t| json!({ "Authorization": format!("Bearer {t}") }),
    );
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
}

/// The next JSON message (keep-alives and ping frames skipped); `None` once the socket closed.
async fn next_message(socket: &mut WsStream) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("a message in time")?;
        match message {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] != "ka" {
                    return Some(value);
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Opens a socket in `protocol`, initialised with `token`, past its `connection_ack`.
async fn ready(app: &TestApp, protocol: &'static str, token: Option<&str>) -> WsStream {
    let mut socket = ws_connect(&app.address, protocol).await;
    init(&mut socket, token).await;
    let ack = next_message(&mut socket).await.expect("an answer to init");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// The close code the server sends within the deadline (other messages skipped); `None`
/// when the connection ended without one.
async fn close_code(socket: &mut WsStream) -> Option<u16> {
    tokio::time::timeout(DEADLINE, async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the server closes the socket in time")
}

fn subscribe(protocol: &str, id: &str, query: &str) -> Value {
    let kind = if protocol == "graphql-ws" {
        "start"
    } else {
        "subscribe"
    };
    json!({ "id": id, "type": kind, "payload": { "query": query } })
}

/// A user of `role` and a fresh token of theirs.
async fn user_token(app: &TestApp, username: &str, role: Role) -> (i64, String) {
    let id = insert_user_with_password(app, username, role, PASSWORD).await;
    (id, app.login(username, PASSWORD).await)
}

/// A query answered over a ready socket: the server still serves it.
async fn still_serves(socket: &mut WsStream, protocol: &str) {
    send(socket, subscribe(protocol, "probe", "{ __typename }")).await;
    let answer = next_message(socket).await.expect("an answer");
    assert_eq!(
        answer["payload"]["data"]["__typename"], "QueryRoot",
        "{answer}"
    );
    let done = next_message(socket).await.expect("complete");
    assert_eq!(done["type"], "complete", "{done}");
}

#[tokio::test]
async fn a_socket_that_never_sends_connection_init_is_closed_with_4408() {
    let app = TestApp::spawn_with(None, |c| {
        c.sockets.init_timeout = Duration::from_millis(300);
    })
    .await;
    for protocol in PROTOCOLS {
        let mut socket = ws_connect(&app.address, protocol).await;
        assert_eq!(close_code(&mut socket).await, Some(4408), "{protocol}");
    }
}

#[tokio::test]
async fn subscribe_before_the_acknowledgement_closes_with_4401() {
    let app = TestApp::spawn().await;
    for protocol in PROTOCOLS {
        let mut socket = ws_connect(&app.address, protocol).await;
        send(&mut socket, subscribe(protocol, "1", "{ __typename }")).await;
        assert_eq!(close_code(&mut socket).await, Some(4401), "{protocol}");
    }
}

#[tokio::test]
async fn malformed_messages_close_with_4400_and_other_sockets_carry_on() {
    let app = TestApp::spawn().await;
    let mut bystander = ready(&app, "graphql-transport-ws", None).await;
    for protocol in PROTOCOLS {
        let other_protocols_start = if protocol == "graphql-ws" {
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ a }" } })
        } else {
            json!({ "id": "1", "type": "start", "payload": { "query": "{ a }" } })
        };
        let cases: Vec<(&str, Message)> = vec![
            ("not JSON", Message::text("{not json")),
            ("a JSON array", Message::text("[1, 2]")),
            ("an unknown type", Message::text(r#"{"type":"mystery"}"#)),
            ("no type", Message::text(r#"{"id":"1"}"#)),
            (
                "subscribe without id",
                Message::text(
                    json!({ "type": subscribe(protocol, "x", "{ a }")["type"], "payload": { "query": "{ a }" } })
                        .to_string(),
                ),
            ),
            (
                "subscribe without payload",
                Message::text(json!({ "type": subscribe(protocol, "x", "{ a }")["type"], "id": "1" }).to_string()),
            ),
            ("the other protocol's message", Message::text(other_protocols_start.to_string())),
            ("a binary frame", Message::binary(vec![0_u8, 159, 146, 150])),
        ];
        for (case, message) in cases {
            let mut socket = ready(&app, protocol, None).await;
            socket.send(message).await.expect("send");
            assert_eq!(
                close_code(&mut socket).await,
                Some(4400),
                "{protocol}: {case}"
            );
        }
        // Before the handshake too.
        let mut socket = ws_connect(&app.address, protocol).await;
        socket.send(Message::text("{not json")).await.expect("send");
        assert_eq!(
            close_code(&mut socket).await,
            Some(4400),
            "{protocol}: before init"
        );
    }
    still_serves(&mut bystander, "graphql-transport-ws").await;
}

#[tokio::test]
async fn a_bad_token_closes_with_4403_and_the_legacy_protocol_hears_why_first() {
    let app = TestApp::spawn_with(None, |c| c.auth.dev_admin_fallback = false).await;
    for protocol in PROTOCOLS {
        for payload in [
            json!({ "Authorization": "Bearer not-a-token" }),
            json!({ "Authorization": 42 }),
        ] {
            let mut socket = ws_connect(&app.address, protocol).await;
            send(
                &mut socket,
                json!({ "type": "connection_init", "payload": payload }),
            )
            .await;
            if protocol == "graphql-ws" {
                let error = next_message(&mut socket).await.expect("connection_error");
                assert_eq!(error["type"], "connection_error", "{error}");
            }
            assert_eq!(
                close_code(&mut socket).await,
                Some(4403),
                "{protocol}: {payload}"
            );
        }
        // A payload that is not an object is malformed.
        let mut socket = ws_connect(&app.address, protocol).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": "Bearer x" }),
        )
        .await;
        assert_eq!(close_code(&mut socket).await, Some(4400), "{protocol}");
    }
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = TestApp::spawn().await;
    for protocol in PROTOCOLS {
        let mut socket = ready(&app, protocol, None).await;
        init(&mut socket, None).await;
        assert_eq!(close_code(&mut socket).await, Some(4429), "{protocol}");
    }
}

#[tokio::test]
async fn connections_past_the_instance_or_user_limit_close_with_4429() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.sockets.max_connections = 3;
        c.sockets.max_per_user = 2;
    })
    .await;
    let (_, olga) = user_token(&app, "olga", Role::Viewer).await;
    let mut first = ready(&app, "graphql-transport-ws", Some(&olga)).await;
    let _second = ready(&app, "graphql-transport-ws", Some(&olga)).await;
    // Olga's third socket: over her limit, refused at init.
    let mut third = ws_connect(&app.address, "graphql-transport-ws").await;
    init(&mut third, Some(&olga)).await;
    assert_eq!(close_code(&mut third).await, Some(4429), "per user");
    // The instance holds three; the fourth is refused on arrival.
    let _anonymous = ready(&app, "graphql-ws", None).await;
    let mut fourth = ws_connect(&app.address, "graphql-ws").await;
    assert_eq!(close_code(&mut fourth).await, Some(4429), "per instance");
    // Places come back when sockets leave.
    first.close(None).await.expect("close");
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        let mut socket = ws_connect(&app.address, "graphql-transport-ws").await;
        init(&mut socket, Some(&olga)).await;
        if next_message(&mut socket)
            .await
            .is_some_and(|m| m["type"] == "connection_ack")
        {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = again.expect("a place is free again after a socket left");
    still_serves(&mut again, "graphql-transport-ws").await;
}

#[tokio::test]
async fn logout_revocation_and_changes_to_the_user_close_their_sockets_with_4403() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    let admin = app.admin_token().await;
    let (olga_id, _) = user_token(&app, "olga", Role::Viewer).await;
    let workshops = app
        .graphql_as(
            &admin,
            "{ workshops(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    let workshop = workshops.data()["workshops"]["nodes"][0]["id"]
        .as_str()
        .expect("a workshop")
        .to_owned();
    let causes: [(&str, &str); 5] = [
        ("logout", "mutation { logout { loggedOut } }"),
        ("revokeSession", ""),
        (
            "role change",
            "mutation($id: ID!) { updateUser(input: {id: $id, role: OPERATOR}) { user { id } } }",
        ),
        (
            "workshops change",
            "mutation($id: ID!, $w: ID!) { setUserWorkshops(input: {userId: $id, workshopIds: [$w]}) { user { id } } }",
        ),
        (
            "deactivation",
            "mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { user { id } } }",
        ),
    ];
    let mut bystander = ready(&app, PROTOCOLS[0], Some(&admin)).await;
    // In this order: after deactivation olga cannot log in again.
    for (cause, document) in causes {
        let token = app.login("olga", PASSWORD).await;
        let mut transport = ready(&app, PROTOCOLS[0], Some(&token)).await;
        let mut legacy = ready(&app, PROTOCOLS[1], Some(&token)).await;
        act(&app, cause, document, &token, &admin, olga_id, &workshop).await;
        assert_eq!(close_code(&mut transport).await, Some(4403), "{cause}");
        assert_eq!(close_code(&mut legacy).await, Some(4403), "{cause}: legacy");
        still_serves(&mut bystander, PROTOCOLS[0]).await;
    }
}

/// Does `cause` to olga's session `token`.
async fn act(
    app: &TestApp,
    cause: &str,
    document: &str,
    token: &str,
    admin: &str,
    olga_id: i64,
    workshop: &str,
) {
    let answer = match cause {
        "logout" => app.graphql_as(token, document, json!({})).await,
        "revokeSession" => {
            let sessions = app
                .graphql_as(
                    admin,
                    "query($id: ID!) { sessions(userId: $id) { id revokedAt } }",
                    json!({ "id": olga_id.to_string() }),
                )
                .await;
            let open: Vec<String> = sessions.data()["sessions"]
                .as_array()
                .expect("sessions")
                .iter()
                .filter(|s| s["revokedAt"].is_null())
                .map(|s| s["id"].as_str().expect("id").to_owned())
                .collect();
            let mut last = None;
            for id in open {
                last = Some(
                    app.graphql_as(
                        admin,
                        "mutation($id: ID!) { revokeSession(input: {id: $id}) { revoked } }",
                        json!({ "id": id }),
                    )
                    .await,
                );
            }
            last.expect("an open session")
        }
        _ => {
            app.graphql_as(
                admin,
                document,
                json!({ "id": olga_id.to_string(), "w": workshop }),
            )
            .await
        }
    };
    assert!(
        answer.body.get("errors").is_none(),
        "{cause}: {}",
        answer.body
    );
}

#[tokio::test]
async fn an_expiring_access_token_closes_its_socket_with_4403() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.access_ttl = Duration::from_secs(2);
    })
    .await;
    insert_user_with_password(&app, "olga", Role::Viewer, PASSWORD).await;
    for protocol in PROTOCOLS {
        let token = app.login("olga", PASSWORD).await;
        let mut socket = ready(&app, protocol, Some(&token)).await;
        // Served while valid ...
        send(&mut socket, subscribe(protocol, "1", "{ me { username } }")).await;
        let answer = next_message(&mut socket).await.expect("an answer");
        assert_eq!(
            answer["payload"]["data"]["me"]["username"], "olga",
            "{answer}"
        );
        // ... and closed by the server when the token expires (within the 5 s deadline).
        assert_eq!(close_code(&mut socket).await, Some(4403), "{protocol}");
    }
}

#[tokio::test]
async fn a_logout_on_another_instance_closes_the_socket_here() {
    let (_redis, a, b) = two_instances().await;
    insert_user_with_password(&a, "olga", Role::Viewer, PASSWORD).await;
    let token = a.login("olga", PASSWORD).await;
    let mut on_a = ready(&a, "graphql-transport-ws", Some(&token)).await;
    let out = b
        .graphql_as(&token, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(out.data()["logout"]["loggedOut"], true);
    assert_eq!(close_code(&mut on_a).await, Some(4403));
}

#[tokio::test]
async fn queries_and_mutations_over_a_socket_answer_then_complete() {
    let app = TestApp::spawn_with(Some(SMALL), |_| {}).await;
    let admin = app.admin_token().await;
    for protocol in PROTOCOLS {
        let mut socket = ready(&app, protocol, Some(&admin)).await;
        send(&mut socket, subscribe(protocol, "q", "{ sites { code } }")).await;
        let answer = next_message(&mut socket).await.expect("answer");
        assert_eq!(answer["id"], "q");
        assert_eq!(answer["payload"]["data"]["sites"][0]["code"], "PLANT-1");
        let done = next_message(&mut socket).await.expect("complete");
        assert_eq!(done["type"], "complete", "{done}");
        // Refused before it ran: `error` with the list, and nothing more for that id.
        send(&mut socket, subscribe(protocol, "bad", "{ nope }")).await;
        let refused = next_message(&mut socket).await.expect("error");
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "bad");
        assert!(refused["payload"][0]["message"].is_string(), "{refused}");
        still_serves(&mut socket, protocol).await;
    }
}

/// A subscription that stays open (nothing changes in a test plant by itself).
const LASTING: &str = "subscription { alarmCountsChanged { count } }";

#[tokio::test]
async fn a_duplicate_operation_id_closes_with_4409() {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    for protocol in PROTOCOLS {
        let mut socket = ready(&app, protocol, Some(&admin)).await;
        send(&mut socket, subscribe(protocol, "live", LASTING)).await;
        // The first is running (its answer to a query proves the socket read it).
        still_serves(&mut socket, protocol).await;
        send(&mut socket, subscribe(protocol, "live", LASTING)).await;
        assert_eq!(close_code(&mut socket).await, Some(4409), "{protocol}");
    }
}

#[tokio::test]
async fn ten_thousand_subscribe_messages_on_one_socket_are_bounded_and_answered() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.sockets.max_operations = 100).await;
    let admin = app.admin_token().await;
    let socket = ready(&app, PROTOCOLS[0], Some(&admin)).await;
    let (mut sink, mut stream) = socket.split();
    let sender = tokio::spawn(async move {
        for i in 0..10_000 {
            let message = subscribe(PROTOCOLS[0], &format!("op{i}"), LASTING);
            sink.send(Message::text(message.to_string()))
                .await
                .expect("send");
        }
        sink
    });
    let mut refused = 0;
    while refused < 9_900 {
        let message = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("answers keep coming")
            .expect("socket open")
            .expect("message");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(value["type"], "error", "{value}");
            assert_eq!(value["payload"][0]["extensions"]["code"], "RATE_LIMITED");
            refused += 1;
        }
    }
    let sink = sender.await.expect("sender");
    let mut socket = sink.reunite(stream).expect("one socket");
    // The hundred that run share one execution (once their checks are through); stopping one
    // makes room for another.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while app.state.feeds.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.state.feeds.len(), 1);
    send(&mut socket, json!({ "id": "op0", "type": "complete" })).await;
    still_serves(&mut socket, PROTOCOLS[0]).await;
}

#[tokio::test]
async fn shutdown_completes_every_operation_then_closes_with_1001() {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let mut sockets = Vec::new();
    for protocol in PROTOCOLS {
        let mut socket = ready(&app, protocol, Some(&admin)).await;
        send(&mut socket, subscribe(protocol, "a", LASTING)).await;
        send(&mut socket, subscribe(protocol, "b", LASTING)).await;
        still_serves(&mut socket, protocol).await;
        sockets.push((protocol, socket));
    }
    app.stop();
    for (protocol, mut socket) in sockets {
        let mut completed = Vec::new();
        while let Some(message) = next_message(&mut socket).await {
            assert_eq!(message["type"], "complete", "{protocol}: {message}");
            completed.push(message["id"].as_str().expect("id").to_owned());
            if completed.len() == 2 {
                break;
            }
        }
        completed.sort();
        assert_eq!(completed, ["a", "b"], "{protocol}");
        assert_eq!(close_code(&mut socket).await, Some(1001), "{protocol}");
    }
}
