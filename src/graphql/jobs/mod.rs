//! Jobs and maintenance (admins only): `jobs`, `runMaintenance`, `retryJob`.

pub mod mutation;
pub mod query;
pub mod types;
