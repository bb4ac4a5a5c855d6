//! Sensors by id, within the caller's scope.

super::loader!(
    /// `sensor_id → sensor`.
    SensorByIdLoader => entity::sensor::Model,
    |ctx, keys| crate::service::sensor::by_ids(&ctx.db, &ctx.caller, keys).await
);
