//! Maintenance orders (corrective, preventive, predictive).

use sea_orm_migration::prelude::*;

use crate::common::{
    bigint, bigint_null, fk, index, int, int_null, pk_id, text_null, ts_now, ts_null, varchar,
};
use crate::m20261127_000001_create_plant::Equipment;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MaintenanceOrders {
    Table,
    Id,
    Number,
    EquipmentId,
    WorkshopId,
    Kind,
    Priority,
    Status,
    Title,
    Description,
    AlarmId,
    AssigneeId,
    ScheduledFor,
    StartedAt,
    CompletedAt,
    DowntimeS,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MaintenanceOrders::Table)
                    .col(pk_id(MaintenanceOrders::Id))
                    .col(varchar(MaintenanceOrders::Number, 32).unique_key())
                    .col(bigint(MaintenanceOrders::EquipmentId))
                    .col(bigint(MaintenanceOrders::WorkshopId))
                    .col(varchar(MaintenanceOrders::Kind, 24))
                    .col(int(MaintenanceOrders::Priority, Some(3)))
                    .col(varchar(MaintenanceOrders::Status, 24))
                    .col(varchar(MaintenanceOrders::Title, 200))
                    .col(text_null(MaintenanceOrders::Description))
                    .col(bigint_null(MaintenanceOrders::AlarmId))
                    .col(bigint_null(MaintenanceOrders::AssigneeId))
                    .col(ts_null(MaintenanceOrders::ScheduledFor))
                    .col(ts_null(MaintenanceOrders::StartedAt))
                    .col(ts_null(MaintenanceOrders::CompletedAt))
                    .col(int_null(MaintenanceOrders::DowntimeS))
                    .col(bigint_null(MaintenanceOrders::CreatedBy))
                    .col(ts_now(manager, MaintenanceOrders::CreatedAt))
                    .col(ts_now(manager, MaintenanceOrders::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_maintenance_orders_equipment",
                        MaintenanceOrders::Table,
                        MaintenanceOrders::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_maintenance_orders_workshop_status_priority",
                MaintenanceOrders::Table,
                [
                    MaintenanceOrders::WorkshopId,
                    MaintenanceOrders::Status,
                    MaintenanceOrders::Priority,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_maintenance_orders_equipment",
                MaintenanceOrders::Table,
                [MaintenanceOrders::EquipmentId],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(manager, &["maintenance_orders"]).await
    }
}
