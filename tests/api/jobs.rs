//! The job queue end to end on the real storage of each engine: retries with back-off, a
//! job that always fails and `retryJob`, a separate `worker` process, a worker killed
//! mid-job, schedules claimed once across two instances, and the admin API's refusals.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::{TimeZone as _, Utc};
use entity::{audit_log, enums::Role, schedule_run};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::json;
use smart_factory::jobs::{
    enqueue,
    probe::ProbeJob,
    scheduler,
    storage::{self, EnqueueOptions},
};
use tokio::time::Instant;

use crate::helpers::{TestApp, insert_user_with_password};

const JOBS: &str = "query($n: Int) { jobs(failures: $n) { \
    queues { name pending running retrying failed done killed } \
    schedules { task cron nextRunAt lastRun { slot status instance durationMs detail } } \
    failures { id queue name state attempts maxAttempts lastResult } } }";

/// An app whose workers poll every 50 ms, with a 1 s heartbeat.
async fn fast_jobs(workers: bool) -> TestApp {
    TestApp::spawn_with(None, |c| {
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.heartbeat = Duration::from_secs(1);
        c.jobs.workers = workers;
        c.jobs.schedules.clear();
    })
    .await
}

/// A probe with a short back-off that records its attempts.
fn probe(key: &str) -> ProbeJob {
    ProbeJob {
        key: key.to_owned(),
        record: true,
        backoff_ms: Some(300),
        ..ProbeJob::default()
    }
}

/// The probe's audit rows: (attempt, phase, pid), oldest first.
async fn attempts(app: &TestApp, key: &str) -> Vec<(i64, String, i64)> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.probe"))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db.write)
        .await
        .expect("audit rows")
        .into_iter()
        .filter_map(|row| row.payload)
        .filter(|p| p["key"] == key)
        .map(|p| {
            (
                p["attempt"].as_i64().unwrap_or(-1),
                p["phase"].as_str().unwrap_or("").to_owned(),
                p["pid"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// Polls the job row until `done` holds of it; fails after `limit`.
async fn job_until(
    app: &TestApp,
    id: &str,
    limit: Duration,
    done: impl Fn(&storage::JobRow) -> bool,
) -> storage::JobRow {
    let deadline = Instant::now() + limit;
    loop {
        let row = storage::find(&app.state.db.write, id)
            .await
            .expect("find")
            .expect("the job row");
        if done(&row) {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "job never got there: {} {} attempts {} / {}: {:?}",
            row.status,
            row.state(),
            row.attempts,
            row.max_attempts,
            row.last_result
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn enqueue_probe(app: &TestApp, job: &ProbeJob) -> String {
    enqueue(&app.state.db.write, job, EnqueueOptions::default())
        .await
        .map_err(|e| e.message())
        .expect("enqueue")
        .expect("a new job")
}

#[tokio::test]
async fn a_job_that_fails_twice_is_retried_with_back_off_and_ends_done() {
    let app = fast_jobs(true).await;
    let id = enqueue_probe(
        &app,
        &ProbeJob {
            fail_first: 2,
            ..probe("twice")
        },
    )
    .await;
    let row = job_until(&app, &id, Duration::from_secs(30), |r| r.state() == "done").await;
    assert_eq!(row.attempts, 3, "two failures, then the success");
    let seen = attempts(&app, "twice").await;
    let phases: Vec<(i64, &str)> = seen.iter().map(|(a, p, _)| (*a, p.as_str())).collect();
    assert_eq!(
        phases,
        [
            (1, "start"),
            (1, "failed"),
            (2, "start"),
            (2, "failed"),
            (3, "start"),
            (3, "end")
        ]
    );
    // The back-off: the retry after attempt 2 waited (0.3 s doubled) at least a second of
    // the queue's whole-second clock on SQLite, and at least 0.6 s on PostgreSQL.
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.probe"))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db.write)
        .await
        .expect("rows");
    let failed_2 = rows
        .iter()
        .find(|r| {
            r.payload
                .as_ref()
                .is_some_and(|p| p["attempt"] == 2 && p["phase"] == "failed")
        })
        .expect("attempt 2 failed");
    let start_3 = rows
        .iter()
        .find(|r| {
            r.payload
                .as_ref()
                .is_some_and(|p| p["attempt"] == 3 && p["phase"] == "start")
        })
        .expect("attempt 3 started");
    let waited = start_3.ts - failed_2.ts;
    assert!(
        waited >= chrono::Duration::milliseconds(550),
        "the third attempt waited out a back-off: {waited}"
    );
}

#[tokio::test]
async fn a_job_that_always_fails_ends_failed_with_its_error_and_retry_job_reruns_it() {
    let app = fast_jobs(true).await;
    let admin = app.admin_token().await;
    let id = enqueue_probe(
        &app,
        &ProbeJob {
            fail_first: 3,
            ..probe("always")
        },
    )
    .await;
    job_until(&app, &id, Duration::from_secs(30), |r| {
        r.state() == "failed"
    })
    .await;
    // Nothing runs it again by itself.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        attempts(&app, "always").await.len(),
        6,
        "three attempts, start and failed"
    );
    let jobs = app.graphql_as(&admin, JOBS, json!({ "n": 10 })).await;
    let data = jobs.data()["jobs"].clone();
    let default = data["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["name"] == "default")
        .expect("default queue")
        .clone();
    assert_eq!(default["failed"], 1, "{data}");
    let failure = data["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .find(|f| f["id"] == id.as_str())
        .expect("the job among the failures")
        .clone();
    assert_eq!(failure["name"], "probe");
    assert_eq!(failure["state"], "failed");
    assert_eq!(failure["attempts"], 3);
    assert!(
        failure["lastResult"]
            .as_str()
            .is_some_and(|e| e.contains("fails attempt 3 as asked")),
        "{failure}"
    );
    // retryJob: fresh attempts; attempts 1..3 fail again, so it ends failed again, with six
    // more audit rows.
    let retried = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { retryJob(id: $id) { id state attempts } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        retried.data()["retryJob"]["state"],
        "pending",
        "{:?}",
        retried.data()
    );
    job_until(&app, &id, Duration::from_secs(30), |r| {
        r.state() == "failed" && r.attempts == 3
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while attempts(&app, "always").await.len() < 12 {
        assert!(Instant::now() < deadline, "retryJob did not rerun the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_jobs_api_refuses_non_admins_unknown_jobs_and_jobs_that_are_not_failed() {
    let app = fast_jobs(false).await;
    let admin = app.admin_token().await;
    insert_user_with_password(
        &app,
        "jobs-engineer",
        Role::Engineer,
        "correct-horse-battery",
    )
    .await;
    let engineer = app.login("jobs-engineer", "correct-horse-battery").await;
    for (query, vars) in [
        (JOBS, json!({ "n": 5 })),
        (
            "mutation { runMaintenance(task: SESSIONS, wait: true) { task } }",
            json!({}),
        ),
        (
            "mutation { retryJob(id: \"01J0000000000000000000000\") { id } }",
            json!({}),
        ),
    ] {
        let r = app.graphql_as(&engineer, query, vars).await;
        assert_eq!(r.error_code(), "FORBIDDEN", "{query}");
    }
    let unknown_task = app
        .graphql_as(
            &admin,
            "mutation { runMaintenance(task: DEFRAGMENT) { task } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown_task.error_code(), "BAD_USER_INPUT");
    let unknown_job = app
        .graphql_as(
            &admin,
            "mutation { retryJob(id: \"01J0000000000000000000000\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown_job.error_code(), "NOT_FOUND");
    let too_long = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { retryJob(id: $id) { id } }",
            json!({ "id": "x".repeat(65) }),
        )
        .await;
    assert_eq!(too_long.error_code(), "BAD_USER_INPUT");
    let too_many = app.graphql_as(&admin, JOBS, json!({ "n": 51 })).await;
    assert_eq!(too_many.error_code(), "BAD_USER_INPUT");
    // A pending job (no worker runs here) is not retried.
    let id = enqueue_probe(&app, &probe("pending")).await;
    let pending = app
        .graphql_as(
            &admin,
            "mutation($id: ID!) { retryJob(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(pending.error_code(), "CONFLICT");
    let row = storage::find(&app.state.db.write, &id)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(
        (row.state(), row.attempts),
        ("pending", 0),
        "left as it was"
    );
    // runMaintenance: in the request, or queued.
    let ran = app
        .graphql_as(
            &admin,
            "mutation { runMaintenance(task: SESSIONS, wait: true) { task jobId report { rows detail } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ran.data()["runMaintenance"]["report"]["detail"],
        "0 ended sessions deleted"
    );
    let queued = app
        .graphql_as(
            &admin,
            "mutation { runMaintenance(task: ANALYZE) { jobId report { rows } } }",
            json!({}),
        )
        .await;
    let job_id = queued.data()["runMaintenance"]["jobId"]
        .as_str()
        .expect("a job id")
        .to_owned();
    let row = storage::find(&app.state.db.write, &job_id)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(
        (row.queue.as_str(), row.state()),
        ("maintenance", "pending")
    );
}

#[tokio::test]
async fn two_instances_claim_each_schedule_slot_once() {
    let app = fast_jobs(true).await;
    let url = secrecy::ExposeSecret::expose_secret(&app.state.config.database.url).to_owned();
    let other = TestApp::spawn_with(None, |c| {
        c.database.url = url.clone().into();
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.schedules.clear();
    })
    .await;
    // Both claim the same slots of a schedule, concurrently; each slot is won once.
    let schedule = smart_factory::config::JobsConfig::from_source(
        &smart_factory::config::MapEnv::of(&[("SF_SCHEDULE_SESSIONS", "* * * * * *")]),
    )
    .expect("config")
    .schedules
    .into_iter()
    .find(|s| s.task == smart_factory::maintenance::Task::Sessions)
    .expect("the sessions schedule");
    let base = Utc
        .timestamp_opt(Utc::now().timestamp(), 0)
        .single()
        .expect("now");
    for i in 0..10 {
        let at = base + chrono::Duration::seconds(i);
        let (a, b) = tokio::join!(
            scheduler::claim(&app.state, &schedule, at),
            scheduler::claim(&other.state, &schedule, at)
        );
        let a = a.map_err(|e| e.message()).expect("claim a");
        let b = b.map_err(|e| e.message()).expect("claim b");
        assert!(
            a.is_some() != b.is_some(),
            "slot {i}: exactly one instance wins"
        );
    }
    let runs = schedule_run::Entity::find()
        .filter(schedule_run::Column::Schedule.eq("sessions"))
        .all(&app.state.db.write)
        .await
        .expect("runs");
    assert_eq!(runs.len(), 10);
    // And the real schedulers: both instances on a one-second schedule for three seconds.
    drop(other);
    let (a, b) = (
        every_second_instance(&url).await,
        every_second_instance(&url).await,
    );
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let runs = schedule_run::Entity::find()
        .filter(schedule_run::Column::Schedule.eq("retention"))
        .all(&app.state.db.write)
        .await
        .expect("runs");
    let mut slots: Vec<i64> = runs.iter().map(|r| r.slot.timestamp()).collect();
    slots.sort_unstable();
    let mut unique = slots.clone();
    unique.dedup();
    assert!(slots.len() >= 2, "the schedule ran: {slots:?}");
    assert_eq!(slots, unique, "no slot twice");
    // Every claimed slot has exactly one job, and they all finish.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let runs = schedule_run::Entity::find()
            .filter(schedule_run::Column::Schedule.eq("retention"))
            .all(&app.state.db.write)
            .await
            .expect("runs");
        if runs
            .iter()
            .all(|r| r.status == "done" && r.job_id.is_some() && r.duration_ms.is_some())
        {
            break;
        }
        assert!(Instant::now() < deadline, "runs did not finish: {runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((a, b));
}

/// Another instance on `url` whose scheduler runs retention every second.
async fn every_second_instance(url: &str) -> TestApp {
    TestApp::spawn_with(None, |c| {
        c.database.url = url.to_owned().into();
        c.jobs.poll = Duration::from_millis(50);
        c.jobs.schedules =
            smart_factory::config::JobsConfig::from_source(&smart_factory::config::MapEnv::of(&[]))
                .expect("config")
                .schedules
                .into_iter()
                .filter(|s| s.task == smart_factory::maintenance::Task::Retention)
                .map(|mut s| {
                    s.expression = "* * * * * *".to_owned();
                    s.cron = "* * * * * *".parse().expect("cron");
                    s
                })
                .collect();
    })
    .await
}

/// `smart-factory worker` on `url`, its stdout discarded; killed when dropped.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn start(url: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_smart-factory"))
            .arg("worker")
            .env("DATABASE_URL", url)
            .env("SF_JOBS_POLL_MS", "50")
            .env("SF_JOBS_HEARTBEAT_S", "1")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn smart-factory worker");
        Self(child)
    }

    fn pid(&self) -> i64 {
        i64::from(self.0.id())
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until the probe `key` has an audit row matching `seen`.
async fn until_attempts(
    app: &TestApp,
    key: &str,
    limit: Duration,
    seen: impl Fn(&[(i64, String, i64)]) -> bool,
) -> Vec<(i64, String, i64)> {
    let deadline = Instant::now() + limit;
    loop {
        let rows = attempts(app, key).await;
        if seen(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "probe `{key}` never got there: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_separate_worker_process_runs_a_job_the_server_enqueued() {
    let app = fast_jobs(false).await;
    let url = secrecy::ExposeSecret::expose_secret(&app.state.config.database.url).to_owned();
    let worker = WorkerProcess::start(&url);
    let id = enqueue_probe(&app, &probe("elsewhere")).await;
    let rows = until_attempts(&app, "elsewhere", Duration::from_secs(60), |r| {
        r.iter().any(|(_, phase, _)| phase == "end")
    })
    .await;
    assert!(
        rows.iter().all(|(_, _, pid)| *pid == worker.pid()),
        "the worker process ran it, not the server: {rows:?}"
    );
    job_until(&app, &id, Duration::from_secs(10), |r| r.state() == "done").await;
}

#[tokio::test]
async fn a_job_whose_worker_is_killed_runs_again_to_completion_once_at_a_time() {
    let app = fast_jobs(false).await;
    let url = secrecy::ExposeSecret::expose_secret(&app.state.config.database.url).to_owned();
    let mut first = WorkerProcess::start(&url);
    let id = enqueue_probe(
        &app,
        &ProbeJob {
            sleep_ms: 60_000,
            sleep_attempts: Some(1),
            ..probe("killed")
        },
    )
    .await;
    until_attempts(&app, "killed", Duration::from_secs(60), |r| {
        r.iter()
            .any(|(_, phase, pid)| phase == "start" && *pid == first.pid())
    })
    .await;
    let first_pid = first.pid();
    first.kill();
    let killed_at = Utc::now();
    let second = WorkerProcess::start(&url);
    let rows = until_attempts(&app, "killed", Duration::from_secs(60), |r| {
        r.iter().any(|(_, phase, _)| phase == "end")
    })
    .await;
    let ends: Vec<_> = rows.iter().filter(|(_, p, _)| p == "end").collect();
    assert_eq!(ends.len(), 1, "ran to completion once: {rows:?}");
    assert_eq!(ends[0].2, second.pid(), "by the second worker");
    let starts: Vec<_> = rows.iter().filter(|(_, p, _)| p == "start").collect();
    assert_eq!(
        starts.len(),
        2,
        "started by the first, then again by the second: {rows:?}"
    );
    assert_eq!(starts[0].2, first_pid);
    // Never twice at once: the second start came after the first worker died.
    let second_start = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("job.probe"))
        .order_by_desc(audit_log::Column::Id)
        .all(&app.state.db.write)
        .await
        .expect("rows")
        .into_iter()
        .find(|r| {
            r.payload.as_ref().is_some_and(|p| {
                p["key"] == "killed" && p["phase"] == "start" && p["pid"] != json!(first_pid)
            })
        })
        .expect("the second start");
    assert!(
        second_start.ts >= killed_at,
        "the rescue waited for the kill"
    );
    let row = job_until(&app, &id, Duration::from_secs(10), |r| r.state() == "done").await;
    assert!(
        row.attempts >= 2,
        "the rescue counts as an attempt: {}",
        row.attempts
    );
}
