//! Maintenance orders.

pub mod mutation;
pub mod query;
pub mod subscription;
pub mod types;
