//! Telemetry reads: latest values, raw ranges and bucketed series.

pub mod query;
pub mod types;
