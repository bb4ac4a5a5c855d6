//! `workshops`: Workshops (production areas) of a site; the unit of access control.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "workshops")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site_id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::site::Entity",
        from = "Column::SiteId",
        to = "super::site::Column::Id",
        on_delete = "Restrict"
    )]
    Site,
    #[sea_orm(has_many = "super::production_line::Entity")]
    ProductionLine,
    #[sea_orm(has_many = "super::equipment::Entity")]
    Equipment,
    #[sea_orm(has_many = "super::sensor::Entity")]
    Sensor,
    #[sea_orm(has_many = "super::shift::Entity")]
    Shift,
    #[sea_orm(has_many = "super::user_workshop::Entity")]
    UserWorkshop,
    #[sea_orm(has_many = "super::api_token::Entity")]
    ApiToken,
}

impl Related<super::site::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Site.def()
    }
}

impl Related<super::production_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductionLine.def()
    }
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl Related<super::sensor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sensor.def()
    }
}

impl Related<super::shift::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Shift.def()
    }
}

impl Related<super::user_workshop::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserWorkshop.def()
    }
}

impl Related<super::api_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiToken.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        super::user_workshop::Relation::User.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::user_workshop::Relation::Workshop.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
