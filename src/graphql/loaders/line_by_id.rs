//! Production lines by id, through the cache, within the caller's scope.

use std::collections::HashMap;

use entity::production_line;

use crate::{cache::Kind, service::line as service};

/// `line_id → line`.
pub struct LineByIdLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for LineByIdLoader {
    type Value = production_line::Model;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        let all = ctx.unscoped();
        let rows = ctx
            .cached(Kind::LineById, keys, |missing| async move {
                service::by_ids(&ctx.db, &all, &missing).await
            })
            .await?;
        Ok(ctx.rows_in_scope(rows, |l| l.workshop_id))
    }
}
