//! How responses and refusals leave over HTTP: the media type the client asked for, the
//! status GraphQL-over-HTTP gives an operation that never ran, and the one error shape every
//! transport-level refusal uses (always with an `extensions.code`).

use async_graphql::{Response, ServerError};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response as HttpResponse},
};

use crate::error::ErrorCode;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const APPLICATION_JSON: &str = "application/json";

/// The status of a response whose operation never ran: 400 under the GraphQL media type,
/// 200 for legacy JSON clients (GraphQL-over-HTTP).
pub fn request_error_status(media: &'static str) -> StatusCode {
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
pub fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A response whose operation never executed: no data, only errors.
pub fn is_request_error(response: &Response) -> bool {
    matches!(response.data, async_graphql::Value::Null) && !response.errors.is_empty()
}

/// Whether one of `response`'s errors carries `code`.
pub fn has_code(response: &Response, code: ErrorCode) -> bool {
    let code = async_graphql::Value::from(code.as_str());
    response.errors.iter().any(|err| {
        err.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|c| *c == code)
    })
}

/// A response whose operation a rate limit refused (before it ran, or `login` at its start).
pub fn is_rate_limited(response: &Response) -> bool {
    is_request_error(response) && has_code(response, ErrorCode::RateLimited)
}

/// A response as sent: one whose operation never ran has no `data` entry at all under the
/// GraphQL media type (GraphQL-over-HTTP), rather than `data: null`.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum Body<'a> {
    Full(&'a Response),
    ErrorsOnly { errors: &'a [ServerError] },
}

impl<'a> Body<'a> {
    /// The body of `response` under `media`.
    pub fn of(response: &'a Response, media: &'static str) -> Self {
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
pub fn response_media(headers: &HeaderMap) -> &'static str {
    if header(headers, header::ACCEPT).is_some_and(|a| a.contains(GRAPHQL_RESPONSE_JSON)) {
        GRAPHQL_RESPONSE_JSON
    } else {
        APPLICATION_JSON
    }
}

/// `body` as JSON under `media`.
pub fn json_response<T: serde::Serialize>(
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
    json_response(status, media, &error_body(code, message))
}

/// `{"errors": [{message, extensions: {code}}]}`.
pub fn error_body(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    })
}
