//! `LiveClient`: subscriptions as a dashboard runs them, over either socket protocol, with
//! one transport-neutral interface (open, subscribe, next, silence, stop).

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
    TransportWs,
    /// The legacy `graphql-ws` protocol of subscriptions-transport-ws.
    LegacyWs,
}

impl Transport {
    /// Every transport, for tests that run over each.
    pub const ALL: [Transport; 2] = [Transport::TransportWs, Transport::LegacyWs];

    fn protocol(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::LegacyWs => "graphql-ws",
        }
    }

    /// Message types: subscribe, result, stop.
    fn types(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::TransportWs => ("subscribe", "next", "complete"),
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

/// One authenticated socket and the operations on it.
pub struct LiveClient {
    transport: Transport,
    socket: WsStream,
    /// What arrived for each operation and was not asked for yet.
    unread: HashMap<String, VecDeque<Said>>,
}

impl LiveClient {
    /// Connects to `app` over `transport` as the bearer of `token` (empty: no token).
    pub async fn open(app: &TestApp, transport: Transport, token: &str) -> Self {
        let mut client = Self {
            transport,
            socket: ws_connect(&app.address, transport.protocol()).await,
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
        let (subscribe, _, _) = self.transport.types();
        self.send(json!({ "id": id, "type": subscribe,
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// Stops operation `id` from the client's side.
    pub async fn stop(&mut self, id: &str) {
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
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("a JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
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
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send to the socket");
    }
}
