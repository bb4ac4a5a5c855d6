//! Database pools (primary and optional read replica) and SQL statement accounting.
//!
//! Every statement passes sea-orm's metric callback: it feeds the instance metrics, logs slow
//! statements, and adds to the counter of the request that ran it (a task-local set by the
//! GraphQL handler and carried into DataLoader tasks by their spawner).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use secrecy::{ExposeSecret, SecretString};

use crate::{config::DatabaseConfig, telemetry::Metrics};

tokio::task_local! {
    static STATEMENTS: StatementCounter;
}

/// Counts the SQL statements run on behalf of one request.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU32>);

impl StatementCounter {
    /// Statements counted so far.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Adds statements counted elsewhere (a nested scope that also counts them apart).
    pub fn add(&self, n: u32) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Wraps `fut` so that the statements it executes are counted here.
    pub fn scope<F: Future>(&self, fut: F) -> tokio::task::futures::TaskLocalFuture<Self, F> {
        STATEMENTS.scope(self.clone(), fut)
    }
}

/// The pools of one instance.
#[derive(Clone, Debug)]
pub struct Db {
    /// The primary: every write and read-your-writes.
    pub write: DatabaseConnection,
    /// The replica when `DATABASE_READ_URL` is set, else the primary.
    pub read: DatabaseConnection,
}

impl Db {
    /// Connects the pools and installs the statement accounting.
    pub async fn connect(config: &DatabaseConfig, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let write = connect_one(&config.url, config, metrics.clone())
            .await
            .context("connecting to DATABASE_URL")?;
        let read = match &config.read_url {
            Some(url) => connect_one(url, config, metrics)
                .await
                .context("connecting to DATABASE_READ_URL")?,
            None => write.clone(),
        };
        Ok(Self { write, read })
    }

    /// The connection schema changes run on. On SQLite that is a separate pool of one
    /// connection: migrations there run outside a transaction, statement by statement, and
    /// DDL spread over several pooled connections was seen (once, in CI, under load) to be
    /// prepared against a connection's stale view of the schema ("index … already exists"
    /// right after the table was dropped). PostgreSQL migrates in transactions on the pool.
    pub async fn schema(
        &self,
        config: &DatabaseConfig,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<DatabaseConnection> {
        if !config.url.expose_secret().starts_with("sqlite:") {
            return Ok(self.write.clone());
        }
        let single = DatabaseConfig {
            max_connections: 1,
            min_connections: 1,
            ..config.clone()
        };
        connect_one(&config.url, &single, metrics)
            .await
            .context("connecting to DATABASE_URL for migrations")
    }

    /// Pings the primary; returns its round trip.
    pub async fn ping(&self) -> Result<Duration, sea_orm::DbErr> {
        let started = std::time::Instant::now();
        self.write.ping().await?;
        Ok(started.elapsed())
    }

    /// Takes a connection of the primary's pool and pings on it: how long the pool made it
    /// wait (what a request waits when the pool is exhausted), and the round trip.
    pub async fn probe(&self) -> Result<(Duration, Duration), sea_orm::DbErr> {
        use sea_orm::{DbBackend, sqlx::Connection as _};
        let failed = |e: sea_orm::sqlx::Error| sea_orm::DbErr::Custom(e.to_string());
        let started = std::time::Instant::now();
        let acquired = match self.write.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.write.get_postgres_connection_pool();
                let mut conn = pool.acquire().await.map_err(failed)?;
                let acquired = started.elapsed();
                conn.ping().await.map_err(failed)?;
                acquired
            }
            DbBackend::Sqlite => {
                let pool = self.write.get_sqlite_connection_pool();
                let mut conn = pool.acquire().await.map_err(failed)?;
                let acquired = started.elapsed();
                conn.ping().await.map_err(failed)?;
                acquired
            }
            _ => {
                self.write.ping().await?;
                Duration::ZERO
            }
        };
        Ok((acquired, started.elapsed().saturating_sub(acquired)))
    }
}

async fn connect_one(
    url: &SecretString,
    config: &DatabaseConfig,
    metrics: Arc<Metrics>,
) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(config.max_connections)
        .min_connections(config.min_connections.min(config.max_connections))
        .max_lifetime(config.max_lifetime)
        .idle_timeout(config.idle_timeout)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(Duration::from_secs(10))
        // Statements are logged by the metric callback below, with our thresholds.
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        options.map_sqlx_sqlite_opts(|opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    }
    let mut db = Database::connect(options).await?;
    let slow = config.slow_query;
    db.set_metric_callback(move |info| {
        metrics.sql_statements.inc();
        metrics.sql_duration.observe(info.elapsed.as_secs_f64());
        metrics.sql_latency.record(info.elapsed);
        if info.failed {
            metrics.sql_failed_statements.inc();
        }
        if info.elapsed >= slow {
            metrics.sql_slow_statements.inc();
            tracing::warn!(
                elapsed_ms = info.elapsed.as_millis() as u64,
                sql = %truncate(&info.statement.sql, 500),
                "slow SQL statement"
            );
        }
        // Outside a request (jobs, seed, simulator) there is no counter; that is fine.
        let _ = STATEMENTS.try_with(|c| c.0.fetch_add(1, Ordering::Relaxed));
    });
    Ok(db)
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}
