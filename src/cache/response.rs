//! Whole responses of queries, in process (L1; Redis is driven from [`super::Cache`]).
//!
//! A response is kept under a key of its document, operation, variables, role and workshop
//! scope (see `graphql::response_cache`), with the tags of everything it was built from —
//! collected while it ran by [`Touched`], which the loaders and tagged resolvers feed, so
//! nobody keeps a list of queries per write. Dropping a tag drops every response that
//! carries it: an index from tag to keys, plus an epoch so a response computed before an
//! invalidation never lands after it. Responses that show latest readings are *live*: they
//! stay in process only, at most `SF_CACHE_LIVE_MAX_AGE_MS`, and go as soon as one of their
//! sensors has a newer reading.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::Tag;
use crate::{config::ResponseConfig, db::StatementCounter, telemetry::Metrics};

/// The kind's name in metrics and `cacheStats`.
pub const KIND: &str = "response";

/// A response's cache key: a SHA-256.
pub type Key = [u8; 32];

/// One cached response.
#[derive(Debug)]
pub struct Entry {
    /// The response's `data` (only responses without errors are cached).
    pub data: async_graphql::Value,
    /// What it was built from.
    pub tags: Box<[Tag]>,
    /// Sensors whose latest reading it shows (empty: not live).
    pub live: Box<[i64]>,
    /// Its JSON size.
    pub bytes: usize,
    /// The response epochs when its execution began.
    pub since: Epochs,
}

/// The response cache's epochs: one bumped by tag drops, one by readings (which only
/// live responses care about, so a stream of readings never keeps others from being stored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epochs {
    pub tags: u64,
    pub live: u64,
}

impl Entry {
    /// Whether the response shows latest readings.
    pub fn is_live(&self) -> bool {
        !self.live.is_empty()
    }
}

/// What a response is indexed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mark {
    Tag(Tag),
    Latest(i64),
}

/// The keys of each mark, with the entry each was indexed for (its address): a removal
/// the cache reports late (an entry expired or replaced) must not unindex a newer entry
/// under the same key.
type Index = HashMap<Mark, HashMap<Key, usize>>;

fn address(entry: &Arc<Entry>) -> usize {
    Arc::as_ptr(entry) as usize
}

/// The in-process response cache.
pub struct ResponseCache {
    config: ResponseConfig,
    l1: moka::sync::Cache<Key, Arc<Entry>>,
    index: Arc<Mutex<Index>>,
    epoch: AtomicU64,
    live_epoch: AtomicU64,
    /// Executions in progress by key, so identical concurrent misses run once.
    pub inflight: moka::future::Cache<Key, Arc<Entry>>,
}

/// Per-entry lifetimes: live responses get the short maximum age.
struct Lifetime {
    ttl: Duration,
    live: Duration,
}

impl moka::Expiry<Key, Arc<Entry>> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(if value.is_live() {
            self.live.min(self.ttl)
        } else {
            self.ttl
        })
    }
}

/// Never call the cache while holding the index lock: its eviction listener takes it.
fn lock(index: &Mutex<Index>) -> std::sync::MutexGuard<'_, Index> {
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

fn marks(entry: &Entry) -> impl Iterator<Item = Mark> + '_ {
    entry
        .tags
        .iter()
        .map(|t| Mark::Tag(*t))
        .chain(entry.live.iter().map(|s| Mark::Latest(*s)))
}

impl ResponseCache {
    pub fn new(config: ResponseConfig, metrics: &Metrics) -> Self {
        let evictions = metrics
            .cache
            .evictions
            .get_or_create(&crate::telemetry::cache_metrics::CacheKindLabels { kind: KIND })
            .clone();
        let index: Arc<Mutex<Index>> = Arc::default();
        let pruned = index.clone();
        let l1 = moka::sync::Cache::builder()
            .max_capacity(config.capacity_bytes)
            .weigher(|_, entry: &Arc<Entry>| u32::try_from(entry.bytes).unwrap_or(u32::MAX))
            .expire_after(Lifetime {
                ttl: config.ttl,
                live: config.live_max_age,
            })
            .eviction_listener(move |key: Arc<Key>, entry: Arc<Entry>, cause| {
                if cause.was_evicted() {
                    evictions.inc();
                }
                // Explicit removals came from the index already; size, age and replacement
                // leave it here — only where the index still names this very entry.
                if cause != moka::notification::RemovalCause::Explicit {
                    let mut index = lock(&pruned);
                    for mark in marks(&entry) {
                        if let Some(keys) = index.get_mut(&mark) {
                            if keys.get(&*key) == Some(&address(&entry)) {
                                keys.remove(&*key);
                            }
                            if keys.is_empty() {
                                index.remove(&mark);
                            }
                        }
                    }
                }
            })
            .build();
        Self {
            config,
            l1,
            index,
            epoch: AtomicU64::new(0),
            live_epoch: AtomicU64::new(0),
            inflight: moka::future::Cache::builder().max_capacity(10_000).build(),
        }
    }

    /// Whether whole responses are cached.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The settings.
    pub fn config(&self) -> &ResponseConfig {
        &self.config
    }

    /// Bumped by drops; a response whose execution began before one it cares about is not
    /// stored.
    pub fn epochs(&self) -> Epochs {
        Epochs {
            tags: self.epoch.load(Ordering::Acquire),
            live: self.live_epoch.load(Ordering::Acquire),
        }
    }

    /// Whether nothing `entry` cares about was dropped since its execution began.
    pub fn current(&self, entry: &Entry) -> bool {
        let now = self.epochs();
        now.tags == entry.since.tags && (!entry.is_live() || now.live == entry.since.live)
    }

    /// The response under `key`, if this instance has it.
    pub fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.l1.get(key)
    }

    /// Stores `entry` unless something was dropped since its execution began; `false` when
    /// it was not stored.
    pub fn fill(&self, key: Key, entry: Arc<Entry>) -> bool {
        {
            let mut index = lock(&self.index);
            if !self.current(&entry) {
                return false;
            }
            for mark in marks(&entry) {
                index.entry(mark).or_default().insert(key, address(&entry));
            }
        }
        self.l1.insert(key, entry.clone());
        // A drop between the check and the insert found the key in the index but not yet in
        // the cache: the entry must go again.
        if !self.current(&entry) {
            self.l1.invalidate(&key);
            return false;
        }
        true
    }

    fn drop_marks(&self, epoch: &AtomicU64, marks: impl Iterator<Item = Mark>) {
        epoch.fetch_add(1, Ordering::AcqRel);
        let mut keys = Vec::new();
        {
            let mut index = lock(&self.index);
            for mark in marks {
                if let Some(found) = index.remove(&mark) {
                    keys.extend(found.into_keys());
                }
            }
        }
        for key in keys {
            self.l1.invalidate(&key);
        }
    }

    /// Drops every response carrying one of `tags`.
    pub fn drop_tags(&self, tags: &[Tag]) {
        self.drop_marks(&self.epoch, tags.iter().map(|t| Mark::Tag(*t)));
    }

    /// Drops every live response showing one of `sensors`' latest readings.
    pub fn drop_latest(&self, sensors: impl Iterator<Item = i64>) {
        self.drop_marks(&self.live_epoch, sensors.map(Mark::Latest));
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live_epoch.fetch_add(1, Ordering::AcqRel);
        lock(&self.index).clear();
        self.l1.invalidate_all();
    }

    /// Entries now (approximate).
    pub fn entry_count(&self) -> u64 {
        self.l1.entry_count()
    }
}

/// What one query touched while it ran: the tags of what it read, the sensors whose latest
/// readings it shows, and the SQL statements it ran for tagged data. A query whose every
/// statement was tagged, and that read nothing else, can be cached under those tags.
/// Off (recording nothing) for mutations and subscriptions.
#[derive(Clone, Debug, Default)]
pub struct Touched(Option<Arc<TouchedInner>>);

#[derive(Debug)]
struct TouchedInner {
    state: Mutex<TouchedState>,
    tagged_statements: AtomicU32,
    statements: StatementCounter,
}

#[derive(Debug, Default)]
struct TouchedState {
    tags: HashSet<Tag>,
    live: HashSet<i64>,
    refused: bool,
}

/// What a finished query touched.
#[derive(Debug, Default)]
pub struct TouchedSummary {
    pub tags: Vec<Tag>,
    pub live: Vec<i64>,
    /// Something was read that no tag covers.
    pub refused: bool,
    /// SQL statements run for tagged data.
    pub tagged_statements: u32,
}

impl Touched {
    /// Records for one query whose statements `statements` counts.
    pub fn collecting(statements: &StatementCounter) -> Self {
        Self(Some(Arc::new(TouchedInner {
            state: Mutex::default(),
            tagged_statements: AtomicU32::new(0),
            statements: statements.clone(),
        })))
    }

    /// Records nothing.
    pub fn off() -> Self {
        Self(None)
    }

    fn with(&self, f: impl FnOnce(&mut TouchedState)) {
        if let Some(inner) = &self.0 {
            f(&mut inner.state.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// The query read data `tags` cover.
    pub fn tags(&self, tags: impl IntoIterator<Item = Tag>) {
        self.with(|s| s.tags.extend(tags));
    }

    /// The query shows the latest readings of `sensors`.
    pub fn live(&self, sensors: &[i64]) {
        self.with(|s| s.live.extend(sensors));
    }

    /// The query read something no tag covers: it is not cached.
    pub fn refuse(&self) {
        self.with(|s| s.refused = true);
    }

    /// Runs `fut`, which reads data `tags` cover: its SQL statements are counted as
    /// tagged (and still in the request's count).
    pub async fn tagged<F: Future>(
        &self,
        tags: impl IntoIterator<Item = Tag>,
        fut: F,
    ) -> F::Output {
        let Some(inner) = &self.0 else {
            return fut.await;
        };
        self.tags(tags);
        let own = StatementCounter::default();
        let out = own.scope(fut).await;
        let n = own.get();
        inner.statements.add(n);
        inner.tagged_statements.fetch_add(n, Ordering::Relaxed);
        out
    }

    /// Statements of the query so far (all of them), when recording.
    pub fn statements(&self) -> Option<u32> {
        self.0.as_ref().map(|i| i.statements.get())
    }

    /// What was touched so far.
    pub fn summary(&self) -> TouchedSummary {
        let Some(inner) = &self.0 else {
            return TouchedSummary {
                refused: true,
                ..TouchedSummary::default()
            };
        };
        let state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        TouchedSummary {
            tags: state.tags.iter().copied().collect(),
            live: state.live.iter().copied().collect(),
            refused: state.refused,
            tagged_statements: inner.tagged_statements.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ResponseConfig {
        crate::config::CacheConfig::from_source(&crate::config::MapEnv::default())
            .expect("defaults")
            .response
    }

    fn entry(tags: &[Tag], live: &[i64], since: Epochs) -> Arc<Entry> {
        Arc::new(Entry {
            data: async_graphql::Value::Null,
            tags: tags.into(),
            live: live.into(),
            bytes: 10,
            since,
        })
    }

    #[test]
    fn a_tag_or_a_reading_drops_what_carries_it_and_nothing_else() {
        let cache = ResponseCache::new(config(), &Metrics::new());
        let e = cache.epochs();
        assert!(cache.fill([1; 32], entry(&[Tag::Equipment(1)], &[], e)));
        assert!(cache.fill([2; 32], entry(&[Tag::Line(7)], &[5], e)));
        cache.drop_tags(&[Tag::Line(8)]);
        assert!(cache.get(&[1; 32]).is_some() && cache.get(&[2; 32]).is_some());
        cache.drop_latest([5].into_iter());
        assert!(
            cache.get(&[2; 32]).is_none(),
            "its sensor has a new reading"
        );
        assert!(cache.get(&[1; 32]).is_some());
        cache.drop_tags(&[Tag::Equipment(1)]);
        assert!(cache.get(&[1; 32]).is_none());
    }

    #[test]
    fn a_second_fill_of_a_key_stays_indexed() {
        let cache = ResponseCache::new(config(), &Metrics::new());
        let e = cache.epochs();
        assert!(cache.fill([6; 32], entry(&[Tag::Sensor(6)], &[], e)));
        assert!(cache.fill([6; 32], entry(&[Tag::Sensor(6)], &[], e)));
        // The replaced entry's removal is reported now, after the second fill.
        cache.l1.run_pending_tasks();
        cache.drop_tags(&[Tag::Sensor(6)]);
        assert!(
            cache.get(&[6; 32]).is_none(),
            "the newer entry is dropped too"
        );
    }

    #[test]
    fn a_response_begun_before_a_drop_is_not_stored() {
        let cache = ResponseCache::new(config(), &Metrics::new());
        let before = cache.epochs();
        cache.drop_latest([9].into_iter());
        assert!(
            cache.fill([4; 32], entry(&[Tag::Equipment(1)], &[], before)),
            "readings do not concern a response without live values"
        );
        assert!(!cache.fill([5; 32], entry(&[Tag::Equipment(1)], &[2], before)));
        cache.drop_tags(&[Tag::Sensor(3)]);
        assert!(!cache.fill([3; 32], entry(&[Tag::Equipment(1)], &[], before)));
        assert!(cache.get(&[3; 32]).is_none());
    }

    #[tokio::test]
    async fn touched_counts_tagged_statements_apart() {
        let counter = StatementCounter::default();
        let touched = Touched::collecting(&counter);
        touched
            .tagged([Tag::Workshops], async { counter.add(0) })
            .await;
        touched.live(&[4]);
        let summary = touched.summary();
        assert_eq!(summary.tags, vec![Tag::Workshops]);
        assert_eq!(summary.live, vec![4]);
        assert!(!summary.refused);
        assert!(Touched::off().summary().refused, "off never caches");
    }
}
