//! Equipment by id, within the caller's scope.

super::loader!(
    /// `equipment_id → equipment`.
    EquipmentByIdLoader => entity::equipment::Model,
    |ctx, keys| crate::service::equipment::by_ids(&ctx.db, &ctx.caller, keys).await
);
