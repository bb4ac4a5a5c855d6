//! `ServerProcess`: the real `smart-factory` binary (this build's profile, debug under
//! `cargo test`) serving on a free port with its own database (SQLite, or PostgreSQL and
//! Redis when the suite runs on them), killed when dropped. For tests where "the process is
//! still alive" is the assertion.

#![allow(dead_code)]

use crate::helpers::{TestDb, create_database, test_redis_url, unique_redis_prefix};
use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A JWT secret for production-profile processes.
pub const PRODUCTION_SECRET: &str = "hostile-tests-production-secret-0123456789";

pub struct ServerProcess {
    child: Child,
    pub address: String,
    /// Every log line the process printed so far.
    pub log: Arc<Mutex<Vec<String>>>,
    _db: TestDb,
}

impl ServerProcess {
    /// `serve` with `env` on top of: a fresh database (and the suite's Redis, with keys of
    /// its own), port 0, no seed, JSON logs.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let (url, db) = create_database().await;
        let mut command = Command::new(env!("CARGO_BIN_EXE_smart-factory"));
        command
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("SF_BIND", "127.0.0.1:0")
            .env("SF_SEED", "none")
            .env("SF_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("DB_MAX_CONNECTIONS", "4")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        match test_redis_url() {
            Some(redis) => {
                command
                    .env("REDIS_URL", redis)
                    .env("SF_REDIS_PREFIX", unique_redis_prefix());
            }
            None => {
                command.env_remove("REDIS_URL");
            }
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn smart-factory serve");
        let stdout = child.stdout.take().expect("stdout");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("\"serving\"") {
                    let addr = serde_json::from_str::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|v| v["addr"].as_str().map(str::to_owned));
                    let _ = addr_tx.send(addr);
                }
                lines.lock().expect("log").push(line);
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the server never reported its address: {:?}",
                    log.lock().expect("log")
                )
            });
        Self {
            child,
            address: format!("http://{addr}"),
            log,
            _db: db,
        }
    }

    /// Whether the process is running and answers `/health/live`.
    pub async fn alive(&mut self, client: &reqwest::Client) -> bool {
        if self.child.try_wait().ok().flatten().is_some() {
            return false;
        }
        client
            .get(format!("{}/health/live", self.address))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, once the process has ended within `limit` (None: still running).
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a log line so far contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log
            .lock()
            .expect("log")
            .iter()
            .any(|l| l.contains(text))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
