//! `alarms`: Alarms raised on equipment, and `SYSTEM` alarms raised by the server's alert
//! rules (no machine, no workshop); severity 1..5 (indeterminate..critical).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alarms")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `None` for a `SYSTEM` alarm, which belongs to no workshop.
    pub workshop_id: Option<i64>,
    /// `None` for a `SYSTEM` alarm, which belongs to no machine.
    pub equipment_id: Option<i64>,
    pub sensor_id: Option<i64>,
    pub r#type: String,
    pub severity: i16,
    pub message: String,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Option<Json>,
    pub occurrences: i32,
    pub start_ts: DateTimeUtc,
    pub last_ts: DateTimeUtc,
    pub acknowledged: bool,
    pub ack_ts: Option<DateTimeUtc>,
    pub ack_by: Option<i64>,
    pub cleared: bool,
    pub clear_ts: Option<DateTimeUtc>,
    pub cleared_by: Option<i64>,
    pub assignee_id: Option<i64>,
    pub shelved_until: Option<DateTimeUtc>,
    /// What raised a `SYSTEM` alarm: `rule@instance` (one open alarm per source and type).
    pub source: Option<String>,
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
    #[sea_orm(has_many = "super::alarm_event::Entity")]
    AlarmEvent,
}

impl Related<super::equipment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Equipment.def()
    }
}

impl Related<super::alarm_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AlarmEvent.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
