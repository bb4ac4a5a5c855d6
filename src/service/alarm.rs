//! Alarms: lists with filters and counts, timelines, and the lifecycle mutations (raise,
//! acknowledge, clear, assign, comment, shelve). Threshold alarms from readings are decided
//! in `alarm_rules` and written with the helpers here (`alarm_events` rows, bus events, open
//! counts).
//!
//! Every mutation runs in one transaction with its `alarm_events` row and its audit row,
//! and publishes `Event::Alarm` (and `Event::AlarmCounts` when the workshop's open counts
//! move) after the commit. Acknowledge, clear, assign and unshelve are idempotent: a call
//! that changes nothing writes no event row and publishes nothing (its audit row is still
//! written: the call happened).

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{alarm, alarm_event, enums::Role, equipment, sensor, user, user_workshop};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{
    audit::Audit,
    group_by_key,
    page::{self, Ordering, Page, PageRequest, SortValue},
    validate,
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult, DbResultExt},
    events::{AlarmAction, AlarmChange, AlarmCounts, Event, EventBus, Place},
};

/// Severity ranks stored in `alarms.severity`.
pub mod severity {
    pub const INDETERMINATE: i16 = 1;
    pub const WARNING: i16 = 2;
    pub const MINOR: i16 = 3;
    pub const MAJOR: i16 = 4;
    pub const CRITICAL: i16 = 5;
}

/// Status derived from the two flags `cleared` and `acknowledged`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmStatus {
    ActiveUnack,
    ActiveAck,
    ClearedUnack,
    ClearedAck,
}

impl AlarmStatus {
    /// The status of a row.
    pub fn of(cleared: bool, acknowledged: bool) -> Self {
        match (cleared, acknowledged) {
            (false, false) => Self::ActiveUnack,
            (false, true) => Self::ActiveAck,
            (true, false) => Self::ClearedUnack,
            (true, true) => Self::ClearedAck,
        }
    }

    fn condition(self) -> Condition {
        let (cleared, acknowledged) = match self {
            Self::ActiveUnack => (false, false),
            Self::ActiveAck => (false, true),
            Self::ClearedUnack => (true, false),
            Self::ClearedAck => (true, true),
        };
        Condition::all()
            .add(alarm::Column::Cleared.eq(cleared))
            .add(alarm::Column::Acknowledged.eq(acknowledged))
    }
}

/// Filters of the `alarms` list.
#[derive(Clone, Debug, Default)]
pub struct AlarmFilter {
    pub workshop_id: Option<i64>,
    pub line_id: Option<i64>,
    pub equipment_id: Option<i64>,
    pub sensor_id: Option<i64>,
    pub min_severity: Option<i16>,
    pub status: Option<Vec<AlarmStatus>>,
    /// `true`: not cleared; `false`: cleared.
    pub open: Option<bool>,
    pub alarm_type: Option<String>,
    /// Alarms started at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Alarms started before this time.
    pub to: Option<DateTime<Utc>>,
    pub assignee_id: Option<i64>,
}

/// Orderings of the `alarms` list.
pub const NEWEST_FIRST: Ordering<alarm::Entity> = Ordering {
    key: "start_desc",
    column: alarm::Column::StartTs,
    descending: true,
    value: |m| SortValue::Time(m.start_ts),
    id_column: alarm::Column::Id,
    id: |m| m.id,
};
pub const MOST_SEVERE_FIRST: Ordering<alarm::Entity> = Ordering {
    key: "severity_desc",
    column: alarm::Column::Severity,
    descending: true,
    value: |m| SortValue::Int(i64::from(m.severity)),
    id_column: alarm::Column::Id,
    id: |m| m.id,
};
pub const LATEST_ACTIVITY_FIRST: Ordering<alarm::Entity> = Ordering {
    key: "last_desc",
    column: alarm::Column::LastTs,
    descending: true,
    value: |m| SortValue::Time(m.last_ts),
    id_column: alarm::Column::Id,
    id: |m| m.id,
};

fn filter_condition(caller: &Caller, filter: &AlarmFilter) -> AppResult<Condition> {
    let mut c = caller.scope.condition(alarm::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        c = c.add(alarm::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.line_id {
        c = c.add(
            alarm::Column::EquipmentId.in_subquery(
                Query::select()
                    .column(equipment::Column::Id)
                    .from(equipment::Entity)
                    .and_where(equipment::Column::LineId.eq(id))
                    .to_owned(),
            ),
        );
    }
    if let Some(id) = filter.equipment_id {
        c = c.add(alarm::Column::EquipmentId.eq(id));
    }
    if let Some(id) = filter.sensor_id {
        c = c.add(alarm::Column::SensorId.eq(id));
    }
    if let Some(min) = filter.min_severity {
        c = c.add(alarm::Column::Severity.gte(min));
    }
    if let Some(statuses) = &filter.status {
        c = c.add(
            statuses
                .iter()
                .fold(Condition::any(), |any, s| any.add(s.condition())),
        );
    }
    if let Some(open) = filter.open {
        c = c.add(alarm::Column::Cleared.eq(!open));
    }
    if let Some(t) = &filter.alarm_type {
        if t.chars().count() > 64 {
            return Err(AppError::invalid(
                "type",
                "`type` must be at most 64 characters",
            ));
        }
        if t.contains('\0') {
            return Err(AppError::invalid("type", "`type` must not contain NUL"));
        }
        c = c.add(alarm::Column::Type.eq(t.clone()));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(AppError::invalid("from", "`from` must be before `to`"));
    }
    if let Some(from) = filter.from {
        c = c.add(alarm::Column::StartTs.gte(from));
    }
    if let Some(to) = filter.to {
        c = c.add(alarm::Column::StartTs.lt(to));
    }
    if let Some(id) = filter.assignee_id {
        c = c.add(alarm::Column::AssigneeId.eq(id));
    }
    Ok(c)
}

/// One page of the alarms the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &AlarmFilter,
    ordering: &Ordering<alarm::Entity>,
    request: &PageRequest,
) -> AppResult<Page<alarm::Model>> {
    let condition = filter_condition(caller, filter)?;
    page::fetch(
        db,
        alarm::Entity::find().filter(condition),
        ordering,
        request,
    )
    .await
}

/// One alarm, or `NOT_FOUND`.
pub async fn get(db: &DatabaseConnection, caller: &Caller, id: i64) -> AppResult<alarm::Model> {
    alarm::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|a| caller.scope.allows(a.workshop_id))
        .ok_or_else(|| AppError::not_found("alarm", id))
}

/// Open alarms of each machine, most severe first (for the loader).
pub async fn open_by_equipment(
    db: &DatabaseConnection,
    caller: &Caller,
    equipment_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<alarm::Model>>> {
    let rows = alarm::Entity::find()
        .filter(alarm::Column::EquipmentId.is_in(equipment_ids.iter().copied()))
        .filter(alarm::Column::Cleared.eq(false))
        .filter(caller.scope.condition(alarm::Column::WorkshopId))
        .order_by_desc(alarm::Column::Severity)
        .order_by_desc(alarm::Column::StartTs)
        .all(db)
        .await?;
    Ok(group_by_key(equipment_ids, rows, |a| a.equipment_id))
}

/// How `counts` groups.
#[derive(Clone, Copy, Debug)]
pub enum CountGroup {
    Severity,
    Status,
    Workshop,
}

/// One group of `counts`.
#[derive(Clone, Debug, PartialEq)]
pub enum CountKey {
    Severity(i16),
    Status(AlarmStatus),
    Workshop(i64),
}

/// Alarm counts in one grouped statement; with `only_open`, the active ones: uncleared and
/// not shelved (ISA-18.2: a shelved alarm is set aside until its time runs out).
pub async fn counts(
    db: &DatabaseConnection,
    caller: &Caller,
    workshop_id: Option<i64>,
    group: CountGroup,
    only_open: bool,
) -> AppResult<Vec<(CountKey, i64)>> {
    let mut condition = caller.scope.condition(alarm::Column::WorkshopId);
    if let Some(id) = workshop_id {
        condition = condition.add(alarm::Column::WorkshopId.eq(id));
    }
    if only_open {
        condition = condition
            .add(alarm::Column::Cleared.eq(false))
            .add(unshelved_at(Utc::now()));
    }
    let base = alarm::Entity::find()
        .select_only()
        .column_as(Expr::col(alarm::Column::Id).count(), "n")
        .filter(condition);
    Ok(match group {
        CountGroup::Severity => base
            .column(alarm::Column::Severity)
            .group_by(alarm::Column::Severity)
            .order_by_desc(alarm::Column::Severity)
            .into_tuple::<(i64, i16)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(n, s)| (CountKey::Severity(s), n))
            .collect(),
        CountGroup::Status => base
            .column(alarm::Column::Cleared)
            .column(alarm::Column::Acknowledged)
            .group_by(alarm::Column::Cleared)
            .group_by(alarm::Column::Acknowledged)
            .order_by_asc(alarm::Column::Cleared)
            .order_by_asc(alarm::Column::Acknowledged)
            .into_tuple::<(i64, bool, bool)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(n, c, a)| (CountKey::Status(AlarmStatus::of(c, a)), n))
            .collect(),
        CountGroup::Workshop => base
            .column(alarm::Column::WorkshopId)
            .group_by(alarm::Column::WorkshopId)
            .order_by_asc(alarm::Column::WorkshopId)
            .into_tuple::<(i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(n, w)| (CountKey::Workshop(w), n))
            .collect(),
    })
}

/// The condition "not shelved at `now`".
fn unshelved_at(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(alarm::Column::ShelvedUntil.is_null())
        .add(alarm::Column::ShelvedUntil.lte(now))
}

/// The timeline of each alarm, oldest first (for the loader); alarms outside the caller's
/// scope have none.
pub async fn events_by_alarm(
    db: &DatabaseConnection,
    caller: &Caller,
    alarm_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<alarm_event::Model>>> {
    let visible = Query::select()
        .column(alarm::Column::Id)
        .from(alarm::Entity)
        .and_where(alarm::Column::Id.is_in(alarm_ids.iter().copied()))
        .cond_where(caller.scope.condition(alarm::Column::WorkshopId))
        .to_owned();
    let rows = alarm_event::Entity::find()
        .filter(alarm_event::Column::AlarmId.in_subquery(visible))
        .order_by_asc(alarm_event::Column::Ts)
        .order_by_asc(alarm_event::Column::Id)
        .all(db)
        .await?;
    Ok(group_by_key(alarm_ids, rows, |e| e.alarm_id))
}

// ---- Writes shared by the mutations and the threshold evaluation ----

/// Rows per multi-row statement: 5 values an event row, far below every engine's limit.
const EVENTS_PER_STATEMENT: usize = 1_000;

/// The present to the microsecond, as PostgreSQL keeps it, so written times read back equal.
fn now() -> DateTime<Utc> {
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
pub(crate) fn change(
    alarm: &alarm::Model,
    line_id: i64,
    alarm_event_id: i64,
    action: AlarmAction,
    ts: DateTime<Utc>,
    user_id: Option<i64>,
) -> Event {
    Event::Alarm(AlarmChange {
        place: Place {
            workshop_id: alarm.workshop_id,
            line_id,
            equipment_id: alarm.equipment_id,
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
fn line_in(lines: &HashMap<i64, i64>, equipment_id: i64) -> AppResult<i64> {
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

// ---- Mutations ----

/// Most alarms one `acknowledgeAlarms` call may name.
pub const MAX_ACKNOWLEDGE: usize = 500;
/// How long an alarm may be shelved at most: a shift's length, so that no alarm is
/// forgotten across a shift change (ISA-18.2 asks for a time limit on shelving).
pub const MAX_SHELVE: chrono::Duration = chrono::Duration::hours(24);
/// Longest note, comment or shelving reason.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Where a mutation writes and publishes.
#[derive(Clone, Copy)]
pub struct Writer<'a> {
    /// The primary.
    pub db: &'a DatabaseConnection,
    pub events: &'a EventBus,
}

/// What a mutation did, to publish once committed.
struct Outcome {
    events: Vec<Event>,
}

impl Outcome {
    /// The transitions of `alarms` (each with its event row) and, when `counts` is set, the
    /// open counts of their workshops: all computed in `txn`, before the commit.
    async fn of(
        txn: &DatabaseTransaction,
        alarms: &[(&alarm::Model, NewEvent)],
        counts: bool,
    ) -> AppResult<Self> {
        let rows: Vec<NewEvent> = alarms.iter().map(|(_, e)| e.clone()).collect();
        let ids = insert_events(txn, &rows).await?;
        let equipment: Vec<i64> = alarms.iter().map(|(a, _)| a.equipment_id).collect();
        let lines = lines_of(txn, &equipment).await?;
        let mut events = Vec::with_capacity(alarms.len() + 1);
        for ((alarm, row), id) in alarms.iter().zip(ids) {
            let line = line_in(&lines, alarm.equipment_id)?;
            events.push(change(alarm, line, id, row.action, row.ts, row.user_id));
        }
        if counts {
            let mut workshops: Vec<i64> = alarms.iter().map(|(a, _)| a.workshop_id).collect();
            workshops.sort_unstable();
            workshops.dedup();
            let now = alarms.first().map_or_else(Utc::now, |(_, e)| e.ts);
            events.extend(
                open_counts(txn, &workshops, now)
                    .await?
                    .into_iter()
                    .map(Event::AlarmCounts),
            );
        }
        Ok(Self { events })
    }

    fn publish(self, bus: &EventBus) {
        for event in self.events {
            bus.publish(event);
        }
    }
}

/// One alarm in the caller's scope, or `NOT_FOUND`.
async fn get_in(conn: &impl ConnectionTrait, caller: &Caller, id: i64) -> AppResult<alarm::Model> {
    alarm::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|a| caller.scope.allows(a.workshop_id))
        .ok_or_else(|| AppError::not_found("alarm", id))
}

/// An optional note: at most [`MAX_NOTE_CHARS`], empty means none.
fn note(field: &'static str, value: Option<&str>) -> AppResult<Option<String>> {
    validate::text(field, value, MAX_NOTE_CHARS)
}

/// A required text of 1..=[`MAX_NOTE_CHARS`] characters.
fn required_text(field: &'static str, value: &str) -> AppResult<String> {
    note(field, Some(value))?
        .ok_or_else(|| AppError::invalid(field, format!("`{field}` must not be empty")))
}

fn event(
    alarm_id: i64,
    ts: DateTime<Utc>,
    action: AlarmAction,
    caller: &Caller,
    note: Option<String>,
) -> NewEvent {
    NewEvent {
        alarm_id,
        ts,
        action,
        user_id: caller.user_id,
        note,
    }
}

/// Input of [`raise`].
#[derive(Clone, Debug)]
pub struct NewAlarm {
    pub equipment_id: i64,
    pub sensor_id: Option<i64>,
    pub alarm_type: String,
    pub severity: i16,
    pub message: String,
    pub value: Option<f64>,
}

/// Raises an alarm (a gateway in its own workshop, engineers and above in scope). While an
/// uncleared alarm of the same (machine, sensor, type) exists it recurs instead: one more
/// occurrence, `last_ts` now, severity the higher of both, message and value refreshed
/// (UPDATED); otherwise a new alarm opens (RAISED).
pub async fn raise(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    input: NewAlarm,
) -> AppResult<alarm::Model> {
    caller.require_gateway_or(Role::Engineer)?;
    let alarm_type = validate::code("type", &input.alarm_type, 64)?;
    let message = validate::name("message", &input.message, 500)?;
    let value = validate::opt_number("value", input.value, -f64::MAX, f64::MAX)?;
    let severity = validate::int("severity", i64::from(input.severity), 1, 5)? as i16;
    let txn = w.db.begin().await?;
    let machine = equipment::Entity::find_by_id(input.equipment_id)
        .one(&txn)
        .await?
        .filter(|e| caller.scope.allows(e.workshop_id))
        .ok_or_else(|| AppError::not_found("equipment", input.equipment_id))?;
    if let Some(sensor_id) = input.sensor_id {
        let sensor = sensor::Entity::find_by_id(sensor_id)
            .one(&txn)
            .await?
            .filter(|s| caller.scope.allows(s.workshop_id))
            .ok_or_else(|| AppError::not_found("sensor", sensor_id))?;
        if sensor.equipment_id != machine.id {
            return Err(AppError::invalid(
                "sensorId",
                "the sensor does not belong to this machine",
            ));
        }
    }
    let sensor_condition = match input.sensor_id {
        Some(id) => alarm::Column::SensorId.eq(id),
        None => alarm::Column::SensorId.is_null(),
    };
    let open = alarm::Entity::find()
        .filter(alarm::Column::EquipmentId.eq(machine.id))
        .filter(sensor_condition)
        .filter(alarm::Column::Type.eq(alarm_type.clone()))
        .filter(alarm::Column::Cleared.eq(false))
        .one(&txn)
        .await?;
    let ts = now();
    let (model, action, counts) = match open {
        Some(current) => {
            let escalates = severity > current.severity;
            let mut active: alarm::ActiveModel = current.clone().into();
            active.occurrences = Set(current.occurrences.saturating_add(1));
            active.last_ts = Set(ts);
            active.severity = Set(Ord::max(current.severity, severity));
            active.message = Set(message.clone());
            if value.is_some() {
                active.value = Set(value);
            }
            (active.update(&txn).await?, AlarmAction::Updated, escalates)
        }
        None => {
            let active = alarm::ActiveModel {
                workshop_id: Set(machine.workshop_id),
                equipment_id: Set(machine.id),
                sensor_id: Set(input.sensor_id),
                r#type: Set(alarm_type),
                severity: Set(severity),
                message: Set(message.clone()),
                value: Set(value),
                threshold: Set(None),
                details: Set(None),
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
                ..Default::default()
            };
            let model = active
                .insert(&txn)
                .await
                .on_constraint("an alarm of this type was raised at the same moment; retry")?;
            (model, AlarmAction::Raised, true)
        }
    };
    let row = event(model.id, ts, action, caller, Some(message));
    let outcome = Outcome::of(&txn, &[(&model, row)], counts).await?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(model)
}

/// Acknowledges alarms (operators and above): all of `ids` must be in scope, else nothing
/// changes (`NOT_FOUND` naming the first one that is not). Alarms acknowledged already stay
/// as they are, with no second event. Returns the alarms in the order asked, repeats removed.
pub async fn acknowledge(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    ids: &[i64],
    note_text: Option<&str>,
) -> AppResult<Vec<alarm::Model>> {
    caller.require(Role::Operator)?;
    if ids.is_empty() || ids.len() > MAX_ACKNOWLEDGE {
        return Err(AppError::invalid(
            "ids",
            format!("give 1 to {MAX_ACKNOWLEDGE} alarm ids"),
        ));
    }
    let note_text = note("note", note_text)?;
    let mut wanted: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    let txn = w.db.begin().await?;
    let found: HashMap<i64, alarm::Model> = alarm::Entity::find()
        .filter(alarm::Column::Id.is_in(wanted.iter().copied()))
        .filter(caller.scope.condition(alarm::Column::WorkshopId))
        .all(&txn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    if let Some(missing) = wanted.iter().find(|id| !found.contains_key(id)) {
        return Err(AppError::not_found("alarm", missing));
    }
    let ts = now();
    let pending: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|id| found.get(id).is_some_and(|a| !a.acknowledged))
        .collect();
    // Conditional, so that two concurrent calls acknowledge (and record) each alarm once.
    let statement = Query::update()
        .table(alarm::Entity)
        .values([
            (alarm::Column::Acknowledged, true.into()),
            (alarm::Column::AckTs, ts.into()),
            (alarm::Column::AckBy, caller.user_id.into()),
        ])
        .and_where(alarm::Column::Id.is_in(pending.iter().copied()))
        .and_where(alarm::Column::Acknowledged.eq(false))
        .returning(Query::returning().column(alarm::Column::Id))
        .to_owned();
    let mut acknowledged = Vec::with_capacity(pending.len());
    if !pending.is_empty() {
        let backend = txn.get_database_backend();
        for row in txn.query_all_raw(backend.build(&statement)).await? {
            acknowledged.push(row.try_get::<i64>("", "id")?);
        }
    }
    let mut found = found;
    for id in &acknowledged {
        if let Some(a) = found.get_mut(id) {
            a.acknowledged = true;
            a.ack_ts = Some(ts);
            a.ack_by = caller.user_id;
        }
    }
    let changed: Vec<(&alarm::Model, NewEvent)> = acknowledged
        .iter()
        .filter_map(|id| found.get(id))
        .map(|a| {
            let row = event(
                a.id,
                ts,
                AlarmAction::Acknowledged,
                caller,
                note_text.clone(),
            );
            (a, row)
        })
        .collect();
    let outcome = if changed.is_empty() {
        Outcome { events: Vec::new() }
    } else {
        Outcome::of(&txn, &changed, true).await?
    };
    let audited: Vec<String> = wanted.iter().map(i64::to_string).collect();
    audit.write(&txn, audited.join(",")).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(wanted.iter().filter_map(|id| found.remove(id)).collect())
}

/// Clears an alarm by hand (engineers and above); clearing a cleared alarm changes nothing.
pub async fn clear(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    note_text: Option<&str>,
) -> AppResult<alarm::Model> {
    caller.require(Role::Engineer)?;
    let note_text = note("note", note_text)?;
    let txn = w.db.begin().await?;
    let mut current = get_in(&txn, caller, id).await?;
    let ts = now();
    let updated = alarm::Entity::update_many()
        .col_expr(alarm::Column::Cleared, Expr::value(true))
        .col_expr(alarm::Column::ClearTs, Expr::value(ts))
        .col_expr(alarm::Column::ClearedBy, Expr::value(caller.user_id))
        .filter(alarm::Column::Id.eq(id))
        .filter(alarm::Column::Cleared.eq(false))
        .exec(&txn)
        .await?
        .rows_affected;
    let outcome = if updated == 1 {
        current.cleared = true;
        current.clear_ts = Some(ts);
        current.cleared_by = caller.user_id;
        let row = event(id, ts, AlarmAction::Cleared, caller, note_text);
        Outcome::of(&txn, &[(&current, row)], true).await?
    } else {
        Outcome { events: Vec::new() }
    };
    audit.write(&txn, id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(current)
}

/// Assigns an alarm to a user, or unassigns it with `None` (engineers and above). The
/// assignee must be an active person (not a gateway) who may see the alarm's workshop.
pub async fn assign(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    assignee_id: Option<i64>,
) -> AppResult<alarm::Model> {
    caller.require(Role::Engineer)?;
    let txn = w.db.begin().await?;
    let current = get_in(&txn, caller, id).await?;
    let assignee = match assignee_id {
        Some(user_id) => {
            let person = user::Entity::find_by_id(user_id)
                .one(&txn)
                .await?
                .ok_or_else(|| AppError::not_found("user", user_id))?;
            check_assignee(&txn, &person, current.workshop_id).await?;
            Some(person)
        }
        None => None,
    };
    let mut outcome = Outcome { events: Vec::new() };
    let mut model = current.clone();
    if current.assignee_id != assignee_id {
        let ts = now();
        let mut active: alarm::ActiveModel = current.into();
        active.assignee_id = Set(assignee_id);
        model = active.update(&txn).await?;
        let text = assignee.map_or_else(
            || "unassigned".to_owned(),
            |u| format!("assigned to {} (#{})", u.username, u.id),
        );
        let row = event(id, ts, AlarmAction::Assigned, caller, Some(text));
        outcome = Outcome::of(&txn, &[(&model, row)], false).await?;
    }
    audit.write(&txn, id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(model)
}

async fn check_assignee(
    conn: &impl ConnectionTrait,
    person: &user::Model,
    workshop_id: i64,
) -> AppResult<()> {
    if !person.active {
        return Err(AppError::invalid("userId", "the user is deactivated"));
    }
    let sees = match person.role {
        Role::Gateway => {
            return Err(AppError::invalid(
                "userId",
                "a gateway cannot be assigned an alarm",
            ));
        }
        Role::Manager | Role::Admin => true,
        Role::Viewer | Role::Operator | Role::Engineer => user_workshop::Entity::find()
            .filter(user_workshop::Column::UserId.eq(person.id))
            .filter(user_workshop::Column::WorkshopId.eq(workshop_id))
            .one(conn)
            .await?
            .is_some(),
    };
    if sees {
        Ok(())
    } else {
        Err(AppError::invalid(
            "userId",
            "the user may not see this alarm's workshop",
        ))
    }
}

/// Adds a comment to an alarm's timeline (operators and above); returns the alarm and the
/// comment's event row.
pub async fn comment(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    text: &str,
) -> AppResult<(alarm::Model, alarm_event::Model)> {
    caller.require(Role::Operator)?;
    let text = required_text("text", text)?;
    let txn = w.db.begin().await?;
    let current = get_in(&txn, caller, id).await?;
    let row = event(id, now(), AlarmAction::Commented, caller, Some(text));
    let outcome = Outcome::of(&txn, &[(&current, row.clone())], false).await?;
    let event_id = match outcome.events.first() {
        Some(Event::Alarm(change)) => change.alarm_event_id,
        _ => 0,
    };
    audit.write(&txn, id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    let written = alarm_event::Model {
        id: event_id,
        alarm_id: id,
        ts: row.ts,
        action: row.action.as_str().to_owned(),
        user_id: row.user_id,
        note: row.note,
    };
    Ok((current, written))
}

/// Shelves an uncleared alarm until `until` (operators and above): in the future, at most
/// [`MAX_SHELVE`] ahead, with a reason. Meanwhile it does not count as active, and its
/// events carry `shelved_until`. Shelving again moves the end.
pub async fn shelve(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    until: DateTime<Utc>,
    reason: &str,
) -> AppResult<alarm::Model> {
    caller.require(Role::Operator)?;
    let ts = now();
    if until <= ts {
        return Err(AppError::invalid("until", "`until` must be in the future"));
    }
    if until > ts + MAX_SHELVE {
        return Err(AppError::invalid(
            "until",
            format!(
                "`until` must be at most {} hours ahead",
                MAX_SHELVE.num_hours()
            ),
        ));
    }
    let reason = required_text("reason", reason)?;
    let txn = w.db.begin().await?;
    let current = get_in(&txn, caller, id).await?;
    if current.cleared {
        return Err(AppError::Conflict(
            "a cleared alarm cannot be shelved".to_owned(),
        ));
    }
    let mut active: alarm::ActiveModel = current.into();
    active.shelved_until = Set(Some(until.trunc_subsecs(6)));
    let model = active.update(&txn).await?;
    let row = event(id, ts, AlarmAction::Shelved, caller, Some(reason));
    let outcome = Outcome::of(&txn, &[(&model, row)], true).await?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(model)
}

/// Ends an alarm's shelving early (operators and above); an alarm not shelved stays as it is.
pub async fn unshelve(
    w: Writer<'_>,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<alarm::Model> {
    caller.require(Role::Operator)?;
    let txn = w.db.begin().await?;
    let current = get_in(&txn, caller, id).await?;
    let ts = now();
    let mut outcome = Outcome { events: Vec::new() };
    let mut model = current.clone();
    if current.shelved_until.is_some_and(|until| until > ts) {
        let mut active: alarm::ActiveModel = current.into();
        active.shelved_until = Set(None);
        model = active.update(&txn).await?;
        let row = event(id, ts, AlarmAction::Unshelved, caller, None);
        outcome = Outcome::of(&txn, &[(&model, row)], true).await?;
    }
    audit.write(&txn, id).await?;
    txn.commit().await?;
    outcome.publish(w.events);
    Ok(model)
}

/// The action of a stored `alarm_events.action`.
pub fn action_of(stored: &str) -> Option<AlarmAction> {
    use AlarmAction::*;
    [
        Raised,
        Updated,
        Acknowledged,
        Cleared,
        Assigned,
        Commented,
        Shelved,
        Unshelved,
    ]
    .into_iter()
    .find(|a| a.as_str() == stored)
}
