//! A subscriber that never reads its socket: the server keeps at most its feed's buffer for
//! it (what it misses is dropped and counted), a subscriber of the same feed that does read
//! keeps getting every change, and the stalled socket is cut after the send timeout.

use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue};

use crate::helpers::{SMALL, TestApp, WsStream, ws_connect};

/// The feed buffer of the test server, in payloads.
const BUFFER: usize = 4;
/// Comments made on the watched alarm; each payload holds every comment so far.
const COMMENTS: usize = 60;
/// How long a test waits for something that should happen well before it.
const DEADLINE: Duration = Duration::from_secs(30);

const WATCH: &str = "subscription($eq: ID!) { alarmChanged(equipmentId: $eq) { action \
     alarm { id events { id action note } } } }";

async fn send(socket: &mut WsStream, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// Inits with `token`, waits for the ack and subscribes to the machine's alarms as `id`.
async fn watch(socket: &mut WsStream, token: &str, equipment: &str) {
    let payload = json!({ "Authorization": format!("Bearer {token}") });
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    loop {
        match next_json(socket).await {
            Some(v) if v["type"] == "connection_ack" => break,
            Some(v) if v["type"] == "ping" => {}
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }
    let subscribe = json!({ "id": "a", "type": "subscribe",
        "payload": { "query": WATCH, "variables": { "eq": equipment } } });
    send(socket, subscribe).await;
}

/// The next JSON text message; `None` once the socket ended.
async fn next_json(socket: &mut WsStream) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("a message in time")?;
        match message {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).expect("JSON")),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A socket whose client side buffers only a few KiB, opened with `graphql-transport-ws`:
/// a client that stops reading fills its TCP window after a few payloads.
async fn small_window_socket(http_address: &str) -> WsStream {
    let address = http_address.trim_start_matches("http://");
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = tcp
        .connect(address.parse().expect("address"))
        .await
        .expect("connect");
    let mut request = format!("ws://{address}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    tokio_tungstenite::client_async(request, stream)
        .await
        .expect("handshake")
        .0
}

/// One sample of `/metrics` (0 when absent).
async fn metric(app: &TestApp, sample: &str) -> u64 {
    let body = app.get("/metrics").await.body;
    let text = body.as_str().expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `sample` until `done` holds for it, failing the test after `DEADLINE`.
async fn wait_metric(app: &TestApp, sample: &str, done: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let value = metric(app, sample).await;
        if done(value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{sample} stayed at {value}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_subscriber_that_never_reads_loses_old_payloads_and_is_cut_while_its_peer_keeps_up() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.sockets.subscriber_buffer = BUFFER;
        c.sockets.send_timeout = Duration::from_secs(3);
    })
    .await;
    let token = app.admin_token().await;
    let equipment = app.first_id("equipment").await;

    let mut stalled = small_window_socket(&app.address).await;
    watch(&mut stalled, &token, &equipment).await;
    let mut reader = ws_connect(&app.address, "graphql-transport-ws").await;
    watch(&mut reader, &token, &equipment).await;
    // Identical document, variables, role and scope: both sockets share one feed.
    wait_metric(&app, "sf_subscription_feeds ", |n| n == 1).await;

    let raised = app
        .graphql_as(
            &token,
            "mutation($eq: ID!) { raiseAlarm(input: {equipmentId: $eq, type: \"T\", \
             severity: MAJOR, message: \"watched\"}) { alarm { id } } }",
            json!({ "eq": equipment }),
        )
        .await;
    let alarm = raised.data()["raiseAlarm"]["alarm"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("raised: {}", raised.body))
        .to_owned();
    // Each comment is 2,000 characters and every payload lists all comments so far: the
    // payloads outgrow the stalled client's window long before the last comment.
    let note = "x".repeat(2_000);
    for _ in 0..COMMENTS {
        let r = app
            .graphql_as(
                &token,
                "mutation($id: ID!, $c: String!) { commentAlarm(input: {id: $id, text: $c}) \
                 { alarm { id } } }",
                json!({ "id": alarm, "c": note }),
            )
            .await;
        assert!(r.body["errors"].is_null(), "{}", r.body);
    }

    // The reading peer keeps up: its payloads grow to the raise and every comment. (Each
    // shows the alarm as loaded when the feed ran, so a payload may already hold later
    // comments: the count never falls, and the last one holds them all.)
    let mut last_count = 0;
    while last_count < COMMENTS + 1 {
        let v = next_json(&mut reader)
            .await
            .expect("the reader's socket stays open");
        let change = &v["payload"]["data"]["alarmChanged"];
        if v["type"] != "next" || change["action"] != "COMMENTED" {
            continue;
        }
        let count = change["alarm"]["events"].as_array().map_or(0, Vec::len);
        assert!(
            count >= last_count,
            "events never fall: {count} after {last_count}"
        );
        last_count = count;
    }
    assert_eq!(last_count, COMMENTS + 1, "the raise and every comment");

    // The server gives up on the stalled socket after the send timeout: one socket left…
    wait_metric(&app, "sf_connection_closes_total{code=\"dropped\"} ", |n| {
        n >= 1
    })
    .await;
    wait_metric(&app, "sf_connections{transport=\"ws\"} ", |n| n == 1).await;
    // Every payload the feed encoded either reached the stalled client (what its kernel
    // buffers held, read now) or is counted as dropped: the server kept no backlog for it
    // beyond the feed's buffer. (One payload may be lost half-written when the socket is cut.)
    let encoded = metric(&app, "sf_subscription_feed_messages_total ").await;
    let mut received = 0;
    while let Some(v) = next_json(&mut stalled).await {
        if v["type"] == "next" {
            received += 1;
        }
    }
    let dropped = metric(&app, "sf_subscriber_dropped_total ").await;
    eprintln!(
        "payloads: {encoded} encoded, {received} received by the stalled client, {dropped} dropped"
    );
    assert!(
        received < encoded,
        "the stalled client got only part: {received} of {encoded}"
    );
    assert!(
        received + dropped + 1 >= encoded,
        "delivered {received} + dropped {dropped} account for the {encoded} payloads"
    );
    // The reader is still served.
    let r = app
        .graphql_as(
            &token,
            "mutation($id: ID!) { acknowledgeAlarm(input: {id: $id}) { alarm { id } } }",
            json!({ "id": alarm }),
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.body);
    loop {
        let v = next_json(&mut reader).await.expect("still open");
        if v["payload"]["data"]["alarmChanged"]["action"] == "ACKNOWLEDGED" {
            break;
        }
    }
}
