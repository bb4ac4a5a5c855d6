//! The alarm lifecycle mutations: raise, acknowledge, clear, assign, comment, shelve and
//! unshelve.
//!
//! Every mutation runs in one transaction with its `alarm_events` row and its audit row,
//! and publishes `Event::Alarm` (and `Event::AlarmCounts` when the workshop's active counts
//! move) after the commit. Acknowledge, clear, assign and unshelve are idempotent: a call
//! that changes nothing writes no event row and publishes nothing (its audit row is still
//! written: the call happened). An alarm outside the caller's workshops is `NOT_FOUND`.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use entity::{alarm, alarm_event, enums::Role, equipment, sensor, user, user_workshop};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, Query},
};

use super::{
    alarm_transition::{NewEvent, change, insert_events, line_in, lines_of, now, open_counts},
    audit::Audit,
    validate,
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult, DbResultExt},
    events::{AlarmAction, Event, EventBus},
};

/// Most alarms one `acknowledgeAlarms` call may name.
pub const MAX_ACKNOWLEDGE: usize = 500;
/// How long an alarm may be shelved at most: a day, long enough for a repair across shifts,
/// short enough that no shelved alarm is forgotten (ISA-18.2 asks shelving to be
/// time-limited).
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
#[derive(Default)]
struct Outcome {
    /// The `alarm_events` rows written, in the order given.
    event_ids: Vec<i64>,
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
        let event_ids = insert_events(txn, &rows).await?;
        let equipment: Vec<i64> = alarms.iter().filter_map(|(a, _)| a.equipment_id).collect();
        let lines = lines_of(txn, &equipment).await?;
        let mut events = Vec::with_capacity(alarms.len() + 1);
        for ((alarm, row), id) in alarms.iter().zip(&event_ids) {
            let line = alarm
                .equipment_id
                .map(|machine| line_in(&lines, machine))
                .transpose()?;
            events.push(change(
                alarm,
                line,
                *id,
                row.action,
                row.ts,
                row.user_id,
                row.note.clone(),
            ));
        }
        if counts {
            // `SYSTEM` alarms count in no workshop.
            let mut workshops: Vec<i64> =
                alarms.iter().filter_map(|(a, _)| a.workshop_id).collect();
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
        Ok(Self { event_ids, events })
    }

    fn publish(self, bus: &EventBus) {
        for event in self.events {
            bus.publish(event);
        }
    }
}

/// One alarm in the caller's scope, or `NOT_FOUND`; locked until `txn` ends (PostgreSQL
/// `FOR UPDATE`; SQLite's write transaction holds the whole database), so concurrent calls on
/// one alarm take turns.
async fn get_in(txn: &DatabaseTransaction, caller: &Caller, id: i64) -> AppResult<alarm::Model> {
    alarm::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .filter(|a| caller.sees_alarm_of(a.workshop_id))
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
    let txn = super::begin_write(w.db).await?;
    // Locked: two raises of one machine take turns, so the second sees the first's alarm.
    let machine = equipment::Entity::find_by_id(input.equipment_id)
        .lock_exclusive()
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
                workshop_id: Set(Some(machine.workshop_id)),
                equipment_id: Set(Some(machine.id)),
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
    let txn = super::begin_write(w.db).await?;
    let mut found: HashMap<i64, alarm::Model> = alarm::Entity::find()
        .filter(alarm::Column::Id.is_in(wanted.iter().copied()))
        .filter(super::alarm::visible(caller))
        .lock_exclusive()
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
        Outcome::default()
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
    let txn = super::begin_write(w.db).await?;
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
        Outcome::default()
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
    let txn = super::begin_write(w.db).await?;
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
    let mut outcome = Outcome::default();
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
    workshop_id: Option<i64>,
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
        // A `SYSTEM` alarm (no workshop) is seen by admins only.
        Role::Admin => true,
        Role::Manager => workshop_id.is_some(),
        Role::Viewer | Role::Operator | Role::Engineer => match workshop_id {
            Some(workshop_id) => user_workshop::Entity::find()
                .filter(user_workshop::Column::UserId.eq(person.id))
                .filter(user_workshop::Column::WorkshopId.eq(workshop_id))
                .one(conn)
                .await?
                .is_some(),
            None => false,
        },
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
    let txn = super::begin_write(w.db).await?;
    let current = get_in(&txn, caller, id).await?;
    let row = event(id, now(), AlarmAction::Commented, caller, Some(text));
    let outcome = Outcome::of(&txn, &[(&current, row.clone())], false).await?;
    let event_id = outcome.event_ids.first().copied().unwrap_or_default();
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
    let txn = super::begin_write(w.db).await?;
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
    let txn = super::begin_write(w.db).await?;
    let current = get_in(&txn, caller, id).await?;
    let ts = now();
    let mut outcome = Outcome::default();
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
