//! The sensors of each machine, with or without their latest readings.
//!
//! Two loaders rather than one with a flag: the query's shape decides which one a resolver
//! uses. Both read the machine's sensor list through the cache; the joined one adds each
//! sensor's latest reading from the latest-readings cache. On a cold cache the joined loader
//! still costs one statement (sensors left-joined with their latest readings, which then fill
//! the latest cache); warm, none.

use std::{collections::HashMap, sync::Arc};

use entity::sensor;

use crate::{
    cache::Kind,
    error::AppError,
    service::{sensor as service, sensor::SensorWithLatest},
};

/// The sensor lists of `keys` in the caller's scope; with `with_latest`, lists not cached
/// are loaded joined with their latest readings, which go to the latest cache.
async fn lists(
    ctx: &super::LoaderContext,
    keys: &[i64],
    with_latest: bool,
) -> Result<HashMap<i64, Arc<Vec<sensor::Model>>>, super::LoadError> {
    let all = ctx.unscoped();
    let lists = ctx
        .cached(Kind::SensorsByEquipment, keys, |missing| async move {
            let rows = service::by_equipment(&ctx.db, &all, &missing, with_latest).await?;
            Ok::<_, AppError>(
                rows.into_iter()
                    .map(|(id, list)| {
                        let sensors = list
                            .into_iter()
                            .map(|(s, latest)| {
                                if with_latest {
                                    ctx.cache.latest().offer(s.id, latest);
                                }
                                s
                            })
                            .collect();
                        (id, Arc::new(sensors))
                    })
                    .collect(),
            )
        })
        .await?;
    Ok(ctx.lists_in_scope(keys, lists, |s| s.workshop_id))
}

/// `equipment_id → [sensor]`.
pub struct SensorsByEquipmentLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for SensorsByEquipmentLoader {
    type Value = Arc<Vec<SensorWithLatest>>;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let lists = lists(&self.0, keys, false).await?;
        Ok(lists
            .into_iter()
            .map(|(id, l)| (id, Arc::new(l.iter().map(|s| (s.clone(), None)).collect())))
            .collect())
    }
}

/// `equipment_id → [(sensor, latest reading)]`.
pub struct SensorsWithLatestByEquipmentLoader(pub super::LoaderContext);

impl async_graphql::dataloader::Loader<i64> for SensorsWithLatestByEquipmentLoader {
    type Value = Arc<Vec<SensorWithLatest>>;
    type Error = super::LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let ctx = &self.0;
        if !ctx.cache.enabled() {
            return service::by_equipment(&ctx.db, &ctx.caller, keys, true)
                .await
                .map(super::shared)
                .map_err(super::LoadError::from);
        }
        let lists = lists(ctx, keys, true).await?;
        let ids: Vec<i64> = lists
            .values()
            .flat_map(|l| l.iter().map(|s| s.id))
            .collect();
        let latest = super::latest_reading_by_sensor::latest(ctx, &ids).await?;
        Ok(lists
            .into_iter()
            .map(|(id, l)| {
                let joined = l
                    .iter()
                    .map(|s| (s.clone(), latest.get(&s.id).cloned()))
                    .collect();
                (id, Arc::new(joined))
            })
            .collect())
    }
}
