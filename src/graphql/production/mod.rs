//! Products, production orders and shifts.

pub mod mutation;
pub mod orders;
pub mod query;
pub mod subscription;
pub mod types;
