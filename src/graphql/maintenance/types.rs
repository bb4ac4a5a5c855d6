//! Maintenance orders as the API shows them.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::maintenance_order;

use crate::graphql::{
    context::ContextExt,
    enums::{MaintenanceKind, MaintenanceStatus},
    plant::types::Equipment,
};

/// Work to keep or bring a machine in order.
pub struct MaintenanceOrder(pub maintenance_order::Model);

/// Work to keep or bring a machine in order.
#[Object]
impl MaintenanceOrder {
    /// Identifier.
    async fn id(&self) -> ID {
        self.0.id.into()
    }
    /// Unique order number.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Corrective, preventive or predictive.
    async fn kind(&self) -> MaintenanceKind {
        self.0.kind.into()
    }
    /// 1 (most urgent) to 5.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Lifecycle state.
    async fn status(&self) -> MaintenanceStatus {
        self.0.status.into()
    }
    /// Short description.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Details.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The alarm that prompted it.
    async fn alarm_id(&self) -> Option<ID> {
        self.0.alarm_id.map(ID::from)
    }
    /// Id of the assigned user.
    async fn assignee_id(&self) -> Option<ID> {
        self.0.assignee_id.map(ID::from)
    }
    /// Planned time.
    async fn scheduled_for(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_for
    }
    /// Work started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// Work finished.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// Machine downtime caused, in seconds.
    async fn downtime_s(&self) -> Option<i32> {
        self.0.downtime_s
    }
    /// When the order was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
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
}
