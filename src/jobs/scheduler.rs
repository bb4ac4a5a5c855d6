//! Schedules: every instance with the scheduler on computes each schedule's next slot from
//! its cron expression and, when the slot comes, tries to claim it by inserting its
//! `schedule_runs` row; the one instance whose insert succeeds enqueues the task's job in the
//! same transaction. So a slot runs once however many instances are up, and a claimed slot
//! always has its job (or neither exists).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::schedule_run;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, DatabaseConnection, EntityTrait, QueryFilter as _,
    QueryOrder as _, Set, TransactionTrait as _, sea_query::OnConflict,
};
use tokio::{sync::watch, task::JoinHandle};

use super::{
    Slot,
    maintenance::MaintenanceJob,
    storage::{EnqueueOptions, enqueue},
};
use crate::{config::Schedule, error::AppResult, state::AppState};

/// Starts the scheduler of this instance.
pub fn start(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let schedules = state.config.jobs.schedules.clone();
        if schedules.is_empty() {
            return;
        }
        let mut next: Vec<Option<DateTime<Utc>>> = schedules
            .iter()
            .map(|s| s.cron.after(&Utc::now()).next())
            .collect();
        loop {
            let Some(soonest) = next.iter().flatten().min().copied() else {
                return;
            };
            let wait = (soonest - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(wait) => {}
            }
            for (schedule, due) in schedules.iter().zip(next.iter_mut()) {
                let Some(at) = *due else { continue };
                if at > Utc::now() {
                    continue;
                }
                match claim(&state, schedule, at).await {
                    Ok(Some(id)) => {
                        state.metrics.jobs.slots_claimed.inc();
                        tracing::debug!(task = schedule.task.name(), %at, job = id, "schedule slot claimed");
                    }
                    Ok(None) => {}
                    Err(err) => {
                        let err = err.into_anyhow();
                        tracing::warn!(task = schedule.task.name(), %at, error = %err, "could not claim a schedule slot");
                    }
                }
                // The next slot after now: slots missed while this instance was down or
                // busy are not replayed (the tasks catch up from their watermarks).
                *due = schedule.cron.after(&Utc::now().max(at)).next();
            }
        }
    })
}

/// Claims `schedule`'s slot `at` and enqueues its job, or returns `None` when another
/// instance (or an earlier run of this one) already has it.
pub async fn claim(
    state: &AppState,
    schedule: &Schedule,
    at: DateTime<Utc>,
) -> AppResult<Option<String>> {
    let name = schedule.task.name();
    let txn = state.db.write.begin().await?;
    let inserted = schedule_run::Entity::insert(schedule_run::ActiveModel {
        schedule: Set(name.to_owned()),
        slot: Set(at),
        instance: Set(state.instance_id.to_string()),
        job_id: Set(None),
        status: Set("queued".to_owned()),
        started_at: Set(None),
        finished_at: Set(None),
        duration_ms: Set(None),
        detail: Set(None),
    })
    .on_conflict(
        OnConflict::columns([schedule_run::Column::Schedule, schedule_run::Column::Slot])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        txn.rollback().await?;
        return Ok(None);
    }
    let slot = Slot {
        schedule: name.to_owned(),
        at,
    };
    let id = enqueue(
        &txn,
        &MaintenanceJob {
            task: schedule.task,
        },
        EnqueueOptions {
            run_at: Some(at),
            idempotency_key: Some(format!("{name}@{}", at.timestamp())),
            slot: Some(slot),
        },
    )
    .await?;
    if let Some(id) = &id {
        schedule_run::ActiveModel {
            schedule: Set(name.to_owned()),
            slot: Set(at),
            job_id: Set(Some(id.clone())),
            ..Default::default()
        }
        .update(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(id)
}

/// Records that the slot's job started (best effort: the job runs either way).
pub async fn mark_running(db: &DatabaseConnection, slot: &Slot, job_id: &str) {
    let result = schedule_run::Entity::update_many()
        .col_expr(schedule_run::Column::Status, "running".into())
        .col_expr(schedule_run::Column::StartedAt, Utc::now().into())
        .col_expr(schedule_run::Column::JobId, job_id.to_owned().into())
        .filter(schedule_run::Column::Schedule.eq(&slot.schedule))
        .filter(schedule_run::Column::Slot.eq(slot.at))
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(schedule = slot.schedule, error = %err, "could not record a schedule run's start");
    }
}

/// Records how the slot's run ended.
pub async fn mark_finished(
    db: &DatabaseConnection,
    slot: &Slot,
    ok: bool,
    took: Duration,
    detail: &str,
) {
    let detail: String = detail.chars().take(2_000).collect();
    let result = schedule_run::Entity::update_many()
        .col_expr(
            schedule_run::Column::Status,
            if ok { "done" } else { "failed" }.into(),
        )
        .col_expr(schedule_run::Column::FinishedAt, Utc::now().into())
        .col_expr(
            schedule_run::Column::DurationMs,
            i64::try_from(took.as_millis()).unwrap_or(i64::MAX).into(),
        )
        .col_expr(schedule_run::Column::Detail, detail.into())
        .filter(schedule_run::Column::Schedule.eq(&slot.schedule))
        .filter(schedule_run::Column::Slot.eq(slot.at))
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(schedule = slot.schedule, error = %err, "could not record a schedule run's end");
    }
}

/// The latest run of each schedule name.
pub async fn last_runs(
    db: &DatabaseConnection,
    names: &[&str],
) -> AppResult<Vec<schedule_run::Model>> {
    let mut out = Vec::with_capacity(names.len());
    // One small indexed lookup per schedule (eight at most), newest slot first.
    for name in names {
        if let Some(run) = schedule_run::Entity::find()
            .filter(schedule_run::Column::Schedule.eq(*name))
            .order_by_desc(schedule_run::Column::Slot)
            .one(db)
            .await?
        {
            out.push(run);
        }
    }
    Ok(out)
}
