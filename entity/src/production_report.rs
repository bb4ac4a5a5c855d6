//! `production_reports`: Production counts reported per equipment and period.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "production_reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub equipment_id: i64,
    pub workshop_id: i64,
    pub order_id: Option<i64>,
    pub shift_id: Option<i64>,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub total_count: i32,
    pub good_count: i32,
    pub scrap_count: i32,
    pub scrap_reason: Option<String>,
    pub reported_by: Option<i64>,
    pub created_at: DateTimeUtc,
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
        belongs_to = "super::production_order::Entity",
        from = "Column::OrderId",
        to = "super::production_order::Column::Id",
        on_delete = "SetNull"
    )]
    ProductionOrder,
    #[sea_orm(
        belongs_to = "super::shift::Entity",
        from = "Column::ShiftId",
        to = "super::shift::Column::Id",
        on_delete = "SetNull"
    )]
    Shift,
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl Related<super::production_order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionOrder.def()
    }
}

impl Related<super::shift::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Shift.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
