//! Alarms and their event history (acknowledge, clear, shelve, assign, comment).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{
    bigint, bigint_null, boolean, double_null, exec_all, fk, index, int, json_null, pk_id,
    text_null, ts, ts_null, varchar,
};
use crate::m20261127_000001_create_plant::Equipment;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alarms {
    Table,
    Id,
    WorkshopId,
    EquipmentId,
    SensorId,
    Type,
    Severity,
    Message,
    Value,
    Threshold,
    Details,
    Occurrences,
    StartTs,
    LastTs,
    Acknowledged,
    AckTs,
    AckBy,
    Cleared,
    ClearTs,
    ClearedBy,
    AssigneeId,
    ShelvedUntil,
}

#[derive(DeriveIden)]
enum AlarmEvents {
    Table,
    Id,
    AlarmId,
    Ts,
    Action,
    UserId,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alarms::Table)
                    .col(pk_id(Alarms::Id))
                    .col(bigint(Alarms::WorkshopId))
                    .col(bigint(Alarms::EquipmentId))
                    .col(bigint_null(Alarms::SensorId))
                    .col(varchar(Alarms::Type, 64))
                    .col(ColumnDef::new(Alarms::Severity).small_integer().not_null())
                    .col(varchar(Alarms::Message, 500))
                    .col(double_null(Alarms::Value))
                    .col(double_null(Alarms::Threshold))
                    .col(json_null(Alarms::Details))
                    .col(int(Alarms::Occurrences, Some(1)))
                    .col(ts(Alarms::StartTs))
                    .col(ts(Alarms::LastTs))
                    .col(boolean(Alarms::Acknowledged, false))
                    .col(ts_null(Alarms::AckTs))
                    .col(bigint_null(Alarms::AckBy))
                    .col(boolean(Alarms::Cleared, false))
                    .col(ts_null(Alarms::ClearTs))
                    .col(bigint_null(Alarms::ClearedBy))
                    .col(bigint_null(Alarms::AssigneeId))
                    .col(ts_null(Alarms::ShelvedUntil))
                    .foreign_key(&mut fk(
                        "fk_alarms_equipment",
                        Alarms::Table,
                        Alarms::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;

        // Booleans are stored as integers on SQLite.
        let not_cleared = match manager.get_database_backend() {
            DbBackend::Sqlite => "cleared = 0",
            _ => "NOT cleared",
        };
        let open = format!(
            "CREATE INDEX alarms_open ON alarms (workshop_id, severity, start_ts DESC) \
             WHERE {not_cleared}"
        );
        let dedup = format!(
            "CREATE UNIQUE INDEX alarms_dedup ON alarms \
             (equipment_id, coalesce(sensor_id, 0), type) WHERE {not_cleared}"
        );
        exec_all(
            manager,
            &[
                &open,
                &dedup,
                "CREATE INDEX alarms_equipment_start ON alarms (equipment_id, start_ts DESC)",
                "CREATE INDEX alarms_workshop_start ON alarms (workshop_id, start_ts DESC)",
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(AlarmEvents::Table)
                    .col(pk_id(AlarmEvents::Id))
                    .col(bigint(AlarmEvents::AlarmId))
                    .col(ts(AlarmEvents::Ts))
                    .col(varchar(AlarmEvents::Action, 24))
                    .col(bigint_null(AlarmEvents::UserId))
                    .col(text_null(AlarmEvents::Note))
                    .foreign_key(&mut fk(
                        "fk_alarm_events_alarm",
                        AlarmEvents::Table,
                        AlarmEvents::AlarmId,
                        Alarms::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_alarm_events_alarm_ts",
                AlarmEvents::Table,
                [AlarmEvents::AlarmId, AlarmEvents::Ts],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(manager, &["alarm_events", "alarms"]).await
    }
}
