//! The registrations of one kind of subscription: the filter index, each entry's bounded
//! queue, and the guard that takes a subscription out of the index when it ends.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::Stream;
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};

use super::{
    Kind,
    index::{Index, Key},
    queue::DropOldest,
};
use crate::telemetry::{Metrics, hub_metrics::SubscriptionKindLabels};

/// One registration: what it wants and where its items go.
pub(crate) struct Slot<F, T> {
    pub(crate) filter: F,
    pub(crate) queue: Arc<DropOldest<T>>,
}

/// Every registration of one kind.
pub(crate) struct Registry<F, T> {
    index: Mutex<Index<Slot<F, T>>>,
    capacity: usize,
    dropped: Counter,
    active: Gauge,
}

impl<F: Send + 'static, T: Send + 'static> Registry<F, T> {
    /// An empty registry whose queues hold `capacity` items each.
    pub(crate) fn new(kind: Kind, capacity: usize, metrics: &Metrics) -> Arc<Self> {
        let labels = SubscriptionKindLabels { kind: kind.name() };
        Arc::new(Self {
            index: Mutex::new(Index::default()),
            capacity,
            dropped: metrics.hub.dropped.get_or_create(&labels).clone(),
            active: metrics.hub.active.get_or_create(&labels).clone(),
        })
    }

    /// The index, for one event's dispatch or one change. Held briefly: dispatch only
    /// pushes onto queues, which never wait.
    pub(crate) fn index(&self) -> MutexGuard<'_, Index<Slot<F, T>>> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `filter` under `keys`; the registration lasts as long as the returned
    /// subscription.
    pub(crate) fn join(self: &Arc<Self>, keys: Vec<Key>, filter: F) -> Subscription<T> {
        let queue = Arc::new(DropOldest::new(self.capacity, self.dropped.clone()));
        let id = self.index().insert(
            keys,
            Slot {
                filter,
                queue: queue.clone(),
            },
        );
        self.active.inc();
        Subscription {
            queue,
            registry: self.clone(),
            id,
        }
    }

    /// Ends every registration's queue (shutdown): their streams finish.
    pub(crate) fn close_all(&self) {
        for slot in self.index().values() {
            slot.queue.close();
        }
    }

    /// Registrations now.
    pub(crate) fn len(&self) -> usize {
        self.index().len()
    }
}

/// What the guard of a subscription calls when it ends.
trait Leave: Send + Sync {
    fn leave(&self, id: u64);
}

impl<F: Send + 'static, T: Send + 'static> Leave for Registry<F, T> {
    fn leave(&self, id: u64) {
        if self.index().remove(id).is_some() {
            self.active.dec();
        }
    }
}

/// One live registration in the hub: its items, in order, until it is dropped — which takes
/// it out of the index (so a closed subscription costs the hub nothing more).
pub struct Subscription<T> {
    queue: Arc<DropOldest<T>>,
    registry: Arc<dyn Leave>,
    id: u64,
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.registry.leave(self.id);
    }
}

impl<T: Send + 'static> Subscription<T> {
    /// Waits for items and moves every queued one into `out`; `false` once the hub closed
    /// the subscription. Cancel-safe.
    pub async fn recv_all(&self, out: &mut Vec<T>) -> bool {
        self.queue.recv_all(out).await
    }

    /// The next item; `None` once the hub closed the subscription.
    pub async fn recv(&self) -> Option<T> {
        self.queue.recv().await
    }

    /// The items as a stream, ending when the hub closes the subscription; dropping the
    /// stream unregisters.
    pub fn into_stream(self) -> impl Stream<Item = T> + Send + 'static {
        futures::stream::unfold(self, |sub| async move {
            let item = sub.recv().await?;
            Some((item, sub))
        })
    }
}
