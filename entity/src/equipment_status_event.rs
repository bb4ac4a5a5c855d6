//! `equipment_status_events`: Equipment status history; the open interval has `ended_at` NULL.

use crate::enums::{EquipmentStatus, StatusSource};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "equipment_status_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub equipment_id: i64,
    pub workshop_id: i64,
    pub status: EquipmentStatus,
    pub reason_id: Option<i64>,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
    pub source: StatusSource,
    pub user_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::equipment::Entity",
        from = "Column::EquipmentId",
        to = "super::equipment::Column::Id",
        on_delete = "Cascade"
    )]
    Equipment,
    #[sea_orm(
        belongs_to = "super::downtime_reason::Entity",
        from = "Column::ReasonId",
        to = "super::downtime_reason::Column::Id",
        on_delete = "SetNull"
    )]
    DowntimeReason,
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl Related<super::downtime_reason::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DowntimeReason.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
