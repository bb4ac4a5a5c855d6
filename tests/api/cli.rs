//! The command line, run as a user would: the real binary against its own database.

use std::process::{Command, Output};

use crate::helpers::on_postgres;

fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env_remove("SF_SEED")
        .output()
        .expect("run smart-factory")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn seed_refuses_a_non_empty_database_unless_forced() {
    // SQLite only: the binary is exercised, not the engine (PostgreSQL runs the same code
    // paths through the rest of the suite).
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let first = run(&url, &["seed", "--tier", "demo"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("192 sensors"), "{}", text(&first));
    let again = run(&url, &["seed", "--tier", "demo"]);
    assert!(!again.status.success(), "a second seed must be refused");
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let forced = run(&url, &["seed", "--tier", "demo", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
}

#[test]
fn migrate_goes_down_and_up_again() {
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    for action in ["up", "down", "up", "status"] {
        let output = run(&url, &["migrate", action]);
        assert!(
            output.status.success(),
            "migrate {action}: {}",
            text(&output)
        );
    }
}

#[test]
fn export_schema_prints_the_committed_contract() {
    let output = run("sqlite::memory:", &["export-schema"]);
    assert!(output.status.success(), "{}", text(&output));
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
}

#[test]
fn create_user_stores_an_argon2_hash() {
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    assert!(run(&url, &["seed", "--tier", "demo"]).status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .args([
            "create-user",
            "--username",
            "alice",
            "--role",
            "viewer",
            "--workshop",
            "WS-01",
        ])
        .env("DATABASE_URL", &url)
        .env("SF_NEW_USER_PASSWORD", "correct horse battery")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !text(&output).contains("correct horse"),
        "the password must not be echoed"
    );
    let duplicate = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .args(["create-user", "--username", "alice", "--role", "admin"])
        .env("DATABASE_URL", &url)
        .env("SF_NEW_USER_PASSWORD", "correct horse battery")
        .output()
        .expect("run");
    assert!(
        !duplicate.status.success(),
        "a taken username must be refused"
    );
    let bad_workshop = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .args([
            "create-user",
            "--username",
            "bob",
            "--role",
            "viewer",
            "--workshop",
            "NOPE",
        ])
        .env("DATABASE_URL", &url)
        .env("SF_NEW_USER_PASSWORD", "correct horse battery")
        .output()
        .expect("run");
    assert!(!bad_workshop.status.success());
    assert!(
        text(&bad_workshop).contains("NOPE"),
        "{}",
        text(&bad_workshop)
    );
}

#[test]
fn a_malformed_variable_is_named_at_start_up() {
    let output = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .args(["export-schema"])
        .env("SF_BIND", "not-an-address")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(text(&output).contains("SF_BIND"), "{}", text(&output));
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/serve.db?mode=rwc", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("SF_BIND", "127.0.0.1:0")
        .env("SF_SEED", "none")
        .env("SF_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    // Logs go to stdout; wait for the "serving" line (the process exits on any start-up error,
    // which ends the stream and fails the test).
    let stdout = child.stdout.take().expect("stdout");
    let serving = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("\"serving\""));
    assert!(serving, "the server never reported that it was serving");
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn maintenance_cleanup_sessions_runs() {
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
    assert!(run(&url, &["migrate", "up"]).status.success());
    let output = run(&url, &["maintenance", "cleanup-sessions"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("deleted 0 ended sessions"),
        "{}",
        text(&output)
    );
}
