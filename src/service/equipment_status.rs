//! Machine status: one open `equipment_status_events` interval per machine, closed and
//! reopened as the status moves, with `equipment.status` and `status_since` kept in step.
//!
//! [`set`] is `setEquipmentStatus`; [`commit`] is the same write for the server's own callers
//! (the simulator passes `Audit::internal()`); [`apply`] and [`apply_resolved`] work inside a
//! transaction someone else owns (maintenance) and hand back the event to publish after it
//! commits.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use entity::{
    downtime_reason,
    enums::{EquipmentStatus, Role, StatusSource},
    equipment, equipment_status_event as status_event,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};

use super::audit::Audit;
use crate::{
    auth::{Caller, WorkshopScope},
    error::{AppError, AppResult, DbResultExt},
    events::{Event, EventBus, Place, StatusChange},
};

/// How far past the server's clock a reported time may lie: gateway clocks drift a little,
/// and a change stamped by the machine itself should not be refused for it.
pub const MAX_CLOCK_SKEW: Duration = Duration::seconds(5);
/// Width of `downtime_reasons.code`.
const MAX_REASON_CODE: usize = 32;

/// Who set a status, as the interval records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetBy {
    pub source: StatusSource,
    /// The person; `None` for gateways and the server.
    pub user_id: Option<i64>,
}

impl SetBy {
    /// The caller of a mutation: a gateway's token, or a person.
    pub fn caller(caller: &Caller) -> Self {
        if caller.is_gateway() {
            Self {
                source: StatusSource::Gateway,
                user_id: None,
            }
        } else {
            Self {
                source: StatusSource::Manual,
                user_id: caller.user_id,
            }
        }
    }

    /// The simulator.
    pub fn simulator() -> Self {
        Self {
            source: StatusSource::Simulator,
            user_id: None,
        }
    }

    /// The server, as a consequence of `user_id`'s action (maintenance starting).
    pub fn system(user_id: Option<i64>) -> Self {
        Self {
            source: StatusSource::System,
            user_id,
        }
    }
}

/// The status asked for.
#[derive(Clone, Debug)]
pub struct NewStatus {
    pub status: EquipmentStatus,
    /// A `downtime_reasons.code`; required for DOWN, SETUP and MAINTENANCE.
    pub reason_code: Option<String>,
    /// When it changed; default now.
    pub at: Option<DateTime<Utc>>,
}

/// What a status write left.
#[derive(Clone, Debug)]
pub struct StatusOutcome {
    /// The machine's open interval afterwards (the existing one when nothing changed).
    pub event: status_event::Model,
    /// Its reason.
    pub reason: Option<downtime_reason::Model>,
    /// The machine afterwards.
    pub equipment: equipment::Model,
    /// The event to publish after the commit; `None` when status and reason were already so
    /// and nothing was written.
    pub change: Option<StatusChange>,
}

/// Whether an interval of `status` must say why (OEE books it by the reason's category).
pub fn requires_reason(status: EquipmentStatus) -> bool {
    matches!(
        status,
        EquipmentStatus::Down | EquipmentStatus::Setup | EquipmentStatus::Maintenance
    )
}

/// `setEquipmentStatus`: a gateway in its own workshop, or an operator and above in scope.
pub async fn set(
    db: &DatabaseConnection,
    events: &EventBus,
    cache: &crate::cache::Cache,
    caller: &Caller,
    audit: &Audit,
    equipment_id: i64,
    new: NewStatus,
) -> AppResult<StatusOutcome> {
    caller.require_gateway_or(Role::Operator)?;
    commit(
        db,
        events,
        cache,
        audit,
        &caller.scope,
        equipment_id,
        new,
        SetBy::caller(caller),
    )
    .await
}

/// Sets a machine's status in a transaction of its own and publishes the change after the
/// commit; a repeat of the current status and reason writes nothing. For callers without a
/// request (the simulator: `WorkshopScope::All`, `Audit::internal()`); role checks are theirs.
#[expect(
    clippy::too_many_arguments,
    reason = "the write's connection, bus and cache, its audit, scope and input"
)]
pub async fn commit(
    db: &DatabaseConnection,
    events: &EventBus,
    cache: &crate::cache::Cache,
    audit: &Audit,
    scope: &WorkshopScope,
    equipment_id: i64,
    new: NewStatus,
    by: SetBy,
) -> AppResult<StatusOutcome> {
    let txn = super::begin_write(db).await?;
    let machine = lock_machine(&txn, scope, equipment_id).await?;
    let outcome = apply(&txn, &machine, new, by).await?;
    let Some(change) = outcome.change.clone() else {
        txn.rollback().await?;
        return Ok(outcome);
    };
    audit.write(&txn, outcome.event.id).await?;
    txn.commit().await?;
    // The row's status and the line's list of machines showing it.
    cache
        .invalidate(&crate::cache::Tag::equipment_row(&machine))
        .await;
    events.publish(Event::EquipmentStatus(change));
    Ok(outcome)
}

/// One machine, locked until the transaction ends (PostgreSQL; SQLite has a single writer
/// anyway), or `NOT_FOUND` when missing or outside `scope`.
pub async fn lock_machine(
    conn: &impl ConnectionTrait,
    scope: &WorkshopScope,
    id: i64,
) -> AppResult<equipment::Model> {
    equipment::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .filter(|e| scope.allows(e.workshop_id))
        .ok_or_else(|| AppError::not_found("equipment", id))
}

/// The machine's open interval, if it has one.
pub async fn open_event(
    conn: &impl ConnectionTrait,
    equipment_id: i64,
) -> AppResult<Option<status_event::Model>> {
    Ok(status_event::Entity::find()
        .filter(status_event::Column::EquipmentId.eq(equipment_id))
        .filter(status_event::Column::EndedAt.is_null())
        .one(conn)
        .await?)
}

/// The interval closed most recently, with its reason: what the machine was before its
/// current status.
pub async fn previous_event(
    conn: &impl ConnectionTrait,
    equipment_id: i64,
) -> AppResult<Option<(status_event::Model, Option<downtime_reason::Model>)>> {
    let row = status_event::Entity::find()
        .filter(status_event::Column::EquipmentId.eq(equipment_id))
        .filter(status_event::Column::EndedAt.is_not_null())
        .order_by_desc(status_event::Column::EndedAt)
        .order_by_desc(status_event::Column::Id)
        .find_also_related(downtime_reason::Entity)
        .one(conn)
        .await?;
    Ok(row)
}

/// Checks `new` (reason, time) and moves `machine` (locked by the caller, in its scope) to it
/// on `conn`, inside the caller's transaction. Publishing `change` after the commit is the
/// caller's part.
pub async fn apply(
    conn: &impl ConnectionTrait,
    machine: &equipment::Model,
    new: NewStatus,
    by: SetBy,
) -> AppResult<StatusOutcome> {
    let reason = resolve_reason(conn, new.status, new.reason_code.as_deref()).await?;
    apply_resolved(conn, machine, new.status, reason, new.at, by).await
}

/// [`apply`] with the reason already looked up and not checked against the status (to
/// restore an earlier interval as it was).
pub async fn apply_resolved(
    conn: &impl ConnectionTrait,
    machine: &equipment::Model,
    status: EquipmentStatus,
    reason: Option<downtime_reason::Model>,
    at: Option<DateTime<Utc>>,
    by: SetBy,
) -> AppResult<StatusOutcome> {
    // Microseconds: what PostgreSQL keeps and the bus carries, so the event equals the row.
    let now = Utc::now().trunc_subsecs(6);
    let at = at.map(|at| at.trunc_subsecs(6));
    if at.is_some_and(|at| at > now + MAX_CLOCK_SKEW) {
        return Err(AppError::invalid(
            "at",
            format!(
                "`at` must not be in the future (more than {} s ahead of the server's clock)",
                MAX_CLOCK_SKEW.num_seconds()
            ),
        ));
    }
    let open = open_event(conn, machine.id).await?;
    let reason_id = reason.as_ref().map(|r| r.id);
    if let Some(open) = open.as_ref()
        && open.status == status
        && open.reason_id == reason_id
    {
        return Ok(StatusOutcome {
            event: open.clone(),
            reason,
            equipment: machine.clone(),
            change: None,
        });
    }
    // The current status began here; a change cannot predate it.
    let floor = open.as_ref().map_or(machine.status_since, |o| o.started_at);
    let at = match at {
        Some(at) if at < floor => {
            return Err(AppError::invalid(
                "at",
                format!(
                    "`at` must not be before the machine's current status began ({})",
                    floor.to_rfc3339()
                ),
            ));
        }
        Some(at) => at,
        // A current interval stamped slightly ahead (clock skew) is not closed before it began.
        None => now.max(floor),
    };
    if let Some(open) = &open {
        status_event::Entity::update_many()
            .col_expr(status_event::Column::EndedAt, Expr::value(at))
            .filter(status_event::Column::Id.eq(open.id))
            .exec(conn)
            .await?;
    }
    let event = status_event::ActiveModel {
        equipment_id: Set(machine.id),
        workshop_id: Set(machine.workshop_id),
        status: Set(status),
        reason_id: Set(reason_id),
        started_at: Set(at),
        ended_at: Set(None),
        source: Set(by.source),
        user_id: Set(by.user_id),
        ..Default::default()
    }
    .insert(conn)
    .await
    .on_constraint("the machine's status changed at the same moment; try again")?;
    let mut active: equipment::ActiveModel = machine.clone().into();
    active.status = Set(status);
    active.status_since = Set(at);
    let equipment = active.update(conn).await?;
    let change = StatusChange {
        place: Place {
            workshop_id: machine.workshop_id,
            line_id: machine.line_id,
            equipment_id: machine.id,
        },
        status_event_id: event.id,
        status,
        previous: Some(machine.status),
        reason_code: reason.as_ref().map(|r| r.code.clone()),
        at,
        user_id: by.user_id,
        source: by.source,
        reason_name: reason.as_ref().map(|r| r.name.clone()),
    };
    Ok(StatusOutcome {
        event,
        reason,
        equipment,
        change: Some(change),
    })
}

/// The reason named by `code` for an interval of `status`: known, required for DOWN, SETUP
/// and MAINTENANCE, and absent for RUNNING (a running interval has no loss to explain).
pub async fn resolve_reason(
    conn: &impl ConnectionTrait,
    status: EquipmentStatus,
    code: Option<&str>,
) -> AppResult<Option<downtime_reason::Model>> {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let Some(code) = code else {
        if requires_reason(status) {
            return Err(AppError::invalid(
                "reasonCode",
                "`reasonCode` is required for DOWN, SETUP and MAINTENANCE",
            ));
        }
        return Ok(None);
    };
    if code.chars().count() > MAX_REASON_CODE {
        return Err(AppError::invalid(
            "reasonCode",
            format!("`reasonCode` must be at most {MAX_REASON_CODE} characters"),
        ));
    }
    if status == EquipmentStatus::Running {
        return Err(AppError::invalid(
            "reasonCode",
            "a RUNNING machine takes no `reasonCode`",
        ));
    }
    let reason = downtime_reason::Entity::find()
        .filter(downtime_reason::Column::Code.eq(code))
        .one(conn)
        .await?
        .ok_or_else(|| {
            AppError::invalid("reasonCode", "`reasonCode` is not a known downtime reason")
        })?;
    Ok(Some(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_need_a_reason_and_running_does_not() {
        use EquipmentStatus::*;
        let needing: Vec<_> = [Running, Idle, Setup, Down, Maintenance, Offline]
            .into_iter()
            .filter(|s| requires_reason(*s))
            .collect();
        assert_eq!(needing, [Setup, Down, Maintenance]);
    }
}
