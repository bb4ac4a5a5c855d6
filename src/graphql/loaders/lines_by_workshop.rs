//! The lines of each workshop.

use std::sync::Arc;

super::loader!(
    /// `workshop_id → [line]`, an entry (maybe empty) for every key.
    LinesByWorkshopLoader => Arc<Vec<entity::production_line::Model>>,
    |ctx, keys| crate::service::line::by_workshops(&ctx.db, &ctx.caller, keys)
        .await
        .map(super::shared)
);
