//! The timeline of each alarm.

use std::sync::Arc;

super::loader!(
    /// `alarm_id → [alarm event]`, oldest first.
    AlarmEventsByAlarmLoader => Arc<Vec<entity::alarm_event::Model>>,
    |ctx, keys| crate::service::alarm::events_by_alarm(&ctx.db, &ctx.caller, keys)
        .await
        .map(super::shared)
);
