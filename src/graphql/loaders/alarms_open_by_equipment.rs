//! The open (uncleared) alarms of each machine.

use std::sync::Arc;

super::loader!(
    /// `equipment_id → [open alarm]`, most severe first.
    AlarmsOpenByEquipmentLoader => Arc<Vec<entity::alarm::Model>>,
    |ctx, keys| crate::service::alarm::open_by_equipment(&ctx.db, &ctx.caller, keys)
        .await
        .map(super::shared)
);
