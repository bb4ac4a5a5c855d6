//! `equipment`: Machines on a production line, with their current status.

use crate::enums::{EquipmentKind, EquipmentStatus};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "equipment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub line_id: i64,
    pub workshop_id: i64,
    pub code: String,
    pub name: String,
    pub kind: EquipmentKind,
    pub model: Option<String>,
    pub serial_no: Option<String>,
    pub ideal_cycle_time_s: Option<f64>,
    pub status: EquipmentStatus,
    pub status_since: DateTimeUtc,
    #[sea_orm(column_type = "JsonBinary")]
    pub attributes: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::production_line::Entity",
        from = "Column::LineId",
        to = "super::production_line::Column::Id",
        on_delete = "Restrict"
    )]
    ProductionLine,
    #[sea_orm(
        belongs_to = "super::workshop::Entity",
        from = "Column::WorkshopId",
        to = "super::workshop::Column::Id",
        on_delete = "Restrict"
    )]
    Workshop,
    #[sea_orm(has_many = "super::sensor::Entity")]
    Sensor,
    #[sea_orm(has_many = "super::equipment_status_event::Entity")]
    EquipmentStatusEvent,
    #[sea_orm(has_many = "super::work_order::Entity")]
    WorkOrder,
    #[sea_orm(has_many = "super::production_report::Entity")]
    ProductionReport,
    #[sea_orm(has_many = "super::alarm::Entity")]
    Alarm,
    #[sea_orm(has_many = "super::maintenance_order::Entity")]
    MaintenanceOrder,
}

impl Related<super::production_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionLine.def()
    }
}

impl Related<super::workshop::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workshop.def()
    }
}

impl Related<super::sensor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sensor.def()
    }
}

impl Related<super::equipment_status_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EquipmentStatusEvent.def()
    }
}

impl Related<super::work_order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WorkOrder.def()
    }
}

impl Related<super::production_report::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionReport.def()
    }
}

impl Related<super::alarm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Alarm.def()
    }
}

impl Related<super::maintenance_order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MaintenanceOrder.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
