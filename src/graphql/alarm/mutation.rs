//! The alarm lifecycle: raise, acknowledge, clear, assign, comment, shelve. Each mutation
//! takes one `input` and returns a payload; the rules live in `service::alarm`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::{Alarm, AlarmEvent};
use crate::{
    graphql::{
        context::{ContextExt, parse_id, parse_ids, parse_opt_id},
        enums::AlarmSeverity,
    },
    service::alarm_lifecycle::{self as alarm_service, MAX_ACKNOWLEDGE, NewAlarm, Writer},
};

/// Input of `raiseAlarm`.
#[derive(InputObject)]
pub struct RaiseAlarmInput {
    /// The machine.
    pub equipment_id: ID,
    /// One of its sensors, when the condition is about one.
    pub sensor_id: Option<ID>,
    /// Kind of condition: 1 to 64 letters, digits or `_ - . : /` (e.g. `COMMUNICATION_LOST`).
    /// An open alarm of the same machine, sensor and type recurs instead of a new one.
    #[graphql(name = "type")]
    pub alarm_type: String,
    /// Severity (a recurrence keeps the higher of old and new).
    pub severity: AlarmSeverity,
    /// Human-readable text, 1 to 500 characters.
    pub message: String,
    /// The value that raised it.
    pub value: Option<f64>,
}

/// Input of `acknowledgeAlarm`.
#[derive(InputObject)]
pub struct AcknowledgeAlarmInput {
    /// The alarm.
    pub id: ID,
    /// A note for its timeline, at most 2,000 characters.
    pub note: Option<String>,
}

/// Input of `acknowledgeAlarms`.
#[derive(InputObject)]
pub struct AcknowledgeAlarmsInput {
    /// The alarms: 1 to 500, all visible to the caller, or nothing changes.
    pub ids: Vec<ID>,
    /// A note for each one's timeline, at most 2,000 characters.
    pub note: Option<String>,
}

/// Input of `clearAlarm`.
#[derive(InputObject)]
pub struct ClearAlarmInput {
    /// The alarm.
    pub id: ID,
    /// A note for its timeline, at most 2,000 characters.
    pub note: Option<String>,
}

/// Input of `assignAlarm`.
#[derive(InputObject)]
pub struct AssignAlarmInput {
    /// The alarm.
    pub id: ID,
    /// The assignee: an active person who may see the alarm's workshop; null unassigns.
    pub user_id: Option<ID>,
}

/// Input of `commentAlarm`.
#[derive(InputObject)]
pub struct CommentAlarmInput {
    /// The alarm.
    pub id: ID,
    /// The comment, 1 to 2,000 characters.
    pub text: String,
}

/// Input of `shelveAlarm`.
#[derive(InputObject)]
pub struct ShelveAlarmInput {
    /// The alarm (not cleared).
    pub id: ID,
    /// End of the shelving: in the future, at most 24 hours ahead.
    pub until: DateTime<Utc>,
    /// Why, 1 to 2,000 characters.
    pub reason: String,
}

/// Input of `unshelveAlarm`.
#[derive(InputObject)]
pub struct UnshelveAlarmInput {
    /// The alarm.
    pub id: ID,
}

/// Result of an alarm write.
#[derive(SimpleObject)]
pub struct AlarmPayload {
    /// The alarm as stored.
    pub alarm: Alarm,
}

/// Result of `acknowledgeAlarms`.
#[derive(SimpleObject)]
pub struct AcknowledgeAlarmsPayload {
    /// The alarms, in the order asked (repeats removed).
    pub alarms: Vec<Alarm>,
}

/// Result of `commentAlarm`.
#[derive(SimpleObject)]
pub struct CommentAlarmPayload {
    /// The comment's timeline entry.
    pub alarm_event: AlarmEvent,
    /// The alarm.
    pub alarm: Alarm,
}

fn writer<'a>(ctx: &'a Context<'_>) -> Writer<'a> {
    let state = ctx.state();
    Writer {
        db: &state.db.write,
        events: &state.events,
    }
}

/// Alarm mutations.
#[derive(Default)]
pub struct AlarmMutation;

/// Alarm mutations.
#[Object]
impl AlarmMutation {
    /// Raises an alarm, or makes the open one of the same machine, sensor and type recur
    /// (gateways in their workshop; engineers and above).
    async fn raise_alarm(&self, ctx: &Context<'_>, input: RaiseAlarmInput) -> Result<AlarmPayload> {
        let new = NewAlarm {
            equipment_id: parse_id("equipmentId", &input.equipment_id)?,
            sensor_id: parse_opt_id("sensorId", input.sensor_id.as_ref())?,
            alarm_type: input.alarm_type,
            severity: input.severity.rank(),
            message: input.message,
            value: input.value,
        };
        let model = alarm_service::raise(writer(ctx), ctx.caller()?, &ctx.audit(), new).await?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }

    /// Acknowledges an alarm (operators and above); acknowledging it again changes nothing.
    async fn acknowledge_alarm(
        &self,
        ctx: &Context<'_>,
        input: AcknowledgeAlarmInput,
    ) -> Result<AlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let caller = ctx.caller()?;
        let mut alarms = alarm_service::acknowledge(
            writer(ctx),
            caller,
            &ctx.audit(),
            &[id],
            input.note.as_deref(),
        )
        .await?;
        let model = alarms.pop().ok_or_else(|| {
            crate::error::AppError::Internal(anyhow::anyhow!("acknowledge returned nothing"))
        })?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }

    /// Acknowledges up to 500 alarms at once (operators and above): all of them visible, or
    /// none changes.
    async fn acknowledge_alarms(
        &self,
        ctx: &Context<'_>,
        input: AcknowledgeAlarmsInput,
    ) -> Result<AcknowledgeAlarmsPayload> {
        let ids = parse_ids("ids", &input.ids, MAX_ACKNOWLEDGE)?;
        let alarms = alarm_service::acknowledge(
            writer(ctx),
            ctx.caller()?,
            &ctx.audit(),
            &ids,
            input.note.as_deref(),
        )
        .await?;
        Ok(AcknowledgeAlarmsPayload {
            alarms: alarms.into_iter().map(Alarm).collect(),
        })
    }

    /// Clears an alarm by hand (engineers and above); clearing it again changes nothing.
    async fn clear_alarm(&self, ctx: &Context<'_>, input: ClearAlarmInput) -> Result<AlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let model = alarm_service::clear(
            writer(ctx),
            ctx.caller()?,
            &ctx.audit(),
            id,
            input.note.as_deref(),
        )
        .await?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }

    /// Assigns an alarm to someone, or unassigns it (engineers and above).
    async fn assign_alarm(
        &self,
        ctx: &Context<'_>,
        input: AssignAlarmInput,
    ) -> Result<AlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let user_id = parse_opt_id("userId", input.user_id.as_ref())?;
        let model =
            alarm_service::assign(writer(ctx), ctx.caller()?, &ctx.audit(), id, user_id).await?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }

    /// Comments on an alarm (operators and above).
    async fn comment_alarm(
        &self,
        ctx: &Context<'_>,
        input: CommentAlarmInput,
    ) -> Result<CommentAlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let (alarm, event) =
            alarm_service::comment(writer(ctx), ctx.caller()?, &ctx.audit(), id, &input.text)
                .await?;
        Ok(CommentAlarmPayload {
            alarm_event: AlarmEvent(event),
            alarm: Alarm(alarm),
        })
    }

    /// Shelves an uncleared alarm for up to 24 hours, with a reason (operators and above):
    /// meanwhile it does not count as active.
    async fn shelve_alarm(
        &self,
        ctx: &Context<'_>,
        input: ShelveAlarmInput,
    ) -> Result<AlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let model = alarm_service::shelve(
            writer(ctx),
            ctx.caller()?,
            &ctx.audit(),
            id,
            input.until,
            &input.reason,
        )
        .await?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }

    /// Ends an alarm's shelving (operators and above); an unshelved alarm stays as it is.
    async fn unshelve_alarm(
        &self,
        ctx: &Context<'_>,
        input: UnshelveAlarmInput,
    ) -> Result<AlarmPayload> {
        let id = parse_id("id", &input.id)?;
        let model = alarm_service::unshelve(writer(ctx), ctx.caller()?, &ctx.audit(), id).await?;
        Ok(AlarmPayload {
            alarm: Alarm(model),
        })
    }
}
