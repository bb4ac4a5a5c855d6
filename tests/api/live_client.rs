//! `LiveClient`: subscriptions as a dashboard runs them, over either socket protocol or SSE,
//! with one transport-neutral interface (open, subscribe, next, silence, stop). Over SSE each
//! operation is its own `POST /graphql/stream`, read as it streams.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, WsStream, ws_connect};

/// How long `next` waits for a message before failing the test.
const DEADLINE: Duration = Duration::from_secs(10);

/// The ways a client can hold subscriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `graphql-transport-ws` (the `graphql-ws` library).
    GraphqlTransportWs,
    /// The legacy `graphql-ws` protocol of subscriptions-transport-ws.
    LegacyWs,
    /// Server-Sent Events (`graphql-sse`, distinct connections).
    Sse,
}

impl Transport {
    /// Every transport, for tests that run over each.
    pub const ALL: [Transport; 3] = [
        Transport::GraphqlTransportWs,
        Transport::LegacyWs,
        Transport::Sse,
    ];

    fn protocol(self) -> &'static str {
        match self {
            Self::GraphqlTransportWs => "graphql-transport-ws",
            Self::LegacyWs | Self::Sse => "graphql-ws",
        }
    }

    /// Message types: subscribe, result, stop.
    fn types(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::GraphqlTransportWs | Self::Sse => ("subscribe", "next", "complete"),
            Self::LegacyWs => ("start", "data", "stop"),
        }
    }
}

/// What the server said about one operation.
#[derive(Debug)]
enum Said {
    /// A result: `{data, errors}`.
    Next(Value),
    /// The operation failed before it ran: `{errors}`.
    Error(Value),
    Complete,
}

/// One authenticated socket (or set of SSE streams) and the operations on it.
pub struct LiveClient {
    transport: Transport,
    link: Link,
    /// What arrived for each operation and was not asked for yet.
    unread: HashMap<String, VecDeque<Said>>,
}

/// The connection under a client.
enum Link {
    Socket(WsStream),
    Streams(Streams),
}

/// SSE: one streaming request per operation, each read by a task into one channel.
struct Streams {
    url: String,
    token: String,
    http: reqwest::Client,
    said: tokio::sync::mpsc::UnboundedSender<(String, Said)>,
    arrived: tokio::sync::mpsc::UnboundedReceiver<(String, Said)>,
    readers: HashMap<String, tokio::task::JoinHandle<()>>,
}

impl Drop for Streams {
    fn drop(&mut self) {
        for reader in self.readers.values() {
            reader.abort();
        }
    }
}

impl Streams {
    /// Starts operation `id` as `POST /graphql/stream`.
    fn start(&mut self, id: &str, body: Value) {
        let request = self
            .http
            .post(&self.url)
            .header("accept", "text/event-stream")
            .json(&body);
        let request = if self.token.is_empty() {
            request
        } else {
            request.bearer_auth(&self.token)
        };
        let said = self.said.clone();
        let of = id.to_owned();
        let reader = tokio::spawn(async move {
            let response = request.send().await.expect("POST /graphql/stream");
            let streaming = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            if !streaming {
                // Refused before it started: a plain JSON answer.
                let body: Value = response.json().await.expect("a JSON refusal");
                let _ = said.send((of, Said::Error(json!({ "errors": body["errors"] }))));
                return;
            }
            let mut bytes = response.bytes_stream();
            let mut buffer = String::new();
            while let Some(chunk) = bytes.next().await {
                let Ok(chunk) = chunk else { return };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some(event) = sse_event(&block) {
                        let done = matches!(event, Said::Complete);
                        let _ = said.send((of.clone(), event));
                        if done {
                            return;
                        }
                    }
                }
            }
        });
        self.readers.insert(id.to_owned(), reader);
    }
}

/// One SSE block as what it says: `next` with its data, `complete`; comments are `None`.
fn sse_event(block: &str) -> Option<Said> {
    let mut event = None;
    let mut data = String::new();
    for line in block.lines() {
        if let Some(name) = line.strip_prefix("event:") {
            event = Some(name.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    match event.as_deref() {
        Some("next") => Some(Said::Next(serde_json::from_str(&data).expect("JSON data"))),
        Some("complete") => Some(Said::Complete),
        _ => None,
    }
}

impl LiveClient {
    /// Connects to `app` over `transport` as the bearer of `token` (empty: no token).
    pub async fn open(app: &TestApp, transport: Transport, token: &str) -> Self {
        if transport == Transport::Sse {
            let (said, arrived) = tokio::sync::mpsc::unbounded_channel();
            return Self {
                transport,
                link: Link::Streams(Streams {
                    url: format!("{}/graphql/stream", app.address),
                    token: token.to_owned(),
                    http: app.client.clone(),
                    said,
                    arrived,
                    readers: HashMap::new(),
                }),
                unread: HashMap::new(),
            };
        }
        let mut client = Self {
            transport,
            link: Link::Socket(ws_connect(&app.address, transport.protocol()).await),
            unread: HashMap::new(),
        };
        let payload = if token.is_empty() {
            json!({})
        } else {
            json!({ "Authorization": format!("Bearer {token}") })
        };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let deadline = Instant::now() + DEADLINE;
        loop {
            let message = client
                .read_until(deadline)
                .await
                .unwrap_or_else(|| panic!("{transport:?}: no connection_ack within {DEADLINE:?}"));
            match message["type"].as_str() {
                Some("connection_ack") => return client,
                Some("ka" | "ping" | "pong") => {}
                _ => panic!("{transport:?}: expected connection_ack, got {message}"),
            }
        }
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        if let Link::Streams(streams) = &mut self.link {
            streams.start(id, json!({ "query": query, "variables": variables }));
            return;
        }
        let (subscribe, _, _) = self.transport.types();
        self.send(json!({ "id": id, "type": subscribe,
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Stops operation `id` from the client's side.
    pub async fn stop(&mut self, id: &str) {
        if let Link::Streams(streams) = &mut self.link {
            // Closing the stream is how an SSE client stops.
            if let Some(reader) = streams.readers.remove(id) {
                reader.abort();
            }
            return;
        }
        let (_, _, stop) = self.transport.types();
        self.send(json!({ "id": id, "type": stop })).await;
    }

    /// The next result of `id` (`{data, errors}`); fails the test on an error, the end, or
    /// nothing within a few seconds.
    pub async fn next(&mut self, id: &str) -> Value {
        match self.said(id, Instant::now() + DEADLINE).await {
            Some(Said::Next(payload)) => payload,
            other => panic!(
                "{:?}: expected a result for {id} within {DEADLINE:?}, got {other:?}",
                self.transport
            ),
        }
    }

    /// The next result of `id`, or its error (`{errors}`): what a refused subscription
    /// answers, whichever way the transport reports it.
    pub async fn error_or_next(&mut self, id: &str) -> Value {
        match self.said(id, Instant::now() + DEADLINE).await {
            Some(Said::Next(payload) | Said::Error(payload)) => payload,
            other => panic!(
                "{:?}: expected a result or an error for {id}, got {other:?}",
                self.transport
            ),
        }
    }

    /// The `extensions.code` of the first error `id` answers with.
    pub async fn error_code(&mut self, id: &str) -> String {
        let payload = self.error_or_next(id).await;
        payload["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{:?}: expected an error, got {payload}", self.transport))
            .to_owned()
    }

    /// Fails the test if anything arrives for `id` within `quiet`.
    pub async fn expect_silence(&mut self, id: &str, quiet: Duration) {
        if let Some(said) = self.said(id, Instant::now() + quiet).await {
            panic!(
                "{:?}: expected nothing for {id} for {quiet:?}, got {said:?}",
                self.transport
            );
        }
    }

    /// The next thing said about `id` before `deadline`, keeping what concerns others.
    async fn said(&mut self, id: &str, deadline: Instant) -> Option<Said> {
        loop {
            if let Some(said) = self.unread.get_mut(id).and_then(VecDeque::pop_front) {
                return Some(said);
            }
            if let Link::Streams(streams) = &mut self.link {
                let (of, said) = tokio::time::timeout_at(deadline, streams.arrived.recv())
                    .await
                    .ok()??;
                self.unread.entry(of).or_default().push_back(said);
                continue;
            }
            let message = self.read_until(deadline).await?;
            let Some(of) = message["id"].as_str() else {
                continue; // keep-alives, pings
            };
            let (_, next, _) = self.transport.types();
            let said = match message["type"].as_str() {
                Some(t) if t == next => Said::Next(message["payload"].clone()),
                Some("error") => Said::Error(match &message["payload"] {
                    Value::Array(errors) => json!({ "errors": errors }),
                    other => json!({ "errors": [other] }),
                }),
                Some("complete") => Said::Complete,
                _ => panic!("{:?}: unexpected message {message}", self.transport),
            };
            self.unread
                .entry(of.to_owned())
                .or_default()
                .push_back(said);
        }
    }

    /// The next JSON message before `deadline`; `None` when none came.
    async fn read_until(&mut self, deadline: Instant) -> Option<Value> {
        let Link::Socket(socket) = &mut self.link else {
            return None;
        };
        loop {
            let frame = tokio::time::timeout_at(deadline, socket.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("a JSON message");
                    if value["type"] == "ping" {
                        socket
                            .send(Message::text(json!({ "type": "pong" }).to_string()))
                            .await
                            .expect("pong");
                        continue;
                    }
                    return Some(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    panic!(
                        "{:?}: the server closed the socket: {frame:?}",
                        self.transport
                    )
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => panic!("{:?}: socket error: {err}", self.transport),
                None => panic!("{:?}: the socket ended", self.transport),
            }
        }
    }

    async fn send(&mut self, message: Value) {
        let Link::Socket(socket) = &mut self.link else {
            return;
        };
        socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send to the socket");
    }
}
