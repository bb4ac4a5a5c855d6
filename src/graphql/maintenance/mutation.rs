//! Maintenance order writes: request, plan and move through the lifecycle. Each mutation takes
//! one `input` and returns a payload.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::MaintenanceOrder;
use crate::{
    graphql::{
        context::{ContextExt, parse_id, parse_opt_id},
        enums::{MaintenanceKind, MaintenanceStatus},
        plant::{mutation::patch, status::StatusEvent, types::Equipment},
    },
    service::maintenance::{self as maintenance_service, MaintenanceTransition},
};

/// Input of `createMaintenanceOrder`.
#[derive(InputObject)]
pub struct CreateMaintenanceOrderInput {
    /// The machine.
    pub equipment_id: ID,
    /// Corrective, preventive or predictive; operators may request CORRECTIVE only.
    pub kind: MaintenanceKind,
    /// 1 (most urgent) to 5; default 3.
    pub priority: Option<i32>,
    /// Short description, 1 to 200 characters.
    pub title: String,
    /// Details, at most 4,000 characters.
    pub description: Option<String>,
    /// The alarm that prompted it: an alarm of the same machine.
    pub alarm_id: Option<ID>,
    /// Planned time (engineers and above); the order then starts SCHEDULED instead of
    /// REQUESTED.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The person to do it (engineers and above): active, with access to the workshop.
    pub assignee_id: Option<ID>,
}

/// Input of `updateMaintenanceOrder`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateMaintenanceOrderInput {
    /// The order to change (open orders only).
    pub id: ID,
    /// New title.
    pub title: Option<String>,
    /// New details; `null` clears them.
    pub description: MaybeUndefined<String>,
    /// New priority, 1 to 5.
    pub priority: Option<i32>,
    /// New assignee; `null` unassigns.
    pub assignee_id: MaybeUndefined<ID>,
    /// New planned time; `null` clears it (the state does not change).
    pub scheduled_for: MaybeUndefined<DateTime<Utc>>,
}

/// Input of `transitionMaintenanceOrder`.
#[derive(InputObject)]
pub struct TransitionMaintenanceOrderInput {
    /// The order to move.
    pub id: ID,
    /// Its next state: REQUESTED → SCHEDULED → IN_PROGRESS ⇄ ON_HOLD → DONE, or CANCELLED
    /// from any open state. Starting puts the machine into MAINTENANCE; finishing (or
    /// cancelling started work) gives it its previous status back.
    pub to: MaintenanceStatus,
    /// Only with DONE: the downtime the work caused, 0 to the seconds since work started
    /// (the default).
    pub downtime_s: Option<i32>,
    /// A remark kept in the audit log, at most 2,000 characters.
    pub note: Option<String>,
}

/// Result of creating or changing a maintenance order.
#[derive(SimpleObject)]
pub struct MaintenanceOrderPayload {
    /// The order as stored.
    pub order: MaintenanceOrder,
}

/// Result of `transitionMaintenanceOrder`.
#[derive(SimpleObject)]
pub struct TransitionMaintenanceOrderPayload {
    /// The order as stored.
    pub order: MaintenanceOrder,
    /// The machine's new status interval, when the transition moved it.
    pub status_event: Option<StatusEvent>,
    /// The machine after its status moved (none when it did not).
    pub equipment: Option<Equipment>,
}

/// Maintenance order mutations.
#[derive(Default)]
pub struct MaintenanceMutation;

/// Maintenance order mutations.
#[Object]
impl MaintenanceMutation {
    /// Requests maintenance on a machine (operators: corrective; engineers: any kind).
    async fn create_maintenance_order(
        &self,
        ctx: &Context<'_>,
        input: CreateMaintenanceOrderInput,
    ) -> Result<MaintenanceOrderPayload> {
        let state = ctx.state();
        let new = maintenance_service::NewMaintenanceOrder {
            equipment_id: parse_id("equipmentId", &input.equipment_id)?,
            kind: input.kind.into(),
            priority: input.priority,
            title: input.title,
            description: input.description,
            alarm_id: parse_opt_id("alarmId", input.alarm_id.as_ref())?,
            scheduled_for: input.scheduled_for,
            assignee_id: parse_opt_id("assigneeId", input.assignee_id.as_ref())?,
        };
        let order = maintenance_service::create(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            new,
        )
        .await?;
        Ok(MaintenanceOrderPayload {
            order: MaintenanceOrder(order),
        })
    }

    /// Changes an open maintenance order (engineer).
    async fn update_maintenance_order(
        &self,
        ctx: &Context<'_>,
        input: UpdateMaintenanceOrderInput,
    ) -> Result<MaintenanceOrderPayload> {
        let state = ctx.state();
        let id = parse_id("id", &input.id)?;
        let assignee_id = match patch(input.assignee_id) {
            Some(Some(user)) => Some(Some(parse_id("assigneeId", &user)?)),
            Some(None) => Some(None),
            None => None,
        };
        let changes = maintenance_service::MaintenancePatch {
            title: input.title,
            description: patch(input.description),
            priority: input.priority,
            assignee_id,
            scheduled_for: patch(input.scheduled_for),
        };
        let order = maintenance_service::update(
            &state.db.write,
            &state.events,
            ctx.caller()?,
            &ctx.audit(),
            id,
            changes,
        )
        .await?;
        Ok(MaintenanceOrderPayload {
            order: MaintenanceOrder(order),
        })
    }

    /// Moves a maintenance order to its next state (engineer); an illegal move is `CONFLICT`
    /// naming the states allowed from here.
    async fn transition_maintenance_order(
        &self,
        ctx: &Context<'_>,
        input: TransitionMaintenanceOrderInput,
    ) -> Result<TransitionMaintenanceOrderPayload> {
        let state = ctx.state();
        let step = MaintenanceTransition {
            id: parse_id("id", &input.id)?,
            to: input.to.into(),
            downtime_s: input.downtime_s,
            note: input.note,
        };
        let outcome = maintenance_service::transition(
            &state.db.write,
            &state.events,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            step,
        )
        .await?;
        let (status_event, equipment) = match outcome.status {
            Some(s) => (
                Some(StatusEvent::new(s.event, s.reason)),
                Some(Equipment(s.equipment)),
            ),
            None => (None, None),
        };
        Ok(TransitionMaintenanceOrderPayload {
            order: MaintenanceOrder(outcome.order),
            status_event,
            equipment,
        })
    }
}
