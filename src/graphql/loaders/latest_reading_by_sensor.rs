//! The latest reading of each sensor, for sensors reached without the joined loader: from
//! the latest-readings cache (kept current by the readings events), the rest in one statement.

use std::collections::HashMap;

use entity::sensor_latest;

use crate::service::telemetry;

/// The latest readings of `ids` (sensors already scope-checked), cached or loaded.
pub(super) async fn latest(
    ctx: &super::LoaderContext,
    ids: &[i64],
) -> Result<HashMap<i64, sensor_latest::Model>, super::LoadError> {
    if !ctx.cache.enabled() {
        return Ok(telemetry::latest_by_sensor_ids(&ctx.db, ids).await?);
    }
    // The response shows these sensors' latest readings: live, whether cached or loaded.
    ctx.touched.live(ids);
    let cache = ctx.cache.latest();
    let (found, missing) = cache.get_many(ids);
    let mut out: HashMap<i64, sensor_latest::Model> = found
        .into_iter()
        .filter_map(|(id, v)| v.map(|v| (id, v)))
        .collect();
    if !missing.is_empty() {
        let mut loaded = ctx
            .touched
            .tagged([], telemetry::latest_by_sensor_ids(&ctx.db, &missing))
            .await?;
        for id in missing {
            let value = loaded.remove(&id);
            cache.offer(id, value.clone());
            if let Some(v) = value {
                out.insert(id, v);
            }
        }
    }
    Ok(out)
}

/// `sensor_id → latest reading`; keys come from sensors already scope-checked.
pub struct LatestReadingBySensorLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for LatestReadingBySensorLoader {
    type Value = sensor_latest::Model;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        latest(&self.0, keys).await
    }
}
