//! The two-level cache behind the DataLoaders (DESIGN.md §8).
//!
//! **L1** is in process: one moka cache per [`Kind`] with its tier's capacity and TTL,
//! holding decoded values. **L2** is Redis ([`l2`]), shared by the instances, holding
//! versioned, maybe compressed bytes ([`codec`]); without `REDIS_URL` there is L1 only. A
//! loader batch asks L1 for all its keys, then Redis once (MGET) for the misses, then the
//! database once for the rest — identical concurrent batches share one load — and writes
//! back in one pipeline.
//!
//! Values are cached **unscoped** (loaded as if for every workshop) and filtered by the
//! caller's scope on their own `workshop_id` after the cache, by the loaders: one entry
//! serves every caller and none can see another workshop's rows through it.
//!
//! **Invalidation**: services name the [`Tag`]s a write dirties and call
//! [`Cache::invalidate`] after the commit: this instance's L1 entries go, Redis gets
//! tombstones, and a [`crate::events::Event::CacheInvalidated`] tells the other instances to
//! drop theirs. A global epoch, bumped by every invalidation, keeps a load that started
//! before one from filling L1 after it. Latest readings are not invalidated but kept current
//! from the readings events ([`latest`]).
//!
//! **Whole responses** of queries ([`response`]) sit on top: L1 in process, L2 in Redis (a
//! set per tag holding the keys of the responses that carry it), dropped by the same
//! invalidations. Persisted query texts ([`persisted`]) use both levels too.

pub mod breaker;
pub mod codec;
pub mod l2;
pub mod latest;
pub mod persisted;
pub mod response;
pub mod tags;

use std::{
    any::Any,
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::broadcast::error::RecvError;

pub use tags::{Kind, Tag};

use crate::{
    config::{CacheConfig, RedisConfig},
    error::{AppError, SharedError},
    events::{Event, EventBus, Topic},
    telemetry::Metrics,
};

type Stored = Arc<dyn Any + Send + Sync>;

/// The cache of one instance; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    config: CacheConfig,
    l1: Vec<moka::sync::Cache<i64, Stored>>,
    /// Loads in progress, by kind and the exact key set, so identical batches load once.
    inflight: moka::future::Cache<(Kind, Vec<i64>), Stored>,
    l2: Option<l2::L2>,
    /// Set when an invalidation could not reach Redis: Redis is flushed before it is read
    /// again, since it may hold what that invalidation should have removed.
    l2_dirty: AtomicBool,
    /// Bumped by every invalidation this instance applies.
    epoch: AtomicU64,
    latest: latest::LatestCache,
    responses: Arc<response::ResponseCache>,
    persisted: persisted::PersistedQueries,
    events: Arc<EventBus>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("enabled", &self.inner.config.enabled)
            .field("l2", &self.inner.l2.is_some())
            .finish_non_exhaustive()
    }
}

/// Hits and misses of one kind at one level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LevelStats {
    pub hits: u64,
    pub misses: u64,
}

/// The counters of one kind.
#[derive(Clone, Debug)]
pub struct KindStats {
    pub kind: &'static str,
    pub l1: LevelStats,
    pub l2: LevelStats,
    pub evictions: u64,
    /// Entries in L1 now (approximate).
    pub entries: u64,
}

/// What `cacheStats` shows.
#[derive(Clone, Debug)]
pub struct CacheStats {
    pub enabled: bool,
    /// `off` (no Redis), `up`, or `degraded` (breaker open: L2 skipped).
    pub redis: &'static str,
    pub kinds: Vec<KindStats>,
    pub bytes_raw: u64,
    pub bytes_stored: u64,
    pub redis_commands: u64,
    pub redis_errors: u64,
    /// Mean wall time of a Redis cache command, in microseconds.
    pub redis_mean_us: f64,
    pub invalidations: u64,
}

/// A whole response as Redis keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredResponse {
    data: async_graphql::Value,
    tags: Vec<String>,
    /// The JSON size of `data` (the in-process weight).
    bytes: usize,
}

impl StoredResponse {
    /// The entry, unless a tag no longer parses (a value from another version: a miss).
    fn into_entry(self, since: response::Epochs) -> Option<response::Entry> {
        let tags = self
            .tags
            .iter()
            .map(|t| Tag::parse(t))
            .collect::<Option<Box<[Tag]>>>()?;
        Some(response::Entry {
            data: self.data,
            tags,
            live: Box::default(),
            bytes: self.bytes,
            since,
        })
    }
}

impl Cache {
    /// The cache of an instance; L2 when `redis` is there.
    pub fn new(
        config: &CacheConfig,
        redis: Option<(fred::clients::Pool, &RedisConfig)>,
        events: Arc<EventBus>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let l1 = Kind::ALL
            .iter()
            .map(|kind| {
                let tier = if kind.is_relation() {
                    config.relation
                } else {
                    config.entity
                };
                let evictions = metrics
                    .cache
                    .evictions
                    .get_or_create(&crate::telemetry::cache_metrics::CacheKindLabels {
                        kind: kind.name(),
                    })
                    .clone();
                moka::sync::Cache::builder()
                    .max_capacity(tier.capacity)
                    .time_to_live(tier.ttl)
                    .eviction_listener(move |_, _, cause| {
                        if cause.was_evicted() {
                            evictions.inc();
                        }
                    })
                    .build()
            })
            .collect();
        let l2 = redis.map(|(pool, redis)| {
            l2::L2::new(
                pool,
                &redis.prefix,
                redis.timeout,
                breaker::Breaker::new(config.breaker_failures, config.breaker_probe),
                metrics.clone(),
            )
        });
        let mut responses = config.response;
        responses.enabled &= config.enabled;
        let responses = Arc::new(response::ResponseCache::new(responses, &metrics));
        Self {
            inner: Arc::new(Inner {
                latest: latest::LatestCache::new(config.latest, metrics.clone(), responses.clone()),
                persisted: persisted::PersistedQueries::new(
                    config.response.apq_capacity_bytes,
                    config.response.apq_ttl,
                ),
                responses,
                config: config.clone(),
                l1,
                inflight: moka::future::Cache::builder().max_capacity(10_000).build(),
                l2,
                l2_dirty: AtomicBool::new(false),
                epoch: AtomicU64::new(0),
                events,
                metrics,
            }),
        }
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        self.inner.config.enabled
    }

    /// The latest-readings cache.
    pub fn latest(&self) -> &latest::LatestCache {
        &self.inner.latest
    }

    /// The whole-response cache of this instance.
    pub fn responses(&self) -> &response::ResponseCache {
        &self.inner.responses
    }

    /// A whole response: from L1, then Redis (which fills L1). Counted as the `response`
    /// kind.
    pub async fn response(&self, key: &response::Key) -> Option<Arc<response::Entry>> {
        let responses = &self.inner.responses;
        let metrics = &self.inner.metrics.cache;
        if let Some(hit) = responses.get(key) {
            metrics.lookup(response::KIND, "l1", true, 1);
            return Some(hit);
        }
        metrics.lookup(response::KIND, "l1", false, 1);
        let since = responses.epochs();
        let l2 = self.usable_l2().await?;
        let stored = l2
            .response(key)
            .await
            .and_then(|bytes| codec::decode::<StoredResponse>(&bytes))
            .and_then(|stored| stored.into_entry(since));
        metrics.lookup(response::KIND, "l2", stored.is_some(), 1);
        let entry = Arc::new(stored?);
        responses.fill(*key, entry.clone());
        Some(entry)
    }

    /// Stores a whole response in L1 and, unless it is live, in Redis.
    pub async fn store_response(&self, key: response::Key, entry: Arc<response::Entry>) {
        let responses = &self.inner.responses;
        if !responses.fill(key, entry.clone()) || entry.is_live() {
            return;
        }
        let Some(l2) = self.usable_l2().await else {
            return;
        };
        let tags: Vec<String> = entry.tags.iter().map(Tag::to_string).collect();
        let stored = StoredResponse {
            data: entry.data.clone(),
            tags: tags.clone(),
            bytes: entry.bytes,
        };
        let Some(encoded) = codec::encode(&stored, self.inner.config.compress_min_bytes) else {
            return;
        };
        let metrics = &self.inner.metrics.cache;
        metrics.bytes_raw.inc_by(encoded.raw_len as u64);
        metrics.bytes_stored.inc_by(encoded.bytes.len() as u64);
        if responses.current(&entry) {
            l2.fill_response(&key, encoded.bytes, &tags, responses.config().ttl)
                .await;
        }
    }

    /// The text of a persisted query: from L1, then Redis (which fills L1).
    pub async fn persisted(&self, hash: &str) -> Option<Arc<str>> {
        let persisted = &self.inner.persisted;
        if let Some(query) = persisted.get(hash) {
            return Some(query);
        }
        let l2 = self.inner.l2.as_ref()?;
        let query: Arc<str> = l2.persisted(hash).await?.into();
        persisted.put(hash, query.clone());
        Some(query)
    }

    /// Remembers a persisted query on both levels.
    pub async fn persist(&self, hash: &str, query: &str) {
        let persisted = &self.inner.persisted;
        if persisted.get(hash).is_some() {
            return;
        }
        persisted.put(hash, query.into());
        if let Some(l2) = &self.inner.l2 {
            l2.persist(hash, query, persisted.ttl()).await;
        }
    }

    /// Redis as the cache sees it: `off`, `up` or `degraded`.
    pub fn redis_state(&self) -> &'static str {
        match &self.inner.l2 {
            None => "off",
            Some(l2) if l2.breaker.is_closed() => "up",
            Some(_) => "degraded",
        }
    }

    /// The Redis level, for tests that look at it directly.
    pub fn l2(&self) -> Option<&l2::L2> {
        self.inner.l2.as_ref()
    }

    /// Redis, when it may be read: the breaker decides inside each call; a Redis that missed
    /// an invalidation is flushed first.
    async fn usable_l2(&self) -> Option<&l2::L2> {
        let l2 = self.inner.l2.as_ref()?;
        if self.inner.l2_dirty.load(Ordering::Acquire) {
            if !l2.clear().await {
                return None;
            }
            self.inner.l2_dirty.store(false, Ordering::Release);
        }
        Some(l2)
    }

    /// The values of `keys` of `kind`: from L1, then Redis, then `load` (called at most once,
    /// with the keys still missing; identical concurrent batches share one call). Keys
    /// `load` does not return are absent (not cached).
    pub async fn load<V, F, Fut>(
        &self,
        kind: Kind,
        keys: &[i64],
        load: F,
    ) -> Result<HashMap<i64, V>, SharedError>
    where
        V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce(Vec<i64>) -> Fut,
        Fut: Future<Output = Result<HashMap<i64, V>, AppError>>,
    {
        if !self.enabled() {
            let missing: Vec<i64> = keys.to_vec();
            return load(missing).await.map_err(SharedError::from);
        }
        let inner = &self.inner;
        let name = kind.name();
        let l1 = &inner.l1[kind.index()];
        let epoch = inner.epoch.load(Ordering::Acquire);
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match l1.get(key).and_then(|v| v.downcast_ref::<V>().cloned()) {
                Some(v) => {
                    found.insert(*key, v);
                }
                None => missing.push(*key),
            }
        }
        inner
            .metrics
            .cache
            .lookup(name, "l1", true, found.len() as u64);
        inner
            .metrics
            .cache
            .lookup(name, "l1", false, missing.len() as u64);
        if missing.is_empty() {
            return Ok(found);
        }
        let l2 = self.usable_l2().await;
        if let Some(l2) = l2
            && let Some(stored) = l2.mget(kind, &missing).await
        {
            let mut still = Vec::new();
            for (key, bytes) in missing.iter().zip(stored) {
                match bytes.as_deref().and_then(codec::decode::<V>) {
                    Some(v) => {
                        self.fill_l1(kind, epoch, *key, v.clone());
                        found.insert(*key, v);
                    }
                    None => still.push(*key),
                }
            }
            inner
                .metrics
                .cache
                .lookup(name, "l2", true, (missing.len() - still.len()) as u64);
            inner
                .metrics
                .cache
                .lookup(name, "l2", false, still.len() as u64);
            missing = still;
            if missing.is_empty() {
                return Ok(found);
            }
        }
        missing.sort_unstable();
        missing.dedup();
        let flight = (kind, missing.clone());
        let shared = inner
            .inflight
            .try_get_with(flight.clone(), async {
                load(missing.clone())
                    .await
                    .map(|rows| Arc::new(rows) as Stored)
            })
            .await;
        inner.inflight.invalidate(&flight).await;
        let shared = shared.map_err(SharedError)?;
        let Some(loaded) = shared.downcast_ref::<HashMap<i64, V>>() else {
            return Err(SharedError::from(AppError::Internal(anyhow::anyhow!(
                "cache: a shared load of {name} returned another type"
            ))));
        };
        let mut fills = Vec::new();
        for (key, value) in loaded {
            self.fill_l1(kind, epoch, *key, value.clone());
            if l2.is_some()
                && let Some(encoded) = codec::encode(value, inner.config.compress_min_bytes)
            {
                inner.metrics.cache.bytes_raw.inc_by(encoded.raw_len as u64);
                inner
                    .metrics
                    .cache
                    .bytes_stored
                    .inc_by(encoded.bytes.len() as u64);
                fills.push((*key, encoded.bytes));
            }
            found.insert(*key, value.clone());
        }
        if let Some(l2) = l2
            && inner.epoch.load(Ordering::Acquire) == epoch
        {
            l2.fill(kind, fills, inner.config.l2_ttl).await;
        }
        Ok(found)
    }

    /// Puts a value in L1 unless an invalidation happened since the load began.
    fn fill_l1<V: Send + Sync + 'static>(&self, kind: Kind, epoch: u64, key: i64, value: V) {
        if self.inner.epoch.load(Ordering::Acquire) == epoch {
            self.inner.l1[kind.index()].insert(key, Arc::new(value));
        }
    }

    /// Drops what `tags` name from this instance's L1 (no Redis, no event).
    fn drop_local(&self, tags: &[Tag]) {
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
        for (kind, id) in tags.iter().filter_map(|t| t.key()) {
            self.inner.l1[kind.index()].invalidate(&id);
        }
        self.inner.responses.drop_tags(tags);
        self.inner
            .metrics
            .cache
            .invalidations
            .inc_by(tags.len() as u64);
    }

    /// Drops all of this instance's L1.
    fn drop_local_all(&self) {
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
        for l1 in &self.inner.l1 {
            l1.invalidate_all();
        }
        self.inner.responses.clear();
        self.inner.metrics.cache.invalidations.inc();
    }

    /// After a write has committed: drops what `tags` name here and in Redis, and tells the
    /// other instances. Never fails the write: an unreachable Redis is flushed when it is
    /// next used.
    pub async fn invalidate(&self, tags: &[Tag]) {
        if tags.is_empty() {
            return;
        }
        self.drop_local(tags);
        if let Some(l2) = &self.inner.l2 {
            let keys: Vec<(Kind, i64)> = tags.iter().filter_map(|t| t.key()).collect();
            let texts: Vec<String> = tags.iter().map(Tag::to_string).collect();
            let tombstone = self.inner.config.tombstone;
            let told = l2.tombstone(&keys, tombstone).await
                && (!self.inner.responses.enabled() || l2.drop_responses(&texts, tombstone).await);
            if !told {
                self.inner.l2_dirty.store(true, Ordering::Release);
            }
        }
        // Again after Redis: a load that read Redis before the tombstones may have filled L1.
        self.drop_local(tags);
        self.inner.events.publish(Event::CacheInvalidated {
            tags: tags.iter().map(Tag::to_string).collect(),
            all: false,
        });
    }

    /// Empties every level on every instance (`invalidateCache(all: true)`).
    pub async fn invalidate_all(&self) {
        self.drop_local_all();
        self.inner.latest.clear();
        if let Some(l2) = &self.inner.l2
            && !l2.clear().await
        {
            self.inner.l2_dirty.store(true, Ordering::Release);
        }
        self.drop_local_all();
        self.inner.events.publish(Event::CacheInvalidated {
            tags: Vec::new(),
            all: true,
        });
    }

    /// Applies an invalidation or readings event (from this instance's bus or another's).
    pub fn apply(&self, event: &Event) {
        match event {
            Event::CacheInvalidated { all: true, .. } => {
                self.drop_local_all();
                self.inner.latest.clear();
            }
            Event::CacheInvalidated { tags, all: false } => {
                let tags: Vec<Tag> = tags.iter().filter_map(|t| Tag::parse(t)).collect();
                self.drop_local(&tags);
            }
            Event::Readings { readings } => self.inner.latest.apply(readings),
            _ => {}
        }
    }

    /// Keeps L1 in step with the bus: invalidations and readings from every instance. A
    /// receiver that fell behind drops what it may have missed.
    pub fn start(
        &self,
        events: &EventBus,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let mut invalidations = events.subscribe(Topic::Cache);
        let mut readings = events.subscribe(Topic::Readings);
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    got = invalidations.recv() => match got {
                        Ok(event) => cache.apply(&event),
                        Err(RecvError::Lagged(_)) => cache.drop_local_all(),
                        Err(RecvError::Closed) => break,
                    },
                    got = readings.recv() => match got {
                        Ok(event) => cache.apply(&event),
                        Err(RecvError::Lagged(_)) => cache.inner.latest.clear(),
                        Err(RecvError::Closed) => break,
                    },
                    _ = shutdown.wait_for(|s| *s) => break,
                }
            }
        })
    }

    /// The counters behind `cacheStats`.
    pub fn stats(&self) -> CacheStats {
        let m = &self.inner.metrics.cache;
        let level = |kind: &'static str, level: &'static str| LevelStats {
            hits: m.lookups_of(kind, level, true),
            misses: m.lookups_of(kind, level, false),
        };
        let evictions = |kind: &'static str| {
            m.evictions
                .get_or_create(&crate::telemetry::cache_metrics::CacheKindLabels { kind })
                .get()
        };
        let mut kinds: Vec<KindStats> = Kind::ALL
            .iter()
            .map(|kind| KindStats {
                kind: kind.name(),
                l1: level(kind.name(), "l1"),
                l2: level(kind.name(), "l2"),
                evictions: evictions(kind.name()),
                entries: self.inner.l1[kind.index()].entry_count(),
            })
            .collect();
        kinds.push(KindStats {
            kind: response::KIND,
            l1: level(response::KIND, "l1"),
            l2: level(response::KIND, "l2"),
            evictions: evictions(response::KIND),
            entries: self.inner.responses.entry_count(),
        });
        kinds.push(KindStats {
            kind: latest::KIND,
            l1: level(latest::KIND, "l1"),
            l2: LevelStats::default(),
            evictions: evictions(latest::KIND),
            entries: self.inner.latest.entry_count(),
        });
        let commands = m.redis_commands.get();
        CacheStats {
            enabled: self.enabled(),
            redis: self.redis_state(),
            kinds,
            bytes_raw: m.bytes_raw.get(),
            bytes_stored: m.bytes_stored.get(),
            redis_commands: commands,
            redis_errors: m.redis_errors.get(),
            redis_mean_us: if commands == 0 {
                0.0
            } else {
                m.redis_micros.get() as f64 / commands as f64
            },
            invalidations: m.invalidations.get(),
        }
    }
}
