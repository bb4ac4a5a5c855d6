//! `downtime_reasons`: Catalogue of downtime / loss reasons.

use crate::enums::ReasonCategory;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "downtime_reasons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub category: ReasonCategory,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::equipment_status_event::Entity")]
    EquipmentStatusEvent,
}

impl Related<super::equipment_status_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::EquipmentStatusEvent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
