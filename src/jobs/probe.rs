//! `probe`: a job that exercises the pipeline end to end — it fails its first attempts on
//! request, sleeps, and records each attempt's start and end in the audit log — for the
//! tests (retries, a killed worker, two processes) and the benchmark (a no-op job's
//! enqueue-to-start latency and jobs per second). Only code enqueues it; no API does.

use std::time::Duration;

use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};

use super::{
    Queue,
    registry::{Job, JobContext, JobSpec},
};

/// Longest sleep a probe may ask for.
const MAX_SLEEP: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProbeJob {
    /// Names the probe in its audit rows.
    pub key: String,
    /// Attempts that fail before one succeeds.
    #[serde(default)]
    pub fail_first: u32,
    /// How long an attempt sleeps before it ends.
    #[serde(default)]
    pub sleep_ms: u64,
    /// Only attempts up to this one sleep (every attempt when unset).
    #[serde(default)]
    pub sleep_attempts: Option<u32>,
    /// Whether attempts leave audit rows (`job.probe`), with their start and end.
    #[serde(default)]
    pub record: bool,
    /// A shorter back-off than the default's, for tests.
    #[serde(default)]
    pub backoff_ms: Option<u64>,
}

impl ProbeJob {
    pub const NAME: &'static str = "probe";
    pub const SPEC: JobSpec = JobSpec {
        name: Self::NAME,
        queue: Queue::Default,
        max_attempts: 3,
        backoff: Duration::from_secs(1),
        timeout: Duration::from_secs(300),
    };

    async fn record(&self, ctx: &JobContext, phase: &str) -> anyhow::Result<()> {
        if !self.record {
            return Ok(());
        }
        audit_log::ActiveModel {
            user_id: Set(None),
            action: Set("job.probe".to_owned()),
            ts: Set(Utc::now()),
            entity: Set(Some("job".to_owned())),
            entity_id: Set(Some(ctx.id.clone())),
            payload: Set(Some(serde_json::json!({
                "key": self.key,
                "attempt": ctx.attempt,
                "phase": phase,
                "job": ctx.id,
                "instance": &*ctx.state.instance_id,
                "pid": std::process::id(),
            }))),
            ..Default::default()
        }
        .insert(&ctx.state.db.write)
        .await?;
        Ok(())
    }
}

impl Job for ProbeJob {
    fn spec(&self) -> JobSpec {
        let mut spec = Self::SPEC;
        if let Some(ms) = self.backoff_ms {
            spec.backoff = Duration::from_millis(ms.min(60_000));
        }
        spec
    }

    async fn run(self, ctx: &JobContext) -> anyhow::Result<String> {
        self.record(ctx, "start").await?;
        let sleep = Duration::from_millis(self.sleep_ms).min(MAX_SLEEP);
        if !sleep.is_zero() && self.sleep_attempts.is_none_or(|n| ctx.attempt <= n) {
            tokio::time::sleep(sleep).await;
        }
        if ctx.attempt <= self.fail_first {
            self.record(ctx, "failed").await?;
            anyhow::bail!(
                "probe `{}` fails attempt {} as asked",
                self.key,
                ctx.attempt
            );
        }
        self.record(ctx, "end").await?;
        Ok(format!(
            "probe `{}` done on attempt {}",
            self.key, ctx.attempt
        ))
    }
}
