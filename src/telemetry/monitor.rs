//! [`Monitor`]: the latest snapshots an instance knows — its own, each other instance's (from
//! the bus), and the cluster aggregate — shared through `watch` channels, so readers (queries,
//! the subscription, `/metrics`) never cause sampling work.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::snapshot::{Snapshot, aggregate};

/// The cluster view: the aggregate and each instance's latest, this one first.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    pub aggregate: Arc<Snapshot>,
    pub instances: Vec<Arc<Snapshot>>,
}

/// The snapshots of this instance and of the others it hears from.
pub struct Monitor {
    instance: Arc<str>,
    /// Peers not heard from for this long are dropped from the cluster view.
    stale_after: Duration,
    local: watch::Sender<Arc<Snapshot>>,
    peers: Mutex<HashMap<String, (Instant, Arc<Snapshot>)>>,
    cluster: watch::Sender<Arc<ClusterView>>,
    /// `systemMetrics` subscription streams running now (each feed runs one).
    streams: Arc<AtomicUsize>,
}

/// Held by a running `systemMetrics` stream: counted in the snapshot's subscriptions.
#[derive(Debug)]
pub struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// A monitor of `instance` ticking every `interval`; until the first tick its snapshot is
    /// empty (not ready).
    pub fn new(instance: Arc<str>, interval: Duration, now: DateTime<Utc>) -> Arc<Self> {
        let first = Arc::new(Snapshot {
            instance: instance.to_string(),
            version: crate::VERSION.to_owned(),
            at: now,
            ..Snapshot::default()
        });
        let view = Arc::new(ClusterView {
            aggregate: Arc::new(aggregate(&[(*first).clone()], now)),
            instances: vec![first.clone()],
        });
        Arc::new(Self {
            instance,
            stale_after: interval * 3,
            local: watch::channel(first).0,
            peers: Mutex::default(),
            cluster: watch::channel(view).0,
            streams: Arc::default(),
        })
    }

    /// Counts one more `systemMetrics` stream until the guard drops.
    pub fn stream_started(&self) -> StreamGuard {
        self.streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.streams.clone())
    }

    /// `systemMetrics` streams running now.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// This instance's latest snapshot.
    pub fn local(&self) -> Arc<Snapshot> {
        self.local.borrow().clone()
    }

    /// The latest cluster view.
    pub fn cluster(&self) -> Arc<ClusterView> {
        self.cluster.borrow().clone()
    }

    /// A receiver of the cluster view, marked changed at every tick.
    pub fn watch_cluster(&self) -> watch::Receiver<Arc<ClusterView>> {
        self.cluster.subscribe()
    }

    /// The latest snapshot of `instance` (this one or a live peer).
    pub fn instance_snapshot(&self, instance: &str) -> Option<Arc<Snapshot>> {
        if instance == &*self.instance {
            return Some(self.local());
        }
        self.cluster()
            .instances
            .iter()
            .find(|s| s.instance == instance)
            .cloned()
    }

    /// Stores another instance's snapshot (from the bus); its own come back and are ignored.
    pub fn peer(&self, snapshot: Snapshot) {
        if snapshot.instance == *self.instance {
            return;
        }
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded: a deployment has a handful of instances; a flood of made-up ids (a
        // misbehaving peer) cannot grow this without limit.
        if peers.len() >= 256 && !peers.contains_key(&snapshot.instance) {
            return;
        }
        peers.insert(
            snapshot.instance.clone(),
            (Instant::now(), Arc::new(snapshot)),
        );
    }

    /// Publishes this instance's new snapshot and recomputes the cluster view, dropping the
    /// peers not heard from for three intervals.
    pub fn tick(&self, snapshot: Arc<Snapshot>) {
        let at = snapshot.at;
        self.local.send_replace(snapshot.clone());
        let mut instances = vec![snapshot];
        {
            let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
            peers.retain(|_, (heard, _)| heard.elapsed() <= self.stale_after);
            let mut others: Vec<_> = peers.values().map(|(_, s)| s.clone()).collect();
            others.sort_by(|a, b| a.instance.cmp(&b.instance));
            instances.extend(others);
        }
        let plain: Vec<Snapshot> = instances.iter().map(|s| (**s).clone()).collect();
        self.cluster.send_replace(Arc::new(ClusterView {
            aggregate: Arc::new(aggregate(&plain, at)),
            instances,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_join_the_cluster_view_and_own_echoes_do_not() {
        let m = Monitor::new("a".into(), Duration::from_secs(1), Utc::now());
        m.peer(Snapshot {
            instance: "a".into(),
            requests_per_s: 100.0,
            ..Snapshot::default()
        });
        m.peer(Snapshot {
            instance: "b".into(),
            requests_per_s: 2.0,
            ..Snapshot::default()
        });
        m.tick(Arc::new(Snapshot {
            instance: "a".into(),
            requests_per_s: 1.0,
            ..Snapshot::default()
        }));
        let view = m.cluster();
        let names: Vec<&str> = view.instances.iter().map(|s| s.instance.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(view.aggregate.requests_per_s, 3.0);
        assert!(m.instance_snapshot("b").is_some());
        assert!(m.instance_snapshot("c").is_none());
    }
}
