//! The bus across instances, through Redis pub/sub (fred): one outbox drained by a publisher
//! task, and one subscriber connection per instance for every topic, fanning out locally.
//!
//! Each message is `(origin, event)` in postcard on `<prefix>events:<topic>` (measured against
//! JSON and MessagePack: BENCHMARKS.md, "Event encoding"); an instance ignores the messages it
//! published itself (it delivered them locally already).
//! While Redis is down, events stay on the instance that made them (counted and logged) and
//! the subscription is retried every second; nothing a writer does waits for Redis.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use fred::{
    clients::Pool,
    interfaces::{ClientLike as _, EventInterface as _, PubsubInterface as _},
};
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::{Event, EventBus, OUTBOX_CAPACITY, Topic};
use crate::config::RedisConfig;

/// The Redis channel of `topic` for one deployment (its key prefix).
pub fn channel(prefix: &str, topic: Topic) -> String {
    format!("{prefix}events:{}", topic.name())
}

#[derive(Serialize)]
struct Outgoing<'a> {
    origin: &'a str,
    event: &'a Event,
}

#[derive(Deserialize)]
struct Incoming {
    origin: String,
    event: Event,
}

/// Connects `bus` to the other instances through Redis: returns the publisher and listener
/// tasks (none without Redis). Waits briefly for the subscription, so an instance that
/// starts serving already hears the others.
pub async fn start(
    config: &RedisConfig,
    pool: Option<Pool>,
    bus: Arc<EventBus>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let Some(pool) = pool else {
        return Ok(Vec::new());
    };
    let Some(client) = crate::redis::subscriber(config)? else {
        return Ok(Vec::new());
    };
    let (outbox, pending) = mpsc::channel(OUTBOX_CAPACITY);
    if bus.outbox.set(outbox).is_err() {
        anyhow::bail!("the event bus is bridged already");
    }
    let publisher = tokio::spawn(publish_loop(
        pool,
        config.prefix.clone(),
        config.timeout,
        bus.clone(),
        pending,
        stop.clone(),
    ));
    let channels: Vec<String> = Topic::ALL
        .iter()
        .map(|t| channel(&config.prefix, *t))
        .collect();
    let mut messages = client.message_rx();
    let subscribed = tokio::time::timeout(config.timeout * 4, async {
        client.wait_for_connect().await?;
        client.subscribe(channels.clone()).await
    })
    .await;
    let mut listening = matches!(subscribed, Ok(Ok(())));
    if !listening {
        tracing::warn!("Redis is not reachable: events from other instances wait for it");
    }
    let _resubscribe = client.manage_subscriptions();
    let mut stop = stop;
    let listener = tokio::spawn(async move {
        let mut retry = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = async { let _ = stop.wait_for(|s| *s).await; } => break,
                _ = retry.tick(), if !listening => {
                    listening = client.subscribe(channels.clone()).await.is_ok();
                }
                message = messages.recv() => match message {
                    Ok(message) => {
                        let decoded = message
                            .value
                            .as_bytes()
                            .and_then(|bytes| postcard::from_bytes::<Incoming>(bytes).ok());
                        match decoded {
                            Some(incoming) if incoming.origin == bus.origin => {}
                            Some(incoming) => bus.deliver_remote(incoming.event),
                            None => {
                                bus.metrics.event_dropped("undecodable");
                                warn_throttled("an event from Redis could not be decoded");
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        bus.metrics.event_dropped("listener_lagged");
                        tracing::warn!(missed = n, "the event listener fell behind Redis");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        let _ = client.quit().await;
    });
    Ok(vec![publisher, listener])
}

/// Sends what the bus puts in the outbox to Redis, one PUBLISH each, until `stop`.
async fn publish_loop(
    pool: Pool,
    prefix: String,
    timeout: Duration,
    bus: Arc<EventBus>,
    mut pending: mpsc::Receiver<Arc<Event>>,
    mut stop: watch::Receiver<bool>,
) {
    let channels: Vec<String> = Topic::ALL.iter().map(|t| channel(&prefix, *t)).collect();
    loop {
        let event = tokio::select! {
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
            event = pending.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        if !pool.is_connected() {
            bus.metrics.event_dropped("redis_down");
            warn_throttled("Redis is down: events stay on this instance");
            continue;
        }
        let payload = match postcard::to_stdvec(&Outgoing {
            origin: &bus.origin,
            event: &event,
        }) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "encoding an event");
                continue;
            }
        };
        let channel = &channels[event.topic().index()];
        let sent = tokio::time::timeout(
            timeout,
            pool.next().publish::<i64, _, _>(channel.as_str(), payload),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            bus.metrics.event_dropped("redis_failed");
            warn_throttled("publishing an event to Redis failed: it stays on this instance");
        }
    }
}

/// Seconds since the Unix epoch of the last throttled warning.
static LAST_WARNING: AtomicU64 = AtomicU64::new(0);

/// Logs `message` at most once every 10 s (all bus warnings share the budget).
pub(super) fn warn_throttled(message: &'static str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_WARNING.load(Ordering::Relaxed);
    if now >= last + 10
        && LAST_WARNING
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!("{message} (further bus warnings within 10 s are not logged)");
    }
}
