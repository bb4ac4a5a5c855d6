//! `GET /graphql/ws`: GraphQL over WebSocket, our own serve loop.
//!
//! async-graphql's stock socket service cannot close a socket from the server side, sends no
//! server pings and never times out a silent handshake, so each socket runs this loop: wait
//! for `connection_init` (4408 after `SF_WS_INIT_TIMEOUT_MS`), authenticate it (4403 for a
//! bad token), take a place in [`super::sockets`] (4429 past the instance or per-user limit),
//! then run every `subscribe` as its own operation through [`super::operation`] — queries
//! and mutations too — until the client leaves, the token expires (4403), the credential is
//! revoked (4403, on the bus's word from any instance) or the server shuts down (a
//! `complete` per running operation, then 1001). Protocol errors close with the protocol's
//! codes: 4400 malformed, 4401 subscribe before the ack, 4409 a duplicate id, 4429 a second
//! `connection_init`, 1009 a message over `SF_WS_MAX_MESSAGE_BYTES`.
//!
//! A socket reads into a small buffer (`SF_WS_READ_BUFFER_BYTES`), pings every
//! `SF_WS_KEEPALIVE_S` and is dropped when silent for three intervals or when one message
//! waits longer than `SF_WS_SEND_TIMEOUT_MS` for a client that does not read. While it
//! waits, its subscriptions fall behind and lose their oldest payloads (see `feeds`).

pub mod protocol;

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::{Request, ServerError, parser::types::OperationType};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures::{
    StreamExt as _,
    stream::{self, AbortHandle, Abortable, BoxStream, SelectAll},
};
use tokio::time::Instant;

use self::protocol::{ClientMessage, Protocol};
use super::{
    GraphqlHttp, client_info,
    errors::{self, APPLICATION_JSON},
    feeds::Frame,
    operation::{self, Accounting, Operation, Origin},
    sockets::{Admission, Close, Credential},
};
use crate::{error::ErrorCode, graphql::guard::coded, service::session::ClientInfo};

/// `GET /graphql/ws`: upgrades to a socket speaking the protocol the client offered.
pub async fn upgrade(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let offer = errors::header(&headers, header::SEC_WEBSOCKET_PROTOCOL);
    let Some(protocol) = Protocol::select(offer) else {
        return errors::transport_error(
            StatusCode::BAD_REQUEST,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            "offer `graphql-transport-ws` or `graphql-ws` in Sec-WebSocket-Protocol",
        );
    };
    let client = client_info(&http.state, peer, &headers);
    let limits = &http.state.config.sockets;
    upgrade
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.max_message_bytes.max(1 << 20))
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .protocols([protocol.name()])
        .on_upgrade(move |socket| async move {
            let mut conn = Connection {
                socket,
                protocol,
                http,
            };
            let code = conn.serve(client).await;
            conn.http.state.metrics.connection_closed(code);
        })
        .into_response()
}

/// The longest reason a close frame carries (125 bytes of payload less the code).
const MAX_CLOSE_REASON: usize = 123;

/// One socket and what it runs on.
struct Connection {
    socket: WebSocket,
    protocol: Protocol,
    http: GraphqlHttp,
}

/// What one operation sends.
enum Out {
    Next(Arc<str>),
    Error(Vec<ServerError>),
    Complete,
}

/// A message of operation `id`.
struct OpOut {
    id: Arc<str>,
    out: Out,
}

/// How the loop ends: with a close frame, or by dropping the connection.
enum End {
    Close(Close),
    CloseWith(u16, String),
    Drop,
}

impl Connection {
    /// Runs the socket to its end; the close code sent, if any.
    async fn serve(&mut self, client: ClientInfo) -> Option<u16> {
        let end = match self.http.state.sockets.admit("ws") {
            Err(close) => End::Close(close),
            Ok(admission) => match self.handshake(&admission, client).await {
                Ok(origin) => self.run(&admission, origin).await,
                Err(end) => end,
            },
        };
        match end {
            End::Close(close) => self.close(close.code, close.reason.to_owned()).await,
            End::CloseWith(code, reason) => self.close(code, reason).await,
            End::Drop => None,
        }
    }

    /// Waits for `connection_init` and authenticates it.
    async fn handshake(
        &mut self,
        admission: &Admission,
        client: ClientInfo,
    ) -> Result<Origin, End> {
        let state = self.http.state.clone();
        let deadline = tokio::time::sleep(state.config.sockets.init_timeout);
        tokio::pin!(deadline);
        let mut closed = admission.closed.clone();
        loop {
            let message = tokio::select! {
                () = &mut deadline => {
                    return Err(End::CloseWith(4408, "Connection initialisation timeout".into()));
                }
                _ = closed.changed() => return Err(closed_end(&closed)),
                message = self.socket.recv() => message,
            };
            let text = match self.text_of(message)? {
                Some(text) => text,
                None => continue,
            };
            match self.protocol.parse(&text) {
                Err(malformed) => return Err(End::CloseWith(4400, malformed.0)),
                Ok(ClientMessage::Init(payload)) => {
                    let origin = self.authenticate(admission, payload, client).await?;
                    self.send(self.protocol.ack()).await?;
                    return Ok(origin);
                }
                Ok(ClientMessage::Ping) => self.send(self.protocol.pong()).await?,
                Ok(ClientMessage::Pong) => {}
                Ok(ClientMessage::Subscribe { .. }) => {
                    return Err(End::CloseWith(4401, "Unauthorized".into()));
                }
                Ok(ClientMessage::Complete { .. }) => {}
                Ok(ClientMessage::Terminate) => return Err(End::CloseWith(1000, String::new())),
            }
        }
    }

    /// The caller of an init payload `{"Authorization": "Bearer …"}` (browsers cannot set
    /// socket headers), registered with the socket registry.
    async fn authenticate(
        &mut self,
        admission: &Admission,
        payload: Option<serde_json::Value>,
        client: ClientInfo,
    ) -> Result<Origin, End> {
        let state = &self.http.state;
        let payload = payload.unwrap_or_else(|| serde_json::json!({}));
        let Some(fields) = payload.as_object() else {
            return Err(End::CloseWith(
                4400,
                "the connection_init payload must be an object".into(),
            ));
        };
        let authorization = match fields
            .get("Authorization")
            .or_else(|| fields.get("authorization"))
        {
            None => None,
            Some(serde_json::Value::String(value)) => Some(value.as_str()),
            Some(_) => {
                return Err(self
                    .refuse_init("Forbidden: `Authorization` must be a string")
                    .await);
            }
        };
        let caller = state.auth.caller(&state.db.write, authorization).await;
        if caller.token_rejected {
            return Err(self
                .refuse_init("Forbidden: invalid, expired or revoked token")
                .await);
        }
        let credential = Credential::of(&caller, authorization);
        if let Err(close) = admission.identify(&caller, credential) {
            return Err(End::Close(close));
        }
        Ok(Origin {
            caller: Arc::new(caller),
            client,
        })
    }

    /// Refuses `connection_init` with 4403 (the legacy protocol hears why first).
    async fn refuse_init(&mut self, why: &'static str) -> End {
        if let Some(message) = self.protocol.connection_error(why)
            && self.send(message).await.is_err()
        {
            return End::Drop;
        }
        End::CloseWith(4403, why.into())
    }

    /// Runs operations until the socket ends.
    async fn run(&mut self, admission: &Admission, origin: Origin) -> End {
        let state = self.http.state.clone();
        let limits = state.config.sockets.clone();
        let mut closed = admission.closed.clone();
        let mut running: HashMap<Arc<str>, AbortHandle> = HashMap::new();
        let mut outputs: SelectAll<BoxStream<'static, OpOut>> = SelectAll::new();
        let mut keepalive =
            tokio::time::interval_at(Instant::now() + limits.keepalive, limits.keepalive);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let expiry = expiry_of(&origin);
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                biased;
                _ = closed.changed() => {
                    let end = closed_end(&closed);
                    if matches!(end, End::Close(Close::SHUTDOWN)) {
                        // Each running operation is told it is complete before the close.
                        for id in running.keys() {
                            if self.send(self.protocol.complete(id)).await.is_err() {
                                return End::Drop;
                            }
                        }
                    }
                    return end;
                }
                () = &mut expiry => return End::Close(Close::EXPIRED),
                message = self.socket.recv() => {
                    last_heard = Instant::now();
                    let text = match self.text_of(message) {
                        Ok(Some(text)) => text,
                        Ok(None) => continue,
                        Err(end) => return end,
                    };
                    let message = match self.protocol.parse(&text) {
                        Ok(message) => message,
                        Err(malformed) => return End::CloseWith(4400, malformed.0),
                    };
                    match message {
                        ClientMessage::Init(_) => {
                            return End::CloseWith(4429, "Too many initialisation requests".into());
                        }
                        ClientMessage::Ping => {
                            if let Err(end) = self.send(self.protocol.pong()).await {
                                return end;
                            }
                        }
                        ClientMessage::Pong => {}
                        ClientMessage::Terminate => return End::CloseWith(1000, String::new()),
                        ClientMessage::Complete { id } => {
                            if let Some(handle) = running.remove(id.as_str()) {
                                handle.abort();
                                // The legacy protocol confirms a stop; the newer one does not.
                                if self.protocol == Protocol::LegacyWs
                                    && let Err(end) = self.send(self.protocol.complete(&id)).await
                                {
                                    return end;
                                }
                            }
                        }
                        ClientMessage::Subscribe { id, request } => {
                            let id: Arc<str> = id.into();
                            if running.contains_key(&id) {
                                return End::CloseWith(4409, format!("Subscriber for {id} already exists"));
                            }
                            if running.len() >= limits.max_operations {
                                let refusal = coded(
                                    ServerError::new(
                                        format!(
                                            "at most {} operations may run at once on one socket",
                                            limits.max_operations
                                        ),
                                        None,
                                    ),
                                    ErrorCode::RateLimited,
                                );
                                if let Err(end) = self.send(self.protocol.error(&id, &[refusal])).await {
                                    return end;
                                }
                                continue;
                            }
                            let (handle, registration) = AbortHandle::new_pair();
                            let ops = start(&self.http, &origin, *request);
                            let tagged = {
                                let id = id.clone();
                                Abortable::new(ops, registration).map(move |out| OpOut { id: id.clone(), out })
                            };
                            outputs.push(tagged.boxed());
                            running.insert(id, handle);
                        }
                    }
                }
                Some(OpOut { id, out }) = outputs.next(), if !outputs.is_empty() => {
                    // An operation stopped by the client may still have had a message queued.
                    if !running.contains_key(&id) {
                        continue;
                    }
                    let text = match out {
                        Out::Next(payload) => self.protocol.next(&id, &payload),
                        Out::Error(errors) => {
                            running.remove(&id);
                            self.protocol.error(&id, &errors)
                        }
                        Out::Complete => {
                            running.remove(&id);
                            self.protocol.complete(&id)
                        }
                    };
                    if let Err(end) = self.send(text).await {
                        return end;
                    }
                }
                _ = keepalive.tick() => {
                    if last_heard.elapsed() > limits.keepalive * 3 {
                        return End::Drop;
                    }
                    if let Err(end) = self.send_message(Message::Ping(Default::default())).await {
                        return end;
                    }
                    if let Some(ka) = self.protocol.keep_alive()
                        && let Err(end) = self.send(ka).await
                    {
                        return end;
                    }
                }
            }
        }
    }

    /// The text of a received message; `None` for frames that carry none (pings, pongs).
    fn text_of(
        &self,
        message: Option<Result<Message, axum::Error>>,
    ) -> Result<Option<String>, End> {
        match message {
            None => Err(End::Drop),
            Some(Err(err)) => Err(read_error(err)),
            Some(Ok(Message::Text(text))) => Ok(Some(text.as_str().to_owned())),
            Some(Ok(Message::Binary(_))) => {
                Err(End::CloseWith(4400, "messages must be JSON text".into()))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
            Some(Ok(Message::Close(_))) => Err(End::Drop),
        }
    }

    async fn send(&mut self, text: String) -> Result<(), End> {
        self.send_message(Message::Text(text.into())).await
    }

    /// Sends one message, giving up (and dropping the connection) on a client that has not
    /// read for `SF_WS_SEND_TIMEOUT_MS`.
    async fn send_message(&mut self, message: Message) -> Result<(), End> {
        let timeout = self.http.state.config.sockets.send_timeout;
        match tokio::time::timeout(timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(End::Drop),
        }
    }

    /// Sends a close frame (briefly: a client that does not read is simply dropped).
    async fn close(&mut self, code: u16, mut reason: String) -> Option<u16> {
        // A close frame's reason holds at most 123 bytes.
        if reason.len() > MAX_CLOSE_REASON {
            let mut end = MAX_CLOSE_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let sent = tokio::time::timeout(
            Duration::from_secs(1),
            self.socket.send(Message::Close(Some(frame))),
        )
        .await;
        matches!(sent, Ok(Ok(()))).then_some(code)
    }
}

/// How a connection asked to close ends.
fn closed_end(closed: &tokio::sync::watch::Receiver<Option<Close>>) -> End {
    match *closed.borrow() {
        Some(close) => End::Close(close),
        None => End::Drop,
    }
}

/// Resolves when the caller's access token expires (never for tokens without expiry).
async fn expiry_of(origin: &Origin) {
    match origin.caller.token_expires_at {
        Some(at) => {
            let left = (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
    }
}

/// A failed read: a message over the size limit is answered with 1009, anything else ends
/// the connection.
fn read_error(err: axum::Error) -> End {
    let inner = err.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            End::CloseWith(1009, "the message is larger than the server accepts".into())
        }
        Some(tungstenite::Error::Protocol(_) | tungstenite::Error::Utf8(_)) => {
            End::CloseWith(4400, "malformed WebSocket frame".into())
        }
        _ => End::Drop,
    }
}

/// Runs one `subscribe`: a subscription joins its feed; a query or mutation runs once.
fn start(http: &GraphqlHttp, origin: &Origin, request: Request) -> BoxStream<'static, Out> {
    let state = http.state.clone();
    let schema = http.schema.clone();
    let origin = origin.clone();
    let accounting = Accounting::default();
    let operation = Operation::new(&state, &origin, &accounting, request);
    if operation.kind() == Some(OperationType::Subscription) {
        stream::once(async move { operation::subscribe(&state, &schema, &origin, operation).await })
            .flat_map(|started| match started {
                Ok(subscription) => subscription
                    .into_stream()
                    .map(|frame| match frame {
                        Frame::Next(payload) => Out::Next(payload),
                        Frame::Complete => Out::Complete,
                    })
                    .boxed(),
                Err(response) => answer(&response).boxed(),
            })
            .boxed()
    } else {
        stream::once(async move {
            operation::run(&state, &schema, &origin, &accounting, operation).await
        })
        .flat_map(|response| answer(&response))
        .boxed()
    }
}

/// The messages of a single response: `error` when the operation never ran, else `next`
/// and `complete`.
fn answer(response: &async_graphql::Response) -> stream::Iter<std::vec::IntoIter<Out>> {
    let outs = if operation::never_ran(response) {
        vec![Out::Error(response.errors.clone())]
    } else {
        match serde_json::to_string(response) {
            Ok(payload) => vec![Out::Next(payload.into()), Out::Complete],
            Err(err) => {
                tracing::error!(error = %err, "encoding a response");
                vec![Out::Error(vec![coded(
                    ServerError::new("the response could not be encoded", None),
                    ErrorCode::Internal,
                )])]
            }
        }
    };
    stream::iter(outs)
}
