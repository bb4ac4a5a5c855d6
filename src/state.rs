//! `AppState`: everything a request, job or command needs, built once at start-up.

use std::{sync::Arc, time::Instant};

use crate::{auth::session::Authenticator, config::Config, db::Db, telemetry::Metrics};

/// Shared, cheaply cloned application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration the instance started with.
    pub config: Arc<Config>,
    /// Database pools.
    pub db: Db,
    /// Metrics registry of this instance.
    pub metrics: Arc<Metrics>,
    /// Token keys and the session cache.
    pub auth: Arc<Authenticator>,
    /// This instance's id (host and pid), as shown in metrics.
    pub instance_id: Arc<str>,
    /// When the instance started.
    pub started_at: Instant,
}

impl AppState {
    /// Connects the database and assembles the state.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let db = Db::connect(&config.database, metrics.clone()).await?;
        Ok(Self {
            auth: Arc::new(Authenticator::new(&config.auth)),
            config: Arc::new(config),
            db,
            metrics,
            instance_id: instance_id().into(),
            started_at: Instant::now(),
        })
    }
}

fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    format!("{host}-{}", std::process::id())
}
