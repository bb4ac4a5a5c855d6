//! The latest reading of each sensor, in process: kept current from the readings events
//! (write-through from ingest on this instance, the bus for the others) instead of being
//! invalidated, so a warm instance answers `latest` without SQL. An entry only ever moves
//! forward in time, so a late database load never replaces a newer event. `None` is cached
//! too: a sensor without readings yet costs no statement either, until its first one arrives.
//! Applying readings also drops the cached responses that show the sensors' older ones.

use std::{collections::HashMap, sync::Arc};

use entity::sensor_latest;
use moka::ops::compute::Op;

use crate::{config::TierConfig, events::Reading, telemetry::Metrics};

/// The kind's name in metrics and `cacheStats`.
pub const KIND: &str = "latest_reading";

/// Latest readings by sensor id.
pub struct LatestCache {
    cache: moka::sync::Cache<i64, Option<sensor_latest::Model>>,
    metrics: Arc<Metrics>,
    responses: Arc<super::response::ResponseCache>,
}

impl LatestCache {
    pub fn new(
        tier: TierConfig,
        metrics: Arc<Metrics>,
        responses: Arc<super::response::ResponseCache>,
    ) -> Self {
        let evictions = metrics
            .cache
            .evictions
            .get_or_create(&crate::telemetry::cache_metrics::CacheKindLabels { kind: KIND })
            .clone();
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(tier.capacity)
                .time_to_live(tier.ttl)
                .eviction_listener(move |_, _, cause| {
                    if cause.was_evicted() {
                        evictions.inc();
                    }
                })
                .build(),
            metrics,
            responses,
        }
    }

    /// Stores `value` for `sensor_id` unless what is there is newer.
    pub fn offer(&self, sensor_id: i64, value: Option<sensor_latest::Model>) {
        self.cache.entry(sensor_id).and_compute_with(|current| {
            match (current.map(|e| e.into_value()), &value) {
                (Some(Some(cur)), Some(new)) if cur.ts > new.ts => Op::Nop,
                (Some(Some(_)), None) => Op::Nop,
                _ => Op::Put(value),
            }
        });
    }

    /// Applies stored readings (an ingest batch or a simulator tick).
    pub fn apply(&self, readings: &[Reading]) {
        for r in readings {
            self.offer(
                r.sensor_id,
                Some(sensor_latest::Model {
                    sensor_id: r.sensor_id,
                    ts: r.ts,
                    value: r.value,
                    quality: r.quality,
                }),
            );
        }
        // After the new values are in: a response computed from here on shows them.
        if self.responses.enabled() {
            self.responses
                .drop_latest(readings.iter().map(|r| r.sensor_id));
        }
    }

    /// The cached latest reading of each id (`Some(None)`: known to have none); the ids not
    /// cached are returned apart.
    pub fn get_many(&self, ids: &[i64]) -> (HashMap<i64, Option<sensor_latest::Model>>, Vec<i64>) {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.get(id) {
                Some(v) => {
                    found.insert(*id, v);
                }
                None => missing.push(*id),
            }
        }
        self.metrics
            .cache
            .lookup(KIND, "l1", true, found.len() as u64);
        self.metrics
            .cache
            .lookup(KIND, "l1", false, missing.len() as u64);
        (found, missing)
    }

    /// Entries now (approximate).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Forgets everything (a missed event, or `invalidateCache(all: true)`).
    pub fn clear(&self) {
        self.cache.invalidate_all();
        self.responses.clear();
    }
}
