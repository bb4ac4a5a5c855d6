//! What every alarm transition writes besides the alarm row — its `alarm_events` row — and
//! what it publishes after the commit: its `Event::Alarm`, and the open counts of the
//! workshop when they moved. Shared by the mutations (`alarm_lifecycle`) and the threshold
//! evaluation (`alarm_rules`), each a fixed number of statements however many alarms.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{alarm, alarm_event, equipment};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Query},
};

use super::alarm::unshelved_at;
use crate::{
    error::{AppError, AppResult},
    events::{AlarmAction, AlarmChange, AlarmCounts, Event, Place},
};

/// Rows per multi-row statement: 5 values an event row, far below every engine's limit.
const EVENTS_PER_STATEMENT: usize = 1_000;

/// The present to the microsecond, as PostgreSQL keeps it, so written times read back equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// One `alarm_events` row to write.
#[derive(Clone, Debug)]
pub(crate) struct NewEvent {
    pub alarm_id: i64,
    pub ts: DateTime<Utc>,
    pub action: AlarmAction,
    pub user_id: Option<i64>,
    pub note: Option<String>,
}

/// Writes `rows` in multi-row inserts and returns their ids in the order of `rows` (matched
/// on alarm and time, which callers keep unique per call).
pub(crate) async fn insert_events(
    conn: &impl ConnectionTrait,
    rows: &[NewEvent],
) -> AppResult<Vec<i64>> {
    let backend = conn.get_database_backend();
    let mut ids: HashMap<(i64, i64), i64> = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(EVENTS_PER_STATEMENT) {
        let mut insert =
            alarm_event::Entity::insert_many(chunk.iter().map(|r| alarm_event::ActiveModel {
                alarm_id: Set(r.alarm_id),
                ts: Set(r.ts),
                action: Set(r.action.as_str().to_owned()),
                user_id: Set(r.user_id),
                note: Set(r.note.clone()),
                ..Default::default()
            }));
        let statement = insert
            .query()
            .returning(Query::returning().columns([
                alarm_event::Column::Id,
                alarm_event::Column::AlarmId,
                alarm_event::Column::Ts,
            ]))
            .to_owned();
        for row in conn.query_all_raw(backend.build(&statement)).await? {
            let id: i64 = row.try_get("", "id")?;
            let alarm_id: i64 = row.try_get("", "alarm_id")?;
            let ts: DateTime<Utc> = row.try_get("", "ts")?;
            ids.insert((alarm_id, ts.timestamp_micros()), id);
        }
    }
    rows.iter()
        .map(|r| {
            ids.get(&(r.alarm_id, r.ts.timestamp_micros()))
                .copied()
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!(
                        "no id came back for the event of alarm {}",
                        r.alarm_id
                    ))
                })
        })
        .collect()
}

/// The bus event of a transition, with the alarm's state after it. `shelved_until` is set
/// only while the shelving lasts, so subscribers skip exactly the events that have it.
/// `line_id` is the line of the alarm's machine; a `SYSTEM` alarm (no machine) has no place.
pub(crate) fn change(
    alarm: &alarm::Model,
    line_id: Option<i64>,
    alarm_event_id: i64,
    action: AlarmAction,
    ts: DateTime<Utc>,
    user_id: Option<i64>,
    note: Option<String>,
) -> Event {
    Event::Alarm(AlarmChange {
        place: match (alarm.workshop_id, line_id, alarm.equipment_id) {
            (Some(workshop_id), Some(line_id), Some(equipment_id)) => Some(Place {
                workshop_id,
                line_id,
                equipment_id,
            }),
            _ => None,
        },
        alarm_id: alarm.id,
        alarm_event_id,
        sensor_id: alarm.sensor_id,
        action,
        alarm_type: alarm.r#type.clone(),
        severity: alarm.severity,
        acknowledged: alarm.acknowledged,
        cleared: alarm.cleared,
        shelved_until: alarm.shelved_until.filter(|until| *until > ts),
        ts,
        user_id,
        note,
    })
}

/// The line of each machine, in one statement per chunk.
pub(crate) async fn lines_of(
    conn: &impl ConnectionTrait,
    equipment_ids: &[i64],
) -> AppResult<HashMap<i64, i64>> {
    let mut ids = equipment_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut lines = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(EVENTS_PER_STATEMENT) {
        let rows: Vec<(i64, i64)> = equipment::Entity::find()
            .select_only()
            .column(equipment::Column::Id)
            .column(equipment::Column::LineId)
            .filter(equipment::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        lines.extend(rows);
    }
    Ok(lines)
}

/// The line of one machine.
pub(crate) fn line_in(lines: &HashMap<i64, i64>, equipment_id: i64) -> AppResult<i64> {
    lines
        .get(&equipment_id)
        .copied()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("equipment {equipment_id} has no line")))
}

/// The active (uncleared, unshelved) alarm counts of each workshop, by severity, in one
/// grouped statement; a workshop without any gets zeros.
pub(crate) async fn open_counts(
    conn: &impl ConnectionTrait,
    workshop_ids: &[i64],
    now: DateTime<Utc>,
) -> AppResult<Vec<AlarmCounts>> {
    if workshop_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, i16, bool, i64)> = alarm::Entity::find()
        .select_only()
        .column(alarm::Column::WorkshopId)
        .column(alarm::Column::Severity)
        .column(alarm::Column::Acknowledged)
        .column_as(Expr::col(alarm::Column::Id).count(), "n")
        .filter(alarm::Column::WorkshopId.is_in(workshop_ids.iter().copied()))
        .filter(alarm::Column::Cleared.eq(false))
        .filter(unshelved_at(now))
        .group_by(alarm::Column::WorkshopId)
        .group_by(alarm::Column::Severity)
        .group_by(alarm::Column::Acknowledged)
        .into_tuple()
        .all(conn)
        .await?;
    let mut counts: Vec<AlarmCounts> = workshop_ids
        .iter()
        .map(|&workshop_id| AlarmCounts {
            workshop_id,
            open_by_severity: [0; 5],
            unacknowledged: 0,
        })
        .collect();
    for (workshop_id, rank, acknowledged, n) in rows {
        if let Some(c) = counts.iter_mut().find(|c| c.workshop_id == workshop_id) {
            let slot = usize::try_from(rank.clamp(1, 5) - 1).unwrap_or_default();
            c.open_by_severity[slot] += n;
            if !acknowledged {
                c.unacknowledged += n;
            }
        }
    }
    Ok(counts)
}
