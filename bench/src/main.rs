//! `bench`: seeds a tier, starts the server, drives each GraphQL scenario with
//! N connections for T seconds and prints one markdown table (req/s, latency
//! percentiles, SQL statements per request, server RSS).
//!
//! Progress and server logs go to stderr so stdout carries only the report.
//!
//! Scenarios `point-auth` and `login` log in as a bench user (`--user`,
//! `--password`). When the harness spawns the server it first runs
//! `<server-bin> create-user --username <user> --role admin` (an "already
//! exists" failure is fine: the login that follows is the real check); with
//! `--url` it only logs in. `point-auth` is `point` with `Authorization: Bearer
//! <access token>` from one login just before it, so the two rows of one run
//! show what authentication costs per request (the token-less `point` runs as
//! the server's development admin). `login` sends the login mutation on every
//! request, i.e. argon2id verification plus a session insert.
//!
//! `login` is limited by the server's login rate limit (`SF_RATE_LIMIT_LOGIN_IP`,
//! `SF_RATE_LIMIT_LOGIN_USER`): beyond it the server answers with rate-limit
//! errors, not logins. A spawned server therefore gets `SF_RATE_LIMIT=off`
//! unless `--server-env SF_RATE_LIMIT=...` says otherwise; a server given with
//! `--url` must be started with limits off for `login` numbers to mean anything.

mod fanout;
mod hostile;
mod ingest;
mod load;
mod metrics_fanout;
mod mixed;
mod report;
mod scenarios;
mod server;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};

use crate::load::{LoadConfig, Target};
use crate::report::{Row, RowResult, Settings};
use crate::scenarios::{Credentials, Scenario};
use crate::server::{RssSampler, ServerGuard};

/// How long the spawned server may take to answer `/health/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for one request, so a hung server cannot stall the run forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Tier {
    #[value(name = "S")]
    S,
    #[value(name = "M")]
    M,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::S => "S",
            Tier::M => "M",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Load harness for the smart-factory GraphQL server"
)]
struct Args {
    /// Server binary to seed with and to spawn.
    #[arg(long, default_value = "target/release/smart-factory")]
    server_bin: String,
    /// Database the server (and the seed) use.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/sf_bench"
    )]
    database_url: String,
    /// Data tier to seed and to print in the settings line.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Tier::M)]
    tier: Tier,
    /// Run `<server-bin> seed --tier <tier> --force` first (creating the database if needed).
    #[arg(long)]
    seed: bool,
    /// Concurrent connections (closed loop: one request in flight per connection).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Unrecorded warm-up seconds before each scenario's measured window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Scenarios to run, comma separated, in this order (`login` is capped by the
    /// server's login rate limit, see --help).
    ///
    /// `point-auth` and `login` log in as --user (a spawned server gets it created
    /// first). `login` is limited by the server's login rate limit
    /// (SF_RATE_LIMIT_LOGIN_IP / SF_RATE_LIMIT_LOGIN_USER): a spawned server runs with
    /// SF_RATE_LIMIT=off unless --server-env sets it; a --url server must have limits
    /// off too, or `login` measures rate-limit refusals. `point-auth` uses one access
    /// token for the whole scenario, so keep warm-up + duration below the server's
    /// access-token lifetime (SF_ACCESS_TTL_S, 15 min by default).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Scenario::ALL)]
    scenarios: Vec<Scenario>,
    /// Port for the spawned server (bound on 127.0.0.1).
    #[arg(long, default_value_t = 18080)]
    port: u16,
    /// Extra environment for the spawned server, `K=V`; repeatable.
    ///
    /// SF_RATE_LIMIT=off is passed unless this sets SF_RATE_LIMIT itself.
    #[arg(long = "server-env", value_name = "K=V", value_parser = parse_key_value)]
    server_env: Vec<(String, String)>,
    /// Bench user that `point-auth` and `login` log in as; created as an admin
    /// (`create-user`) when the harness spawns the server.
    #[arg(long, default_value = "bench")]
    user: String,
    /// Password of --user (at least 12 characters for `create-user`).
    #[arg(long, default_value = "bench-password-0123")]
    password: String,
    /// Bench an already running server at this base URL instead of spawning one.
    #[arg(long)]
    url: Option<String>,
    /// Also append the report to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Subscriber counts `fanout` grows through, comma separated (each step adds to the last;
    /// the harness and the server each hold one file per socket, so stay below `ulimit -Hn`).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize])]
    fanout_steps: Vec<usize>,
    /// `fanout` with a throttle of its own per readings subscriber, so no two share an
    /// execution (by default identical subscriptions do, as the server intends).
    #[arg(long)]
    fanout_distinct: bool,
    /// `throttleMs` of the `fanout` readings subscriptions (100 to 60,000).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(100..=60_000))]
    fanout_throttle_ms: u32,
    /// `to` bound of the series window (default: now); use the seed time for old seeds.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    series_end: Option<DateTime<Utc>>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected K=V, got `{s}`")),
    }
}

fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

/// Accepts `http://host:port`, with or without a trailing `/` or `/graphql`.
fn base_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/graphql").unwrap_or(url).to_string()
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Racing Ctrl-C drops `run`'s future, whose ServerGuard then kills the server.
    let outcome = tokio::select! {
        r = run(args) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Returns whether every scenario validated.
async fn run(args: Args) -> Result<bool> {
    let connections = usize::from(args.connections);
    let seed_secs = if args.seed {
        server::ensure_database(&args.database_url)?;
        eprintln!("seeding tier {} ...", args.tier.as_str());
        let took = server::seed(&args.server_bin, &args.database_url, args.tier.as_str()).await?;
        eprintln!(
            "seeded tier {} in {:.1} s",
            args.tier.as_str(),
            took.as_secs_f64()
        );
        Some(took.as_secs_f64())
    } else {
        None
    };

    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building HTTP client")?;

    let creds = Credentials {
        username: args.user.clone(),
        password: args.password.clone(),
    };
    // Why the bench user may be missing, added to a failing user scenario's reason.
    let mut create_user_error = None;
    if args.url.is_none() && args.scenarios.iter().any(|s| s.needs_user()) {
        eprintln!("creating bench user {} ...", creds.username);
        if let Err(e) = server::create_user(&args.server_bin, &args.database_url, &creds).await {
            eprintln!("{e:#} (fine if the user exists already: logging in will tell)");
            create_user_error = Some(format!("{e:#}"));
        }
    }

    if args.scenarios.contains(&Scenario::Fanout)
        || args.scenarios.contains(&Scenario::MetricsFanout)
    {
        // One file per socket on this side too.
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(n) => eprintln!("open-file limit: {n}"),
            Err(e) => eprintln!("could not raise the open-file limit: {e}"),
        }
    }
    let (mut guard, base) = match &args.url {
        Some(url) => (None, base_url(url)),
        None => {
            let env = server::server_env(&with_fanout_env(&args));
            let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!("server env: {}", shown.join(" "));
            let guard = ServerGuard::spawn(&args.server_bin, &args.database_url, args.port, &env)?;
            (Some(guard), format!("http://127.0.0.1:{}", args.port))
        }
    };
    server::wait_ready(&client, &base, guard.as_mut(), READY_TIMEOUT).await?;
    if let Some(g) = guard.as_mut() {
        g.check_alive()?;
    }
    let pid = guard.as_ref().map(ServerGuard::pid);
    let graphql_url = format!("{base}/graphql");

    let ids = discover(&client, &graphql_url).await?;
    eprintln!(
        "using line {} / equipment {} / {} sensors",
        ids.line,
        ids.equipment,
        ids.sensors.len()
    );
    let series_end = args.series_end.unwrap_or_else(Utc::now);
    let cfg = LoadConfig {
        connections,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };

    let mut rows = Vec::new();
    let mut extra = String::new();
    for &scenario in &args.scenarios {
        let name = scenario.name();
        if scenario == Scenario::Hostile {
            let point = Scenario::PointAuth;
            let target = prepare_target(&client, &graphql_url, point, &ids, series_end, &creds)
                .await
                .map(Arc::new);
            let validated = match &target {
                Ok(t) => load::validate(&client, t, point).await,
                Err(e) => Err(anyhow!("{e:#}")),
            };
            match (target, validated) {
                (Ok(target), Ok(())) => {
                    let (hostile_rows, table) =
                        hostile::run(&client, &graphql_url, target, cfg, pid).await?;
                    rows.extend(hostile_rows);
                    extra.push_str(&table);
                }
                (_, Err(e)) | (Err(e), _) => rows.push(Row {
                    scenario: name.to_string(),
                    result: RowResult::Failed(format!("{e:#}")),
                    rss_kb: None,
                }),
            }
            continue;
        }
        if scenario == Scenario::LineMixed {
            match mixed::run(&client, &graphql_url, &ids.line, cfg).await {
                Ok((mixed_rows, table)) => {
                    let rss = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
                    rows.extend(mixed_rows.into_iter().map(|r| Row { rss_kb: rss, ..r }));
                    extra.push_str(&table);
                }
                Err(e) => rows.push(Row {
                    scenario: name.to_string(),
                    result: RowResult::Failed(format!("{e:#}")),
                    rss_kb: None,
                }),
            }
            continue;
        }
        if matches!(scenario, Scenario::Fanout | Scenario::MetricsFanout) {
            let options = fanout::Options {
                steps: args.fanout_steps.clone(),
                distinct: args.fanout_distinct,
                throttle_ms: args.fanout_throttle_ms,
                warmup: cfg.warmup,
                duration: cfg.duration,
            };
            let outcome = async {
                let token = login(&client, &graphql_url, &creds)
                    .await
                    .with_context(|| format!("logging in as `{}`", creds.username))?;
                if scenario == Scenario::Fanout {
                    fanout::run(&client, &base, &token, pid, &options).await
                } else {
                    metrics_fanout::run(&client, &base, &token, pid, &options).await
                }
            }
            .await;
            match outcome {
                // Its numbers do not fit the request table: they are a table of their own.
                Ok(table) => extra.push_str(&table),
                Err(e) => rows.push(Row {
                    scenario: name.to_string(),
                    result: RowResult::Failed(format!("{e:#}")),
                    rss_kb: None,
                }),
            }
            continue;
        }
        if let Some(door) = match scenario {
            Scenario::Ingest => Some(ingest::Door::GraphQl),
            Scenario::IngestHttp => Some(ingest::Door::Http),
            _ => None,
        } {
            let point = Scenario::Point;
            let outcome = async {
                let target =
                    prepare_target(&client, &graphql_url, point, &ids, series_end, &creds).await?;
                load::validate(&client, &target, point).await?;
                let sensors = ingest::sensors(&client, &graphql_url).await?;
                ingest::run(&client, &base, door, sensors, Arc::new(target), cfg).await
            }
            .await;
            match outcome {
                Ok((ingest_rows, table)) => {
                    let rss = pid.and_then(|p| server::read_status_kb(p, "VmRSS"));
                    rows.extend(ingest_rows.into_iter().map(|r| Row { rss_kb: rss, ..r }));
                    extra.push_str(&table);
                }
                Err(e) => rows.push(Row {
                    scenario: name.to_string(),
                    result: RowResult::Failed(format!("{e:#}")),
                    rss_kb: None,
                }),
            }
            continue;
        }
        let target = prepare_target(&client, &graphql_url, scenario, &ids, series_end, &creds);
        let mut result = match target.await {
            Ok(target) => run_scenario(&client, Arc::new(target), cfg, pid, scenario).await?,
            Err(e) => (RowResult::Failed(format!("{e:#}")), None),
        };
        if let (RowResult::Failed(why), true, Some(cause)) = (
            &mut result.0,
            scenario.needs_user(),
            create_user_error.as_deref(),
        ) {
            *why = with_create_user_error(why, cause);
        }
        if let RowResult::Failed(why) = &result.0 {
            eprintln!("{name}: validation failed, not measured: {why}");
        }
        rows.push(Row {
            scenario: name.to_string(),
            result: result.0,
            rss_kb: result.1,
        });
    }

    let settings = Settings {
        connections,
        duration_secs: args.duration,
        warmup_secs: args.warmup,
        tier: args.tier.as_str().to_string(),
        db_kind: server::database_kind(&args.database_url).to_string(),
        commit: report::git_commit(),
        seed_secs,
        // Read before the guard drops: the process (and its /proc entry) is gone after.
        peak_rss_kb: pid.and_then(|p| server::read_status_kb(p, "VmHWM")),
    };
    drop(guard.take());

    let text = report::render(&rows, &settings, &report::machine()) + &extra;
    print!("{text}");
    if let Some(path) = &args.output {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{text}").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(rows
        .iter()
        .all(|r| matches!(r.result, RowResult::Measured(_))))
}

/// `--server-env`, plus what `fanout` needs unless given: every subscriber is the bench
/// user, so the per-user socket limit (50 by default) and the instance's (10,000) go up.
fn with_fanout_env(args: &Args) -> Vec<(String, String)> {
    let mut env = args.server_env.clone();
    if args.scenarios.contains(&Scenario::Fanout)
        || args.scenarios.contains(&Scenario::MetricsFanout)
    {
        for key in ["SF_WS_MAX_PER_USER", "SF_WS_MAX_CONNECTIONS"] {
            if !env.iter().any(|(k, _)| k == key) {
                env.push((key.to_owned(), "100000".to_owned()));
            }
        }
    }
    env
}

/// A failed user scenario's reason, plus why the user may not exist.
fn with_create_user_error(why: &str, cause: &str) -> String {
    format!("{why} (creating the user failed earlier: {cause})")
}

/// POSTs one GraphQL body without a token and returns the parsed JSON; `what`
/// names the request in errors.
async fn post_graphql(
    client: &reqwest::Client,
    graphql_url: &str,
    body: String,
    what: &str,
) -> Result<serde_json::Value> {
    let resp = client
        .post(graphql_url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .with_context(|| format!("{what} request failed"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .with_context(|| format!("reading {what} body"))?;
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: invalid JSON: {text}"))
}

/// One query for the ids every scenario needs.
async fn discover(client: &reqwest::Client, graphql_url: &str) -> Result<scenarios::Ids> {
    let value = post_graphql(
        client,
        graphql_url,
        scenarios::discovery_body(),
        "discovery",
    )
    .await?;
    scenarios::parse_discovery(&value).context("discovery")
}

/// Logs the bench user in once and returns the access token.
async fn login(client: &reqwest::Client, graphql_url: &str, creds: &Credentials) -> Result<String> {
    let value = post_graphql(client, graphql_url, scenarios::login_body(creds), "login").await?;
    scenarios::parse_login(&value)
}

/// The fixed request of one scenario; for `point-auth` this logs in first and
/// carries the fresh access token as a bearer token.
async fn prepare_target(
    client: &reqwest::Client,
    graphql_url: &str,
    scenario: Scenario,
    ids: &scenarios::Ids,
    series_end: DateTime<Utc>,
    creds: &Credentials,
) -> Result<Target> {
    let body = scenarios::request_body(scenario, ids, series_end, creds)?;
    let authorization = match scenario {
        Scenario::PointAuth => {
            let token = login(client, graphql_url, creds)
                .await
                .with_context(|| format!("logging in as `{}`", creds.username))?;
            Some(load::bearer(&token)?)
        }
        _ => None,
    };
    Ok(Target {
        url: graphql_url.to_string(),
        body,
        authorization,
    })
}

/// Validates, then loads one scenario while sampling the server's RSS.
async fn run_scenario(
    client: &reqwest::Client,
    target: Arc<Target>,
    cfg: LoadConfig,
    pid: Option<u32>,
    scenario: Scenario,
) -> Result<(RowResult, Option<u64>)> {
    let name = scenario.name();
    if let Err(e) = load::validate(client, &target, scenario).await {
        return Ok((RowResult::Failed(format!("{e:#}")), None));
    }
    eprintln!(
        "{name}: {} connections, {}s warm-up + {}s measured ...",
        cfg.connections,
        cfg.warmup.as_secs(),
        cfg.duration.as_secs()
    );
    let sampler = pid.map(RssSampler::start);
    let stats = load::run(client, target, cfg).await?;
    let rss_kb = match sampler {
        Some(s) => s.finish().await,
        None => None,
    };
    let summary = load::summarize(&stats, cfg.duration);
    eprintln!(
        "{name}: {:.1} req/s, {} errors",
        summary.req_per_s, summary.errors
    );
    Ok((RowResult::Measured(summary), rss_kb))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_defaults_and_lists() -> Result<()> {
        let args = Args::try_parse_from(["bench", "--scenarios", "plant,point", "--tier", "s"])?;
        assert_eq!(args.scenarios, [Scenario::Plant, Scenario::Point]);
        assert_eq!(args.tier.as_str(), "S");
        assert_eq!((args.connections, args.duration, args.warmup), (16, 20, 3));
        assert_eq!(args.port, 18080);
        let args = Args::try_parse_from(["bench", "--server-env", "A=b=c", "--server-env", "X="])?;
        assert_eq!(
            args.server_env,
            [("A".into(), "b=c".into()), ("X".into(), String::new())]
        );
        assert!(Args::try_parse_from(["bench", "--server-env", "=v"]).is_err());
        assert!(Args::try_parse_from(["bench", "--connections", "0"]).is_err());
        Ok(())
    }

    #[test]
    fn default_scenarios_and_bench_user() -> Result<()> {
        let args = Args::try_parse_from(["bench"])?;
        assert_eq!(
            args.scenarios,
            [
                Scenario::Point,
                Scenario::PointAuth,
                Scenario::Line,
                Scenario::Plant,
                Scenario::Series,
                Scenario::Login,
            ]
        );
        assert_eq!(args.user, "bench");
        assert_eq!(args.password, "bench-password-0123");
        assert!(args.server_env.is_empty());
        Ok(())
    }

    #[test]
    fn user_scenarios_and_credentials_parse() -> Result<()> {
        let args = Args::try_parse_from([
            "bench",
            "--scenarios",
            "login,point-auth,point",
            "--user",
            "loadtest",
            "--password",
            "another-password-42",
        ])?;
        assert_eq!(
            args.scenarios,
            [Scenario::Login, Scenario::PointAuth, Scenario::Point]
        );
        assert_eq!(args.user, "loadtest");
        assert_eq!(args.password, "another-password-42");
        assert!(Args::try_parse_from(["bench", "--scenarios", "point_auth"]).is_err());
        assert!(Args::try_parse_from(["bench", "--scenarios", "auth"]).is_err());
        Ok(())
    }

    #[test]
    fn help_documents_the_login_rate_limit() {
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("point-auth"));
        assert!(help.contains("login rate limit"));
        assert!(help.contains("SF_RATE_LIMIT=off"));
        assert!(help.contains("--user"));
        assert!(help.contains("--password"));
    }

    #[test]
    fn create_user_error_is_appended() {
        assert_eq!(
            with_create_user_error("GraphQL errors: x", "exited with 1"),
            "GraphQL errors: x (creating the user failed earlier: exited with 1)"
        );
    }

    #[test]
    fn base_url_strips_graphql_suffix() {
        assert_eq!(base_url("http://h:1/graphql/"), "http://h:1");
        assert_eq!(base_url("http://h:1/"), "http://h:1");
    }
}
