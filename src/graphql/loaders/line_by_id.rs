//! Production lines by id, within the caller's scope.

super::loader!(
    /// `line_id → line`.
    LineByIdLoader => entity::production_line::Model,
    |ctx, keys| crate::service::line::by_ids(&ctx.db, &ctx.caller, keys).await
);
