//! Alarms as the API shows them.

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{alarm, alarm_event};

use crate::{
    error::AppError,
    events::{AlarmAction as ServiceAction, AlarmChange},
    graphql::{
        context::ContextExt,
        enums::{AlarmSeverity, AlarmStatus},
        plant::types::{Equipment, Sensor},
    },
    service::alarm::{AlarmStatus as ServiceStatus, action_of},
};

/// An alarm: a condition on a machine (and maybe one of its sensors) that needs attention.
pub struct Alarm(pub alarm::Model);

/// An alarm: a condition on a machine (and maybe one of its sensors) that needs attention,
/// or (type `SYSTEM`) a condition of the server itself that an alert rule watches.
#[Object]
impl Alarm {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Kind of condition: `HIGH` or `LOW` for sensor thresholds, else what the raiser chose
    /// (e.g. `COMMUNICATION_LOST`).
    #[graphql(name = "type")]
    async fn alarm_type(&self) -> &str {
        &self.0.r#type
    }
    /// Severity.
    async fn severity(&self) -> AlarmSeverity {
        AlarmSeverity::from_rank(self.0.severity)
    }
    /// Status, from the acknowledged and cleared flags.
    async fn status(&self) -> AlarmStatus {
        ServiceStatus::of(self.0.cleared, self.0.acknowledged).into()
    }
    /// Human-readable text.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// For threshold alarms the latest value seen while open; else the value given when
    /// raised.
    async fn value(&self) -> Option<f64> {
        self.0.value
    }
    /// Threshold that was crossed.
    async fn threshold(&self) -> Option<f64> {
        self.0.threshold
    }
    /// Extra details (JSON).
    async fn details(&self) -> Option<Json<serde_json::Value>> {
        self.0.details.clone().map(Json)
    }
    /// How often the condition occurred while the alarm was open.
    async fn occurrences(&self) -> i32 {
        self.0.occurrences
    }
    /// First occurrence.
    async fn start_ts(&self) -> DateTime<Utc> {
        self.0.start_ts
    }
    /// Latest time the condition held (for threshold alarms: the last value in the band).
    async fn last_ts(&self) -> DateTime<Utc> {
        self.0.last_ts
    }
    /// Whether someone acknowledged it.
    async fn acknowledged(&self) -> bool {
        self.0.acknowledged
    }
    /// When it was acknowledged.
    async fn ack_ts(&self) -> Option<DateTime<Utc>> {
        self.0.ack_ts
    }
    /// Id of the user who acknowledged it.
    async fn ack_by(&self) -> Option<ID> {
        self.0.ack_by.map(ID::from)
    }
    /// Whether the condition is over.
    async fn cleared(&self) -> bool {
        self.0.cleared
    }
    /// When it cleared.
    async fn clear_ts(&self) -> Option<DateTime<Utc>> {
        self.0.clear_ts
    }
    /// Id of the user who cleared it by hand; null when it cleared by itself (or is open).
    async fn cleared_by(&self) -> Option<ID> {
        self.0.cleared_by.map(ID::from)
    }
    /// Shelved (ISA-18.2) until this time: meanwhile it does not count as active. May lie in
    /// the past once the shelving ran out.
    async fn shelved_until(&self) -> Option<DateTime<Utc>> {
        self.0.shelved_until
    }
    /// Whether it is shelved now.
    async fn shelved(&self) -> bool {
        self.0.shelved_until.is_some_and(|until| until > Utc::now())
    }
    /// Id of the user it is assigned to.
    async fn assignee_id(&self) -> Option<ID> {
        self.0.assignee_id.map(ID::from)
    }
    /// Id of the workshop; null for a `SYSTEM` alarm (the server's own health, raised by an
    /// alert rule: admins only).
    async fn workshop_id(&self) -> Option<ID> {
        self.0.workshop_id.map(ID::from)
    }
    /// The machine; null for a `SYSTEM` alarm.
    async fn equipment(&self, ctx: &Context<'_>) -> Result<Option<Equipment>> {
        let Some(id) = self.0.equipment_id else {
            return Ok(None);
        };
        let e = ctx.loaders().equipment_by_id.load_one(id).await?;
        Ok(e.map(Equipment))
    }
    /// What raised a `SYSTEM` alarm: the alert rule and the instance, `rule@instance`.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Its timeline, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<AlarmEvent>> {
        let rows = ctx
            .loaders()
            .alarm_events_by_alarm
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.iter().cloned().map(AlarmEvent).collect())
    }
    /// The sensor, for threshold alarms.
    async fn sensor(&self, ctx: &Context<'_>) -> Result<Option<Sensor>> {
        let Some(id) = self.0.sensor_id else {
            return Ok(None);
        };
        let s = ctx.loaders().sensor_by_id.load_one(id).await?;
        Ok(s.map(Sensor::new))
    }
}

/// What happened to an alarm.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlarmAction {
    /// A new alarm opened.
    Raised,
    /// An open alarm recurred: occurrences, last time and maybe severity moved.
    Updated,
    /// Someone acknowledged it.
    Acknowledged,
    /// It cleared (by itself, or by hand).
    Cleared,
    /// It was assigned or unassigned.
    Assigned,
    /// Someone commented.
    Commented,
    /// It was shelved.
    Shelved,
    /// Its shelving was ended.
    Unshelved,
}

impl From<ServiceAction> for AlarmAction {
    fn from(a: ServiceAction) -> Self {
        match a {
            ServiceAction::Raised => Self::Raised,
            ServiceAction::Updated => Self::Updated,
            ServiceAction::Acknowledged => Self::Acknowledged,
            ServiceAction::Cleared => Self::Cleared,
            ServiceAction::Assigned => Self::Assigned,
            ServiceAction::Commented => Self::Commented,
            ServiceAction::Shelved => Self::Shelved,
            ServiceAction::Unshelved => Self::Unshelved,
        }
    }
}

/// One entry of an alarm's timeline.
pub struct AlarmEvent(pub alarm_event::Model);

/// The timeline entry of a transition, as `alarmChanged` sends it.
impl From<&AlarmChange> for AlarmEvent {
    fn from(change: &AlarmChange) -> Self {
        Self(alarm_event::Model {
            id: change.alarm_event_id,
            alarm_id: change.alarm_id,
            ts: change.ts,
            action: change.action.as_str().to_owned(),
            user_id: change.user_id,
            note: change.note.clone(),
        })
    }
}

/// One entry of an alarm's timeline.
#[Object]
impl AlarmEvent {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Id of the alarm.
    async fn alarm_id(&self) -> ID {
        self.0.alarm_id.into()
    }
    /// What happened.
    async fn action(&self) -> Result<AlarmAction> {
        action_of(&self.0.action)
            .map(AlarmAction::from)
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("unknown alarm action {:?}", self.0.action))
                    .into()
            })
    }
    /// When.
    async fn ts(&self) -> DateTime<Utc> {
        self.0.ts
    }
    /// Id of the user (or gateway account) who did it; null for the server's own threshold
    /// evaluation.
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id.map(ID::from)
    }
    /// The note, comment, shelving reason or description that came with it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The alarm as it is now (in `alarmChanged`: right after this transition).
    async fn alarm(&self, ctx: &Context<'_>) -> Result<Option<Alarm>> {
        let alarm = ctx.loaders().alarm_by_id.load_one(self.0.alarm_id).await?;
        Ok(alarm.map(Alarm))
    }
}

/// Number of alarms in one group of `alarmCounts`; only the grouping key is set.
#[derive(SimpleObject)]
pub struct AlarmCount {
    /// The severity, when grouped by severity.
    pub severity: Option<AlarmSeverity>,
    /// The status, when grouped by status.
    pub status: Option<AlarmStatus>,
    /// The workshop, when grouped by workshop.
    pub workshop_id: Option<ID>,
    /// Alarms in the group.
    pub count: i64,
}
