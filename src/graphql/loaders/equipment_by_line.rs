//! The equipment of each line.

use std::sync::Arc;

super::loader!(
    /// `line_id → [equipment]`, an entry (maybe empty) for every key.
    EquipmentByLineLoader => Arc<Vec<entity::equipment::Model>>,
    |ctx, keys| crate::service::equipment::by_lines(&ctx.db, &ctx.caller, keys)
        .await
        .map(super::shared)
);
