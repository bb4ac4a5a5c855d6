//! `setEquipmentStatus` and the status interval it answers with.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{downtime_reason, equipment_status_event};

use super::types::Equipment;
use crate::{
    events::StatusChange,
    graphql::{
        context::{ContextExt, parse_id},
        enums::EquipmentStatus,
    },
    service::equipment_status::{self as status_service, NewStatus, StatusOutcome},
};

/// Who or what reported a status change.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum StatusSource {
    /// A person, through the API.
    Manual,
    /// A gateway's service token.
    Gateway,
    /// The built-in simulator.
    Simulator,
    /// The server, following another change (maintenance starting or finishing).
    System,
}

impl From<entity::enums::StatusSource> for StatusSource {
    fn from(v: entity::enums::StatusSource) -> Self {
        use entity::enums::StatusSource as Db;
        match v {
            Db::Manual => Self::Manual,
            Db::Gateway => Self::Gateway,
            Db::Simulator => Self::Simulator,
            Db::System => Self::System,
        }
    }
}

/// One interval of a machine's status history; the open one has no `endedAt`.
pub struct StatusEvent {
    id: i64,
    equipment_id: i64,
    status: entity::enums::EquipmentStatus,
    /// Code and display name of the downtime reason.
    reason: Option<(String, String)>,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    source: entity::enums::StatusSource,
    user_id: Option<i64>,
}

impl StatusEvent {
    /// The interval with its reason.
    pub fn new(
        event: equipment_status_event::Model,
        reason: Option<downtime_reason::Model>,
    ) -> Self {
        Self {
            id: event.id,
            equipment_id: event.equipment_id,
            status: event.status,
            reason: reason.map(|r| (r.code, r.name)),
            started_at: event.started_at,
            ended_at: event.ended_at,
            source: event.source,
            user_id: event.user_id,
        }
    }
}

/// The interval a status change opened, as `equipmentStatusChanged` sends it.
impl From<&StatusChange> for StatusEvent {
    fn from(change: &StatusChange) -> Self {
        Self {
            id: change.status_event_id,
            equipment_id: change.place.equipment_id,
            status: change.status,
            reason: change
                .reason_code
                .clone()
                .map(|code| (code, change.reason_name.clone().unwrap_or_default())),
            started_at: change.at,
            ended_at: None,
            source: change.source,
            user_id: change.user_id,
        }
    }
}

/// One interval of a machine's status history; the open one has no `endedAt`.
#[Object]
impl StatusEvent {
    /// Identifier.
    async fn id(&self) -> ID {
        self.id.into()
    }
    /// Id of the machine.
    async fn equipment_id(&self) -> ID {
        self.equipment_id.into()
    }
    /// The status during the interval.
    async fn status(&self) -> EquipmentStatus {
        self.status.into()
    }
    /// Code of the downtime reason (`downtime_reasons`), when there is one.
    async fn reason_code(&self) -> Option<&str> {
        self.reason.as_ref().map(|(code, _)| code.as_str())
    }
    /// Display name of the downtime reason.
    async fn reason_name(&self) -> Option<&str> {
        self.reason.as_ref().map(|(_, name)| name.as_str())
    }
    /// Start of the interval.
    async fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }
    /// End of the interval; `null` while it is the machine's current status.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.ended_at
    }
    /// Who or what set the status.
    async fn source(&self) -> StatusSource {
        self.source.into()
    }
    /// Id of the person who set it (none for gateways and the server).
    async fn user_id(&self) -> Option<ID> {
        self.user_id.map(ID::from)
    }
}

/// Input of `setEquipmentStatus`.
#[derive(InputObject)]
pub struct SetEquipmentStatusInput {
    /// The machine.
    pub equipment_id: ID,
    /// Its new status.
    pub status: EquipmentStatus,
    /// A downtime reason code (at most 32 characters); required for DOWN, SETUP and
    /// MAINTENANCE, refused for RUNNING.
    pub reason_code: Option<String>,
    /// When the status changed (default now); not in the future (5 s of clock skew allowed)
    /// nor before the current status began.
    pub at: Option<DateTime<Utc>>,
}

/// Result of `setEquipmentStatus`.
#[derive(SimpleObject)]
pub struct SetEquipmentStatusPayload {
    /// The machine's current interval: the new one, or the existing one when nothing changed.
    pub event: StatusEvent,
    /// Whether anything was written (`false`: the machine already had this status and
    /// reason).
    pub changed: bool,
    /// The machine afterwards.
    pub equipment: Equipment,
}

impl From<StatusOutcome> for SetEquipmentStatusPayload {
    fn from(o: StatusOutcome) -> Self {
        Self {
            changed: o.change.is_some(),
            event: StatusEvent::new(o.event, o.reason),
            equipment: Equipment(o.equipment),
        }
    }
}

/// Machine status mutations.
#[derive(Default)]
pub struct StatusMutation;

/// Machine status mutations.
#[Object]
impl StatusMutation {
    /// Sets a machine's status (gateways in their workshop, operators and above in scope):
    /// closes the current interval and opens the next. Repeating the current status and
    /// reason changes nothing.
    async fn set_equipment_status(
        &self,
        ctx: &Context<'_>,
        input: SetEquipmentStatusInput,
    ) -> Result<SetEquipmentStatusPayload> {
        let state = ctx.state();
        let equipment_id = parse_id("equipmentId", &input.equipment_id)?;
        let new = NewStatus {
            status: input.status.into(),
            reason_code: input.reason_code,
            at: input.at,
        };
        let outcome = status_service::set(
            &state.db.write,
            &state.events,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            equipment_id,
            new,
        )
        .await?;
        Ok(outcome.into())
    }
}
