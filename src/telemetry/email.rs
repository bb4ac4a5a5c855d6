//! Alert notifications by e-mail (`SF_SMTP_URL`, `SF_SMTP_FROM`, `SF_SMTP_TO`): one plain-text
//! message per transition to every recipient, retried with the webhook's exponential back-off.
//! In-process like the webhook: a message still retrying when the instance stops is lost.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor, message::header::ContentType,
};
use secrecy::ExposeSecret as _;

use super::{Metrics, alerts::Transition};
use crate::config::{MetricsConfig, SmtpConfig};

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends alert transitions as e-mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    smtp: SmtpConfig,
    retries: u32,
    backoff: Duration,
    metrics: Arc<Metrics>,
}

impl Mailer {
    /// The mailer of `config`, when SMTP is configured.
    pub fn new(config: &MetricsConfig, metrics: Arc<Metrics>) -> Option<Self> {
        let smtp = config.smtp.clone()?;
        let transport =
            match AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose_secret()) {
                Ok(builder) => builder.timeout(Some(SMTP_TIMEOUT)).build(),
                Err(_) => {
                    // Checked at start-up already; the error is not logged (the URL may hold a
                    // password).
                    tracing::error!("SF_SMTP_URL is not usable: alert e-mail is off");
                    return None;
                }
            };
        Some(Self {
            transport,
            smtp,
            retries: config.webhook_retries,
            backoff: config.webhook_backoff,
            metrics,
        })
    }

    /// Sends `transition` in the background (never waits for the SMTP server).
    pub fn send(self: &Arc<Self>, transition: &Transition) {
        let message = match self.message(transition) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(error = %err, "building an alert e-mail");
                return;
            }
        };
        let this = self.clone();
        tokio::spawn(async move { this.deliver(message).await });
    }

    fn message(&self, t: &Transition) -> Result<Message, lettre::error::Error> {
        let rule = &t.rule;
        let subject = format!(
            "[smart-factory] {}: {} on {}",
            t.state, rule.name, t.instance
        );
        let body = format!(
            "Alert rule {name} is {state} on instance {instance}.\n\n\
             metric:    {metric:?}\n\
             condition: {comparison:?} {threshold} for {for_s} s\n\
             value:     {value}\n\
             severity:  {severity}\n\
             at:        {at}\n",
            name = rule.name,
            state = t.state,
            instance = t.instance,
            metric = rule.metric,
            comparison = rule.comparison,
            threshold = rule.threshold,
            for_s = rule.for_s,
            value = t.value,
            severity = rule.severity,
            at = t.at.to_rfc3339(),
        );
        let mut builder = Message::builder()
            .from(self.smtp.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.smtp.to {
            builder = builder.to(to.clone());
        }
        builder.body(body)
    }

    async fn deliver(&self, message: Message) {
        let mut delay = self.backoff;
        for attempt in 0..=self.retries {
            match self.transport.send(message.clone()).await {
                Ok(_) => {
                    self.metrics.system.emails.inc();
                    return;
                }
                Err(err) => {
                    self.metrics.system.email_failures.inc();
                    // lettre's errors name the server's reply, never the credentials.
                    tracing::warn!(attempt, error = %err, "alert e-mail attempt failed");
                }
            }
            if attempt < self.retries {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
        tracing::error!(
            attempts = self.retries + 1,
            "alert e-mail: giving up on a notification"
        );
    }
}
