//! Typed configuration read from the environment (and `.env`), with every default in code.
//!
//! A malformed variable fails start-up with its name; secrets are wrapped so they never print.

mod cache;
mod env;
mod jobs;
mod metrics;
mod sockets;

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use secrecy::SecretString;

use crate::security::{client_ip::TrustedProxies, document::DocumentLimits, ratelimit::Quota};

pub use cache::{CacheConfig, ResponseConfig, TierConfig};
pub use env::{EnvSource, EnvSourceExt, Flag, MapEnv, ProcessEnv};
pub use jobs::{JobsConfig, RetentionConfig, Schedule};
pub use metrics::{MetricsConfig, SmtpConfig};
pub use sockets::SocketConfig;

/// The whole configuration, one struct per concern.
#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub graphql: GraphqlConfig,
    pub demo: DemoConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub redis: RedisConfig,
    pub rate_limit: RateLimitConfig,
    pub sockets: SocketConfig,
    pub metrics: MetricsConfig,
    pub cache: CacheConfig,
    pub jobs: JobsConfig,
}

/// The development-only JWT secret; production refuses to start with it.
pub const DEV_JWT_SECRET: &str = "smart-factory-development-secret-change-me";

/// Tokens and sessions.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `SF_JWT_SECRET`: HS256 key of access tokens.
    pub jwt_secret: SecretString,
    /// `SF_JWT_PREVIOUS_SECRET`: still accepted while keys rotate.
    pub jwt_previous_secret: Option<SecretString>,
    /// `SF_ACCESS_TTL_S`: access-token lifetime.
    pub access_ttl: Duration,
    /// `SF_SESSION_IDLE_S`: a session unused this long expires.
    pub session_idle: Duration,
    /// `SF_SESSION_MAX_S`: a session expires this long after login, used or not.
    pub session_max: Duration,
    /// `SF_DEV_ADMIN`: requests without a token run as an admin (development only; refused in
    /// production).
    pub dev_admin_fallback: bool,
    /// `SF_LOGIN_MAX_FAILURES`: failed logins within the window that lock an account.
    pub max_failures: i32,
    /// `SF_LOGIN_WINDOW_S`: the window failed logins are counted in.
    pub failure_window: Duration,
    /// `SF_LOCKOUT_S`: how long a locked account stays locked.
    pub lockout: Duration,
    /// `SF_LOGIN_IP_MAX_FAILURES`: failed logins from one client IP within the window after
    /// which that IP may not log in until its failures age out of the window.
    pub ip_max_failures: u64,
    /// `SF_LOGIN_IP_MAX_USERNAMES`: distinct usernames failing from one IP within the window
    /// that make a `many_usernames_from_ip` event (credential stuffing).
    pub ip_max_usernames: u64,
}

/// Redis, used when `REDIS_URL` is set (rate limits now; the cache and event bus later).
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `REDIS_URL`: `redis://[:password@]host:6379[/db]`; unset keeps everything in-process.
    pub url: Option<SecretString>,
    /// `REDIS_POOL_SIZE`: connections in the pool.
    pub pool_size: usize,
    /// `SF_REDIS_PREFIX`: prefix of every key this server writes (instances sharing limits
    /// share it; tests use one each).
    pub prefix: String,
    /// `REDIS_TIMEOUT_MS`: connect and command timeout; a slower Redis counts as down.
    pub timeout: Duration,
}

/// Rate limits: one quota per class (`COUNT/PERIOD,BURST`, see `security::ratelimit`).
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// `SF_RATE_LIMIT`: `on` (default) or `off`.
    pub enabled: bool,
    /// `SF_RATE_LIMIT_ANONYMOUS`: callers without a token, per client IP, 1 unit an operation.
    pub anonymous: Quota,
    /// `SF_RATE_LIMIT_USER`: logged-in users, per user, charged the operation's complexity.
    pub user: Quota,
    /// `SF_RATE_LIMIT_GATEWAY`: gateway accounts, per account, charged the complexity.
    pub gateway: Quota,
    /// `SF_RATE_LIMIT_LOGIN_IP`: login attempts per client IP.
    pub login_ip: Quota,
    /// `SF_RATE_LIMIT_LOGIN_USER`: login attempts per username.
    pub login_user: Quota,
}

/// `development` (friendly defaults) or `production` (hardened defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// HTTP listener and transport settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `SF_BIND`: listen address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `SF_ENV`.
    pub env: Environment,
    /// `SF_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser
    /// (`*` for any); empty (default) sends no CORS headers, so only same-origin pages can.
    pub cors_origins: Vec<String>,
    /// `SF_HSTS_MAX_AGE_S`: `Strict-Transport-Security` max-age sent on requests that came
    /// over HTTPS (`X-Forwarded-Proto: https` from the TLS proxy); 0 turns it off. Default
    /// one year in production, 0 in development.
    pub hsts_max_age: u64,
    /// `SF_GRAPHIQL`: serve GraphiQL at `/graphiql` (default: on in development).
    pub graphiql: bool,
    /// `SF_INTROSPECTION`: allow schema introspection (default: on in development).
    pub introspection: bool,
    /// `SF_EXPOSE_SQL_COUNT`: add the `x-sql-statements` response header (default: on in
    /// development).
    pub expose_sql_count: bool,
    /// `SF_BODY_LIMIT_BYTES`: largest accepted request body.
    pub body_limit_bytes: usize,
    /// `SF_REQUEST_TIMEOUT_MS`: execution budget of one GraphQL request.
    pub request_timeout: Duration,
    /// `SF_COMPRESSION_MIN_BYTES`: responses at least this large are compressed (gzip/br).
    pub compression_min_bytes: u16,
    /// `SF_SHUTDOWN_GRACE_S`: how long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// `SF_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed (default: none).
    pub trusted_proxies: TrustedProxies,
}

/// Database pool settings.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`: `sqlite://file.db?mode=rwc` or `postgres://…`.
    pub url: SecretString,
    /// `DATABASE_READ_URL`: optional read replica for queries.
    pub read_url: Option<SecretString>,
    /// `DB_MAX_CONNECTIONS` / `DB_MIN_CONNECTIONS`.
    pub max_connections: u32,
    pub min_connections: u32,
    /// `DB_MAX_LIFETIME_S` / `DB_IDLE_TIMEOUT_S`: connection recycling.
    pub max_lifetime: Duration,
    pub idle_timeout: Duration,
    /// `DB_ACQUIRE_TIMEOUT_MS`: how long a request waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// `DB_SLOW_QUERY_MS`: statements slower than this are logged and counted.
    pub slow_query: Duration,
    /// `SF_INGEST_SYNC_COMMIT` (PostgreSQL): `off` lets ingest batches commit without
    /// waiting for their WAL flush — a crash may lose the last fraction of a second of
    /// acknowledged readings (never corrupts, never touches other writes). Default `on`.
    pub ingest_sync_commit: bool,
}

/// Limits and tuning of the GraphQL layer.
#[derive(Clone, Debug)]
pub struct GraphqlConfig {
    /// `SF_MAX_DEPTH`: deepest accepted selection.
    pub max_depth: usize,
    /// `SF_MAX_COMPLEXITY`: largest accepted complexity (lists cost `first` × child cost).
    pub max_complexity: usize,
    /// `SF_MAX_PAGE_SIZE` / `SF_DEFAULT_PAGE_SIZE`: connection page sizes.
    pub max_page_size: u32,
    pub default_page_size: u32,
    /// `SF_MAX_BATCH`: most operations in one batched HTTP request.
    pub max_batch: usize,
    /// The guard's limits on each document and its variables (`SF_MAX_DOCUMENT_BYTES`,
    /// `SF_MAX_DOCUMENT_TOKENS`, `SF_MAX_OPERATIONS`, `SF_MAX_NESTING`, `SF_MAX_SELECTIONS`, `SF_MAX_DIRECTIVES`,
    /// `SF_MAX_DIRECTIVES_PER_FIELD`, `SF_MAX_FIELD_REPEATS`, `SF_MAX_ALIASES`,
    /// `SF_MAX_ROOT_FIELDS`, `SF_MAX_VARIABLES_BYTES`).
    pub document: DocumentLimits,
    /// `SF_MAX_ERRORS`: most errors one response lists (the rest are counted in one more).
    pub max_errors: usize,
    /// `SF_MAX_READINGS`: most raw readings one `readings` call returns.
    pub max_readings: u32,
    /// `SF_MAX_SERIES_POINTS`: most buckets per series.
    pub max_series_points: u32,
    /// `SF_LOADER_DELAY_US`: DataLoader dispatch delay, chosen by measurement (docs/architecture.md).
    pub loader_delay: Duration,
}

/// Demo data and the telemetry simulator.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// `SF_SEED`: tier seeded into an empty database at `serve` (`demo`, `S`, `M`, `none`).
    pub seed: Option<crate::seed::Tier>,
    /// `SF_SIMULATOR`: run the live telemetry simulator (default: on when the demo seed is on).
    pub simulator: bool,
    /// `SF_SIMULATOR_TICK_MS`: how often the simulator writes.
    pub simulator_tick: Duration,
}

/// Logging output.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// `RUST_LOG`: tracing filter.
    pub filter: String,
    /// `SF_LOG_FORMAT`: `text` or `json` (default `json` in production).
    pub json: bool,
}

/// Parses `SF_CORS_ORIGINS`: `*`, or origins like `https://dash.plant.local` (scheme, host,
/// optional port; no path).
fn cors_origins(value: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let valid = origin == "*"
                || ((origin.starts_with("http://") || origin.starts_with("https://"))
                    && origin.split("://").nth(1).is_some_and(|rest| {
                        !rest.is_empty()
                            && !rest.contains('/')
                            && !rest.contains(char::is_whitespace)
                    }));
            if valid {
                Ok(origin.to_owned())
            } else {
                anyhow::bail!(
                    "SF_CORS_ORIGINS: `{origin}` is not an origin like https://host[:port] or *"
                )
            }
        })
        .collect()
}

impl Config {
    /// Reads the process environment (after `.env`, when present).
    pub fn from_env() -> anyhow::Result<Self> {
        // A missing .env is normal; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(err) if err.not_found() => {}
            Err(err) => return Err(err).context("reading .env"),
        }
        Self::from_source(&ProcessEnv)
    }

    /// Reads the configuration from any variable source (tests pass a map).
    pub fn from_source(env: &dyn EnvSource) -> anyhow::Result<Self> {
        let environment = match env.get("SF_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                anyhow::bail!("SF_ENV must be `development` or `production`, got `{other}`")
            }
        };
        let dev = environment == Environment::Development;
        let seed: Option<crate::seed::Tier> = match env.get("SF_SEED") {
            None => Some(crate::seed::Tier::Demo),
            Some(v) if v == "none" || v == "off" => None,
            Some(v) => Some(v.parse().map_err(|e| anyhow::anyhow!("SF_SEED: {e}"))?),
        };
        let url = env
            .get("DATABASE_URL")
            .unwrap_or_else(|| "sqlite://smart_factory.db?mode=rwc".to_owned());
        let is_sqlite = url.starts_with("sqlite:");
        Ok(Self {
            server: ServerConfig {
                bind: env.parse_or("SF_BIND", SocketAddr::from(([127, 0, 0, 1], 8000)))?,
                env: environment,
                cors_origins: cors_origins(env.get("SF_CORS_ORIGINS").as_deref())?,
                hsts_max_age: env
                    .parse_or("SF_HSTS_MAX_AGE_S", if dev { 0 } else { 31_536_000 })?,
                graphiql: env.parse_or("SF_GRAPHIQL", Flag(dev))?.0,
                introspection: env.parse_or("SF_INTROSPECTION", Flag(dev))?.0,
                expose_sql_count: env.parse_or("SF_EXPOSE_SQL_COUNT", Flag(dev))?.0,
                body_limit_bytes: env.parse_or("SF_BODY_LIMIT_BYTES", 2 * 1024 * 1024)?,
                request_timeout: Duration::from_millis(
                    env.parse_or("SF_REQUEST_TIMEOUT_MS", 15_000)?,
                ),
                compression_min_bytes: env.parse_or("SF_COMPRESSION_MIN_BYTES", 1024)?,
                shutdown_grace: Duration::from_secs(env.parse_or("SF_SHUTDOWN_GRACE_S", 10)?),
                trusted_proxies: env.parse_or("SF_TRUSTED_PROXIES", TrustedProxies::default())?,
            },
            database: DatabaseConfig {
                url: SecretString::from(url),
                read_url: env.get("DATABASE_READ_URL").map(SecretString::from),
                // SQLite has one writer; a big pool only queues on its lock.
                max_connections: env
                    .parse_or("DB_MAX_CONNECTIONS", if is_sqlite { 8 } else { 32 })?,
                min_connections: env.parse_or("DB_MIN_CONNECTIONS", 2)?,
                max_lifetime: Duration::from_secs(env.parse_or("DB_MAX_LIFETIME_S", 600)?),
                idle_timeout: Duration::from_secs(env.parse_or("DB_IDLE_TIMEOUT_S", 300)?),
                acquire_timeout: Duration::from_millis(
                    env.parse_or("DB_ACQUIRE_TIMEOUT_MS", 5_000)?,
                ),
                slow_query: Duration::from_millis(env.parse_or("DB_SLOW_QUERY_MS", 100)?),
                ingest_sync_commit: env.parse_or("SF_INGEST_SYNC_COMMIT", Flag(true))?.0,
            },
            graphql: GraphqlConfig {
                max_depth: env.parse_or("SF_MAX_DEPTH", 12)?,
                max_complexity: env.parse_or("SF_MAX_COMPLEXITY", 500_000)?,
                max_page_size: env.parse_or("SF_MAX_PAGE_SIZE", 500)?,
                default_page_size: env.parse_or("SF_DEFAULT_PAGE_SIZE", 50)?,
                max_batch: env.parse_or("SF_MAX_BATCH", 20)?,
                document: document_limits(env)?,
                max_errors: env.parse_or("SF_MAX_ERRORS", 20)?,
                max_readings: env.parse_or("SF_MAX_READINGS", 10_000)?,
                max_series_points: env.parse_or("SF_MAX_SERIES_POINTS", 2_000)?,
                loader_delay: Duration::from_micros(env.parse_or("SF_LOADER_DELAY_US", 0)?),
            },
            demo: DemoConfig {
                simulator: env
                    .parse_or("SF_SIMULATOR", Flag(seed == Some(crate::seed::Tier::Demo)))?
                    .0,
                simulator_tick: Duration::from_millis(env.parse_or("SF_SIMULATOR_TICK_MS", 1_000)?),
                seed,
            },
            auth: {
                let secret = env
                    .get("SF_JWT_SECRET")
                    .unwrap_or_else(|| DEV_JWT_SECRET.to_owned());
                if !dev && secret == DEV_JWT_SECRET {
                    anyhow::bail!(
                        "SF_JWT_SECRET must be set to a secret of your own in production"
                    );
                }
                if secret.len() < 32 {
                    anyhow::bail!("SF_JWT_SECRET must be at least 32 bytes");
                }
                let dev_admin_fallback = env.parse_or("SF_DEV_ADMIN", Flag(dev))?.0;
                if !dev && dev_admin_fallback {
                    anyhow::bail!("SF_DEV_ADMIN cannot be enabled in production");
                }
                AuthConfig {
                    jwt_secret: SecretString::from(secret),
                    jwt_previous_secret: env.get("SF_JWT_PREVIOUS_SECRET").map(SecretString::from),
                    access_ttl: Duration::from_secs(env.parse_or("SF_ACCESS_TTL_S", 900)?),
                    session_idle: Duration::from_secs(env.parse_or("SF_SESSION_IDLE_S", 604_800)?),
                    session_max: Duration::from_secs(env.parse_or("SF_SESSION_MAX_S", 2_592_000)?),
                    dev_admin_fallback,
                    max_failures: env.parse_or("SF_LOGIN_MAX_FAILURES", 5)?,
                    failure_window: Duration::from_secs(env.parse_or("SF_LOGIN_WINDOW_S", 900)?),
                    lockout: Duration::from_secs(env.parse_or("SF_LOCKOUT_S", 900)?),
                    ip_max_failures: env.parse_or("SF_LOGIN_IP_MAX_FAILURES", 20)?,
                    ip_max_usernames: env.parse_or("SF_LOGIN_IP_MAX_USERNAMES", 5)?,
                }
            },
            redis: RedisConfig {
                url: env.get("REDIS_URL").map(SecretString::from),
                pool_size: env.parse_or("REDIS_POOL_SIZE", 8)?,
                prefix: env
                    .get("SF_REDIS_PREFIX")
                    .unwrap_or_else(|| "sf:".to_owned()),
                timeout: Duration::from_millis(env.parse_or("REDIS_TIMEOUT_MS", 250)?),
            },
            rate_limit: RateLimitConfig {
                enabled: env.parse_or("SF_RATE_LIMIT", Flag(true))?.0,
                anonymous: env.parse_or("SF_RATE_LIMIT_ANONYMOUS", quota(20, 1, 200))?,
                user: env.parse_or("SF_RATE_LIMIT_USER", quota(50_000, 1, 1_000_000))?,
                gateway: env.parse_or("SF_RATE_LIMIT_GATEWAY", quota(200, 1, 5_000))?,
                login_ip: env.parse_or("SF_RATE_LIMIT_LOGIN_IP", quota(60, 60, 60))?,
                login_user: env.parse_or("SF_RATE_LIMIT_LOGIN_USER", quota(10, 60, 10))?,
            },
            sockets: SocketConfig::from_source(env)?,
            metrics: MetricsConfig::from_source(env)?,
            cache: CacheConfig::from_source(env)?,
            jobs: JobsConfig::from_source(env)?,
            log: LogConfig {
                filter: env.get("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
                json: match env.get("SF_LOG_FORMAT").as_deref() {
                    None => !dev,
                    Some("json") => true,
                    Some("text") => false,
                    Some(other) => {
                        anyhow::bail!("SF_LOG_FORMAT must be `text` or `json`, got `{other}`")
                    }
                },
            },
        })
    }

    /// A configuration for tests and tools: defaults, the given database, port 0, no demo.
    pub fn for_database(url: &str) -> anyhow::Result<Self> {
        let mut config = Self::from_source(&env::MapEnv::default())?;
        config.database.url = SecretString::from(url.to_owned());
        config.database.max_connections = if url.starts_with("sqlite:") { 4 } else { 8 };
        config.database.min_connections = 1;
        config.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        config.demo.seed = None;
        config.demo.simulator = false;
        Ok(config)
    }
}

/// The document guard's limits, each from its variable (defaults in `DocumentLimits`).
fn document_limits(env: &dyn EnvSource) -> anyhow::Result<DocumentLimits> {
    let d = DocumentLimits::default();
    let limits = DocumentLimits {
        max_bytes: env.parse_or("SF_MAX_DOCUMENT_BYTES", d.max_bytes)?,
        max_tokens: env.parse_or("SF_MAX_DOCUMENT_TOKENS", d.max_tokens)?,
        max_operations: env.parse_or("SF_MAX_OPERATIONS", d.max_operations)?,
        max_nesting: env.parse_or("SF_MAX_NESTING", d.max_nesting)?,
        max_selections: env.parse_or("SF_MAX_SELECTIONS", d.max_selections)?,
        max_directives: env.parse_or("SF_MAX_DIRECTIVES", d.max_directives)?,
        max_directives_per_field: env
            .parse_or("SF_MAX_DIRECTIVES_PER_FIELD", d.max_directives_per_field)?,
        max_field_repeats: env.parse_or("SF_MAX_FIELD_REPEATS", d.max_field_repeats)?,
        max_aliases: env.parse_or("SF_MAX_ALIASES", d.max_aliases)?,
        max_root_fields: env.parse_or("SF_MAX_ROOT_FIELDS", d.max_root_fields)?,
        max_variables_bytes: env.parse_or("SF_MAX_VARIABLES_BYTES", d.max_variables_bytes)?,
    };
    // Past this the parser's own recursion could exhaust a worker's stack again.
    if limits.max_nesting > MAX_SAFE_NESTING {
        anyhow::bail!("SF_MAX_NESTING must be at most {MAX_SAFE_NESTING}");
    }
    Ok(limits)
}

/// The deepest nesting the parser and the visitors after it are known to handle on a 2 MiB
/// worker stack with room to spare (measured in a debug build; see `tests/api/hostile.rs`).
pub const MAX_SAFE_NESTING: usize = 128;

/// `count` units per `period_s` seconds, `burst` at once.
fn quota(count: u64, period_s: u64, burst: u64) -> Quota {
    Quota {
        count,
        period: Duration::from_secs(period_s),
        burst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_source(&MapEnv(map))
    }

    #[test]
    fn cors_origins_are_checked() {
        assert_eq!(cors_origins(None).ok(), Some(vec![]));
        assert_eq!(
            cors_origins(Some(" https://a.example:8443 , http://b ")).ok(),
            Some(vec![
                "https://a.example:8443".to_owned(),
                "http://b".to_owned()
            ])
        );
        assert_eq!(cors_origins(Some("*")).ok(), Some(vec!["*".to_owned()]));
        for bad in ["a.example", "https://a.example/path", "ftp://x", "https://"] {
            assert!(cors_origins(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_need_no_variables() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.server.bind.port(), 8000);
        assert!(c.server.graphiql && c.demo.simulator);
        assert_eq!(c.demo.seed, Some(crate::seed::Tier::Demo));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let err = config(&[("SF_BIND", "nowhere")]).expect_err("bad bind");
        assert!(err.to_string().contains("SF_BIND"), "{err}");
        let err = config(&[("DB_MAX_CONNECTIONS", "-3")]).expect_err("bad pool");
        assert!(err.to_string().contains("DB_MAX_CONNECTIONS"), "{err}");
        assert!(config(&[("SF_ENV", "staging")]).is_err());
    }

    #[test]
    fn rate_limits_and_redis_read_their_variables() {
        let c = config(&[]).expect("defaults");
        assert!(c.rate_limit.enabled && c.redis.url.is_none());
        assert_eq!(c.redis.prefix, "sf:");
        assert!(c.server.trusted_proxies.is_empty());
        let c = config(&[
            ("SF_RATE_LIMIT", "off"),
            ("SF_RATE_LIMIT_USER", "10/s,100"),
            ("SF_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ])
        .expect("set");
        assert!(!c.rate_limit.enabled && c.redis.url.is_some());
        assert_eq!(
            (c.rate_limit.user.count, c.rate_limit.user.burst),
            (10, 100)
        );
        assert!(!c.server.trusted_proxies.is_empty());
        for (name, bad) in [
            ("SF_RATE_LIMIT_LOGIN_IP", "often"),
            ("SF_TRUSTED_PROXIES", "proxy.local"),
            ("SF_RATE_LIMIT", "maybe"),
        ] {
            let err = config(&[(name, bad)]).expect_err(name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn document_limits_read_their_variables_and_nesting_stays_safe() {
        let c = config(&[
            ("SF_MAX_DOCUMENT_BYTES", "1000"),
            ("SF_MAX_SELECTIONS", "7"),
            ("SF_MAX_ALIASES", "3"),
            ("SF_MAX_NESTING", "128"),
        ])
        .expect("set");
        let d = c.graphql.document;
        assert_eq!((d.max_bytes, d.max_selections, d.max_aliases), (1000, 7, 3));
        assert_eq!(d.max_nesting, MAX_SAFE_NESTING);
        assert_eq!(d.max_tokens, DocumentLimits::default().max_tokens);
        let err = config(&[("SF_MAX_NESTING", "129")]).expect_err("too deep to be safe");
        assert!(err.to_string().contains("SF_MAX_NESTING"), "{err}");
        let err = config(&[("SF_MAX_DOCUMENT_TOKENS", "many")]).expect_err("malformed");
        assert!(err.to_string().contains("SF_MAX_DOCUMENT_TOKENS"), "{err}");
    }

    #[test]
    fn production_hardens_defaults_and_flags_read_on_off() {
        let secret = ("SF_JWT_SECRET", "a-production-secret-of-at-least-32-bytes");
        assert!(
            config(&[("SF_ENV", "production")]).is_err(),
            "default secret refused"
        );
        let c = config(&[("SF_ENV", "production"), ("SF_SIMULATOR", "off"), secret]).expect("prod");
        assert!(!c.auth.dev_admin_fallback);
        assert!(config(&[("SF_ENV", "production"), ("SF_DEV_ADMIN", "on"), secret]).is_err());
        assert!(!c.server.graphiql && !c.server.introspection && !c.server.expose_sql_count);
        assert!(c.log.json);
        assert!(!c.demo.simulator);
        let c = config(&[("SF_ENV", "production"), ("SF_GRAPHIQL", "on"), secret]).expect("prod");
        assert!(c.server.graphiql);
    }
}
