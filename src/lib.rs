//! Smart Factory GraphQL server: plant structure, telemetry, alarms, production and
//! maintenance behind one GraphQL API. See `docs/architecture.md` for the map.

pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod ingest;
pub mod jobs;
pub mod maintenance;
pub mod realtime;
pub mod redis;
pub mod security;
pub mod seed;
pub mod service;
pub mod simulator;
pub mod startup;
pub mod state;
pub mod telemetry;

/// The server's version, as reported in metrics (`sf_build_info`) and `systemMetrics`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
