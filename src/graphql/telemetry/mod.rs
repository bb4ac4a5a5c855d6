//! Telemetry: latest values, raw ranges, bucketed series, and gateway ingest.

pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;
