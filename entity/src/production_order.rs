//! `production_orders`: Production orders: a quantity of a product planned on a line.

use crate::enums::OrderStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "production_orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub number: String,
    pub product_id: i64,
    pub line_id: i64,
    pub workshop_id: i64,
    pub qty_planned: i32,
    pub qty_good: i32,
    pub qty_scrap: i32,
    pub status: OrderStatus,
    pub priority: i32,
    pub planned_start: DateTimeUtc,
    pub planned_end: DateTimeUtc,
    pub actual_start: Option<DateTimeUtc>,
    pub actual_end: Option<DateTimeUtc>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::product::Entity",
        from = "Column::ProductId",
        to = "super::product::Column::Id",
        on_delete = "Restrict"
    )]
    Product,
    #[sea_orm(
        belongs_to = "super::production_line::Entity",
        from = "Column::LineId",
        to = "super::production_line::Column::Id",
        on_delete = "Restrict"
    )]
    ProductionLine,
    #[sea_orm(has_many = "super::work_order::Entity")]
    WorkOrder,
    #[sea_orm(has_many = "super::production_report::Entity")]
    ProductionReport,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl Related<super::production_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionLine.def()
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

impl ActiveModelBehavior for ActiveModel {}
