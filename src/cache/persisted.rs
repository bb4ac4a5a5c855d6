//! Automatic persisted queries: query text by the SHA-256 of its bytes, in process (moka,
//! bounded in bytes) and in Redis when there is one, so a query registered on one instance
//! is known to the others. The protocol lives in `graphql::transport::persisted`.

use std::{sync::Arc, time::Duration};

/// Persisted query texts of this instance.
pub struct PersistedQueries {
    l1: moka::sync::Cache<Arc<str>, Arc<str>>,
    ttl: Duration,
}

impl PersistedQueries {
    pub fn new(capacity_bytes: u64, ttl: Duration) -> Self {
        Self {
            l1: moka::sync::Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|hash: &Arc<str>, query: &Arc<str>| {
                    u32::try_from(hash.len() + query.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(ttl)
                .build(),
            ttl,
        }
    }

    /// How long a persisted query is remembered.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The text under `hash`, if this instance has it.
    pub fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.l1.get(hash)
    }

    /// Remembers `query` under `hash`.
    pub fn put(&self, hash: &str, query: Arc<str>) {
        self.l1.insert(hash.into(), query);
    }
}
