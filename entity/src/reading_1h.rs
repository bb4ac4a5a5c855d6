//! `readings_1h`: Per-sensor one-hour rollups of raw readings (min/max/avg/last/count).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "readings_1h")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sensor_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket: DateTimeUtc,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub last: f64,
    pub count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
