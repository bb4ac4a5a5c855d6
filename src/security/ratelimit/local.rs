//! The in-process store: one TAT per key in a bounded cache, each entry expiring when its
//! bucket is full again (a missing key and a full bucket mean the same thing).

use std::time::{Duration, Instant};

use moka::{Expiry, ops::compute::Op, sync::Cache};

use super::gcra::{self, Decision, Quota};

/// Most keys held at once; past that the least used are dropped (their buckets refill).
const MAX_KEYS: u64 = 100_000;

#[derive(Clone, Copy)]
struct Tat {
    /// The theoretical arrival time, in microseconds since the store started.
    at_us: u64,
    /// How long the entry matters: until the bucket is full again.
    ttl: Duration,
}

struct UntilFull;

impl Expiry<String, Tat> for UntilFull {
    fn expire_after_create(&self, _: &String, value: &Tat, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Tat,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// TATs of this instance.
pub struct LocalStore {
    tats: Cache<String, Tat>,
    started: Instant,
}

impl LocalStore {
    pub fn new() -> Self {
        Self {
            tats: Cache::builder()
                .max_capacity(MAX_KEYS)
                .expire_after(UntilFull)
                .build(),
            started: Instant::now(),
        }
    }

    /// Checks and, when allowed, charges `key` — atomically for that key.
    pub fn check(&self, quota: &Quota, key: &str, cost: u64) -> Decision {
        let now = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut decision = None;
        self.tats.entry_by_ref(key).and_compute_with(|entry| {
            let (d, new_tat) = gcra::check(quota, now, entry.map(|e| e.into_value().at_us), cost);
            decision = Some(d);
            match new_tat {
                Some(at_us) => Op::Put(Tat {
                    at_us,
                    ttl: Duration::from_micros(at_us.saturating_sub(now)),
                }),
                None => Op::Nop,
            }
        });
        // The closure always runs; the fallback only satisfies the type.
        decision.unwrap_or_else(|| gcra::check(quota, now, None, cost).0)
    }
}

impl Default for LocalStore {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_independent_and_charges_stick() {
        let store = LocalStore::new();
        let q: Quota = "1/h,3".parse().expect("quota");
        for remaining in [2, 1, 0] {
            assert_eq!(store.check(&q, "a", 1).remaining, remaining);
        }
        assert!(!store.check(&q, "a", 1).allowed);
        assert!(store.check(&q, "b", 1).allowed);
    }
}
