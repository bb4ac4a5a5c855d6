//! GraphQL over HTTP (POST and GET, batches, both response media types), the WebSocket
//! endpoint and GraphiQL.
//!
//! The transport follows the GraphQL-over-HTTP spec: a client that accepts
//! `application/graphql-response+json` gets 4xx for requests that never executed (unparsable,
//! invalid); one that accepts only `application/json` gets 200 with `errors`. Every error leaves
//! with an `extensions.code`, including those the library raises before our resolvers run.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use async_graphql::{
    BatchRequest, Data, Request, Response, ServerError,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
    parser::types::{ExecutableDocument, OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State, WebSocketUpgrade, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response as HttpResponse},
};

use super::{
    AppSchema,
    guard::{Guarded, coded},
    loaders::Loaders,
    ratelimit::RateLimitOutcome,
};
use crate::{
    db::StatementCounter,
    error::ErrorCode,
    security::{audit as audit_trail, client_ip::client_ip, document},
    service::session::ClientInfo,
    state::AppState,
};

/// What the GraphQL routes share.
#[derive(Clone)]
pub struct GraphqlHttp {
    pub state: AppState,
    pub schema: AppSchema,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

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
    execute(&http, batch, media, &headers, peer).await
}

/// Whether a request names something to run (a document, or a persisted query hash).
fn has_document(request: &Request) -> bool {
    !request.query.trim().is_empty() || request.extensions.contains_key("persistedQuery")
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
    // Parsed here (through the guard) to refuse mutations, and handed on so the extension
    // does not parse again. A refused document goes on unparsed: the extension refuses it
    // after the rate limit has charged it, like any other.
    let limits = &http.state.config.graphql.document;
    let request = match document::parse(&request.query, limits) {
        Ok(document) => {
            if is_mutation(&document, request.operation_name.as_deref()) {
                let mut response = transport_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    media,
                    ErrorCode::BadUserInput,
                    "mutations must be sent with POST",
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
            let mut request = request.data(Guarded);
            request.set_parsed_query(document);
            request
        }
        Err(_) => request,
    };
    execute(&http, BatchRequest::Single(request), media, &headers, peer).await
}

/// Whether the operation `wanted` (or the only one) of `doc` is a mutation.
fn is_mutation(doc: &ExecutableDocument, wanted: Option<&str>) -> bool {
    doc.operations.iter().any(|(name, op)| {
        let selected = match (wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

/// The status of a response whose operation never ran: 400 under the GraphQL media type,
/// 200 for legacy JSON clients (GraphQL-over-HTTP).
fn request_error_status(media: &'static str) -> StatusCode {
    if media == GRAPHQL_RESPONSE_JSON {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// Whether the request says `content-type: application/json` (parameters allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    let content_type = header(headers, header::CONTENT_TYPE).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(APPLICATION_JSON)
}

/// The value of a header, if it is valid text.
fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn execute(
    http: &GraphqlHttp,
    batch: BatchRequest,
    media: &'static str,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> HttpResponse {
    let state = &http.state;
    let started = Instant::now();
    let counter = StatementCounter::default();
    // A present but unreadable Authorization header is a bad token, not a missing one. The
    // session check is counted too: a cache hit costs nothing, a miss shows.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = counter
        .scope(state.auth.caller(&state.db.write, authorization))
        .await;
    let caller = Arc::new(caller);
    let client = client_info(state, peer, headers);
    let rate_limits = RateLimitOutcome::default();
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(list) => {
            if list.is_empty() || list.len() > state.config.graphql.max_batch {
                return transport_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    &format!(
                        "a batch must hold 1 to {} operations",
                        state.config.graphql.max_batch
                    ),
                );
            }
            list
        }
    };
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
    let single = requests.len() == 1;
    let mut responses = Vec::with_capacity(requests.len());
    let mut audit = Vec::new();
    for request in requests {
        // Kept for the audit log; only mutations are recorded, and queries skip the copy.
        let audited = request.query.contains("mutation").then(|| {
            (
                request.query.clone(),
                request.operation_name.clone(),
                request.variables.clone(),
            )
        });
        let loaders = Loaders::new(
            &state.db.read,
            caller.clone(),
            &counter,
            &state.config.graphql,
        );
        let request = request
            .data((*caller).clone())
            .data(loaders)
            .data(client.clone())
            .data(rate_limits.clone());
        let run = counter.scope(http.schema.execute(request));
        let response = match tokio::time::timeout(state.config.server.request_timeout, run).await {
            Ok(response) => response,
            Err(_) => Response::from_errors(vec![coded(
                ServerError::new("the operation took longer than the request timeout", None),
                ErrorCode::Timeout,
            )]),
        };
        if let Some((query, operation, variables)) = audited {
            // Successful mutations wrote their rows in their own transactions.
            audit.extend(
                audit_trail::mutations(&query, operation.as_deref(), &variables, &response, limits)
                    .into_iter()
                    .filter(|record| record.error.is_some()),
            );
        }
        responses.push(response);
    }
    if !audit.is_empty() {
        let write = counter.scope(crate::service::audit::record(
            &state.db.write,
            &caller,
            &client,
            audit,
        ));
        if let Err(err) = write.await {
            // The mutation itself already happened; losing its audit row is logged loudly.
            tracing::error!(error = ?err, "writing the audit log failed");
        }
    }
    counter
        .scope(record_forbidden(state, &caller, &client, &responses))
        .await;
    let statements = counter.get();
    let ok = responses.iter().all(|r| r.errors.is_empty());
    state
        .metrics
        .observe_request(ok, started.elapsed().as_secs_f64(), statements);
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
    let mut response = if single {
        json_response(status, media, &Body::of(&responses[0], media))
    } else {
        let bodies: Vec<_> = responses.iter().map(|r| Body::of(r, media)).collect();
        json_response(status, media, &bodies)
    };
    rate_limits.write_headers(response.headers_mut(), rate_limited);
    if state.config.server.expose_sql_count {
        response
            .headers_mut()
            .insert("x-sql-statements", HeaderValue::from(statements));
    }
    response
}

/// Records a `forbidden` security event for each root field refused for the caller's role —
/// at most once a minute per caller and field, so probing writes a row, a loop does not.
async fn record_forbidden(
    state: &AppState,
    caller: &crate::auth::Caller,
    client: &ClientInfo,
    responses: &[Response],
) {
    let forbidden = ErrorCode::Forbidden.as_str();
    for response in responses {
        for err in &response.errors {
            let is_forbidden = err
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from(forbidden));
            if !is_forbidden {
                continue;
            }
            let field = match err.path.first() {
                Some(async_graphql::PathSegment::Field(name)) => name.as_str(),
                _ => "-",
            };
            let who = caller.user_id.map_or_else(
                || client.ip.clone().unwrap_or_default(),
                |id| id.to_string(),
            );
            if !state
                .limiter
                .first_this_minute(&format!("forbidden:{who}:{field}"))
            {
                continue;
            }
            let details = serde_json::json!({
                "field": field,
                "role": caller.role.map(|r| r.as_str()),
                "message": err.message,
            });
            if let Err(e) = crate::service::security::record(
                &state.db.write,
                crate::service::security::kind::FORBIDDEN,
                caller.user_id,
                None,
                client,
                details,
            )
            .await
            {
                tracing::error!(error = ?e, "recording a forbidden attempt failed");
            }
        }
    }
}

/// A response whose operation never executed: no data, only errors.
fn is_request_error(response: &Response) -> bool {
    matches!(response.data, async_graphql::Value::Null) && !response.errors.is_empty()
}

/// A response whose operation a rate limit refused (before it ran, or `login` at its start).
fn is_rate_limited(response: &Response) -> bool {
    is_request_error(response)
        && response.errors.iter().any(|err| {
            err.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| {
                    *code == async_graphql::Value::from(ErrorCode::RateLimited.as_str())
                })
        })
}

/// Where the request came from: the peer, or the client behind a trusted proxy.
pub fn client_info(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> ClientInfo {
    let ip = client_ip(peer.ip(), headers, &state.config.server.trusted_proxies);
    ClientInfo {
        ip: Some(ip.to_string()),
        user_agent: header(headers, header::USER_AGENT).map(str::to_owned),
    }
}

/// A response as sent: one whose operation never ran has no `data` entry at all under the
/// GraphQL media type (GraphQL-over-HTTP), rather than `data: null`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Full(&'a Response),
    ErrorsOnly { errors: &'a [ServerError] },
}

impl<'a> Body<'a> {
    fn of(response: &'a Response, media: &'static str) -> Self {
        if media == GRAPHQL_RESPONSE_JSON && is_request_error(response) {
            Self::ErrorsOnly {
                errors: &response.errors,
            }
        } else {
            Self::Full(response)
        }
    }
}

/// The media type of the answer: the newer GraphQL one when the client accepts it.
fn response_media(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(GRAPHQL_RESPONSE_JSON) {
        GRAPHQL_RESPONSE_JSON
    } else {
        APPLICATION_JSON
    }
}

fn json_response<T: serde::Serialize>(
    status: StatusCode,
    media: &'static str,
    body: &T,
) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
            bytes,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "serialising a GraphQL response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error found before any operation ran, in GraphQL's error shape.
pub fn transport_error(
    status: StatusCode,
    media: &'static str,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    json_response(status, media, &body)
}

/// `GET /graphiql`.
pub async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Smart Factory GraphQL")
            .finish(),
    )
}

/// `GET /graphql/ws`: `graphql-transport-ws` and the legacy `graphql-ws` protocol.
pub async fn websocket(
    State(http): State<GraphqlHttp>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let GraphqlHttp { state, schema } = http;
    let client = client_info(&state, peer, &headers);
    // One message may be as large as one HTTP body; tungstenite's default is 64 MiB.
    let max_message = state.config.server.body_limit_bytes;
    upgrade
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    // `{"Authorization": "Bearer …"}`, as browsers cannot set WS headers.
                    let authorization = payload
                        .as_object()
                        .and_then(|o| o.get("Authorization").or_else(|| o.get("authorization")))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                    let caller = state
                        .auth
                        .caller(&state.db.write, authorization.as_deref())
                        .await;
                    if caller.token_rejected {
                        return Err(async_graphql::Error::new(
                            "invalid, expired or revoked token",
                        ));
                    }
                    let caller = Arc::new(caller);
                    let counter = StatementCounter::default();
                    let mut data = Data::default();
                    data.insert(Loaders::new(
                        &state.db.read,
                        caller.clone(),
                        &counter,
                        &state.config.graphql,
                    ));
                    data.insert((*caller).clone());
                    data.insert(client);
                    Ok(data)
                })
                .serve()
        })
}
