//! `SYSTEM` alarms: the server's own health. When an alert rule of `telemetry::alerts` fires
//! on an instance, an alarm of type `SYSTEM` opens (or recurs), and when the rule clears, it
//! clears by itself — through the alarm lifecycle: the alarm row, its `alarm_events` row and
//! `Event::Alarm` after the commit, so it appears in `alarms`, `alarmChanged` and the
//! dashboard, and an admin can acknowledge, comment, assign and shelve it like any other.
//!
//! A `SYSTEM` alarm belongs to no machine and no workshop: only admins see it (as only admins
//! see the metrics it comes from). Its `source` is `rule@instance`, one open alarm per source.
//! An instance that stops (a restart gets a new instance id) cannot clear its own alarms, so
//! every instance clears the open ones of instances it has not heard from for a while.

use chrono::{DateTime, Utc};
use entity::alarm;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::alarm_transition::{NewEvent, change, insert_events, now};
use crate::{
    error::{AppError, AppResult, DbResultExt},
    events::{AlarmAction, Event, EventBus},
};

/// The `type` of every system alarm.
pub const SYSTEM: &str = "SYSTEM";

/// The `source` of the alarm of `rule` on `instance`.
pub fn source(rule: &str, instance: &str) -> String {
    format!("{rule}@{instance}")
}

/// The instance part of a `source` (rule names have no `@`).
fn instance_of(source: &str) -> Option<&str> {
    source.split_once('@').map(|(_, instance)| instance)
}

/// A rule that fired, as its alarm records it.
#[derive(Clone, Debug)]
pub struct Firing {
    pub rule: String,
    pub instance: String,
    /// 1 (indeterminate) to 5 (critical).
    pub severity: i16,
    pub message: String,
    pub value: f64,
    pub threshold: f64,
    /// The rule and the reading, for the alarm's `details`.
    pub details: serde_json::Value,
}

/// Opens the alarm of a firing rule, or — while one of its source is open — records one more
/// occurrence (severity the higher of both, message and value refreshed).
pub async fn raise(
    db: &DatabaseConnection,
    events: &EventBus,
    firing: &Firing,
) -> AppResult<alarm::Model> {
    let source = source(&firing.rule, &firing.instance);
    let message = truncated(&firing.message, 500);
    let value = firing.value.is_finite().then_some(firing.value);
    let txn = super::begin_write(db).await?;
    let open = open_of(&txn, &source).await?;
    let ts = now();
    let (model, action) = match open {
        Some(current) => {
            let mut active: alarm::ActiveModel = current.clone().into();
            active.occurrences = Set(current.occurrences.saturating_add(1));
            active.last_ts = Set(ts);
            active.severity = Set(Ord::max(current.severity, firing.severity));
            active.message = Set(message.clone());
            active.value = Set(value);
            active.details = Set(Some(firing.details.clone()));
            (active.update(&txn).await?, AlarmAction::Updated)
        }
        None => {
            let active = alarm::ActiveModel {
                workshop_id: Set(None),
                equipment_id: Set(None),
                sensor_id: Set(None),
                r#type: Set(SYSTEM.to_owned()),
                severity: Set(firing.severity.clamp(1, 5)),
                message: Set(message.clone()),
                value: Set(value),
                threshold: Set(Some(firing.threshold)),
                details: Set(Some(firing.details.clone())),
                occurrences: Set(1),
                start_ts: Set(ts),
                last_ts: Set(ts),
                acknowledged: Set(false),
                ack_ts: Set(None),
                ack_by: Set(None),
                cleared: Set(false),
                clear_ts: Set(None),
                cleared_by: Set(None),
                assignee_id: Set(None),
                shelved_until: Set(None),
                source: Set(Some(source)),
                ..Default::default()
            };
            let model = active
                .insert(&txn)
                .await
                .on_constraint("this rule's alarm was raised at the same moment")?;
            (model, AlarmAction::Raised)
        }
    };
    let event = transition(&txn, &model, action, ts, message).await?;
    txn.commit().await?;
    events.publish(event);
    Ok(model)
}

/// Clears the open alarm of `rule` on `instance` (nothing when none is open).
pub async fn clear(
    db: &DatabaseConnection,
    events: &EventBus,
    rule: &str,
    instance: &str,
    note: &str,
) -> AppResult<Option<alarm::Model>> {
    let txn = super::begin_write(db).await?;
    let Some(current) = open_of(&txn, &source(rule, instance)).await? else {
        return Ok(None);
    };
    let ts = now();
    let model = cleared(&txn, current, ts).await?;
    let event = transition(
        &txn,
        &model,
        AlarmAction::Cleared,
        ts,
        truncated(note, 2_000),
    )
    .await?;
    txn.commit().await?;
    events.publish(event);
    Ok(Some(model))
}

/// Clears the open system alarms, raised before `raised_before`, of instances not in `live`
/// (stopped or restarted ones, which cannot clear their own). Returns how many it cleared.
pub async fn clear_orphans(
    db: &DatabaseConnection,
    events: &EventBus,
    live: &[&str],
    raised_before: DateTime<Utc>,
) -> AppResult<usize> {
    let open: Vec<alarm::Model> = alarm::Entity::find()
        .filter(alarm::Column::Type.eq(SYSTEM))
        .filter(alarm::Column::Cleared.eq(false))
        .filter(alarm::Column::Source.is_not_null())
        .filter(alarm::Column::StartTs.lt(raised_before))
        .limit(1_000)
        .all(db)
        .await?;
    let orphans: Vec<i64> = open
        .iter()
        .filter(|a| {
            a.source
                .as_deref()
                .and_then(instance_of)
                .is_none_or(|instance| !live.contains(&instance))
        })
        .map(|a| a.id)
        .collect();
    if orphans.is_empty() {
        return Ok(0);
    }
    let txn = super::begin_write(db).await?;
    let mut published = Vec::with_capacity(orphans.len());
    for id in orphans {
        // Locked and re-read: its instance may have cleared it meanwhile.
        let Some(current) = alarm::Entity::find_by_id(id)
            .filter(alarm::Column::Cleared.eq(false))
            .lock_exclusive()
            .one(&txn)
            .await?
        else {
            continue;
        };
        let ts = now();
        let model = cleared(&txn, current, ts).await?;
        let note = "cleared: the instance that raised it no longer reports".to_owned();
        published.push(transition(&txn, &model, AlarmAction::Cleared, ts, note).await?);
    }
    txn.commit().await?;
    let n = published.len();
    for event in published {
        events.publish(event);
    }
    Ok(n)
}

/// The open alarm of `source`, locked until the transaction ends.
async fn open_of(
    txn: &sea_orm::DatabaseTransaction,
    source: &str,
) -> AppResult<Option<alarm::Model>> {
    Ok(alarm::Entity::find()
        .filter(alarm::Column::Source.eq(source))
        .filter(alarm::Column::Type.eq(SYSTEM))
        .filter(alarm::Column::Cleared.eq(false))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// `current` cleared by the server (no user) at `ts`.
async fn cleared(
    txn: &sea_orm::DatabaseTransaction,
    current: alarm::Model,
    ts: DateTime<Utc>,
) -> AppResult<alarm::Model> {
    let mut active: alarm::ActiveModel = current.into();
    active.cleared = Set(true);
    active.clear_ts = Set(Some(ts));
    active.cleared_by = Set(None);
    Ok(active.update(txn).await?)
}

/// The `alarm_events` row of a transition and its bus event (published after the commit).
async fn transition(
    txn: &sea_orm::DatabaseTransaction,
    model: &alarm::Model,
    action: AlarmAction,
    ts: DateTime<Utc>,
    note: String,
) -> AppResult<Event> {
    let row = NewEvent {
        alarm_id: model.id,
        ts,
        action,
        user_id: None,
        note: Some(note.clone()),
    };
    let id = insert_events(txn, &[row])
        .await?
        .first()
        .copied()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no alarm event row came back")))?;
    Ok(change(model, None, id, action, ts, None, Some(note)))
}

/// `text` cut to `max` characters.
fn truncated(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_names_its_rule_and_instance() {
        let s = source("latency_p95_high", "plc-host-42");
        assert_eq!(s, "latency_p95_high@plc-host-42");
        assert_eq!(instance_of(&s), Some("plc-host-42"));
        assert_eq!(instance_of("no-instance"), None);
    }
}
