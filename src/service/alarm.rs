//! Alarm queries: lists with filters and counts, and each alarm's timeline. The lifecycle
//! mutations live in `alarm_lifecycle`, threshold alarms from readings in `alarm_rules`.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{alarm, alarm_event, equipment};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{
    group_by_key,
    page::{self, Ordering, Page, PageRequest, SortValue},
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    events::AlarmAction,
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

/// The alarms `caller` may see: those of the workshops of its scope, and `SYSTEM` alarms
/// (no workshop) for admins.
pub(crate) fn visible(caller: &Caller) -> Condition {
    let c = caller.scope.condition(alarm::Column::WorkshopId);
    if caller.sees_system_alarms() {
        c
    } else {
        c.add(alarm::Column::WorkshopId.is_not_null())
    }
}

fn filter_condition(caller: &Caller, filter: &AlarmFilter) -> AppResult<Condition> {
    let mut c = visible(caller);
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
        .filter(|a| caller.sees_alarm_of(a.workshop_id))
        .ok_or_else(|| AppError::not_found("alarm", id))
}

/// Alarms by id within the caller's scope (for the loader).
pub async fn by_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    ids: &[i64],
) -> AppResult<HashMap<i64, alarm::Model>> {
    let rows = alarm::Entity::find()
        .filter(alarm::Column::Id.is_in(ids.iter().copied()))
        .filter(visible(caller))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|a| (a.id, a)).collect())
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
    // Every row is on one of the machines asked for (so none is a `SYSTEM` alarm).
    Ok(group_by_key(equipment_ids, rows, |a| {
        a.equipment_id.unwrap_or_default()
    }))
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
    let mut condition = visible(caller);
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
        // `SYSTEM` alarms belong to no workshop, so no group counts them.
        CountGroup::Workshop => base
            .filter(alarm::Column::WorkshopId.is_not_null())
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
pub(crate) fn unshelved_at(now: DateTime<Utc>) -> Condition {
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
        .cond_where(visible(caller))
        .to_owned();
    let rows = alarm_event::Entity::find()
        .filter(alarm_event::Column::AlarmId.in_subquery(visible))
        .order_by_asc(alarm_event::Column::Ts)
        .order_by_asc(alarm_event::Column::Id)
        .all(db)
        .await?;
    Ok(group_by_key(alarm_ids, rows, |e| e.alarm_id))
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
