//! Threshold alarms from sensor readings, evaluated for a whole ingest batch at once.
//!
//! Every sensor has two sides, each its own alarm type, so that one open alarm per
//! (equipment, sensor, type) escalates in place: `HIGH` (above `hi` → MAJOR, above `hi_hi` →
//! CRITICAL) and `LOW` (below `lo` → MAJOR, below `lo_lo` → CRITICAL). A side without either
//! of its thresholds is off. Per side, each sensor's samples are taken oldest first:
//! - entering the band with no open alarm raises one (RAISED);
//! - an open alarm *recurs* (UPDATED: `occurrences` + 1, severity = max(old, new)) when the
//!   value enters the band again after leaving it into the deadband, or reaches a worse
//!   level (escalation). Staying in the band only moves `last_ts` and `value`: a 1 Hz sensor
//!   above `hi` for an hour is one occurrence, not 3,600;
//! - leaving the band by more than the deadband (HIGH: value < hi − deadband; LOW: value >
//!   lo + deadband; the outer threshold stands in when the inner one is unset) clears it
//!   automatically (CLEARED, `cleared_by` NULL). Between the threshold and that bound the
//!   value only moves: chatter there neither clears nor opens a new alarm;
//! - a crossing after a clear (automatic or manual) is a new alarm.
//!
//! `value` holds the latest value seen while the alarm is open (so the next batch knows
//! whether it was in the band), `last_ts` the last time it was. Samples not newer than an
//! open alarm's `last_ts` (a buffer replayed out of order) leave that alarm alone.
//!
//! Statements, whatever the batch size (each chunked at a fixed row count, far below the
//! engines' parameter limits): none when no sample's sensor has a threshold; else the open
//! alarms of the batch's sensors, and — only when something changed — the lines of the
//! machines concerned, one `UPDATE … FROM (VALUES …)` for the alarms that were open, one
//! multi-row insert for the new ones, one for their `alarm_events`, one grouped count of the
//! affected workshops.

mod decide;
mod plan;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{alarm, sensor};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryTrait, Set, Statement, Value, sea_query::Query,
};

pub use decide::{Decision, Limits, Open, Side, step};
use plan::{Draft, plan};

use super::alarm_transition as alarms;
use crate::{
    error::{AppError, AppResult},
    events::Event,
};

/// Alarm type of values above `hi` / `hi_hi`.
pub const HIGH: &str = "HIGH";
/// Alarm type of values below `lo` / `lo_lo`.
pub const LOW: &str = "LOW";

/// Rows per statement: an alarm insert binds 20 values a row, so 1,000 rows stay far below
/// SQLite's 32,766 parameters and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;

/// One newly stored reading to evaluate, with its sensor.
pub struct Sample<'a> {
    pub sensor: &'a sensor::Model,
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// Evaluates thresholds for a batch; writes alarm rows and alarm_events rows on `txn`;
/// returns the events to publish after commit (Alarm changes, oldest first, and one
/// AlarmCounts per affected workshop).
pub async fn evaluate(txn: &DatabaseTransaction, samples: &[Sample<'_>]) -> AppResult<Vec<Event>> {
    let watched: Vec<&Sample<'_>> = samples
        .iter()
        .filter(|s| {
            Side::ALL
                .iter()
                .any(|side| Limits::of(s.sensor, *side).is_some())
        })
        .collect();
    if watched.is_empty() {
        return Ok(Vec::new());
    }
    let mut sensor_ids: Vec<i64> = watched.iter().map(|s| s.sensor.id).collect();
    sensor_ids.sort_unstable();
    sensor_ids.dedup();
    let open = open_alarms(txn, &sensor_ids).await?;
    let mut drafts = plan(&watched, open);
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let machines: Vec<i64> = drafts.iter().filter_map(|d| d.alarm.equipment_id).collect();
    let lines = alarms::lines_of(txn, &machines).await?;
    // Clears first: a new alarm of the same key may only exist once the old one is cleared.
    let moved: Vec<&alarm::Model> = drafts
        .iter()
        .filter(|d| !d.is_new)
        .map(|d| &d.alarm)
        .collect();
    for chunk in moved.chunks(ROWS_PER_STATEMENT) {
        txn.execute_raw(update_statement(txn.get_database_backend(), chunk))
            .await?;
    }
    insert_new(txn, &mut drafts).await?;

    let rows: Vec<alarms::NewEvent> = drafts
        .iter()
        .flat_map(|d| {
            d.transitions.iter().map(|t| alarms::NewEvent {
                alarm_id: d.alarm.id,
                ts: t.ts,
                action: t.action,
                user_id: None,
                note: Some(t.note.clone()),
            })
        })
        .collect();
    let mut event_ids = alarms::insert_events(txn, &rows).await?.into_iter();

    let mut changes = Vec::with_capacity(rows.len());
    let mut workshops: Vec<i64> = Vec::new();
    for d in &drafts {
        // Threshold alarms are always on a machine.
        let line_id = d
            .alarm
            .equipment_id
            .map(|machine| alarms::line_in(&lines, machine))
            .transpose()?;
        for t in &d.transitions {
            let event_id = event_ids.next().unwrap_or_default();
            let mut after = d.alarm.clone();
            after.severity = t.severity;
            after.cleared = t.cleared;
            changes.push((
                t.ts,
                alarms::change(
                    &after,
                    line_id,
                    event_id,
                    t.action,
                    t.ts,
                    None,
                    Some(t.note.clone()),
                ),
            ));
            if t.moves_counts {
                workshops.extend(d.alarm.workshop_id);
            }
        }
    }
    changes.sort_by_key(|(ts, _)| *ts);
    let mut events: Vec<Event> = changes.into_iter().map(|(_, e)| e).collect();
    workshops.sort_unstable();
    workshops.dedup();
    events.extend(
        alarms::open_counts(txn, &workshops, Utc::now())
            .await?
            .into_iter()
            .map(Event::AlarmCounts),
    );
    Ok(events)
}

/// The open threshold alarms of `sensor_ids`, by (sensor, side).
async fn open_alarms(
    txn: &DatabaseTransaction,
    sensor_ids: &[i64],
) -> AppResult<HashMap<(i64, Side), alarm::Model>> {
    let mut open = HashMap::new();
    for chunk in sensor_ids.chunks(ROWS_PER_STATEMENT) {
        let rows = alarm::Entity::find()
            .filter(alarm::Column::SensorId.is_in(chunk.iter().copied()))
            .filter(alarm::Column::Type.is_in([HIGH, LOW]))
            .filter(alarm::Column::Cleared.eq(false))
            .all(txn)
            .await?;
        for row in rows {
            if let (Some(sensor_id), Some(side)) = (row.sensor_id, Side::of_type(&row.r#type)) {
                open.insert((sensor_id, side), row);
            }
        }
    }
    Ok(open)
}

/// One `UPDATE … FROM (VALUES …)` writing the moved columns of open alarms.
fn update_statement(backend: DatabaseBackend, rows: &[&alarm::Model]) -> Statement {
    const COLUMNS: [(&str, &str); 10] = [
        ("id", "bigint"),
        ("severity", "smallint"),
        ("message", "text"),
        ("value", "double precision"),
        ("threshold", "double precision"),
        ("details", "jsonb"),
        ("occurrences", "integer"),
        ("last_ts", "timestamptz"),
        ("cleared", "boolean"),
        ("clear_ts", "timestamptz"),
    ];
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * COLUMNS.len());
    let mut tuples = Vec::with_capacity(rows.len());
    for a in rows {
        let row: [Value; 10] = [
            a.id.into(),
            a.severity.into(),
            a.message.clone().into(),
            a.value.into(),
            a.threshold.into(),
            a.details.clone().into(),
            a.occurrences.into(),
            a.last_ts.into(),
            a.cleared.into(),
            a.clear_ts.into(),
        ];
        let mut cells = Vec::with_capacity(COLUMNS.len());
        for (value, (_, pg_type)) in row.into_iter().zip(COLUMNS) {
            values.push(value);
            cells.push(match backend {
                DatabaseBackend::Postgres => format!("CAST(${} AS {pg_type})", values.len()),
                _ => "?".to_owned(),
            });
        }
        tuples.push(format!("({})", cells.join(", ")));
    }
    let names: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    let sets: Vec<String> = names[1..]
        .iter()
        .map(|name| format!("{name} = v.{name}"))
        .collect();
    let sql = format!(
        "WITH v({}) AS (VALUES {}) UPDATE alarms SET {} FROM v WHERE alarms.id = v.id",
        names.join(", "),
        tuples.join(", "),
        sets.join(", ")
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// Inserts the new drafts and gives each its id (matched on sensor, type and start, which
/// are unique among a batch's new alarms).
async fn insert_new(txn: &DatabaseTransaction, drafts: &mut [Draft]) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let mut ids: HashMap<(i64, String, i64), i64> = HashMap::new();
    let new: Vec<&alarm::Model> = drafts
        .iter()
        .filter(|d| d.is_new)
        .map(|d| &d.alarm)
        .collect();
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let models = chunk.iter().map(|a| alarm::ActiveModel {
            workshop_id: Set(a.workshop_id),
            equipment_id: Set(a.equipment_id),
            sensor_id: Set(a.sensor_id),
            r#type: Set(a.r#type.clone()),
            severity: Set(a.severity),
            message: Set(a.message.clone()),
            value: Set(a.value),
            threshold: Set(a.threshold),
            details: Set(a.details.clone()),
            occurrences: Set(a.occurrences),
            start_ts: Set(a.start_ts),
            last_ts: Set(a.last_ts),
            acknowledged: Set(false),
            ack_ts: Set(None),
            ack_by: Set(None),
            cleared: Set(a.cleared),
            clear_ts: Set(a.clear_ts),
            cleared_by: Set(None),
            assignee_id: Set(None),
            shelved_until: Set(None),
            ..Default::default()
        });
        let mut insert = alarm::Entity::insert_many(models);
        let statement = insert
            .query()
            .returning(Query::returning().columns([
                alarm::Column::Id,
                alarm::Column::SensorId,
                alarm::Column::Type,
                alarm::Column::StartTs,
            ]))
            .to_owned();
        for row in txn.query_all_raw(backend.build(&statement)).await? {
            let id: i64 = row.try_get("", "id")?;
            let sensor_id: i64 = row.try_get("", "sensor_id")?;
            let alarm_type: String = row.try_get("", "type")?;
            let start: DateTime<Utc> = row.try_get("", "start_ts")?;
            ids.insert((sensor_id, alarm_type, start.timestamp_micros()), id);
        }
    }
    for d in drafts.iter_mut().filter(|d| d.is_new) {
        let key = (
            d.alarm.sensor_id.unwrap_or_default(),
            d.alarm.r#type.clone(),
            d.alarm.start_ts.timestamp_micros(),
        );
        d.alarm.id = *ids.get(&key).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("no id came back for a new alarm {key:?}"))
        })?;
    }
    Ok(())
}
