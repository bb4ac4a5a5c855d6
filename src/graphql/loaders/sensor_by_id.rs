//! Sensors by id, through the cache, within the caller's scope.

use std::collections::HashMap;

use entity::sensor;

use crate::{cache::Kind, service::sensor as service};

/// `sensor_id → sensor`.
pub struct SensorByIdLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for SensorByIdLoader {
    type Value = sensor::Model;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        let all = ctx.unscoped();
        let rows = ctx
            .cached(Kind::SensorById, keys, |missing| async move {
                service::by_ids(&ctx.db, &all, &missing).await
            })
            .await?;
        Ok(ctx.rows_in_scope(rows, |s| s.workshop_id))
    }
}
