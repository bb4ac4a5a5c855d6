//! Equipment by id, through the cache, within the caller's scope.

use std::collections::HashMap;

use entity::equipment;

use crate::{cache::Kind, service::equipment as service};

/// `equipment_id → equipment`.
pub struct EquipmentByIdLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for EquipmentByIdLoader {
    type Value = equipment::Model;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        let all = ctx.unscoped();
        let rows = ctx
            .cached(Kind::EquipmentById, keys, |missing| async move {
                service::by_ids(&ctx.db, &all, &missing).await
            })
            .await?;
        Ok(ctx.rows_in_scope(rows, |e| e.workshop_id))
    }
}
