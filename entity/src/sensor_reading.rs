//! `sensor_readings`: Raw sensor samples (partitioned by day on PostgreSQL).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sensor_readings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sensor_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ts: DateTimeUtc,
    pub value: f64,
    pub quality: i16,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
