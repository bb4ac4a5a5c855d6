//! Jobs and maintenance: the rollup watermarks, the runs of each schedule (one row per
//! schedule and slot, which is also what makes a slot run once across instances), and a time
//! index on raw readings so rollups and retention read a range of time without scanning every
//! sensor's rows (BRIN on PostgreSQL: a few pages for a day of appends; a B-tree on SQLite).
//!
//! The job queue's own tables (apalis) are not here: apalis migrates them itself at start-up
//! (`src/jobs/storage.rs`), and `down` of this migration drops them so `migrate down` leaves an
//! empty database.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::common::{bigint_null, text_null, ts, ts_null, varchar, varchar_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RollupWatermarks {
    Table,
    Name,
    Watermark,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScheduleRuns {
    Table,
    Schedule,
    Slot,
    Instance,
    JobId,
    Status,
    StartedAt,
    FinishedAt,
    DurationMs,
    Detail,
}

const TS_INDEX: &str = "sensor_readings_ts";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RollupWatermarks::Table)
                    .col(varchar(RollupWatermarks::Name, 64).primary_key().take())
                    .col(ts(RollupWatermarks::Watermark))
                    .col(ts(RollupWatermarks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScheduleRuns::Table)
                    .col(varchar(ScheduleRuns::Schedule, 64))
                    .col(ts(ScheduleRuns::Slot))
                    .col(varchar(ScheduleRuns::Instance, 200))
                    .col(varchar_null(ScheduleRuns::JobId, 64))
                    .col(varchar(ScheduleRuns::Status, 16))
                    .col(ts_null(ScheduleRuns::StartedAt))
                    .col(ts_null(ScheduleRuns::FinishedAt))
                    .col(bigint_null(ScheduleRuns::DurationMs))
                    .col(text_null(ScheduleRuns::Detail))
                    .primary_key(
                        Index::create()
                            .col(ScheduleRuns::Schedule)
                            .col(ScheduleRuns::Slot),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {TS_INDEX} ON sensor_readings USING brin (ts)"
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!("CREATE INDEX {TS_INDEX} ON sensor_readings (ts)"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {TS_INDEX}"))
            .await?;
        manager
            .drop_table(Table::drop().table(ScheduleRuns::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RollupWatermarks::Table).to_owned())
            .await?;
        // The job queue's tables, created by apalis at start-up.
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("DROP SCHEMA IF EXISTS apalis CASCADE")
                    .await?;
            }
            _ => {
                for table in ["Jobs", "Workers"] {
                    db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                        .await?;
                }
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS _sqlx_migrations")
            .await?;
        Ok(())
    }
}
