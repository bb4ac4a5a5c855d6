//! Alert notifications to `SF_ALERT_WEBHOOK_URL`: a JSON body, signed in `X-SF-Signature:
//! sha256=<hex HMAC-SHA256 of the body with SF_ALERT_WEBHOOK_SECRET>`, retried with
//! exponential back-off. In-process for now: a notification still retrying when the
//! instance stops is lost (the job queue will make it durable).

use std::{sync::Arc, time::Duration};

use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use super::{Metrics, alerts::Transition};
use crate::config::MetricsConfig;

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Sends alert transitions to the webhook.
pub struct Notifier {
    client: reqwest::Client,
    url: String,
    secret: Option<SecretString>,
    retries: u32,
    backoff: Duration,
    metrics: Arc<Metrics>,
}

impl Notifier {
    /// The notifier of `config`, when a webhook URL is set.
    pub fn new(config: &MetricsConfig, metrics: Arc<Metrics>) -> Option<Self> {
        let url = config.webhook_url.clone()?;
        if config.webhook_secret.is_none() {
            tracing::warn!(
                "SF_ALERT_WEBHOOK_URL is set without SF_ALERT_WEBHOOK_SECRET: notifications go unsigned"
            );
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .inspect_err(
                |e| tracing::error!(error = %e, "alert webhook client: notifications are off"),
            )
            .ok()?;
        Some(Self {
            client,
            url,
            secret: config.webhook_secret.clone(),
            retries: config.webhook_retries,
            backoff: config.webhook_backoff,
            metrics,
        })
    }

    /// Sends `transition` in the background (never waits for the receiver).
    pub fn send(self: &Arc<Self>, transition: &Transition) {
        let body = match serde_json::to_vec(transition) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "encoding an alert notification");
                return;
            }
        };
        let this = self.clone();
        tokio::spawn(async move { this.deliver(body).await });
    }

    async fn deliver(&self, body: Vec<u8>) {
        let signature = self
            .secret
            .as_ref()
            .map(|s| signature(s.expose_secret().as_bytes(), &body));
        let mut delay = self.backoff;
        for attempt in 0..=self.retries {
            let mut request = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(sig) = &signature {
                request = request.header("x-sf-signature", sig);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    self.metrics.system.notifications.inc();
                    return;
                }
                outcome => {
                    self.metrics.system.notification_failures.inc();
                    let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
                    tracing::warn!(attempt, ?status, "alert webhook attempt failed");
                }
            }
            if attempt < self.retries {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
        tracing::error!(
            attempts = self.retries + 1,
            "alert webhook: giving up on a notification"
        );
    }
}

/// `sha256=<hex HMAC-SHA256 of body with key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + bytes.len() * 2);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
