//! `products`: Products (SKUs) that can be produced.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub ideal_cycle_time_s: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::production_order::Entity")]
    ProductionOrder,
}

impl Related<super::production_order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionOrder.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
