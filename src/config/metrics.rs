//! Live metrics: the collector's pace, `/metrics` protection and labels, slow operations and
//! the alert rules.

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;

use super::{EnvSource, EnvSourceExt as _};
use crate::telemetry::{
    alerts::{AlertRule, default_rules, parse_rules},
    clock::{Clock, SystemClock},
};

/// Collector, `/metrics` and alerting settings.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// `SF_METRICS_INTERVAL_MS`: how often the collector takes a snapshot (≥ 100).
    pub interval: Duration,
    /// `SF_METRICS_WINDOW_S`: the sliding window of the latency percentiles.
    pub window: Duration,
    /// `SF_METRICS_TOKEN`: when set, `/metrics` wants `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// `SF_METRICS_OPERATIONS`: comma-separated GraphQL operation names that get their own
    /// `operation` label; every other operation is counted as `other`.
    pub operations: Arc<[String]>,
    /// `SF_SLOW_OPERATION_MS`: operations at least this slow are logged and counted.
    pub slow_operation: Duration,
    /// `SF_ALERT_RULES`: the alert rules (defaults in [`default_rules`]).
    pub rules: Vec<AlertRule>,
    /// `SF_ALERT_WEBHOOK_URL`: where alert notifications are POSTed (unset: none).
    pub webhook_url: Option<String>,
    /// `SF_ALERT_WEBHOOK_SECRET`: HMAC-SHA256 key of the `X-SF-Signature` header.
    pub webhook_secret: Option<SecretString>,
    /// `SF_ALERT_WEBHOOK_RETRIES`: attempts after the first before a notification is given up.
    pub webhook_retries: u32,
    /// `SF_ALERT_WEBHOOK_BACKOFF_MS`: the first retry's delay; each next one doubles it.
    pub webhook_backoff: Duration,
    /// What the collector reads the wall time from (tests inject a manual clock so the
    /// once-a-minute history rows need not wait a minute).
    pub clock: Arc<dyn Clock>,
}

impl MetricsConfig {
    /// The settings from their variables, defaults in code.
    pub fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let interval_ms: u64 = env.parse_or("SF_METRICS_INTERVAL_MS", 1_000)?;
        if interval_ms < 100 {
            anyhow::bail!("SF_METRICS_INTERVAL_MS must be at least 100");
        }
        let window_s: u64 = env.parse_or("SF_METRICS_WINDOW_S", 60)?;
        if window_s == 0 || window_s > 3_600 {
            anyhow::bail!("SF_METRICS_WINDOW_S must be 1 to 3600");
        }
        let operations: Vec<String> = env
            .get("SF_METRICS_OPERATIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if operations.len() > 200 {
            anyhow::bail!("SF_METRICS_OPERATIONS: at most 200 operation names");
        }
        if let Some(bad) = operations
            .iter()
            .find(|o| o.len() > 100 || !o.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            anyhow::bail!("SF_METRICS_OPERATIONS: `{bad}` is not a GraphQL operation name");
        }
        let rules = match env.get("SF_ALERT_RULES") {
            None => default_rules(),
            Some(raw) => parse_rules(&raw).map_err(|e| anyhow::anyhow!("SF_ALERT_RULES: {e}"))?,
        };
        let webhook_url = env.get("SF_ALERT_WEBHOOK_URL");
        if let Some(url) = &webhook_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("SF_ALERT_WEBHOOK_URL must be an http:// or https:// URL");
        }
        Ok(Self {
            interval: Duration::from_millis(interval_ms),
            window: Duration::from_secs(window_s),
            token: env.get("SF_METRICS_TOKEN").map(SecretString::from),
            operations: operations.into(),
            slow_operation: Duration::from_millis(env.parse_or("SF_SLOW_OPERATION_MS", 500)?),
            rules,
            webhook_url,
            webhook_secret: env.get("SF_ALERT_WEBHOOK_SECRET").map(SecretString::from),
            webhook_retries: env.parse_or("SF_ALERT_WEBHOOK_RETRIES", 5)?,
            webhook_backoff: Duration::from_millis(
                env.parse_or("SF_ALERT_WEBHOOK_BACKOFF_MS", 1_000)?,
            ),
            clock: Arc::new(SystemClock),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::MapEnv;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        MapEnv(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        )
    }

    #[test]
    fn malformed_metrics_settings_fail_naming_their_variable() {
        for (name, value) in [
            ("SF_ALERT_RULES", "[{\"name\":\"x\"}]"),
            ("SF_ALERT_RULES", "not json"),
            ("SF_METRICS_INTERVAL_MS", "50"),
            ("SF_METRICS_OPERATIONS", "ok,bad name"),
            ("SF_ALERT_WEBHOOK_URL", "ftp://example"),
        ] {
            let err = MetricsConfig::from_source(&env(&[(name, value)]))
                .expect_err("refused")
                .to_string();
            assert!(err.contains(name), "{name}={value}: {err}");
        }
        let defaults = MetricsConfig::from_source(&env(&[])).expect("defaults");
        assert_eq!(defaults.interval, Duration::from_secs(1));
        assert_eq!(defaults.rules, default_rules());
        let custom = MetricsConfig::from_source(&env(&[("SF_ALERT_RULES", "[]")])).expect("ok");
        assert!(custom.rules.is_empty());
    }
}
