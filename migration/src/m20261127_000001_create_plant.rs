//! Plant structure: sites, workshops, production lines and equipment.

use sea_orm_migration::prelude::*;

use crate::common::{
    bigint_null, double_null, fk, index, json, pk_id, text_null, ts, ts_now, varchar, varchar_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Sites {
    Table,
    Id,
    Code,
    Name,
    Timezone,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Workshops {
    Table,
    Id,
    SiteId,
    Code,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum ProductionLines {
    Table,
    Id,
    WorkshopId,
    Code,
    Name,
    Status,
    BottleneckEquipmentId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum Equipment {
    Table,
    Id,
    LineId,
    WorkshopId,
    Code,
    Name,
    Kind,
    Model,
    SerialNo,
    IdealCycleTimeS,
    Status,
    StatusSince,
    Attributes,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(pk_id(Sites::Id))
                    .col(varchar(Sites::Code, 32).unique_key())
                    .col(varchar(Sites::Name, 200))
                    .col(varchar(Sites::Timezone, 64).default("UTC"))
                    .col(ts_now(manager, Sites::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Workshops::Table)
                    .col(pk_id(Workshops::Id))
                    .col(ColumnDef::new(Workshops::SiteId).big_integer().not_null())
                    .col(varchar(Workshops::Code, 32).unique_key())
                    .col(varchar(Workshops::Name, 200))
                    .col(text_null(Workshops::Description))
                    .col(ts_now(manager, Workshops::CreatedAt))
                    .col(ts_now(manager, Workshops::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_workshops_site",
                        Workshops::Table,
                        Workshops::SiteId,
                        Sites::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_workshops_site",
                Workshops::Table,
                [Workshops::SiteId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProductionLines::Table)
                    .col(pk_id(ProductionLines::Id))
                    .col(
                        ColumnDef::new(ProductionLines::WorkshopId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(varchar(ProductionLines::Code, 32))
                    .col(varchar(ProductionLines::Name, 200))
                    .col(varchar(ProductionLines::Status, 24))
                    .col(bigint_null(ProductionLines::BottleneckEquipmentId))
                    .col(ts_now(manager, ProductionLines::CreatedAt))
                    .col(ts_now(manager, ProductionLines::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_production_lines_workshop",
                        ProductionLines::Table,
                        ProductionLines::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "uq_production_lines_workshop_code",
                    ProductionLines::Table,
                    [ProductionLines::WorkshopId, ProductionLines::Code],
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_production_lines_workshop",
                ProductionLines::Table,
                [ProductionLines::WorkshopId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Equipment::Table)
                    .col(pk_id(Equipment::Id))
                    .col(ColumnDef::new(Equipment::LineId).big_integer().not_null())
                    .col(
                        ColumnDef::new(Equipment::WorkshopId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(varchar(Equipment::Code, 32))
                    .col(varchar(Equipment::Name, 200))
                    .col(varchar(Equipment::Kind, 24))
                    .col(varchar_null(Equipment::Model, 100))
                    .col(varchar_null(Equipment::SerialNo, 100))
                    .col(double_null(Equipment::IdealCycleTimeS))
                    .col(varchar(Equipment::Status, 24))
                    .col(ts(Equipment::StatusSince))
                    .col(json(Equipment::Attributes).default("{}"))
                    .col(ts_now(manager, Equipment::CreatedAt))
                    .col(ts_now(manager, Equipment::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_equipment_line",
                        Equipment::Table,
                        Equipment::LineId,
                        ProductionLines::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_equipment_workshop",
                        Equipment::Table,
                        Equipment::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "uq_equipment_workshop_code",
                    Equipment::Table,
                    [Equipment::WorkshopId, Equipment::Code],
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_equipment_line",
                Equipment::Table,
                [Equipment::LineId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_equipment_workshop_status",
                Equipment::Table,
                [Equipment::WorkshopId, Equipment::Status],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::common::drop_tables(
            manager,
            &["equipment", "production_lines", "workshops", "sites"],
        )
        .await
    }
}
