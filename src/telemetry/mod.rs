//! Logs, metrics and health: what the operators of a running instance look at.

pub mod health;
pub mod logging;
pub mod metrics;

pub use metrics::Metrics;
