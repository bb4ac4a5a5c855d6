//! The command line, run as a user would: the real binary against its own database.

use std::process::{Command, Output};

use std::time::Duration;

use crate::{helpers::create_database, process::ServerProcess};

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

#[tokio::test]
async fn seed_refuses_a_non_empty_database_unless_forced() {
    let (url, _db) = create_database().await;
    let first = run(&url, &["seed", "--tier", "demo"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("192 sensors"), "{}", text(&first));
    let again = run(&url, &["seed", "--tier", "demo"]);
    assert!(!again.status.success(), "a second seed must be refused");
    assert!(text(&again).contains("--force"), "{}", text(&again));
    let forced = run(&url, &["seed", "--tier", "demo", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
}

#[tokio::test]
async fn migrate_goes_down_and_up_again() {
    let (url, _db) = create_database().await;
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

#[tokio::test]
async fn create_user_stores_an_argon2_hash() {
    let (url, _db) = create_database().await;
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

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    // `ServerProcess` waits for the "serving" line (the process exits on any start-up error,
    // which fails the test), on the suite's database.
    let mut server = ServerProcess::start(&[]).await;
    server.terminate();
    let status = tokio::task::spawn_blocking(move || server.wait_for_exit(Duration::from_secs(20)))
        .await
        .expect("join")
        .expect("still running 20 s after SIGTERM");
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[tokio::test]
async fn maintenance_cleanup_sessions_runs() {
    let (url, _db) = create_database().await;
    assert!(run(&url, &["migrate", "up"]).status.success());
    let output = run(&url, &["maintenance", "cleanup-sessions"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("0 ended sessions deleted"),
        "{}",
        text(&output)
    );
}
