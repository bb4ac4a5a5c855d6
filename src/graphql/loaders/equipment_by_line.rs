//! The equipment of each line, through the cache.

use std::{collections::HashMap, sync::Arc};

use entity::equipment;

use crate::{cache::Kind, service::equipment as service};

/// `line_id → [equipment]`, an entry (maybe empty) for every key.
pub struct EquipmentByLineLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for EquipmentByLineLoader {
    type Value = Arc<Vec<equipment::Model>>;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        let all = ctx.unscoped();
        let lists = ctx
            .cached(Kind::EquipmentByLine, keys, |missing| async move {
                service::by_lines(&ctx.db, &all, &missing)
                    .await
                    .map(super::shared)
            })
            .await?;
        Ok(ctx.lists_in_scope(keys, lists, |e| e.workshop_id))
    }
}
