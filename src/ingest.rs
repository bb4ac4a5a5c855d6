//! `POST /ingest`: readings from PLC bridges that do not speak GraphQL — a JSON array of
//! `{sensorId, ts, value, quality?}`, a gateway API token or a user's access token, the same
//! service, checks and per-row rejections as `ingestReadings`, and a JSON answer
//! `{accepted, inserted, rejected: [{index, code, message}]}`. Refusals of the whole request
//! use GraphQL's error shape with a code and a matching status: 401, 403, 400, 413, 415, 429.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    error::{AppError, ErrorCode, whole_seconds},
    graphql::{
        ratelimit::charge_request,
        transport::{client_info, errors::is_json},
    },
    service::{
        audit::{self, Audit},
        telemetry::{self, IngestRow, SensorRef},
    },
    state::AppState,
};

/// What one `POST /ingest` costs in its caller's rate-limit class: as much as an
/// `ingestReadings` call, whatever the number of rows.
pub const COST: u64 = 5;

/// One row of the body. `sensorId` may be a string (as GraphQL IDs are) or a number.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Row {
    #[serde(default)]
    sensor_id: Option<SensorId>,
    #[serde(default)]
    tag: Option<String>,
    ts: DateTime<Utc>,
    value: f64,
    #[serde(default)]
    quality: Option<i32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SensorId {
    Number(i64),
    Text(String),
}

impl Row {
    fn sensor(&self) -> SensorRef {
        match (&self.sensor_id, &self.tag) {
            (Some(SensorId::Number(n)), None) if *n > 0 => SensorRef::Id(*n),
            (Some(SensorId::Number(_)), None) => SensorRef::Invalid,
            (Some(SensorId::Text(id)), None) => SensorRef::of(Some(id), None),
            (None, Some(tag)) => SensorRef::of(None, Some(tag)),
            _ => SensorRef::Ambiguous,
        }
    }
}

/// `POST /ingest`.
pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = state.config.server.body_limit_bytes;
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadUserInput,
                &format!("request body larger than {limit} bytes"),
            );
        }
        Err(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "could not read the request body",
            );
        }
    };
    if !is_json(&headers) {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "send the readings as `content-type: application/json`",
        );
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = state.auth.caller(&state.db.write, authorization).await;
    if caller.role.is_none() {
        return app_error(&AppError::Unauthenticated(crate::error::NOT_AUTHENTICATED));
    }
    let client = client_info(&state, peer, &headers);
    if let Err(decision) = charge_request(&state, &caller, &client, COST).await {
        let mut response = app_error(&AppError::RateLimited {
            retry_after: decision.retry_after,
        });
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(whole_seconds(decision.retry_after).max(1)),
        );
        return response;
    }
    let rows: Vec<Row> = match serde_json::from_slice(&body) {
        Ok(rows) => rows,
        Err(err) => {
            let message = crate::security::document::truncate(&err.to_string(), 200);
            return refusal(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                &format!("the body must be a JSON array of readings: {message}"),
            );
        }
    };
    let rows: Vec<IngestRow> = rows
        .iter()
        .map(|r| IngestRow {
            sensor: r.sensor(),
            ts: r.ts,
            value: r.value,
            quality: r.quality,
        })
        .collect();
    let audit = Audit::of(audit::Entry {
        user_id: caller.user_id,
        role: caller.role,
        ip: client.ip.clone(),
        action: "POST /ingest".to_owned(),
        arguments: serde_json::json!({ "readings": rows.len() }),
    });
    match telemetry::ingest(state.sink(), &caller, &audit, &rows).await {
        Ok(report) => {
            state.metrics.readings_ingested.inc_by(report.inserted);
            let rejected: Vec<_> = report
                .rejected
                .iter()
                .map(|r| serde_json::json!({ "index": r.index, "code": r.code, "message": r.message }))
                .collect();
            let body = serde_json::json!({
                "accepted": report.accepted,
                "inserted": report.inserted,
                "rejected": rejected,
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(err) => app_error(&err),
    }
}

/// A service error with its code and the status that fits it.
fn app_error(err: &AppError) -> Response {
    let code = err.code();
    let status = match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Internal | ErrorCode::Timeout => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    // `extend` logs internal causes and sends only "internal error".
    let message = async_graphql::ErrorExtensions::extend(err).message;
    refusal(status, code, &message)
}

fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    (status, axum::Json(body)).into_response()
}
