//! The lines of each workshop, through the cache.

use std::{collections::HashMap, sync::Arc};

use entity::production_line;

use crate::{cache::Kind, service::line as service};

/// `workshop_id → [line]`, an entry (maybe empty) for every key.
pub struct LinesByWorkshopLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for LinesByWorkshopLoader {
    type Value = Arc<Vec<production_line::Model>>;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        let all = ctx.unscoped();
        let lists = ctx
            .cached(Kind::LinesByWorkshop, keys, |missing| async move {
                service::by_workshops(&ctx.db, &all, &missing)
                    .await
                    .map(super::shared)
            })
            .await?;
        Ok(ctx.lists_in_scope(keys, lists, |l| l.workshop_id))
    }
}
