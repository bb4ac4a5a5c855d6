//! `/health/live`, `/health/ready` and `/metrics`.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::state::AppState;

/// The process is up and serving HTTP.
pub async fn live() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Ready to serve: the database answers. 503 when it does not, so a load balancer stops
/// sending traffic here. Redis is reported but optional: while it is down (or the cache's
/// breaker has it open) it is `degraded` and the instance still serves with 200 (rate limits
/// fall back to this process, the cache to memory and the database).
pub async fn ready(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping()).await;
    let redis = match &state.redis {
        None => "off",
        Some(pool)
            if state.cache.redis_state() != "degraded"
                && crate::redis::ping(pool, &state.config.redis).await =>
        {
            "up"
        }
        Some(_) => "degraded",
    };
    match ping {
        Ok(Ok(latency)) => {
            let us = i64::try_from(latency.as_micros()).unwrap_or(i64::MAX);
            state.metrics.db_ping_us.set(us);
            Json(json!({
                "status": "ready",
                "instance": &*state.instance_id,
                "uptimeS": state.started_at.elapsed().as_secs(),
                "database": { "status": "up", "latencyMs": latency.as_secs_f64() * 1000.0 },
                "redis": { "status": redis },
            }))
            .into_response()
        }
        outcome => {
            let reason = match outcome {
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "readiness: database ping failed");
                    "ping failed"
                }
                _ => "ping timed out",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "instance": &*state.instance_id,
                    "database": { "status": "down", "error": reason },
                    "redis": { "status": redis },
                })),
            )
                .into_response()
        }
    }
}

/// Prometheus scrape endpoint. With `SF_METRICS_TOKEN` set it wants `Authorization: Bearer
/// <token>` (401 otherwise; compared in constant time).
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let expected = secrecy::ExposeSecret::expose_secret(token).as_bytes();
        let same: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected).into();
        if !same {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "a valid metrics token is required\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
