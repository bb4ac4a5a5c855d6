//! Revocations carried to every instance: with Redis, dropping a session or API token from
//! this instance's cache also publishes it on `<prefix>auth:invalidate`, and every instance's
//! listener drops it from its own cache at once. Without Redis (or while it is down) other
//! instances learn within the cache lifetime (30 s), as before.

use std::sync::Arc;

use fred::{
    clients::Pool,
    interfaces::{ClientLike as _, EventInterface as _, PubsubInterface as _},
};
use tokio::{sync::watch, task::JoinHandle};

use super::session::Authenticator;
use crate::config::RedisConfig;

/// The channel of one deployment (its key prefix).
pub fn channel(prefix: &str) -> String {
    format!("{prefix}auth:invalidate")
}

/// Publishes invalidations for the other instances.
pub struct Broadcast {
    pool: Pool,
    channel: String,
}

impl Broadcast {
    pub fn new(pool: Pool, prefix: &str) -> Self {
        Self {
            pool,
            channel: channel(prefix),
        }
    }

    /// Sends `message` (`s:<session id>` or `t:<token hash>`); a Redis failure is logged, and
    /// the other instances then catch up when their cache entry expires.
    pub async fn publish(&self, message: &str) {
        if !self.pool.is_connected() {
            tracing::warn!("Redis is down: other instances learn of this revocation within 30 s");
            return;
        }
        if let Err(err) = self
            .pool
            .next()
            .publish::<i64, _, _>(&self.channel, message)
            .await
        {
            tracing::warn!(error = %err, "publishing a revocation failed");
        }
    }
}

/// Subscribes to the channel and applies what arrives until `stop`. Waits (briefly) for the
/// subscription before returning, so an instance that starts serving already listens; when
/// Redis is down it keeps trying in the background.
pub async fn listen(
    config: &RedisConfig,
    auth: Arc<Authenticator>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(client) = crate::redis::subscriber(config)? else {
        return Ok(None);
    };
    let channel = channel(&config.prefix);
    let mut messages = client.message_rx();
    let subscribed = tokio::time::timeout(config.timeout * 4, async {
        client.wait_for_connect().await?;
        client.subscribe(channel.as_str()).await
    })
    .await;
    let mut listening = matches!(subscribed, Ok(Ok(())));
    if !listening {
        tracing::warn!("Redis is not reachable: revocations from other instances wait for it");
    }
    let _resubscribe = client.manage_subscriptions();
    Ok(Some(tokio::spawn(async move {
        let mut retry = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                () = async { let _ = stop.wait_for(|s| *s).await; } => break,
                _ = retry.tick(), if !listening => {
                    listening = client.subscribe(channel.as_str()).await.is_ok();
                }
                message = messages.recv() => match message {
                    Ok(message) => {
                        if let Some(text) = message.value.as_str() {
                            auth.apply_remote(&text).await;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "revocation listener lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        let _ = client.quit().await;
    })))
}
