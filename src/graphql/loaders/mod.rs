//! Per-request DataLoaders, one per (entity, key): the select_related / prefetch_related of this
//! server. Each batches every key asked for into one `WHERE key IN (…)` statement and caches
//! results for the rest of the request, so the list resolvers can prime whole levels of a tree
//! at once (see `prefetch`).

mod alarm_by_id;
mod alarm_events_by_alarm;
mod alarms_open_by_equipment;
mod equipment_by_id;
mod equipment_by_line;
mod latest_reading_by_sensor;
mod line_by_id;
mod lines_by_workshop;
mod product_by_id;
mod sensor_by_id;
mod sensors_by_equipment;
mod site_by_id;
mod workshop_by_id;
mod workshop_ids_by_user;

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache};
use sea_orm::DatabaseConnection;

pub use alarm_by_id::AlarmByIdLoader;
pub use alarm_events_by_alarm::AlarmEventsByAlarmLoader;
pub use alarms_open_by_equipment::AlarmsOpenByEquipmentLoader;
pub use equipment_by_id::EquipmentByIdLoader;
pub use equipment_by_line::EquipmentByLineLoader;
pub use latest_reading_by_sensor::LatestReadingBySensorLoader;
pub use line_by_id::LineByIdLoader;
pub use lines_by_workshop::LinesByWorkshopLoader;
pub use product_by_id::ProductByIdLoader;
pub use sensor_by_id::SensorByIdLoader;
pub use sensors_by_equipment::{SensorsByEquipmentLoader, SensorsWithLatestByEquipmentLoader};
pub use site_by_id::SiteByIdLoader;
pub use workshop_by_id::WorkshopByIdLoader;
pub use workshop_ids_by_user::WorkshopIdsByUserLoader;

use crate::{
    auth::{Caller, WorkshopScope},
    cache::{Cache, Kind, Tag, response::Touched},
    config::GraphqlConfig,
    db::StatementCounter,
    error::{AppError, SharedError},
};

/// What every loader needs: the read pool, the cache, the caller whose scope filters the
/// rows, and the record of what the operation touched (for its cached response).
#[derive(Clone)]
pub struct LoaderContext {
    pub db: DatabaseConnection,
    pub caller: Arc<Caller>,
    pub cache: Cache,
    pub touched: Touched,
}

impl LoaderContext {
    /// [`Cache::load`], recording the keys' tags for the operation's response (and the
    /// load's statements as tagged).
    pub(crate) async fn cached<V, F, Fut>(
        &self,
        kind: Kind,
        keys: &[i64],
        load: F,
    ) -> Result<HashMap<i64, V>, SharedError>
    where
        V: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce(Vec<i64>) -> Fut,
        Fut: Future<Output = Result<HashMap<i64, V>, AppError>>,
    {
        self.touched.tags(keys.iter().map(|k| Tag::of(kind, *k)));
        let touched = &self.touched;
        self.cache
            .load(kind, keys, |missing| touched.tagged([], load(missing)))
            .await
    }

    /// The caller seeing every workshop: cached values are loaded unscoped, once for
    /// everyone, and filtered by [`Self::rows_in_scope`] / [`Self::lists_in_scope`].
    pub(crate) fn unscoped(&self) -> Caller {
        Caller {
            scope: WorkshopScope::All,
            ..(*self.caller).clone()
        }
    }

    /// The rows the caller may see, by each row's own workshop.
    pub(crate) fn rows_in_scope<V>(
        &self,
        rows: HashMap<i64, V>,
        workshop: impl Fn(&V) -> i64,
    ) -> HashMap<i64, V> {
        match &self.caller.scope {
            WorkshopScope::All => rows,
            scope => rows
                .into_iter()
                .filter(|(_, v)| scope.allows(workshop(v)))
                .collect(),
        }
    }

    /// Each key's list reduced to what the caller may see (an entry, maybe empty, for every
    /// key, as the uncached loaders give).
    pub(crate) fn lists_in_scope<T: Clone>(
        &self,
        keys: &[i64],
        mut lists: HashMap<i64, Arc<Vec<T>>>,
        workshop: impl Fn(&T) -> i64,
    ) -> HashMap<i64, Arc<Vec<T>>> {
        let scope = &self.caller.scope;
        keys.iter()
            .map(|key| {
                let list = lists.remove(key).unwrap_or_default();
                let list = if list.iter().all(|t| scope.allows(workshop(t))) {
                    list
                } else {
                    Arc::new(
                        list.iter()
                            .filter(|t| scope.allows(workshop(t)))
                            .cloned()
                            .collect(),
                    )
                };
                (*key, list)
            })
            .collect()
    }
}

/// Error type of every loader (DataLoader requires `Clone`).
pub type LoadError = crate::error::SharedError;

/// Defines a loader struct over `LoaderContext` whose `load` is the given expression.
macro_rules! loader {
    ($(#[$doc:meta])* $name:ident => $value:ty, |$ctx:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name(pub super::LoaderContext);

        impl async_graphql::dataloader::Loader<i64> for $name {
            type Value = $value;
            type Error = super::LoadError;

            async fn load(
                &self,
                keys: &[i64],
            ) -> Result<std::collections::HashMap<i64, $value>, Self::Error> {
                let $ctx = &self.0;
                let $keys = keys;
                $body.map_err(super::LoadError::from)
            }
        }
    };
}
pub(crate) use loader;

/// Wraps grouped children in `Arc` so cached values clone cheaply.
pub(crate) fn shared<T>(
    map: std::collections::HashMap<i64, Vec<T>>,
) -> std::collections::HashMap<i64, Arc<Vec<T>>> {
    map.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

type Cached<T> = DataLoader<T, HashMapCache>;

/// The DataLoaders of one request.
pub struct Loaders {
    pub site_by_id: Cached<SiteByIdLoader>,
    pub workshop_by_id: Cached<WorkshopByIdLoader>,
    pub line_by_id: Cached<LineByIdLoader>,
    pub equipment_by_id: Cached<EquipmentByIdLoader>,
    pub sensor_by_id: Cached<SensorByIdLoader>,
    pub product_by_id: Cached<ProductByIdLoader>,
    pub lines_by_workshop: Cached<LinesByWorkshopLoader>,
    pub equipment_by_line: Cached<EquipmentByLineLoader>,
    pub sensors_by_equipment: Cached<SensorsByEquipmentLoader>,
    pub sensors_with_latest_by_equipment: Cached<SensorsWithLatestByEquipmentLoader>,
    pub latest_reading_by_sensor: Cached<LatestReadingBySensorLoader>,
    pub alarms_open_by_equipment: Cached<AlarmsOpenByEquipmentLoader>,
    pub alarm_by_id: Cached<AlarmByIdLoader>,
    pub alarm_events_by_alarm: Cached<AlarmEventsByAlarmLoader>,
    pub workshop_ids_by_user: Cached<WorkshopIdsByUserLoader>,
    /// What the operation touched (recording only for queries whose response may be cached).
    pub touched: Touched,
}

/// Keys per statement: far above any plant tree level (10,000 sensors), far below the
/// engines' parameter limits.
const MAX_BATCH: usize = 20_000;

impl Loaders {
    /// Fresh loaders for one request; their batch tasks count statements into `counter`.
    pub fn new(
        db: &DatabaseConnection,
        caller: Arc<Caller>,
        cache: &Cache,
        counter: &StatementCounter,
        config: &GraphqlConfig,
        touched: Touched,
    ) -> Self {
        let ctx = LoaderContext {
            db: db.clone(),
            caller,
            cache: cache.clone(),
            touched: touched.clone(),
        };
        let make = |counter: &StatementCounter| {
            let counter = counter.clone();
            move |fut| tokio::spawn(counter.scope(fut))
        };
        macro_rules! new {
            ($loader:ident) => {
                DataLoader::with_cache($loader(ctx.clone()), make(counter), HashMapCache::default())
                    .delay(config.loader_delay)
                    .max_batch_size(MAX_BATCH)
            };
        }
        Self {
            site_by_id: new!(SiteByIdLoader),
            workshop_by_id: new!(WorkshopByIdLoader),
            line_by_id: new!(LineByIdLoader),
            equipment_by_id: new!(EquipmentByIdLoader),
            sensor_by_id: new!(SensorByIdLoader),
            product_by_id: new!(ProductByIdLoader),
            lines_by_workshop: new!(LinesByWorkshopLoader),
            equipment_by_line: new!(EquipmentByLineLoader),
            sensors_by_equipment: new!(SensorsByEquipmentLoader),
            sensors_with_latest_by_equipment: new!(SensorsWithLatestByEquipmentLoader),
            latest_reading_by_sensor: new!(LatestReadingBySensorLoader),
            alarms_open_by_equipment: new!(AlarmsOpenByEquipmentLoader),
            alarm_by_id: new!(AlarmByIdLoader),
            alarm_events_by_alarm: new!(AlarmEventsByAlarmLoader),
            workshop_ids_by_user: new!(WorkshopIdsByUserLoader),
            touched,
        }
    }

    /// Forgets every cached row. Loaders cache for the whole operation, and a subscription
    /// lives for hours: each of its events is resolved after a clear, so nested objects (an
    /// alarm's machine, an order's equipment) show their state at that event, not at the
    /// first one — and the cache does not grow for as long as the subscription runs.
    pub fn clear(&self) {
        self.site_by_id.clear::<i64>();
        self.workshop_by_id.clear::<i64>();
        self.line_by_id.clear::<i64>();
        self.equipment_by_id.clear::<i64>();
        self.sensor_by_id.clear::<i64>();
        self.product_by_id.clear::<i64>();
        self.lines_by_workshop.clear::<i64>();
        self.equipment_by_line.clear::<i64>();
        self.sensors_by_equipment.clear::<i64>();
        self.sensors_with_latest_by_equipment.clear::<i64>();
        self.latest_reading_by_sensor.clear::<i64>();
        self.alarms_open_by_equipment.clear::<i64>();
        self.alarm_by_id.clear::<i64>();
        self.alarm_events_by_alarm.clear::<i64>();
        self.workshop_ids_by_user.clear::<i64>();
    }
}
