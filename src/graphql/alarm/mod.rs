//! Alarms: lists, counts, timelines, the lifecycle mutations, and the machine and sensor
//! each concerns.

pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;
