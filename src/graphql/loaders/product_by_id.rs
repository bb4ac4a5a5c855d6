//! Products by id (products are plant-wide, not scoped).

super::loader!(
    /// `product_id → product`.
    ProductByIdLoader => entity::product::Model,
    |ctx, keys| crate::service::product::by_ids(&ctx.db, keys).await
);
