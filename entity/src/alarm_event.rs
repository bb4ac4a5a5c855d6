//! `alarm_events`: History of actions taken on an alarm.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alarm_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub alarm_id: i64,
    pub ts: DateTimeUtc,
    pub action: String,
    pub user_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::alarm::Entity",
        from = "Column::AlarmId",
        to = "super::alarm::Column::Id",
        on_delete = "Cascade"
    )]
    Alarm,
}

impl Related<super::alarm::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Alarm.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
