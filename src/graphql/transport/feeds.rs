//! Identical subscriptions executed once: the feed registry.
//!
//! Subscriptions with the same document, operation, variables, role and workshop scope get
//! the same answer to every event, so the first subscriber's stream becomes a *feed*: one
//! task executes it and encodes each response once, and every subscriber of that key
//! receives the same encoded payload from a bounded broadcast channel. A subscriber that does
//! not keep up loses the oldest payloads (counted in `sf_subscriber_dropped_total`), never
//! the server's memory: the channel's buffer is the feed's, not each subscriber's. The feed
//! stops when its last subscriber leaves.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{Request, Response};
use entity::enums::Role;
use futures::{Stream, StreamExt as _, stream::BoxStream};
use tokio::sync::broadcast;

use crate::{
    auth::{Caller, WorkshopScope},
    telemetry::Metrics,
};

/// What one feed sends each subscriber: a payload (`{"data": …}`, encoded once), or the end.
#[derive(Clone, Debug)]
pub enum Frame {
    Next(Arc<str>),
    Complete,
}

/// What makes two subscriptions identical.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FeedKey {
    query: String,
    operation: Option<String>,
    variables: String,
    role: Option<Role>,
    /// `None`: every workshop.
    scope: Option<Vec<i64>>,
}

impl FeedKey {
    /// The key of `request` run by `caller`.
    pub fn new(request: &Request, caller: &Caller) -> Self {
        let scope = match &caller.scope {
            WorkshopScope::All => None,
            WorkshopScope::Only(ids) => {
                let mut ids = ids.to_vec();
                ids.sort_unstable();
                Some(ids)
            }
        };
        Self {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            // serde_json's map is ordered by key, so equal variables encode equally.
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
            role: caller.role,
            scope,
        }
    }
}

/// Every running feed of this instance.
pub struct Feeds {
    running: Mutex<HashMap<FeedKey, Weak<Feed>>>,
    /// Payloads a feed keeps for subscribers that fall behind.
    buffer: usize,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds")
            .field("buffer", &self.buffer)
            .finish()
    }
}

/// One shared execution.
pub struct Feed {
    key: FeedKey,
    sender: broadcast::Sender<Frame>,
    /// Set by the task before it sends `Complete`: a joiner that sees it set starts anew.
    ended: Arc<AtomicBool>,
    task: tokio::task::AbortHandle,
    feeds: Weak<Feeds>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(feeds) = self.feeds.upgrade() {
            let mut running = feeds.running.lock().unwrap_or_else(PoisonError::into_inner);
            // Only this feed's entry: a new feed of the same key may have replaced it.
            if running
                .get(&self.key)
                .is_some_and(|weak| weak.strong_count() == 0)
            {
                running.remove(&self.key);
            }
            feeds.metrics.feeds_running(running.len());
        }
    }
}

/// One subscriber of a feed: holding it keeps the feed running.
pub struct Subscription {
    feed: Arc<Feed>,
    receiver: broadcast::Receiver<Frame>,
    metrics: Arc<Metrics>,
}

impl Subscription {
    /// The frames from now on; ends after `Complete`. Frames lost to lag are counted.
    pub fn into_stream(self) -> impl Stream<Item = Frame> + Send + 'static {
        futures::stream::unfold(Some(self), |state| async move {
            let mut sub = state?;
            loop {
                match sub.receiver.recv().await {
                    Ok(Frame::Complete) | Err(broadcast::error::RecvError::Closed) => {
                        return Some((Frame::Complete, None));
                    }
                    Ok(frame) => return Some((frame, Some(sub))),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        sub.metrics.subscriber_dropped(missed);
                    }
                }
            }
        })
    }

    /// How many subscribers the feed has (this one included).
    pub fn subscribers(&self) -> usize {
        self.feed.sender.receiver_count()
    }
}

impl Drop for Subscription {
    /// A subscriber leaving with payloads it never received lost them: a socket cut for not
    /// reading never polls its receiver again, so its lag is counted here or not at all.
    fn drop(&mut self) {
        let missed = self.receiver.len();
        if missed > 0 {
            self.metrics.subscriber_dropped(missed as u64);
        }
    }
}

impl Feeds {
    /// An empty registry; each feed buffers `buffer` payloads.
    pub fn new(buffer: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            running: Mutex::new(HashMap::new()),
            buffer: buffer.max(1),
            metrics,
        })
    }

    /// Joins the feed of `key`, or starts it from `stream` (a subscription whose checks
    /// passed). A joiner's own `stream` is dropped: the feed's answers are the same.
    pub fn join(
        self: &Arc<Self>,
        key: FeedKey,
        stream: impl Stream<Item = Response> + Send + Unpin + 'static,
    ) -> Subscription {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        // An ended feed found here is dropped after the lock is released (its `Drop` takes
        // the lock too).
        let mut ended_feed = None;
        if let Some(feed) = running.get(&key).and_then(Weak::upgrade) {
            let receiver = feed.sender.subscribe();
            // Subscribed before looking: if the task has not ended yet, its `Complete`
            // reaches this receiver.
            if !feed.ended.load(Ordering::SeqCst) {
                return Subscription {
                    feed,
                    receiver,
                    metrics: self.metrics.clone(),
                };
            }
            ended_feed = Some(feed);
        }
        let (sender, receiver) = broadcast::channel(self.buffer);
        let ended = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(
            stream.boxed(),
            sender.clone(),
            ended.clone(),
            self.metrics.clone(),
        ));
        let feed = Arc::new(Feed {
            key: key.clone(),
            sender,
            ended,
            task: task.abort_handle(),
            feeds: Arc::downgrade(self),
        });
        running.insert(key, Arc::downgrade(&feed));
        self.metrics.feeds_running(running.len());
        drop(running);
        drop(ended_feed);
        Subscription {
            feed,
            receiver,
            metrics: self.metrics.clone(),
        }
    }

    /// Feeds running now.
    pub fn len(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    /// Whether no feed runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Executes a feed: encodes each response once for every subscriber.
async fn run(
    mut stream: BoxStream<'static, Response>,
    sender: broadcast::Sender<Frame>,
    ended: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) {
    while let Some(response) = stream.next().await {
        match serde_json::to_string(&response) {
            Ok(payload) => {
                metrics.feed_message();
                // No receiver right now is fine: the last one is leaving.
                let _ = sender.send(Frame::Next(payload.into()));
            }
            Err(err) => tracing::error!(error = %err, "encoding a subscription payload"),
        }
    }
    ended.store(true, Ordering::SeqCst);
    let _ = sender.send(Frame::Complete);
}
