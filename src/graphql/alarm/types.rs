//! Alarms as the API shows them.

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::alarm;

use crate::{
    graphql::{
        context::ContextExt,
        enums::{AlarmSeverity, AlarmStatus},
        plant::types::{Equipment, Sensor},
    },
    service::alarm::AlarmStatus as ServiceStatus,
};

/// An alarm: a condition on a machine (and maybe one of its sensors) that needs attention.
pub struct Alarm(pub alarm::Model);

/// An alarm: a condition on a machine (and maybe one of its sensors) that needs attention.
#[Object]
impl Alarm {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Kind of condition, e.g. `HI_HI` or `COMMUNICATION_LOST`.
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
    /// Value that raised the alarm.
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
    /// Latest occurrence.
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
    /// Whether the condition is over.
    async fn cleared(&self) -> bool {
        self.0.cleared
    }
    /// When it cleared.
    async fn clear_ts(&self) -> Option<DateTime<Utc>> {
        self.0.clear_ts
    }
    /// Id of the user it is assigned to.
    async fn assignee_id(&self) -> Option<ID> {
        self.0.assignee_id.map(ID::from)
    }
    /// Id of the workshop.
    async fn workshop_id(&self) -> ID {
        self.0.workshop_id.into()
    }
    /// The machine.
    async fn equipment(&self, ctx: &Context<'_>) -> Result<Option<Equipment>> {
        let e = ctx
            .loaders()
            .equipment_by_id
            .load_one(self.0.equipment_id)
            .await?;
        Ok(e.map(Equipment))
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
