//! Logs, metrics and health: what the operators of a running instance look at.

pub mod alerts;
pub mod cache_metrics;
pub mod clock;
pub mod collector;
pub mod email;
pub mod health;
pub mod hub_metrics;
pub mod job_metrics;
pub mod logging;
pub mod metrics;
pub mod monitor;
pub mod operations;
pub mod process;
pub mod snapshot;
pub mod socket_metrics;
pub mod system_metrics;
pub mod webhook;
pub mod window;

pub use metrics::Metrics;
