//! What the metrics record of each finished GraphQL operation: the latency window, the
//! per-operation counter (a bounded label) and — past `SF_SLOW_OPERATION_MS` — the slow log.

use std::time::Duration;

use super::system_metrics::OperationLabels;
use crate::state::AppState;

/// The `operation` label of `name`: itself when `SF_METRICS_OPERATIONS` lists it, else
/// `other` (client-chosen names must not grow the label set).
pub fn label(allowed: &[String], name: Option<&str>) -> String {
    match name {
        Some(name) if allowed.iter().any(|a| a == name) => name.to_owned(),
        _ => "other".to_owned(),
    }
}

/// Records one finished query or mutation. Variables are never logged: they may hold
/// passwords and tokens.
pub fn finished(
    state: &AppState,
    name: Option<&str>,
    ok: bool,
    elapsed: Duration,
    statements: u32,
    caller_id: Option<i64>,
) {
    let metrics = &state.metrics;
    metrics.latency.record(elapsed);
    let config = &state.config.metrics;
    metrics
        .system
        .operations
        .get_or_create(&OperationLabels {
            operation: label(&config.operations, name),
            outcome: if ok { "ok" } else { "error" },
        })
        .inc();
    if elapsed >= config.slow_operation {
        metrics.system.slow_operations.inc();
        tracing::warn!(
            operation = name.unwrap_or("-"),
            duration_ms = elapsed.as_millis() as u64,
            sql_statements = statements,
            caller_id,
            "slow GraphQL operation"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_operation_names_become_labels() {
        let allowed = vec!["Dashboard".to_owned()];
        assert_eq!(label(&allowed, Some("Dashboard")), "Dashboard");
        assert_eq!(label(&allowed, Some("dashboard")), "other");
        assert_eq!(label(&allowed, None), "other");
    }
}
