//! `work_orders`: Work orders: one operation of a production order on one machine.

use crate::enums::WorkOrderStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "work_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub production_order_id: i64,
    pub equipment_id: i64,
    pub seq: i32,
    pub status: WorkOrderStatus,
    pub qty_good: i32,
    pub qty_scrap: i32,
    pub planned_start: Option<DateTimeUtc>,
    pub planned_end: Option<DateTimeUtc>,
    pub actual_start: Option<DateTimeUtc>,
    pub actual_end: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::production_order::Entity",
        from = "Column::ProductionOrderId",
        to = "super::production_order::Column::Id",
        on_delete = "Cascade"
    )]
    ProductionOrder,
    #[sea_orm(
        belongs_to = "super::equipment::Entity",
        from = "Column::EquipmentId",
        to = "super::equipment::Column::Id",
        on_delete = "Restrict"
    )]
    Equipment,
}

impl Related<super::production_order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionOrder.def()
    }
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
