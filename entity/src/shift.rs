//! `shifts`: Shift instances of a workshop (concrete start/end times).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "shifts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workshop_id: i64,
    pub name: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub planned_break_s: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workshop::Entity",
        from = "Column::WorkshopId",
        to = "super::workshop::Column::Id",
        on_delete = "Cascade"
    )]
    Workshop,
    #[sea_orm(has_many = "super::production_report::Entity")]
    ProductionReport,
}

impl Related<super::workshop::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workshop.def()
    }
}

impl Related<super::production_report::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionReport.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
