//! GraphQL over Server-Sent Events for clients that cannot open a socket: the `graphql-sse`
//! protocol's distinct-connections mode. `POST /graphql/stream` (JSON body) or
//! `GET /graphql/stream?query=…` with `accept: text/event-stream`; bearer auth in the
//! `Authorization` header; one operation per stream. Results arrive as `next` events and the
//! stream ends with a `complete` event; keep-alive comments every `SF_WS_KEEPALIVE_S`.
//!
//! An operation refused before it ran (malformed, invalid, over a limit, rate limited, out
//! of scope at subscribe time) gets an ordinary JSON response with its status instead of a
//! stream. Streams count against the same connection limits as sockets and end at once when
//! their credential is revoked, their token expires or the server shuts down.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use async_graphql::{Request, Response, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response as HttpResponse,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::{Stream, StreamExt as _, stream::BoxStream};

use super::{
    GraphqlHttp, client_info,
    errors::{
        self, APPLICATION_JSON, Body, is_json, is_rate_limited, json_response, transport_error,
    },
    feeds::Frame,
    operation::{self, Accounting, Operation, Origin},
    sockets::{Admission, Close, Credential},
};
use crate::error::ErrorCode;

/// `POST /graphql/stream`.
pub async fn post(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HttpResponse {
    let Ok(body) = body else {
        return transport_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            "the request body could not be read or is too large",
        );
    };
    if !is_json(&headers) {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            "send the request as `content-type: application/json`",
        );
    }
    match serde_json::from_slice::<Request>(&body) {
        Ok(request) => stream(&http, request, &headers, peer).await,
        Err(err) => transport_error(
            StatusCode::BAD_REQUEST,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            &format!("malformed GraphQL request: {err}"),
        ),
    }
}

/// `GET /graphql/stream`: parameters in the query string, `accept: text/event-stream`.
pub async fn get(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> HttpResponse {
    let accepts = errors::header(&headers, header::ACCEPT)
        .is_some_and(|accept| accept.contains("text/event-stream"));
    if !accepts {
        return transport_error(
            StatusCode::NOT_ACCEPTABLE,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            "send `accept: text/event-stream`",
        );
    }
    match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => stream(&http, request, &headers, peer).await,
        Err(err) => transport_error(
            StatusCode::BAD_REQUEST,
            APPLICATION_JSON,
            ErrorCode::BadUserInput,
            &format!("malformed GraphQL request: {err}"),
        ),
    }
}

/// Runs one operation as an event stream (or refuses it with a JSON response).
async fn stream(
    http: &GraphqlHttp,
    request: Request,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> HttpResponse {
    let state = &http.state;
    let admission = match state.sockets.admit("sse") {
        Ok(admission) => admission,
        Err(close) => return refused_connection(close),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = state.auth.caller(&state.db.write, authorization).await;
    if caller.token_rejected {
        return transport_error(
            StatusCode::UNAUTHORIZED,
            APPLICATION_JSON,
            ErrorCode::Unauthenticated,
            "invalid, expired or revoked token",
        );
    }
    if let Err(close) = admission.identify(&caller, Credential::of(&caller, authorization)) {
        return refused_connection(close);
    }
    let origin = Origin {
        caller: Arc::new(caller),
        client: client_info(state, peer, headers),
    };
    let accounting = Accounting::default();
    let operation = Operation::new(state, &origin, &accounting, request);
    let frames: BoxStream<'static, Frame> = if operation.kind() == Some(OperationType::Subscription)
    {
        match operation::subscribe(state, &http.schema, &origin, operation).await {
            Ok(subscription) => subscription.into_stream().boxed(),
            Err(response) => return refused_operation(&response),
        }
    } else {
        let response = operation::run(state, &http.schema, &origin, &accounting, operation).await;
        if operation::never_ran(&response) {
            return refused_operation(&response);
        }
        match serde_json::to_string(&response) {
            Ok(payload) => {
                futures::stream::iter([Frame::Next(payload.into()), Frame::Complete]).boxed()
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    };
    let keepalive = state.config.sockets.keepalive;
    Sse::new(events(frames, admission, origin))
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response()
}

/// The stream's events: each frame, then `complete`; or a comment saying why the server
/// ended it early.
fn events(
    frames: BoxStream<'static, Frame>,
    admission: Admission,
    origin: Origin,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    struct Live {
        frames: BoxStream<'static, Frame>,
        admission: Admission,
        expiry: std::pin::Pin<Box<tokio::time::Sleep>>,
    }
    let left = origin
        .caller
        .token_expires_at
        .map_or(Duration::from_secs(100 * 365 * 86_400), |at| {
            (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO)
        });
    let live = Live {
        frames,
        admission,
        expiry: Box::pin(tokio::time::sleep(left)),
    };
    futures::stream::unfold(Some(live), |live| async move {
        let mut live = live?;
        let event = tokio::select! {
            biased;
            _ = live.admission.closed.changed() => {
                let close = (*live.admission.closed.borrow()).unwrap_or(Close::SHUTDOWN);
                return Some((Ok(ended(close)), None));
            }
            () = &mut live.expiry => return Some((Ok(ended(Close::EXPIRED)), None)),
            frame = live.frames.next() => frame,
        };
        match event {
            Some(Frame::Next(payload)) => Some((
                Ok(Event::default().event("next").data(&*payload)),
                Some(live),
            )),
            Some(Frame::Complete) | None => {
                Some((Ok(Event::default().event("complete").data("")), None))
            }
        }
    })
}

/// The last event of a stream the server ended: a comment, as graphql-sse has no event for it.
fn ended(close: Close) -> Event {
    Event::default().comment(format!("closed {}: {}", close.code, close.reason))
}

/// 429 (or 503 while shutting down) for a stream over the connection limits.
fn refused_connection(close: Close) -> HttpResponse {
    let (status, code) = if close == Close::SHUTDOWN {
        (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Internal)
    } else {
        (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
    };
    transport_error(status, APPLICATION_JSON, code, close.reason)
}

/// A refused operation as a JSON response: 429 when rate limited, else 400.
fn refused_operation(response: &Response) -> HttpResponse {
    let status = if is_rate_limited(response) {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::BAD_REQUEST
    };
    json_response(status, APPLICATION_JSON, &Body::Full(response))
}
