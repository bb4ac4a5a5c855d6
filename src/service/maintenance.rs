//! Maintenance orders: the list, and the work from request to done — an explicit lifecycle
//! ([`maintenance_move`]) whose start puts the machine in MAINTENANCE and whose end gives it
//! back its previous status, both through the status service in the order's transaction.

use chrono::{DateTime, Utc};
use entity::{
    alarm, downtime_reason,
    enums::{EquipmentStatus, MaintenanceKind, MaintenanceStatus, ReasonCategory, Role},
    equipment, maintenance_order, user, user_workshop,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable,
    PaginatorTrait, QueryFilter, QuerySelect, Set, sea_query::OnConflict,
};

use super::{
    audit::Audit,
    equipment_status::{self, SetBy, StatusOutcome},
    page::{self, Ordering, Page, PageRequest, SortValue},
    production::illegal_move,
    validate,
};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    events::{Event, EventBus, MaintenanceChange, Place},
};

/// Filters of the `maintenanceOrders` list.
#[derive(Clone, Debug, Default)]
pub struct MaintenanceFilter {
    pub workshop_id: Option<i64>,
    pub equipment_id: Option<i64>,
    pub status: Option<Vec<MaintenanceStatus>>,
    pub kind: Option<MaintenanceKind>,
    pub assignee_id: Option<i64>,
}

/// Orderings of the `maintenanceOrders` list.
pub const NEWEST_FIRST: Ordering<maintenance_order::Entity> = Ordering {
    key: "created_desc",
    column: maintenance_order::Column::CreatedAt,
    descending: true,
    value: |m| SortValue::Time(m.created_at),
    id_column: maintenance_order::Column::Id,
    id: |m| m.id,
};
pub const BY_PRIORITY: Ordering<maintenance_order::Entity> = Ordering {
    key: "priority",
    column: maintenance_order::Column::Priority,
    descending: false,
    value: |m| SortValue::Int(i64::from(m.priority)),
    id_column: maintenance_order::Column::Id,
    id: |m| m.id,
};

/// One page of the maintenance orders the caller may see.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &MaintenanceFilter,
    ordering: &Ordering<maintenance_order::Entity>,
    request: &PageRequest,
) -> AppResult<Page<maintenance_order::Model>> {
    let mut c = caller
        .scope
        .condition(maintenance_order::Column::WorkshopId);
    if let Some(id) = filter.workshop_id {
        c = c.add(maintenance_order::Column::WorkshopId.eq(id));
    }
    if let Some(id) = filter.equipment_id {
        c = c.add(maintenance_order::Column::EquipmentId.eq(id));
    }
    if let Some(statuses) = &filter.status {
        c = c.add(maintenance_order::Column::Status.is_in(statuses.iter().copied()));
    }
    if let Some(kind) = filter.kind {
        c = c.add(maintenance_order::Column::Kind.eq(kind));
    }
    if let Some(id) = filter.assignee_id {
        c = c.add(maintenance_order::Column::AssigneeId.eq(id));
    }
    page::fetch(
        db,
        maintenance_order::Entity::find().filter(c),
        ordering,
        request,
    )
    .await
}

/// One maintenance order, or `NOT_FOUND` (also when outside the caller's scope).
pub async fn get(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<maintenance_order::Model> {
    maintenance_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("maintenance order", id))
}

/// One order locked until the transaction ends (PostgreSQL), or `NOT_FOUND`.
async fn lock(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<maintenance_order::Model> {
    maintenance_order::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .filter(|o| caller.scope.allows(o.workshop_id))
        .ok_or_else(|| AppError::not_found("maintenance order", id))
}

// ---------------------------------------------------------------------------------------------
// The lifecycle

/// A step of a maintenance order's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintenanceMove {
    /// REQUESTED → SCHEDULED.
    Schedule,
    /// SCHEDULED → IN_PROGRESS: work starts, the machine goes into MAINTENANCE.
    Start,
    /// IN_PROGRESS → ON_HOLD (the machine stays in MAINTENANCE).
    Hold,
    /// ON_HOLD → IN_PROGRESS.
    Resume,
    /// IN_PROGRESS or ON_HOLD → DONE: the machine gets its previous status back.
    Finish,
    /// Any open state → CANCELLED (a started order gives the machine back too).
    Cancel,
}

/// The lifecycle: REQUESTED → SCHEDULED → IN_PROGRESS ⇄ ON_HOLD → DONE (from IN_PROGRESS or
/// ON_HOLD), and REQUESTED, SCHEDULED, IN_PROGRESS, ON_HOLD → CANCELLED; `None` for every
/// other pair, staying put included.
pub fn maintenance_move(from: MaintenanceStatus, to: MaintenanceStatus) -> Option<MaintenanceMove> {
    use MaintenanceStatus::*;
    match (from, to) {
        (Requested, Scheduled) => Some(MaintenanceMove::Schedule),
        (Scheduled, InProgress) => Some(MaintenanceMove::Start),
        (InProgress, OnHold) => Some(MaintenanceMove::Hold),
        (OnHold, InProgress) => Some(MaintenanceMove::Resume),
        (InProgress | OnHold, Done) => Some(MaintenanceMove::Finish),
        (Requested | Scheduled | InProgress | OnHold, Cancelled) => Some(MaintenanceMove::Cancel),
        _ => None,
    }
}

fn is_open(status: MaintenanceStatus) -> bool {
    !matches!(
        status,
        MaintenanceStatus::Done | MaintenanceStatus::Cancelled
    )
}

/// The downtime reason of a machine under maintenance: planned work (preventive, predictive)
/// leaves planned production time; a repair costs availability. `BREAKDOWN` is in the seeded
/// catalogue; `PLANNED-MAINT` is added to `downtime_reasons` the first time it is needed.
pub fn maintenance_reason(kind: MaintenanceKind) -> (&'static str, &'static str, ReasonCategory) {
    match kind {
        MaintenanceKind::Corrective => ("BREAKDOWN", "Breakdown", ReasonCategory::Unplanned),
        MaintenanceKind::Preventive | MaintenanceKind::Predictive => (
            "PLANNED-MAINT",
            "Planned maintenance",
            ReasonCategory::Planned,
        ),
    }
}

/// The reason row for `kind`, created when the catalogue lacks it.
async fn ensure_reason(
    conn: &impl ConnectionTrait,
    kind: MaintenanceKind,
) -> AppResult<downtime_reason::Model> {
    let (code, name, category) = maintenance_reason(kind);
    let find = || downtime_reason::Entity::find().filter(downtime_reason::Column::Code.eq(code));
    if let Some(reason) = find().one(conn).await? {
        return Ok(reason);
    }
    downtime_reason::Entity::insert(downtime_reason::ActiveModel {
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        category: Set(category),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(downtime_reason::Column::Code)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    find().one(conn).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "downtime reason {code} missing after insert"
        ))
    })
}

/// Puts the machine into MAINTENANCE for `order` unless it already is.
async fn enter_maintenance(
    conn: &impl ConnectionTrait,
    machine: &equipment::Model,
    order: &maintenance_order::Model,
    by: SetBy,
) -> AppResult<Option<StatusOutcome>> {
    if machine.status == EquipmentStatus::Maintenance {
        return Ok(None);
    }
    let reason = ensure_reason(conn, order.kind).await?;
    let outcome = equipment_status::apply_resolved(
        conn,
        machine,
        EquipmentStatus::Maintenance,
        Some(reason),
        None,
        by,
    )
    .await?;
    Ok(Some(outcome))
}

/// Gives the machine back the status it had before its MAINTENANCE interval (IDLE when there
/// is none to go back to), unless it has left MAINTENANCE meanwhile or another order is still
/// working on it.
async fn leave_maintenance(
    conn: &impl ConnectionTrait,
    machine: &equipment::Model,
    order: &maintenance_order::Model,
    by: SetBy,
) -> AppResult<Option<StatusOutcome>> {
    if machine.status != EquipmentStatus::Maintenance {
        return Ok(None);
    }
    let others = maintenance_order::Entity::find()
        .filter(maintenance_order::Column::EquipmentId.eq(machine.id))
        .filter(maintenance_order::Column::Id.ne(order.id))
        .filter(
            maintenance_order::Column::Status
                .is_in([MaintenanceStatus::InProgress, MaintenanceStatus::OnHold]),
        )
        .count(conn)
        .await?;
    if others > 0 {
        return Ok(None);
    }
    let (status, reason) = match equipment_status::previous_event(conn, machine.id).await? {
        Some((event, reason)) if event.status != EquipmentStatus::Maintenance => {
            (event.status, reason)
        }
        _ => (EquipmentStatus::Idle, None),
    };
    let outcome = equipment_status::apply_resolved(conn, machine, status, reason, None, by).await?;
    Ok(Some(outcome))
}

fn change(
    order: &maintenance_order::Model,
    machine_line: i64,
    previous: Option<MaintenanceStatus>,
) -> MaintenanceChange {
    MaintenanceChange {
        place: Place {
            workshop_id: order.workshop_id,
            line_id: machine_line,
            equipment_id: order.equipment_id,
        },
        order_id: order.id,
        status: order.status,
        previous,
        alarm_id: order.alarm_id,
        assignee_id: order.assignee_id,
    }
}

/// The order's machine (same workshop as the order, so in the caller's scope), locked.
async fn lock_machine(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    order: &maintenance_order::Model,
) -> AppResult<equipment::Model> {
    equipment_status::lock_machine(conn, &caller.scope, order.equipment_id).await
}

/// Input of `transition`.
#[derive(Clone, Debug)]
pub struct MaintenanceTransition {
    pub id: i64,
    pub to: MaintenanceStatus,
    /// Only when finishing: the machine downtime the work caused, 0 to the time since work
    /// started (the default).
    pub downtime_s: Option<i32>,
    /// Kept in the audit log with the transition.
    pub note: Option<String>,
}

/// What a transition left: the order, and the machine's status change when it moved.
#[derive(Clone, Debug)]
pub struct TransitionOutcome {
    pub order: maintenance_order::Model,
    pub status: Option<StatusOutcome>,
}

/// Moves a maintenance order along its lifecycle (engineer). Starting sets `started_at` and
/// puts the machine into MAINTENANCE; finishing sets `completed_at` and `downtime_s` and
/// gives the machine its previous status back (as does cancelling started work); all in one
/// transaction with the status change.
pub async fn transition(
    db: &DatabaseConnection,
    events: &EventBus,
    cache: &crate::cache::Cache,
    caller: &Caller,
    audit: &Audit,
    input: MaintenanceTransition,
) -> AppResult<TransitionOutcome> {
    caller.require(Role::Engineer)?;
    validate::text("note", input.note.as_deref(), 2000)?;
    if input.downtime_s.is_some() && input.to != MaintenanceStatus::Done {
        return Err(AppError::invalid(
            "downtimeS",
            "`downtimeS` is given only when finishing (to DONE)",
        ));
    }
    if input.downtime_s.is_some_and(|d| d < 0) {
        return Err(AppError::invalid(
            "downtimeS",
            "`downtimeS` must not be negative",
        ));
    }
    let txn = super::begin_write(db).await?;
    let order = lock(&txn, caller, input.id).await?;
    let Some(step) = maintenance_move(order.status, input.to) else {
        let allowed: Vec<&'static str> = MaintenanceStatus::iter()
            .filter(|t| maintenance_move(order.status, *t).is_some())
            .map(|t| t.as_str())
            .collect();
        return Err(illegal_move(
            "maintenance order",
            order.status.as_str(),
            input.to.as_str(),
            &allowed,
        ));
    };
    let machine = lock_machine(&txn, caller, &order).await?;
    let by = SetBy::system(caller.user_id);
    let now = Utc::now();
    let mut active: maintenance_order::ActiveModel = order.clone().into();
    let status = match step {
        MaintenanceMove::Start => {
            active.started_at = Set(Some(now));
            enter_maintenance(&txn, &machine, &order, by).await?
        }
        MaintenanceMove::Finish => {
            let elapsed = order
                .started_at
                .map_or(0, |started| (now - started).num_seconds().max(0));
            let elapsed = i32::try_from(elapsed).unwrap_or(i32::MAX);
            let downtime = input.downtime_s.unwrap_or(elapsed);
            if downtime > elapsed {
                return Err(AppError::invalid(
                    "downtimeS",
                    format!("`downtimeS` must not exceed the {elapsed} s since work started"),
                ));
            }
            active.completed_at = Set(Some(now));
            active.downtime_s = Set(Some(downtime));
            leave_maintenance(&txn, &machine, &order, by).await?
        }
        MaintenanceMove::Cancel if order.started_at.is_some() => {
            leave_maintenance(&txn, &machine, &order, by).await?
        }
        MaintenanceMove::Schedule
        | MaintenanceMove::Hold
        | MaintenanceMove::Resume
        | MaintenanceMove::Cancel => None,
    };
    active.status = Set(input.to);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    audit.write(&txn, updated.id).await?;
    txn.commit().await?;
    if let Some(moved) = status.as_ref().and_then(|s| s.change.clone()) {
        // The machine's status moved with the order.
        cache
            .invalidate(&crate::cache::Tag::equipment_row(&machine))
            .await;
        events.publish(Event::EquipmentStatus(moved));
    }
    events.publish(Event::Maintenance(change(
        &updated,
        machine.line_id,
        Some(order.status),
    )));
    Ok(TransitionOutcome {
        order: updated,
        status,
    })
}

// ---------------------------------------------------------------------------------------------
// Requesting and planning

/// Input of `create`.
#[derive(Clone, Debug)]
pub struct NewMaintenanceOrder {
    pub equipment_id: i64,
    pub kind: MaintenanceKind,
    /// 1 (most urgent) to 5; default 3.
    pub priority: Option<i32>,
    pub title: String,
    pub description: Option<String>,
    pub alarm_id: Option<i64>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub assignee_id: Option<i64>,
}

/// Changes of `update`; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct MaintenancePatch {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub priority: Option<i32>,
    pub assignee_id: Option<Option<i64>>,
    pub scheduled_for: Option<Option<DateTime<Utc>>>,
}

const DEFAULT_PRIORITY: i32 = 3;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 4000;

fn priority(value: i32) -> AppResult<i32> {
    validate::int("priority", value.into(), 1, 5)?;
    Ok(value)
}

/// `assigneeId` must name an active person who works in the order's workshop (operators and
/// engineers through their assigned workshops; managers and admins everywhere).
async fn check_assignee(
    conn: &impl ConnectionTrait,
    user_id: i64,
    workshop_id: i64,
) -> AppResult<i64> {
    let user = user::Entity::find_by_id(user_id).one(conn).await?;
    let fits = match user {
        Some(u) if u.active => match u.role {
            Role::Manager | Role::Admin => true,
            Role::Operator | Role::Engineer => {
                user_workshop::Entity::find_by_id((u.id, workshop_id))
                    .one(conn)
                    .await?
                    .is_some()
            }
            Role::Viewer | Role::Gateway => false,
        },
        _ => false,
    };
    if fits {
        Ok(user_id)
    } else {
        Err(AppError::invalid(
            "assigneeId",
            "`assigneeId` must be an active operator, engineer, manager or admin with access to \
             the machine's workshop",
        ))
    }
}

/// Opens a maintenance order. Operators may request CORRECTIVE work; engineers and above
/// request any kind, and only they schedule or assign. The alarm, when given, must be one of
/// the same machine. The number is `MO-<yyyymmdd>-<id>`, unique by its id. The order starts
/// SCHEDULED when `scheduled_for` is given, else REQUESTED.
pub async fn create(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    input: NewMaintenanceOrder,
) -> AppResult<maintenance_order::Model> {
    caller.require(Role::Operator)?;
    if input.kind != MaintenanceKind::Corrective
        || input.scheduled_for.is_some()
        || input.assignee_id.is_some()
    {
        caller.require(Role::Engineer)?;
    }
    let priority = priority(input.priority.unwrap_or(DEFAULT_PRIORITY))?;
    let title = validate::name("title", &input.title, MAX_TITLE)?;
    let description = validate::text("description", input.description.as_deref(), MAX_DESCRIPTION)?;
    let txn = super::begin_write(db).await?;
    let machine = equipment_status::lock_machine(&txn, &caller.scope, input.equipment_id).await?;
    if let Some(alarm_id) = input.alarm_id {
        let alarm = alarm::Entity::find_by_id(alarm_id)
            .one(&txn)
            .await?
            .filter(|a| caller.sees_alarm_of(a.workshop_id))
            .ok_or_else(|| AppError::not_found("alarm", alarm_id))?;
        // A `SYSTEM` alarm is on no machine: no maintenance order comes from it.
        if alarm.equipment_id != Some(machine.id) {
            return Err(AppError::invalid(
                "alarmId",
                "the alarm belongs to another machine",
            ));
        }
    }
    if let Some(user_id) = input.assignee_id {
        check_assignee(&txn, user_id, machine.workshop_id).await?;
    }
    let now = Utc::now();
    let status = if input.scheduled_for.is_some() {
        MaintenanceStatus::Scheduled
    } else {
        MaintenanceStatus::Requested
    };
    // A placeholder unique until the id is known; replaced in the same transaction.
    let placeholder = format!(
        "MO-new-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..25]
    );
    let order = maintenance_order::ActiveModel {
        number: Set(placeholder),
        equipment_id: Set(machine.id),
        workshop_id: Set(machine.workshop_id),
        kind: Set(input.kind),
        priority: Set(priority),
        status: Set(status),
        title: Set(title),
        description: Set(description),
        alarm_id: Set(input.alarm_id),
        assignee_id: Set(input.assignee_id),
        scheduled_for: Set(input.scheduled_for),
        started_at: Set(None),
        completed_at: Set(None),
        downtime_s: Set(None),
        created_by: Set(caller.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let number = format!("MO-{}-{}", now.format("%Y%m%d"), order.id);
    let mut active: maintenance_order::ActiveModel = order.into();
    active.number = Set(number);
    let order = active.update(&txn).await?;
    audit.write(&txn, order.id).await?;
    txn.commit().await?;
    events.publish(Event::Maintenance(change(&order, machine.line_id, None)));
    Ok(order)
}

/// Changes an open maintenance order's title, description, priority, assignee or planned time
/// (engineer); a DONE or CANCELLED order is closed.
pub async fn update(
    db: &DatabaseConnection,
    events: &EventBus,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: MaintenancePatch,
) -> AppResult<maintenance_order::Model> {
    caller.require(Role::Engineer)?;
    let title = patch
        .title
        .as_deref()
        .map(|t| validate::name("title", t, MAX_TITLE))
        .transpose()?;
    let description = patch
        .description
        .map(|d| validate::text("description", d.as_deref(), MAX_DESCRIPTION))
        .transpose()?;
    let new_priority = patch.priority.map(priority).transpose()?;
    let txn = super::begin_write(db).await?;
    let order = lock(&txn, caller, id).await?;
    if !is_open(order.status) {
        return Err(AppError::Conflict(format!(
            "a {} maintenance order is closed: it cannot change",
            order.status.as_str().to_uppercase()
        )));
    }
    if let Some(Some(user_id)) = patch.assignee_id {
        check_assignee(&txn, user_id, order.workshop_id).await?;
    }
    let line_id = equipment::Entity::find_by_id(order.equipment_id)
        .select_only()
        .column(equipment::Column::LineId)
        .into_tuple::<i64>()
        .one(&txn)
        .await?
        .unwrap_or_default();
    let previous = order.status;
    let mut active: maintenance_order::ActiveModel = order.into();
    if let Some(title) = title {
        active.title = Set(title);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(p) = new_priority {
        active.priority = Set(p);
    }
    if let Some(assignee) = patch.assignee_id {
        active.assignee_id = Set(assignee);
    }
    if let Some(at) = patch.scheduled_for {
        active.scheduled_for = Set(at);
    }
    active.updated_at = Set(Utc::now());
    let order = active.update(&txn).await?;
    audit.write(&txn, order.id).await?;
    txn.commit().await?;
    events.publish(Event::Maintenance(change(&order, line_id, Some(previous))));
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (from, to) pair against the lifecycle drawn out by hand.
    #[test]
    fn the_maintenance_lifecycle_has_exactly_its_edges() {
        use MaintenanceMove::*;
        use MaintenanceStatus::*;
        let expected = |from: MaintenanceStatus, to: MaintenanceStatus| match (from, to) {
            (Requested, Scheduled) => Some(Schedule),
            (Scheduled, InProgress) => Some(Start),
            (InProgress, OnHold) => Some(Hold),
            (OnHold, InProgress) => Some(Resume),
            (InProgress, Done) | (OnHold, Done) => Some(Finish),
            (Requested, Cancelled)
            | (Scheduled, Cancelled)
            | (InProgress, Cancelled)
            | (OnHold, Cancelled) => Some(Cancel),
            _ => None,
        };
        let mut pairs = 0;
        for from in MaintenanceStatus::iter() {
            for to in MaintenanceStatus::iter() {
                assert_eq!(
                    maintenance_move(from, to),
                    expected(from, to),
                    "{from:?} → {to:?}"
                );
                pairs += 1;
            }
        }
        assert_eq!(pairs, 36);
        for status in MaintenanceStatus::iter() {
            let closed = matches!(status, Done | Cancelled);
            assert_eq!(is_open(status), !closed, "{status:?}");
        }
    }

    #[test]
    fn planned_work_books_planned_time_and_repairs_cost_availability() {
        assert_eq!(
            maintenance_reason(MaintenanceKind::Corrective).2,
            ReasonCategory::Unplanned
        );
        for kind in [MaintenanceKind::Preventive, MaintenanceKind::Predictive] {
            assert_eq!(maintenance_reason(kind).2, ReasonCategory::Planned);
        }
    }
}
