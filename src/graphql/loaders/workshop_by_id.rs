//! Workshops by id, within the caller's scope.

super::loader!(
    /// `workshop_id → workshop`.
    WorkshopByIdLoader => entity::workshop::Model,
    |ctx, keys| crate::service::workshop::by_ids(&ctx.db, &ctx.caller, keys).await
);
