//! The workshops assigned to each user.

use std::sync::Arc;

super::loader!(
    /// `user_id → [workshop_id]`, for the users the caller may see (admins: all; others:
    /// themselves).
    WorkshopIdsByUserLoader => Arc<Vec<i64>>,
    |ctx, keys| crate::service::user::workshop_ids(&ctx.db, &ctx.caller, keys)
        .await
        .map(super::shared)
);
