//! System metrics (admins only): the latest snapshots, their history and the live feed.

pub mod query;
pub mod subscription;
pub mod types;
