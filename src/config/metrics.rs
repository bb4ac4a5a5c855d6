//! Live metrics: the collector's pace, `/metrics` protection and labels, slow operations and
//! the alert rules.

use std::{sync::Arc, time::Duration};

use lettre::message::Mailbox;
use secrecy::SecretString;

use super::{EnvSource, EnvSourceExt as _};
use crate::telemetry::{
    alerts::{AlertRule, default_rules, parse_rules},
    clock::{Clock, SystemClock},
};

/// Collector, `/metrics` and alerting settings.
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// `SF_METRICS_COLLECTOR`: whether the collector runs (off: no snapshots, history, alert
    /// rules or `SYSTEM` alarms; `/metrics` keeps its counters). For measuring its cost.
    pub collector: bool,
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
    /// `SF_SMTP_URL`, `SF_SMTP_FROM`, `SF_SMTP_TO`: alert e-mail (unset: none).
    pub smtp: Option<SmtpConfig>,
    /// What the collector reads the wall time from (tests inject a manual clock so the
    /// once-a-minute history rows need not wait a minute).
    pub clock: Arc<dyn Clock>,
}

/// Where alert e-mail goes. Retries and back-off are the webhook's
/// (`SF_ALERT_WEBHOOK_RETRIES`, `SF_ALERT_WEBHOOK_BACKOFF_MS`).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// `smtp://[user:password@]host[:port][?tls=required]` (STARTTLS), `smtps://…` (TLS), or
    /// `smtp://host:25` (plain, a relay on the plant network). Secret: it may hold a password.
    pub url: SecretString,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

/// Most recipients of one alert e-mail.
const MAX_SMTP_RECIPIENTS: usize = 50;

impl SmtpConfig {
    fn from_source(env: &dyn EnvSource) -> anyhow::Result<Option<Self>> {
        let Some(url) = env.get("SF_SMTP_URL") else {
            for name in ["SF_SMTP_FROM", "SF_SMTP_TO"] {
                if env.get(name).is_some() {
                    anyhow::bail!("{name} is set without SF_SMTP_URL");
                }
            }
            return Ok(None);
        };
        // The URL is checked by the transport that will use it (its error never echoes the URL:
        // it may hold a password).
        if lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url).is_err() {
            anyhow::bail!(
                "SF_SMTP_URL is not an SMTP URL (smtp://host:port, smtp://user:password@host:587?tls=required, smtps://host)"
            );
        }
        let from = env
            .get("SF_SMTP_FROM")
            .ok_or_else(|| anyhow::anyhow!("SF_SMTP_URL is set: SF_SMTP_FROM is required"))?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("SF_SMTP_FROM: `{from}` is not an address ({e})"))?;
        let to = env
            .get("SF_SMTP_TO")
            .ok_or_else(|| anyhow::anyhow!("SF_SMTP_URL is set: SF_SMTP_TO is required"))?;
        let to = to
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<Mailbox>()
                    .map_err(|e| anyhow::anyhow!("SF_SMTP_TO: `{a}` is not an address ({e})"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if to.is_empty() || to.len() > MAX_SMTP_RECIPIENTS {
            anyhow::bail!("SF_SMTP_TO: 1 to {MAX_SMTP_RECIPIENTS} comma-separated addresses");
        }
        Ok(Some(Self {
            url: SecretString::from(url),
            from,
            to,
        }))
    }
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
            collector: env.parse_or("SF_METRICS_COLLECTOR", super::Flag(true))?.0,
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
            smtp: SmtpConfig::from_source(env)?,
            clock: Arc::new(SystemClock),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MapEnv;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        MapEnv::of(pairs)
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

    #[test]
    fn smtp_settings_are_checked_at_start_without_echoing_the_url() {
        let ok = [
            (
                "SF_SMTP_URL",
                "smtp://alerts:s3cret-pw@mail.plant.local:587?tls=required",
            ),
            ("SF_SMTP_FROM", "Smart Factory <alerts@plant.local>"),
            ("SF_SMTP_TO", "ops@plant.local, shift-lead@plant.local"),
        ];
        let smtp = MetricsConfig::from_source(&env(&ok))
            .expect("valid")
            .smtp
            .expect("configured");
        assert_eq!(smtp.to.len(), 2);
        assert_eq!(smtp.from.email.to_string(), "alerts@plant.local");
        for (name, value, says) in [
            ("SF_SMTP_URL", "http://mail.plant.local", "SF_SMTP_URL"),
            ("SF_SMTP_FROM", "not an address", "SF_SMTP_FROM"),
            ("SF_SMTP_TO", "ops@plant.local, nope", "SF_SMTP_TO"),
            ("SF_SMTP_TO", " , ", "SF_SMTP_TO"),
        ] {
            let mut pairs = ok.to_vec();
            pairs.retain(|(n, _)| *n != name);
            pairs.push((name, value));
            let err = MetricsConfig::from_source(&env(&pairs))
                .expect_err("refused")
                .to_string();
            assert!(err.contains(says), "{name}={value}: {err}");
            assert!(
                !err.contains("s3cret-pw"),
                "the password is never echoed: {err}"
            );
        }
        let err = MetricsConfig::from_source(&env(&ok[..2])).expect_err("no recipients");
        assert!(err.to_string().contains("SF_SMTP_TO"), "{err}");
        let err = MetricsConfig::from_source(&env(&ok[1..])).expect_err("no URL");
        assert!(err.to_string().contains("SF_SMTP_URL"), "{err}");
        assert!(
            MetricsConfig::from_source(&env(&[]))
                .expect("defaults")
                .smtp
                .is_none()
        );
    }
}
