//! `sensors`: Sensors attached to equipment, with their alarm limits.

use crate::enums::SensorMetric;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sensors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub equipment_id: i64,
    pub workshop_id: i64,
    #[sea_orm(unique)]
    pub tag: String,
    pub name: String,
    pub metric: SensorMetric,
    pub unit: String,
    pub sample_interval_ms: i32,
    pub lo_lo: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub hi_hi: Option<f64>,
    pub deadband: Option<f64>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::equipment::Entity",
        from = "Column::EquipmentId",
        to = "super::equipment::Column::Id",
        on_delete = "Restrict"
    )]
    Equipment,
    #[sea_orm(
        belongs_to = "super::workshop::Entity",
        from = "Column::WorkshopId",
        to = "super::workshop::Column::Id",
        on_delete = "Restrict"
    )]
    Workshop,
    #[sea_orm(has_one = "super::sensor_latest::Entity")]
    SensorLatest,
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl Related<super::workshop::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workshop.def()
    }
}

impl Related<super::sensor_latest::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SensorLatest.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
