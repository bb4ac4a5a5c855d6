//! `maintenance_orders`: Maintenance orders on equipment.

use crate::enums::{MaintenanceKind, MaintenanceStatus};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "maintenance_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub number: String,
    pub equipment_id: i64,
    pub workshop_id: i64,
    pub kind: MaintenanceKind,
    pub priority: i32,
    pub status: MaintenanceStatus,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub alarm_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub scheduled_for: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub downtime_s: Option<i32>,
    pub created_by: Option<i64>,
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
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
