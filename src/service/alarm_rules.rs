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

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use entity::{alarm, sensor};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryTrait, Set, Statement, Value, sea_query::Query,
};

use super::alarm::{self as alarms, severity};
use crate::{
    error::{AppError, AppResult},
    events::{AlarmAction, Event},
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

/// Which thresholds an alarm watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    High,
    Low,
}

impl Side {
    /// Both sides.
    pub const ALL: [Side; 2] = [Side::High, Side::Low];

    /// The alarm type of this side.
    pub fn alarm_type(self) -> &'static str {
        match self {
            Self::High => HIGH,
            Self::Low => LOW,
        }
    }

    fn of_type(alarm_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.alarm_type() == alarm_type)
    }

    /// A value as the rules see it: LOW is HIGH on negated values (and back).
    fn orient(self, v: f64) -> f64 {
        match self {
            Self::High => v,
            Self::Low => -v,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
        }
    }

    fn beyond(self) -> &'static str {
        match self {
            Self::High => ">",
            Self::Low => "<",
        }
    }

    fn inside(self) -> &'static str {
        match self {
            Self::High => "below",
            Self::Low => "above",
        }
    }
}

/// One side's thresholds, oriented so that the band lies above them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub side: Side,
    /// Beyond this: MAJOR (`hi`, or `lo` negated).
    pub major: Option<f64>,
    /// Beyond this: CRITICAL (`hi_hi`, or `lo_lo` negated).
    pub critical: Option<f64>,
    /// How far back inside a value must come to clear (≥ 0).
    pub deadband: f64,
}

impl Limits {
    /// The limits of one side of a sensor; `None` when that side has no threshold.
    pub fn of(sensor: &sensor::Model, side: Side) -> Option<Self> {
        let (major, critical) = match side {
            Side::High => (sensor.hi, sensor.hi_hi),
            Side::Low => (sensor.lo, sensor.lo_lo),
        };
        let oriented = |t: Option<f64>| t.filter(|v| v.is_finite()).map(|v| side.orient(v));
        let (major, critical) = (oriented(major), oriented(critical));
        if major.is_none() && critical.is_none() {
            return None;
        }
        let deadband = sensor
            .deadband
            .filter(|d| d.is_finite() && *d > 0.0)
            .unwrap_or(0.0);
        Some(Self {
            side,
            major,
            critical,
            deadband,
        })
    }

    /// The severity of an oriented value in the band, `None` outside it.
    fn level(&self, v: f64) -> Option<i16> {
        if self.critical.is_some_and(|t| v > t) {
            Some(severity::CRITICAL)
        } else if self.major.is_some_and(|t| v > t) {
            Some(severity::MAJOR)
        } else {
            None
        }
    }

    /// The inner threshold (oriented): the band's edge.
    fn edge(&self) -> f64 {
        self.major.or(self.critical).unwrap_or(f64::INFINITY)
    }

    /// Below this oriented value an open alarm clears.
    fn clear_below(&self) -> f64 {
        self.edge() - self.deadband
    }

    /// The threshold a level crossed, in the sensor's own terms.
    fn threshold(&self, level: i16) -> Option<f64> {
        let t = if level >= severity::CRITICAL {
            self.critical
        } else {
            self.major
        };
        t.or(self.major.or(self.critical))
            .map(|t| self.side.orient(t))
    }
}

/// What the evaluation knows of an open alarm of one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Open {
    pub severity: i16,
    /// Whether the latest value was in the band (not in the deadband).
    pub in_band: bool,
}

/// What one sample does to one side of its sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Outside the band, nothing open: nothing to do.
    Normal,
    /// Into the band, nothing open: a new alarm of this severity.
    Raise(i16),
    /// Back into the band or to a worse level: an occurrence; the severity after it.
    Recur(i16),
    /// Still in the band: `last_ts` and `value` move.
    Hold,
    /// Out of the band but within the deadband: only `value` moves.
    Linger,
    /// Back inside by more than the deadband: the alarm clears.
    Clear,
}

/// The decision for one value given the side's open alarm, and the open alarm after it.
pub fn step(limits: &Limits, open: Option<Open>, value: f64) -> (Decision, Option<Open>) {
    let v = limits.side.orient(value);
    match (open, limits.level(v)) {
        (None, None) => (Decision::Normal, None),
        (None, Some(level)) => (
            Decision::Raise(level),
            Some(Open {
                severity: level,
                in_band: true,
            }),
        ),
        (Some(open), Some(level)) => {
            let severity = open.severity.max(level);
            let decision = if severity > open.severity || !open.in_band {
                Decision::Recur(severity)
            } else {
                Decision::Hold
            };
            (
                decision,
                Some(Open {
                    severity,
                    in_band: true,
                }),
            )
        }
        (Some(_), None) if v < limits.clear_below() => (Decision::Clear, None),
        (Some(open), None) => (
            Decision::Linger,
            Some(Open {
                in_band: false,
                ..open
            }),
        ),
    }
}

/// One transition of a draft: an `alarm_events` row and a bus event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Transition {
    pub action: AlarmAction,
    pub ts: DateTime<Utc>,
    /// The alarm's severity and cleared flag right after it.
    pub severity: i16,
    pub cleared: bool,
    pub note: String,
    /// Whether the workshop's open counts moved (raise, clear, new severity).
    pub moves_counts: bool,
}

/// An alarm as the batch leaves it, and the transitions that got it there.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    /// `id` is 0 while the alarm is new.
    pub alarm: alarm::Model,
    pub is_new: bool,
    /// Whether the row must be written (a new or moved alarm).
    pub changed: bool,
    pub transitions: Vec<Transition>,
}

impl Draft {
    fn existing(alarm: alarm::Model) -> Self {
        Self {
            alarm,
            is_new: false,
            changed: false,
            transitions: Vec::new(),
        }
    }

    fn state(&self, limits: &Limits) -> Open {
        Open {
            severity: self.alarm.severity,
            in_band: self
                .alarm
                .value
                .is_none_or(|v| limits.level(limits.side.orient(v)).is_some()),
        }
    }

    fn raise(
        sensor: &sensor::Model,
        limits: &Limits,
        level: i16,
        sample: (DateTime<Utc>, f64),
    ) -> Self {
        let (ts, value) = sample;
        let mut draft = Self {
            alarm: alarm::Model {
                id: 0,
                workshop_id: sensor.workshop_id,
                equipment_id: sensor.equipment_id,
                sensor_id: Some(sensor.id),
                r#type: limits.side.alarm_type().to_owned(),
                severity: level,
                message: String::new(),
                value: Some(value),
                threshold: None,
                details: None,
                occurrences: 1,
                start_ts: ts,
                last_ts: ts,
                acknowledged: false,
                ack_ts: None,
                ack_by: None,
                cleared: false,
                clear_ts: None,
                cleared_by: None,
                assignee_id: None,
                shelved_until: None,
            },
            is_new: true,
            changed: true,
            transitions: Vec::new(),
        };
        draft.describe(sensor, limits, level, value);
        draft.push(AlarmAction::Raised, ts, true);
        draft
    }

    /// Message, threshold and details of an occurrence at `level`.
    fn describe(&mut self, sensor: &sensor::Model, limits: &Limits, level: i16, value: f64) {
        let threshold = limits.threshold(level);
        let side = limits.side;
        self.alarm.threshold = threshold;
        self.alarm.message = match threshold {
            Some(t) => format!(
                "{} {}: {value} {} {t}",
                sensor.tag,
                side.word(),
                side.beyond()
            ),
            None => format!("{} {}: {value}", sensor.tag, side.word()),
        }
        .chars()
        .take(500)
        .collect();
        self.alarm.details = Some(serde_json::json!({
            "source": "threshold",
            "tag": sensor.tag,
            "unit": sensor.unit,
            "limits": {
                "loLo": sensor.lo_lo, "lo": sensor.lo, "hi": sensor.hi, "hiHi": sensor.hi_hi,
                "deadband": limits.deadband,
            },
        }));
    }

    fn push(&mut self, action: AlarmAction, ts: DateTime<Utc>, moves_counts: bool) {
        let note = match action {
            AlarmAction::Cleared => self.alarm.value.map_or_else(String::new, |v| v.to_string()),
            _ => self.alarm.message.clone(),
        };
        self.transitions.push(Transition {
            action,
            ts,
            severity: self.alarm.severity,
            cleared: self.alarm.cleared,
            note,
            moves_counts,
        });
    }

    /// Applies one decision; returns whether the alarm is still open.
    fn apply(
        &mut self,
        sensor: &sensor::Model,
        limits: &Limits,
        decision: Decision,
        (ts, value): (DateTime<Utc>, f64),
    ) -> bool {
        self.alarm.value = Some(value);
        self.changed = true;
        match decision {
            Decision::Recur(level) => {
                let escalated = level > self.alarm.severity;
                self.alarm.severity = level;
                self.alarm.occurrences = self.alarm.occurrences.saturating_add(1);
                self.alarm.last_ts = ts;
                self.describe(sensor, limits, level, value);
                self.push(AlarmAction::Updated, ts, escalated);
            }
            Decision::Hold => self.alarm.last_ts = ts,
            Decision::Clear => {
                self.alarm.cleared = true;
                self.alarm.clear_ts = Some(ts);
                self.alarm.cleared_by = None;
                self.push(AlarmAction::Cleared, ts, true);
                if let Some(t) = self.transitions.last_mut() {
                    let bound = limits.side.orient(limits.clear_below());
                    t.note = format!(
                        "{} back to {value}, {} {bound}",
                        sensor.tag,
                        limits.side.inside()
                    );
                }
                return false;
            }
            Decision::Linger | Decision::Normal | Decision::Raise(_) => {}
        }
        true
    }
}

/// Decides a batch: the drafts of every alarm it raised or moved, given the open threshold
/// alarms of its sensors by (sensor, side). Pure, so it is tested without a database.
pub(crate) fn plan(
    samples: &[&Sample<'_>],
    mut open: HashMap<(i64, Side), alarm::Model>,
) -> Vec<Draft> {
    let mut by_sensor: BTreeMap<i64, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    let mut sensors: HashMap<i64, &sensor::Model> = HashMap::new();
    for s in samples {
        if !s.value.is_finite() {
            continue;
        }
        sensors.insert(s.sensor.id, s.sensor);
        by_sensor
            .entry(s.sensor.id)
            .or_default()
            .push((s.ts.trunc_subsecs(6), s.value));
    }
    let mut drafts = Vec::new();
    for (sensor_id, mut values) in by_sensor {
        let Some(sensor) = sensors.get(&sensor_id).copied() else {
            continue;
        };
        // Oldest first; one value per instant (the store keeps the first of a repeated key).
        values.sort_by_key(|(ts, _)| *ts);
        values.dedup_by_key(|(ts, _)| *ts);
        for side in Side::ALL {
            let Some(limits) = Limits::of(sensor, side) else {
                continue;
            };
            let mut current = open.remove(&(sensor_id, side)).map(Draft::existing);
            for &(ts, value) in &values {
                if current.as_ref().is_some_and(|d| ts <= d.alarm.last_ts) {
                    continue;
                }
                let state = current.as_ref().map(|d| d.state(&limits));
                match (step(&limits, state, value).0, current.as_mut()) {
                    (Decision::Normal, _) => {}
                    (Decision::Raise(level), _) => {
                        current = Some(Draft::raise(sensor, &limits, level, (ts, value)));
                    }
                    (decision, Some(draft)) => {
                        if !draft.apply(sensor, &limits, decision, (ts, value)) {
                            drafts.extend(current.take());
                        }
                    }
                    (_, None) => {}
                }
            }
            drafts.extend(current.filter(|d| d.changed));
        }
    }
    drafts
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
    let machines: Vec<i64> = drafts.iter().map(|d| d.alarm.equipment_id).collect();
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
        let line_id = lines.get(&d.alarm.equipment_id).copied().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "equipment {} of alarm {} has no line",
                d.alarm.equipment_id,
                d.alarm.id
            ))
        })?;
        for t in &d.transitions {
            let event_id = event_ids.next().unwrap_or_default();
            let mut after = d.alarm.clone();
            after.severity = t.severity;
            after.cleared = t.cleared;
            changes.push((
                t.ts,
                alarms::change(&after, line_id, event_id, t.action, t.ts, None),
            ));
            if t.moves_counts {
                workshops.push(d.alarm.workshop_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sensor(
        lo_lo: Option<f64>,
        lo: Option<f64>,
        hi: Option<f64>,
        hi_hi: Option<f64>,
        deadband: Option<f64>,
    ) -> sensor::Model {
        sensor::Model {
            id: 7,
            equipment_id: 3,
            workshop_id: 1,
            tag: "T7".into(),
            name: "t".into(),
            metric: entity::enums::SensorMetric::Temperature,
            unit: "degC".into(),
            sample_interval_ms: 1000,
            lo_lo,
            lo,
            hi,
            hi_hi,
            deadband,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// The decisions of a sequence of values on one side, from nothing open.
    fn decisions(limits: &Limits, values: &[f64]) -> Vec<Decision> {
        let mut open = None;
        values
            .iter()
            .map(|v| {
                let (d, next) = step(limits, open, *v);
                open = next;
                d
            })
            .collect()
    }

    use Decision::*;
    const MAJOR: i16 = severity::MAJOR;
    const CRITICAL: i16 = severity::CRITICAL;

    #[test]
    fn high_raises_holds_escalates_and_clears_past_the_deadband_only() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(
                &high,
                &[80.0, 93.1, 95.0, 101.0, 95.0, 89.0, 91.0, 88.5, 87.9, 91.0]
            ),
            vec![
                Normal,
                Raise(MAJOR),
                Hold,
                Recur(CRITICAL),
                Hold, // back to the MAJOR band: severity stays at its maximum
                Linger,
                Recur(CRITICAL), // re-entry from the deadband is an occurrence
                Linger,
                Clear,        // 87.9 < 90 − 2
                Raise(MAJOR), // a crossing after a clear is a new alarm
            ]
        );
    }

    #[test]
    fn chatter_inside_the_deadband_neither_clears_nor_raises() {
        let s = sensor(None, None, Some(90.0), None, Some(1.0));
        let high = Limits::of(&s, Side::High).expect("high side");
        let values = [91.0, 89.5, 89.2, 89.9, 89.01, 90.0];
        let got = decisions(&high, &values);
        assert_eq!(got[0], Raise(MAJOR));
        assert!(got[1..].iter().all(|d| *d == Linger), "{got:?}");
    }

    #[test]
    fn low_mirrors_high() {
        let s = sensor(Some(0.0), Some(10.0), None, None, Some(0.5));
        assert!(
            Limits::of(&s, Side::High).is_none(),
            "no hi, no hi_hi: the side is off"
        );
        let low = Limits::of(&s, Side::Low).expect("low side");
        assert_eq!(
            decisions(&low, &[12.0, 9.0, -1.0, 10.2, 10.6, 9.9]),
            vec![
                Normal,
                Raise(MAJOR),
                Recur(CRITICAL),
                Linger,
                Clear,
                Raise(MAJOR)
            ]
        );
        assert_eq!(low.threshold(MAJOR), Some(10.0));
        assert_eq!(low.threshold(CRITICAL), Some(0.0));
    }

    #[test]
    fn only_an_outer_threshold_raises_critical_and_clears_against_it() {
        let s = sensor(None, None, None, Some(100.0), None);
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(&high, &[95.0, 100.0, 100.5, 100.0, 99.9]),
            vec![Normal, Normal, Raise(CRITICAL), Linger, Clear]
        );
    }

    #[test]
    fn the_threshold_itself_is_inside_and_without_deadband_only_it_lingers() {
        let s = sensor(None, None, Some(90.0), None, None);
        let high = Limits::of(&s, Side::High).expect("high side");
        assert_eq!(
            decisions(&high, &[90.0, 90.1, 90.0, 89.99]),
            vec![Normal, Raise(MAJOR), Linger, Clear]
        );
    }

    fn samples<'a>(s: &'a sensor::Model, values: &[(i64, f64)]) -> Vec<Sample<'a>> {
        let t0 = Utc::now().trunc_subsecs(0);
        values
            .iter()
            .map(|(sec, v)| Sample {
                sensor: s,
                ts: t0 + chrono::Duration::seconds(*sec),
                value: *v,
            })
            .collect()
    }

    fn actions(d: &Draft) -> Vec<AlarmAction> {
        d.transitions.iter().map(|t| t.action).collect()
    }

    #[test]
    fn a_batch_takes_samples_in_time_order_and_may_close_and_open_alarms() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        // Out of order on purpose: by time it is 95, 101, 80, 93.
        let batch = samples(
            &s,
            &[(3, 80.0), (1, 101.0), (0, 95.0), (4, 93.0), (4, 50.0)],
        );
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        let drafts = plan(&refs, HashMap::new());
        assert_eq!(drafts.len(), 2, "{drafts:?}");
        let (first, second) = (&drafts[0], &drafts[1]);
        assert_eq!(
            actions(first),
            vec![
                AlarmAction::Raised,
                AlarmAction::Updated,
                AlarmAction::Cleared
            ]
        );
        assert!(first.alarm.cleared && first.is_new);
        assert_eq!(first.alarm.severity, CRITICAL);
        assert_eq!(first.alarm.occurrences, 2);
        assert_eq!(first.alarm.threshold, Some(100.0));
        assert_eq!(first.alarm.message, "T7 high: 101 > 100");
        assert_eq!(first.alarm.clear_ts, Some(batch[0].ts));
        assert_eq!(actions(second), vec![AlarmAction::Raised]);
        assert!(!second.alarm.cleared);
        assert_eq!(
            second.alarm.value,
            Some(93.0),
            "the first value of an instant counts"
        );
        assert_eq!(second.alarm.message, "T7 high: 93 > 90");
    }

    #[test]
    fn an_open_alarm_moves_in_place_and_stale_samples_leave_it_alone() {
        let s = sensor(None, None, Some(90.0), Some(100.0), Some(2.0));
        let batch = samples(&s, &[(-10, 50.0), (1, 95.0), (2, 89.0), (3, 96.0)]);
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        let mut open = Draft::raise(
            &s,
            &Limits::of(&s, Side::High).expect("high"),
            MAJOR,
            (batch[0].ts + chrono::Duration::seconds(5), 93.0),
        )
        .alarm;
        open.id = 41;
        open.acknowledged = true;
        let drafts = plan(&refs, HashMap::from([((s.id, Side::High), open)]));
        assert_eq!(drafts.len(), 1);
        let d = &drafts[0];
        assert!(!d.is_new && d.alarm.id == 41 && !d.alarm.cleared);
        assert_eq!(
            actions(d),
            vec![AlarmAction::Updated],
            "hold, linger, re-entry"
        );
        assert_eq!(d.alarm.occurrences, 2);
        assert_eq!(d.alarm.last_ts, batch[3].ts);
        assert_eq!(d.alarm.value, Some(96.0));
        assert!(d.alarm.acknowledged, "re-entry keeps the acknowledgement");
        assert!(
            !d.transitions[0].moves_counts,
            "no new severity: counts unchanged"
        );
    }

    #[test]
    fn samples_that_change_nothing_leave_no_draft() {
        let s = sensor(None, Some(10.0), Some(90.0), None, None);
        let batch = samples(&s, &[(0, 50.0), (1, f64::NAN), (2, 60.0)]);
        let refs: Vec<&Sample<'_>> = batch.iter().collect();
        assert!(plan(&refs, HashMap::new()).is_empty());
    }
}
