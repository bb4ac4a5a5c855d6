//! OEE and downtime analysis: `oee`, `downtimePareto` and `oeeUpdated`.

pub mod query;
pub mod subscription;
pub mod types;
