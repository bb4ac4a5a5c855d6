//! Readings and series as the API shows them.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{sensor_latest, sensor_reading};

/// One sensor value at one time.
#[derive(SimpleObject, Clone)]
pub struct Reading {
    /// The sensor.
    pub sensor_id: ID,
    /// When the value was sampled.
    pub ts: DateTime<Utc>,
    /// The value, in the sensor's unit.
    pub value: f64,
    /// OPC UA style quality code (192 = good).
    pub quality: i32,
}

impl From<sensor_latest::Model> for Reading {
    fn from(m: sensor_latest::Model) -> Self {
        Self {
            sensor_id: m.sensor_id.into(),
            ts: m.ts,
            value: m.value,
            quality: i32::from(m.quality),
        }
    }
}

impl From<sensor_reading::Model> for Reading {
    fn from(m: sensor_reading::Model) -> Self {
        Self {
            sensor_id: m.sensor_id.into(),
            ts: m.ts,
            value: m.value,
            quality: i32::from(m.quality),
        }
    }
}

/// Aggregates a series can carry per bucket.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Agg {
    /// Mean of the values.
    Avg,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Newest value of the bucket.
    Last,
    /// Sum of the values.
    Sum,
    /// Number of values.
    Count,
}

/// Where a series was computed from.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::telemetry::SeriesSource")]
pub enum SeriesSource {
    /// Raw readings.
    Raw,
    /// One-minute rollups (and raw readings after their watermark).
    #[graphql(name = "ROLLUP_1M")]
    Rollup1m,
    /// One-hour rollups (and finer sources after their watermark).
    #[graphql(name = "ROLLUP_1H")]
    Rollup1h,
}

/// One time bucket of a series; aggregates not asked for are null.
#[derive(SimpleObject, Clone)]
pub struct SeriesPoint {
    /// Start of the bucket.
    pub ts: DateTime<Utc>,
    /// Mean value.
    pub avg: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Newest value.
    pub last: Option<f64>,
    /// Sum of the values.
    pub sum: Option<f64>,
    /// Number of values.
    pub count: Option<i64>,
}

/// A bucketed series of one sensor; empty buckets are omitted.
#[derive(SimpleObject, Clone)]
pub struct Series {
    /// The sensor.
    pub sensor_id: ID,
    /// Bucket width in seconds; buckets start at multiples of it since the Unix epoch.
    pub bucket_seconds: i64,
    /// What the buckets were computed from.
    pub source: SeriesSource,
    /// The buckets, oldest first.
    pub points: Vec<SeriesPoint>,
}
