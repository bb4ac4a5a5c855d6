//! Workshops by id, within the caller's scope (not cached; a cached response carries the
//! `workshops` tag).

super::loader!(
    /// `workshop_id → workshop`.
    WorkshopByIdLoader => entity::workshop::Model,
    |ctx, keys| ctx
        .touched
        .tagged(
            [crate::cache::Tag::Workshops],
            crate::service::workshop::by_ids(&ctx.db, &ctx.caller, keys),
        )
        .await
);
