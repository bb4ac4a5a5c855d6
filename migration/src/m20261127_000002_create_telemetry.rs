//! Telemetry: sensors, raw readings (partitioned on PostgreSQL), latest values and rollups.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{
    bigint, boolean, double, double_null, exec_all, fk, index, int, pk_id, ts, ts_now, varchar,
};
use crate::m20261127_000001_create_plant::{Equipment, Workshops};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Sensors {
    Table,
    Id,
    EquipmentId,
    WorkshopId,
    Tag,
    Name,
    Metric,
    Unit,
    SampleIntervalMs,
    LoLo,
    Lo,
    Hi,
    HiHi,
    Deadband,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SensorLatest {
    Table,
    SensorId,
    Ts,
    Value,
    Quality,
}

#[derive(DeriveIden)]
enum Rollup {
    SensorId,
    Bucket,
    Min,
    Max,
    Avg,
    Last,
    Count,
}

const READINGS_PG: &[&str] = &[
    "CREATE TABLE sensor_readings (
        sensor_id bigint NOT NULL,
        ts timestamp with time zone NOT NULL,
        value double precision NOT NULL,
        quality smallint NOT NULL DEFAULT 192,
        PRIMARY KEY (sensor_id, ts)
    ) PARTITION BY RANGE (ts)",
    "CREATE TABLE sensor_readings_default PARTITION OF sensor_readings DEFAULT",
];

const READINGS_SQLITE: &[&str] = &["CREATE TABLE sensor_readings (
        sensor_id integer NOT NULL,
        ts timestamp_with_timezone_text NOT NULL,
        value double NOT NULL,
        quality smallint NOT NULL DEFAULT 192,
        PRIMARY KEY (sensor_id, ts)
    ) WITHOUT ROWID"];

fn rollup_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(bigint(Rollup::SensorId))
        .col(ts(Rollup::Bucket))
        .col(double(Rollup::Min))
        .col(double(Rollup::Max))
        .col(double(Rollup::Avg))
        .col(double(Rollup::Last))
        .col(int(Rollup::Count, None))
        .primary_key(Index::create().col(Rollup::SensorId).col(Rollup::Bucket))
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(Sensors::Table)
                    .col(pk_id(Sensors::Id))
                    .col(bigint(Sensors::EquipmentId))
                    .col(bigint(Sensors::WorkshopId))
                    .col(varchar(Sensors::Tag, 64).unique_key())
                    .col(varchar(Sensors::Name, 200))
                    .col(varchar(Sensors::Metric, 24))
                    .col(varchar(Sensors::Unit, 16))
                    .col(int(Sensors::SampleIntervalMs, None))
                    .col(double_null(Sensors::LoLo))
                    .col(double_null(Sensors::Lo))
                    .col(double_null(Sensors::Hi))
                    .col(double_null(Sensors::HiHi))
                    .col(double_null(Sensors::Deadband))
                    .col(boolean(Sensors::Active, true))
                    .col(ts_now(manager, Sensors::CreatedAt))
                    .col(ts_now(manager, Sensors::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_sensors_equipment",
                        Sensors::Table,
                        Sensors::EquipmentId,
                        Equipment::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .foreign_key(&mut fk(
                        "fk_sensors_workshop",
                        Sensors::Table,
                        Sensors::WorkshopId,
                        Workshops::Table,
                        ForeignKeyAction::Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sensors_equipment",
                Sensors::Table,
                [Sensors::EquipmentId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sensors_workshop",
                Sensors::Table,
                [Sensors::WorkshopId],
            ))
            .await?;

        match backend {
            DbBackend::Postgres => exec_all(manager, READINGS_PG).await?,
            _ => exec_all(manager, READINGS_SQLITE).await?,
        }

        manager
            .create_table(
                Table::create()
                    .table(SensorLatest::Table)
                    .col(bigint(SensorLatest::SensorId).primary_key())
                    .col(ts(SensorLatest::Ts))
                    .col(double(SensorLatest::Value))
                    .col(
                        ColumnDef::new(SensorLatest::Quality)
                            .small_integer()
                            .not_null(),
                    )
                    .foreign_key(&mut fk(
                        "fk_sensor_latest_sensor",
                        SensorLatest::Table,
                        SensorLatest::SensorId,
                        Sensors::Table,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        if backend == DbBackend::Postgres {
            exec_all(
                manager,
                &["ALTER TABLE sensor_latest SET (fillfactor = 70)"],
            )
            .await?;
        }

        manager.create_table(rollup_table("readings_1m")).await?;
        manager.create_table(rollup_table("readings_1h")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the partitioned parent also drops all its partitions.
        crate::common::drop_tables(
            manager,
            &[
                "readings_1h",
                "readings_1m",
                "sensor_latest",
                "sensor_readings",
                "sensors",
            ],
        )
        .await
    }
}
