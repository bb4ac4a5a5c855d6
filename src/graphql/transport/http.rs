//! GraphQL over HTTP: `POST /graphql` (single operations and batches) and `GET /graphql`
//! (queries only), both response media types.
//!
//! The transport follows the GraphQL-over-HTTP spec: a client that accepts
//! `application/graphql-response+json` gets 4xx for requests that never executed (unparsable,
//! invalid); one that accepts only `application/json` gets 200 with `errors`. Every error
//! leaves with an `extensions.code`, including those the library raises before our resolvers
//! run. Subscriptions are refused here: they run over `/graphql/ws` or `/graphql/stream`.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::{BatchRequest, Request, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse as _, Response as HttpResponse},
};
use sha2::Digest as _;

use super::{
    GraphqlHttp, client_info,
    errors::{
        Body, is_json, is_rate_limited, is_request_error, json_response, request_error_status,
        response_media, transport_error,
    },
    operation::{self, Accounting, Operation, Origin},
    persisted,
};
use crate::{error::ErrorCode, security::document};

/// `POST /graphql`.
pub async fn post(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HttpResponse {
    let media = response_media(&headers);
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "request body larger than {} bytes",
                    http.state.config.server.body_limit_bytes
                )
            } else {
                "could not read the request body".to_owned()
            };
            return transport_error(status, media, ErrorCode::BadUserInput, &message);
        }
    };
    if !is_json(&headers) {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::BadUserInput,
            "send the request as `content-type: application/json`",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                &format!("malformed GraphQL request: {err}"),
            );
        }
    };
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(list) => list,
    };
    execute(&http, requests, media, &headers, peer, Method::Post).await
}

/// `GET /graphql`: queries only, parameters in the query string.
pub async fn get(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> HttpResponse {
    let media = response_media(&headers);
    let request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(request) => request,
        Err(err) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                &format!("malformed GraphQL request: {err}"),
            );
        }
    };
    execute(&http, vec![request], media, &headers, peer, Method::Get).await
}

/// `Cache-Control` of GET answers: only the caller's own cache, revalidated every time.
const PRIVATE_REVALIDATE: &str = "private, no-cache";
/// `Cache-Control` of POST answers.
const NO_STORE: &str = "no-store";

/// A GET answer with a strong `ETag` (the SHA-256 of the body); `304 Not Modified` with an
/// empty body when the client's `If-None-Match` names it.
fn conditional<T: serde::Serialize>(
    headers: &HeaderMap,
    media: &'static str,
    body: &T,
) -> HttpResponse {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(_) => return json_response(StatusCode::OK, media, body),
    };
    let etag = format!(
        "\"{}\"",
        crate::cache::l2::hex(&sha2::Sha256::digest(&bytes))
    );
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return json_response(StatusCode::OK, media, body);
    };
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
            bytes,
        )
            .into_response()
    };
    response.headers_mut().insert(header::ETAG, etag_value);
    response
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Whether a request names something to run (a document, or a persisted query hash).
fn has_document(request: &Request) -> bool {
    !request.query.trim().is_empty() || request.extensions.contains_key(persisted::EXTENSION)
}

async fn execute(
    http: &GraphqlHttp,
    requests: Vec<Request>,
    media: &'static str,
    headers: &HeaderMap,
    peer: SocketAddr,
    method: Method,
) -> HttpResponse {
    let state = &http.state;
    let max_batch = state.config.graphql.max_batch;
    if requests.is_empty() || requests.len() > max_batch {
        return transport_error(
            StatusCode::BAD_REQUEST,
            media,
            ErrorCode::BadUserInput,
            &format!("a batch must hold 1 to {max_batch} operations"),
        );
    }
    // The guard bounds each document; the batch as a whole gets the same size budget, so
    // batching cannot multiply what one request may cost.
    let limits = &state.config.graphql.document;
    let batch_bytes: usize = requests.iter().map(|r| r.query.len()).sum();
    if requests.len() > 1 && batch_bytes > limits.max_bytes {
        let refusal = document::Refusal::new(document::Limit::Bytes, batch_bytes, limits.max_bytes);
        return transport_error(
            request_error_status(media),
            media,
            ErrorCode::DocumentTooLarge,
            &format!("the batch's documents: {}", refusal.message()),
        );
    }
    if !requests.iter().all(has_document) {
        return transport_error(
            StatusCode::BAD_REQUEST,
            media,
            ErrorCode::BadUserInput,
            "the request has no `query`",
        );
    }
    let accounting = Accounting::default();
    // A present but unreadable Authorization header is a bad token, not a missing one. The
    // session check is counted too: a cache hit costs nothing, a miss shows.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = accounting
        .statements
        .scope(state.auth.caller(&state.db.write, authorization))
        .await;
    let origin = Origin {
        caller: Arc::new(caller),
        client: client_info(state, peer, headers),
    };
    let mut operations = Vec::with_capacity(requests.len());
    for mut request in requests {
        let operation = match persisted::resolve(state, &mut request).await {
            Ok(registration) => {
                let operation = Operation::new(state, &origin, &accounting, request);
                // Only a document the guard parsed is remembered.
                if let Some(registration) = registration
                    && operation.kind().is_some()
                {
                    persisted::register(state, registration).await;
                }
                operation
            }
            Err(refusal) => Operation::refused(refusal),
        };
        operations.push(operation);
    }
    if let Some(refusal) = refusal_by_method(&operations, method, media) {
        return refusal;
    }
    let single = operations.len() == 1;
    let mut responses = Vec::with_capacity(operations.len());
    for operation in operations {
        responses.push(operation::run(state, &http.schema, &origin, &accounting, operation).await);
    }
    let statements = accounting.statements.get();
    if statements > 0 {
        tracing::debug!(statements, "SQL statements for this request");
    }
    let request_error = single && responses.iter().all(is_request_error);
    // 429 only when nothing ran: a client retrying the whole request then repeats nothing.
    let rate_limited = responses.iter().all(is_rate_limited);
    let status = if rate_limited {
        StatusCode::TOO_MANY_REQUESTS
    } else if request_error {
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    let mut response = if single && method == Method::Get && status == StatusCode::OK {
        conditional(headers, media, &Body::of(&responses[0], media))
    } else if single {
        json_response(status, media, &Body::of(&responses[0], media))
    } else {
        let bodies: Vec<_> = responses.iter().map(|r| Body::of(r, media)).collect();
        json_response(status, media, &bodies)
    };
    // Answers are per caller: never kept by a shared cache; a GET may be revalidated.
    let cache_control = if method == Method::Get {
        PRIVATE_REVALIDATE
    } else {
        NO_STORE
    };
    let out = response.headers_mut();
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    out.insert(
        header::VARY,
        HeaderValue::from_static("authorization, accept"),
    );
    accounting
        .rate_limits
        .write_headers(response.headers_mut(), rate_limited);
    if state.config.server.expose_sql_count {
        response
            .headers_mut()
            .insert("x-sql-statements", HeaderValue::from(statements));
    }
    response
}

/// What HTTP does not run: mutations sent with GET (405), subscriptions at all (they need a
/// socket or a stream).
fn refusal_by_method(
    operations: &[Operation],
    method: Method,
    media: &'static str,
) -> Option<HttpResponse> {
    if method == Method::Get
        && operations
            .iter()
            .any(|op| op.kind() == Some(OperationType::Mutation))
    {
        let mut response = transport_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ErrorCode::BadUserInput,
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Some(response);
    }
    if operations
        .iter()
        .any(|op| op.kind() == Some(OperationType::Subscription))
    {
        return Some(transport_error(
            request_error_status(media),
            media,
            ErrorCode::BadUserInput,
            "subscriptions run over `/graphql/ws` (WebSocket) or `/graphql/stream` (SSE)",
        ));
    }
    None
}
