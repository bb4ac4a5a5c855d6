//! The latest reading of each sensor, for sensors reached without the joined loader.

super::loader!(
    /// `sensor_id → latest reading`; keys come from sensors already scope-checked.
    LatestReadingBySensorLoader => entity::sensor_latest::Model,
    |ctx, keys| crate::service::telemetry::latest_by_sensor_ids(&ctx.db, keys).await
);
