//! Alarms by id, within the caller's scope.

super::loader!(
    /// `alarm_id → alarm`.
    AlarmByIdLoader => entity::alarm::Model,
    |ctx, keys| crate::service::alarm::by_ids(&ctx.db, &ctx.caller, keys).await
);
