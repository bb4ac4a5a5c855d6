//! The bounded queue between the hub and one subscription: the hub never waits for a
//! subscriber, and a subscriber that does not keep up loses its oldest items (counted in
//! `sf_subscription_dropped_total`), never the server's memory.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

/// A single-consumer queue holding at most `capacity` items; pushing onto a full one drops
/// the oldest.
pub struct DropOldest<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    /// Wakes the consumer; `notify_one` keeps a permit when it is not waiting yet, so a
    /// push between its check and its wait is not missed.
    ready: Notify,
    dropped: Counter,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> DropOldest<T> {
    /// An empty queue of `capacity` (at least 1) items counting drops into `dropped`.
    pub fn new(capacity: usize, dropped: Counter) -> Self {
        Self {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            capacity: capacity.max(1),
            ready: Notify::new(),
            dropped,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `item` without waiting; when the queue is full its oldest item goes. Returns
    /// whether one was dropped. Items pushed after [`close`](Self::close) are discarded.
    pub fn push(&self, item: T) -> bool {
        let mut state = self.state();
        if state.closed {
            return false;
        }
        let dropped = state.items.len() >= self.capacity;
        if dropped {
            state.items.pop_front();
            self.dropped.inc();
        }
        state.items.push_back(item);
        drop(state);
        self.ready.notify_one();
        dropped
    }

    /// Waits until there is something and moves everything queued into `out`. Returns
    /// `false`, moving nothing, once the queue is closed and empty. Cancel-safe: items only
    /// move when it returns.
    pub async fn recv_all(&self, out: &mut Vec<T>) -> bool {
        loop {
            {
                let mut state = self.state();
                if !state.items.is_empty() {
                    out.extend(state.items.drain(..));
                    return true;
                }
                if state.closed {
                    return false;
                }
            }
            self.ready.notified().await;
        }
    }

    /// The oldest item, waiting for one; `None` once closed and empty.
    pub async fn recv(&self) -> Option<T> {
        loop {
            {
                let mut state = self.state();
                if let Some(item) = state.items.pop_front() {
                    return Some(item);
                }
                if state.closed {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Ends the queue: the consumer gets what is left, then the end.
    pub fn close(&self) {
        self.state().closed = true;
        self.ready.notify_one();
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.state().items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_its_oldest_items_and_counts_them() {
        let dropped = Counter::default();
        let queue = DropOldest::new(3, dropped.clone());
        for i in 0..10 {
            queue.push(i);
        }
        assert_eq!(queue.len(), 3, "never more than the capacity");
        assert_eq!(dropped.get(), 7);
        let mut got = Vec::new();
        assert!(queue.recv_all(&mut got).await);
        assert_eq!(got, [7, 8, 9], "the newest items stay, in order");
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn the_consumer_wakes_for_a_push_made_while_it_waits() {
        let queue = Arc::new(DropOldest::new(4, Counter::default()));
        let consumer = tokio::spawn({
            let queue = queue.clone();
            async move { queue.recv().await }
        });
        // Give the consumer the chance to start waiting; correctness does not depend on it.
        tokio::task::yield_now().await;
        queue.push("hello");
        let got = tokio::time::timeout(Duration::from_secs(5), consumer)
            .await
            .expect("woken")
            .expect("task");
        assert_eq!(got, Some("hello"));
    }

    #[tokio::test]
    async fn a_closed_queue_hands_out_what_is_left_then_ends() {
        let queue = DropOldest::new(4, Counter::default());
        queue.push(1);
        queue.close();
        assert!(!queue.push(2), "pushes after the close are discarded");
        assert_eq!(queue.recv().await, Some(1));
        assert_eq!(queue.recv().await, None);
        let mut out = Vec::new();
        assert!(!queue.recv_all(&mut out).await);
        assert!(out.is_empty());
    }
}
