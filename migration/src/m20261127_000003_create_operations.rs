//! Operations: downtime reasons, equipment status history, shifts, products, orders, reports.

use sea_orm_migration::prelude::*;

use crate::common::{
    bigint, bigint_null, double, exec_all, fk, index, int, pk_id, ts, ts_now, ts_null, varchar,
    varchar_null,
};
use crate::m20261127_000001_create_plant::{Equipment, ProductionLines, Workshops};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DowntimeReasons {
    Table,
    Id,
    Code,
    Name,
    Category,
}

#[derive(DeriveIden)]
enum EquipmentStatusEvents {
    Table,
    Id,
    EquipmentId,
    WorkshopId,
    Status,
    ReasonId,
    StartedAt,
    EndedAt,
    Source,
    UserId,
}

#[derive(DeriveIden)]
enum Shifts {
    Table,
    Id,
    WorkshopId,
    Name,
    StartsAt,
    EndsAt,
    PlannedBreakS,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Sku,
    Name,
    Unit,
    IdealCycleTimeS,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductionOrders {
    Table,
    Id,
    Number,
    ProductId,
    LineId,
    WorkshopId,
    QtyPlanned,
    QtyGood,
    QtyScrap,
    Status,
    Priority,
    PlannedStart,
    PlannedEnd,
    ActualStart,
    ActualEnd,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WorkOrders {
    Table,
    Id,
    ProductionOrderId,
    EquipmentId,
    Seq,
    Status,
    QtyGood,
    QtyScrap,
    PlannedStart,
    PlannedEnd,
    ActualStart,
    ActualEnd,
}

#[derive(DeriveIden)]
enum ProductionReports {
    Table,
    Id,
    EquipmentId,
    WorkshopId,
    OrderId,
    ShiftId,
    PeriodStart,
    PeriodEnd,
    TotalCount,
    GoodCount,
    ScrapCount,
    ScrapReason,
    ReportedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DowntimeReasons::Table)
                    .col(pk_id(DowntimeReasons::Id))
                    .col(varchar(DowntimeReasons::Code, 32).unique_key())
                    .col(varchar(DowntimeReasons::Name, 200))
                    .col(varchar(DowntimeReasons::Category, 24))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EquipmentStatusEvents::Table)
                    .col(pk_id(EquipmentStatusEvents::Id))
                    .col(bigint(EquipmentStatusEvents::EquipmentId))
                    .col(bigint(EquipmentStatusEvents::WorkshopId))
                    .col(varchar(EquipmentStatusEvents::Status, 24))
                    .col(bigint_null(EquipmentStatusEvents::ReasonId))
                    .col(ts(EquipmentStatusEvents::StartedAt))
                    .col(ts_null(EquipmentStatusEvents::EndedAt))
                    .col(varchar(EquipmentStatusEvents::Source, 24))
                    .col(bigint_null(EquipmentStatusEvents::UserId))
                    .foreign_key(&mut fk(
                        "fk_equipment_status_events_equipment",
                        EquipmentStatusEvents::Table,
                        EquipmentStatusEvents::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_equipment_status_events_reason",
                        EquipmentStatusEvents::Table,
                        EquipmentStatusEvents::ReasonId,
                        DowntimeReasons::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;
        exec_all(
            manager,
            &[
                "CREATE INDEX idx_equipment_status_events_equipment_started \
                 ON equipment_status_events (equipment_id, started_at DESC)",
                "CREATE UNIQUE INDEX uq_equipment_status_events_open \
                 ON equipment_status_events (equipment_id) WHERE ended_at IS NULL",
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Shifts::Table)
                    .col(pk_id(Shifts::Id))
                    .col(bigint(Shifts::WorkshopId))
                    .col(varchar(Shifts::Name, 64))
                    .col(ts(Shifts::StartsAt))
                    .col(ts(Shifts::EndsAt))
                    .col(int(Shifts::PlannedBreakS, Some(0)))
                    .foreign_key(&mut fk(
                        "fk_shifts_workshop",
                        Shifts::Table,
                        Shifts::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_shifts_workshop_starts",
                Shifts::Table,
                [Shifts::WorkshopId, Shifts::StartsAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(pk_id(Products::Id))
                    .col(varchar(Products::Sku, 64).unique_key())
                    .col(varchar(Products::Name, 200))
                    .col(varchar(Products::Unit, 16).default("pcs"))
                    .col(double(Products::IdealCycleTimeS))
                    .col(ts_now(manager, Products::CreatedAt))
                    .col(ts_now(manager, Products::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProductionOrders::Table)
                    .col(pk_id(ProductionOrders::Id))
                    .col(varchar(ProductionOrders::Number, 32).unique_key())
                    .col(bigint(ProductionOrders::ProductId))
                    .col(bigint(ProductionOrders::LineId))
                    .col(bigint(ProductionOrders::WorkshopId))
                    .col(int(ProductionOrders::QtyPlanned, None))
                    .col(int(ProductionOrders::QtyGood, Some(0)))
                    .col(int(ProductionOrders::QtyScrap, Some(0)))
                    .col(varchar(ProductionOrders::Status, 24))
                    .col(int(ProductionOrders::Priority, Some(0)))
                    .col(ts(ProductionOrders::PlannedStart))
                    .col(ts(ProductionOrders::PlannedEnd))
                    .col(ts_null(ProductionOrders::ActualStart))
                    .col(ts_null(ProductionOrders::ActualEnd))
                    .col(bigint_null(ProductionOrders::CreatedBy))
                    .col(ts_now(manager, ProductionOrders::CreatedAt))
                    .col(ts_now(manager, ProductionOrders::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_production_orders_product",
                        ProductionOrders::Table,
                        ProductionOrders::ProductId,
                        Products::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_production_orders_line",
                        ProductionOrders::Table,
                        ProductionOrders::LineId,
                        ProductionLines::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_production_orders_line_status_start",
                ProductionOrders::Table,
                [
                    ProductionOrders::LineId,
                    ProductionOrders::Status,
                    ProductionOrders::PlannedStart,
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_production_orders_workshop_status_start",
                ProductionOrders::Table,
                [
                    ProductionOrders::WorkshopId,
                    ProductionOrders::Status,
                    ProductionOrders::PlannedStart,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkOrders::Table)
                    .col(pk_id(WorkOrders::Id))
                    .col(bigint(WorkOrders::ProductionOrderId))
                    .col(bigint(WorkOrders::EquipmentId))
                    .col(int(WorkOrders::Seq, None))
                    .col(varchar(WorkOrders::Status, 24))
                    .col(int(WorkOrders::QtyGood, Some(0)))
                    .col(int(WorkOrders::QtyScrap, Some(0)))
                    .col(ts_null(WorkOrders::PlannedStart))
                    .col(ts_null(WorkOrders::PlannedEnd))
                    .col(ts_null(WorkOrders::ActualStart))
                    .col(ts_null(WorkOrders::ActualEnd))
                    .foreign_key(&mut fk(
                        "fk_work_orders_production_order",
                        WorkOrders::Table,
                        WorkOrders::ProductionOrderId,
                        ProductionOrders::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_work_orders_equipment",
                        WorkOrders::Table,
                        WorkOrders::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_work_orders_order_seq",
                WorkOrders::Table,
                [WorkOrders::ProductionOrderId, WorkOrders::Seq],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProductionReports::Table)
                    .col(pk_id(ProductionReports::Id))
                    .col(bigint(ProductionReports::EquipmentId))
                    .col(bigint(ProductionReports::WorkshopId))
                    .col(bigint_null(ProductionReports::OrderId))
                    .col(bigint_null(ProductionReports::ShiftId))
                    .col(ts(ProductionReports::PeriodStart))
                    .col(ts(ProductionReports::PeriodEnd))
                    .col(int(ProductionReports::TotalCount, None))
                    .col(int(ProductionReports::GoodCount, None))
                    .col(int(ProductionReports::ScrapCount, None))
                    .col(varchar_null(ProductionReports::ScrapReason, 200))
                    .col(bigint_null(ProductionReports::ReportedBy))
                    .col(ts_now(manager, ProductionReports::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_production_reports_equipment",
                        ProductionReports::Table,
                        ProductionReports::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_production_reports_order",
                        ProductionReports::Table,
                        ProductionReports::OrderId,
                        ProductionOrders::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_production_reports_shift",
                        ProductionReports::Table,
                        ProductionReports::ShiftId,
                        Shifts::Table,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_production_reports_equipment_period",
                ProductionReports::Table,
                [
                    ProductionReports::EquipmentId,
                    ProductionReports::PeriodStart,
                ],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(
            manager,
            &[
                "production_reports",
                "work_orders",
                "production_orders",
                "products",
                "shifts",
                "equipment_status_events",
                "downtime_reasons",
            ],
        )
        .await
    }
}
