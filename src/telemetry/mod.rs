//! Logs, metrics and health: what the operators of a running instance look at.

pub mod health;
pub mod hub_metrics;
pub mod logging;
pub mod metrics;
pub mod socket_metrics;

pub use metrics::Metrics;
