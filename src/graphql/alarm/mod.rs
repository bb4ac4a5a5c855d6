//! Alarms: lists, counts, and the machine and sensor each concerns.

pub mod query;
pub mod types;
