//! `schedule_runs`: one row per schedule and slot (its scheduled time). The primary key is
//! what makes a slot run once however many instances schedule it: the first insert wins.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "schedule_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub schedule: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: DateTimeUtc,
    /// The instance that claimed the slot.
    pub instance: String,
    /// The queued job that runs it.
    pub job_id: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
    /// What the run reported, or its error.
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
