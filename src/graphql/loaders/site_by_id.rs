//! Sites by id.

super::loader!(
    /// `site_id → site`.
    SiteByIdLoader => entity::site::Model,
    |ctx, keys| crate::service::workshop::sites_by_ids(&ctx.db, keys).await
);
