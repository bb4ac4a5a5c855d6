//! Maintenance orders.

pub mod query;
pub mod types;
