//! Everything that touches the server process and its database from the
//! outside: creating the database, seeding, creating the bench user, spawning
//! `serve`, waiting for readiness, sampling RSS from `/proc`, and killing the
//! child on every exit path.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::scenarios::Credentials;

/// How often the RSS sampler polls `/proc/<pid>/status`.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Environment the spawned server gets unless `--server-env` sets the same key:
/// rate limits off, or `login` would measure the limiter's refusals (60 logins
/// a minute per IP, 10 per user) and a long run could trip the per-user quota.
pub const DEFAULT_SERVER_ENV: &[(&str, &str)] = &[("SF_RATE_LIMIT", "off")];

/// The spawned server's extra environment: [`DEFAULT_SERVER_ENV`] for every
/// key the user did not set, then the user's `--server-env` pairs in order.
pub fn server_env(user: &[(String, String)]) -> Vec<(String, String)> {
    DEFAULT_SERVER_ENV
        .iter()
        .filter(|(key, _)| !user.iter().any(|(k, _)| k == key))
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .chain(user.iter().cloned())
        .collect()
}

/// The parts of a database URL needed to drive `psql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub database: String,
}

/// `postgres`, `sqlite` or whatever the scheme says; printed in the settings line.
pub fn database_kind(url: &str) -> &str {
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => "postgres",
        Some(scheme) if !scheme.is_empty() => scheme,
        _ => "unknown",
    }
}

/// Parses `postgres://[user[:pass]@]host[:port]/db[?params]`; `None` for other schemes.
/// Hand-rolled because this is the only URL the harness takes apart.
pub fn parse_pg_url(url: &str) -> Option<PgTarget> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, database) = rest.split_once('/')?;
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((name, pass)) => (Some(percent_decode(name)), Some(percent_decode(pass))),
            None => (Some(percent_decode(u)), None),
        },
        None => (None, None),
    };
    // `[::1]:5432` style hosts: psql wants the address without brackets.
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').unwrap_or((v6, ""));
        (
            h.to_string(),
            after.strip_prefix(':').and_then(|p| p.parse().ok()),
        )
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (hostport.to_string(), None),
        }
    };
    let database = percent_decode(database);
    if database.is_empty() {
        return None;
    }
    Some(PgTarget {
        user: user.filter(|u| !u.is_empty()),
        password,
        host: if host.is_empty() {
            "localhost".into()
        } else {
            host
        },
        port,
        database,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn psql(target: &PgTarget, sql: &str) -> Result<String> {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-h",
        &target.host,
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
        sql,
    ]);
    if let Some(port) = target.port {
        cmd.args(["-p", &port.to_string()]);
    }
    if let Some(user) = &target.user {
        cmd.args(["-U", user]);
    }
    if let Some(pass) = &target.password {
        cmd.env("PGPASSWORD", pass);
    }
    let out = cmd.output().context("running psql (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates the PostgreSQL database named in `url` when it does not exist yet,
/// so `--seed` works against a fresh cluster. No-op for other databases.
pub fn ensure_database(url: &str) -> Result<()> {
    let Some(target) = parse_pg_url(url) else {
        return Ok(());
    };
    // Identifiers cannot be bound as parameters; quote them defensively instead.
    let literal = target.database.replace('\'', "''");
    let exists = psql(
        &target,
        &format!("SELECT 1 FROM pg_database WHERE datname = '{literal}'"),
    )?;
    if exists != "1" {
        let ident = target.database.replace('"', "\"\"");
        eprintln!("creating database {}", target.database);
        psql(&target, &format!("CREATE DATABASE \"{ident}\""))?;
    }
    Ok(())
}

/// Runs `<bin> seed --tier <tier> --force` and returns how long it took.
pub async fn seed(bin: &str, database_url: &str, tier: &str) -> Result<Duration> {
    let started = Instant::now();
    let status = tokio::process::Command::new(bin)
        .args(["seed", "--tier", tier, "--force"])
        .env("DATABASE_URL", database_url)
        // Keep stdout clean for the results table.
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .await
        .with_context(|| format!("spawning {bin} seed"))?;
    if !status.success() {
        bail!("{bin} seed --tier {tier} --force exited with {status}");
    }
    Ok(started.elapsed())
}

/// Runs `<bin> create-user --username <user> --role admin` with the password in
/// `SF_NEW_USER_PASSWORD`. Fails when the CLI does, e.g. because the user
/// already exists; the caller then finds out by logging in.
pub async fn create_user(bin: &str, database_url: &str, creds: &Credentials) -> Result<()> {
    let out = tokio::process::Command::new(bin)
        .args([
            "create-user",
            "--username",
            &creds.username,
            "--role",
            "admin",
        ])
        .env("DATABASE_URL", database_url)
        .env("SF_NEW_USER_PASSWORD", &creds.password)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("spawning {bin} create-user"))?;
    // Keep stdout clean for the results table; the CLI's own output goes to stderr.
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        if !text.trim().is_empty() {
            eprintln!("{}", text.trim_end());
        }
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "{bin} create-user --username {} exited with {}{}",
            creds.username,
            out.status,
            last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
        );
    }
    Ok(())
}

/// Owns the spawned server; dropping it kills the process so that an error or
/// Ctrl-C anywhere in the run never leaves a server holding the port.
pub struct ServerGuard {
    child: Child,
}

impl ServerGuard {
    /// Spawns `<bin> serve` bound to `127.0.0.1:<port>` with seeding and the
    /// simulator off, so the database content stays fixed during the run.
    pub fn spawn(
        bin: &str,
        database_url: &str,
        port: u16,
        env: &[(String, String)],
    ) -> Result<Self> {
        // If something already listens there, readiness polling would succeed
        // against it and we would benchmark the wrong process.
        std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("port {port} is in use (pick another with --port)"))?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("SF_BIND", format!("127.0.0.1:{port}"))
            .env("SF_SEED", "none")
            .env("SF_SIMULATOR", "off")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()));
        let child = cmd.spawn().with_context(|| {
            format!("spawning {bin} serve (build it with cargo build --release)")
        })?;
        Ok(Self { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Errors if the server already exited, e.g. because the port was taken.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("server exited early with {status}");
        }
        Ok(())
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        // Both can fail only if the child is already gone, which is the goal anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET <base>/health/ready` until it answers 200, the server dies, or
/// `timeout` passes.
pub async fn wait_ready(
    client: &reqwest::Client,
    base_url: &str,
    mut server: Option<&mut ServerGuard>,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let url = format!("{base_url}/health/ready");
    let mut last = String::from("no attempt yet");
    while Instant::now() < deadline {
        if let Some(server) = server.as_deref_mut() {
            server.check_alive()?;
        }
        match client
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(resp) if resp.status() == reqwest::StatusCode::OK => return Ok(()),
            Ok(resp) => last = format!("status {}", resp.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{url} not ready after {timeout:?} (last: {last})")
}

/// Extracts a `kB` field such as `VmRSS:   123456 kB` from `/proc/<pid>/status` text.
pub fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Reads one `kB` field of a process's status; `None` once the process is gone.
pub fn read_status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kb(&text, key)
}

/// Background task that tracks the maximum `VmRSS` of a pid while a scenario runs.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<Option<u64>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = tokio::spawn(async move {
            let mut max: Option<u64> = None;
            let mut tick = tokio::time::interval(RSS_SAMPLE_EVERY);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(kb) = read_status_kb(pid, "VmRSS") {
                    max = Some(max.map_or(kb, |m| m.max(kb)));
                }
            }
            max
        });
        Self { stop, handle }
    }

    /// Stops sampling and returns the peak `VmRSS` seen, in kB.
    pub async fn finish(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_parsed_in_kb() {
        let text = "Name:\tsmart-factory\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status_kb(text, "VmRSS"), Some(102_400));
        assert_eq!(parse_status_kb(text, "VmHWM"), Some(204_800));
        assert_eq!(parse_status_kb(text, "VmSwap"), None);
    }

    #[test]
    fn pg_url_parts() {
        let t = parse_pg_url("postgres://bob:p%40ss@db.local:6543/sf_bench?sslmode=disable");
        assert_eq!(
            t,
            Some(PgTarget {
                user: Some("bob".into()),
                password: Some("p@ss".into()),
                host: "db.local".into(),
                port: Some(6543),
                database: "sf_bench".into(),
            })
        );
        let t = parse_pg_url("postgresql://127.0.0.1/x");
        assert_eq!(
            t.as_ref().map(|t| (t.user.clone(), t.port)),
            Some((None, None))
        );
        let t = parse_pg_url("postgres://u@[::1]:5433/x");
        assert_eq!(
            t.map(|t| (t.host, t.port)),
            Some(("::1".to_string(), Some(5433)))
        );
        assert_eq!(parse_pg_url("sqlite://bench.db?mode=rwc"), None);
        assert_eq!(parse_pg_url("postgres://host/"), None);
    }

    #[test]
    fn server_env_defaults_yield_to_the_user() {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(server_env(&[]), [pair("SF_RATE_LIMIT", "off")]);
        let user = [pair("SF_LOADER_DELAY_US", "1000")];
        assert_eq!(
            server_env(&user),
            [
                pair("SF_RATE_LIMIT", "off"),
                pair("SF_LOADER_DELAY_US", "1000")
            ]
        );
        let user = [pair("A", "1"), pair("SF_RATE_LIMIT", "on")];
        assert_eq!(server_env(&user), user);
        // Only the exact key overrides; the per-class quotas are separate variables.
        let user = [pair("SF_RATE_LIMIT_LOGIN_IP", "1000/1,1000")];
        assert_eq!(server_env(&user).len(), 2);
    }

    #[test]
    fn database_kinds() {
        assert_eq!(database_kind("postgresql://h/db"), "postgres");
        assert_eq!(database_kind("sqlite::memory:"), "sqlite");
        assert_eq!(database_kind("nonsense"), "unknown");
    }
}
