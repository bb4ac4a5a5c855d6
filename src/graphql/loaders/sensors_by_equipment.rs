//! The sensors of each machine, with or without their latest readings joined in.
//!
//! Two loaders rather than one with a flag: the query's shape decides which one a resolver
//! uses, and each caches its own kind of answer.

use std::sync::Arc;

use crate::service::sensor::SensorWithLatest;

super::loader!(
    /// `equipment_id → [sensor]`.
    SensorsByEquipmentLoader => Arc<Vec<SensorWithLatest>>,
    |ctx, keys| crate::service::sensor::by_equipment(&ctx.db, &ctx.caller, keys, false)
        .await
        .map(super::shared)
);

super::loader!(
    /// `equipment_id → [(sensor, latest reading)]`, one joined statement.
    SensorsWithLatestByEquipmentLoader => Arc<Vec<SensorWithLatest>>,
    |ctx, keys| crate::service::sensor::by_equipment(&ctx.db, &ctx.caller, keys, true)
        .await
        .map(super::shared)
);
