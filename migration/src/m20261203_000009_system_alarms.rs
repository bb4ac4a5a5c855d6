//! `SYSTEM` alarms: alert rules on the server's own metrics raise alarms that belong to no
//! machine and no workshop. `alarms.workshop_id` and `alarms.equipment_id` become nullable,
//! a `source` column names what raised a system alarm (`rule@instance`), a check keeps every
//! alarm either on a machine or from a source, and a partial unique index keeps one open
//! alarm per source and type, as `alarms_dedup` does per machine, sensor and type.
//!
//! PostgreSQL alters the table in place. SQLite cannot drop a `NOT NULL`, so the table is
//! rebuilt the way SQLite documents (foreign keys off, new table, copy, drop, rename, indexes,
//! `foreign_key_check`, all in one transaction); the migrations run there on a pool of one
//! connection, so the pragma and the transaction share it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns copied by the SQLite rebuild, in their order.
const COLUMNS: &str = "id, workshop_id, equipment_id, sensor_id, type, severity, message, \
     value, threshold, details, occurrences, start_ts, last_ts, acknowledged, ack_ts, ack_by, \
     cleared, clear_ts, cleared_by, assignee_id, shelved_until";

/// Every alarm is on a machine (and so in a workshop) or comes from a named source.
const PLACE_OR_SOURCE: &str =
    "(workshop_id IS NOT NULL AND equipment_id IS NOT NULL) OR source IS NOT NULL";

/// SQLite's table as migration 4 made it (the column types sea-query writes for SQLite), with
/// `@PLACE@` and `@SYSTEM@` to fill in: up makes the two columns nullable and adds `source` and
/// the check; down puts the table back as it was.
const SQLITE_TABLE: &str = r#"CREATE TABLE "alarms_new" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "workshop_id" integer @PLACE@,
    "equipment_id" integer @PLACE@,
    "sensor_id" integer NULL,
    "type" varchar(64) NOT NULL,
    "severity" smallint NOT NULL,
    "message" varchar(500) NOT NULL,
    "value" double NULL,
    "threshold" double NULL,
    "details" jsonb_text NULL,
    "occurrences" integer NOT NULL DEFAULT 1,
    "start_ts" timestamp_with_timezone_text NOT NULL,
    "last_ts" timestamp_with_timezone_text NOT NULL,
    "acknowledged" boolean NOT NULL DEFAULT FALSE,
    "ack_ts" timestamp_with_timezone_text NULL,
    "ack_by" integer NULL,
    "cleared" boolean NOT NULL DEFAULT FALSE,
    "clear_ts" timestamp_with_timezone_text NULL,
    "cleared_by" integer NULL,
    "assignee_id" integer NULL,
    "shelved_until" timestamp_with_timezone_text NULL,@SYSTEM@
    CONSTRAINT "fk_alarms_equipment" FOREIGN KEY ("equipment_id")
        REFERENCES "equipment" ("id") ON DELETE CASCADE
)"#;

/// The indexes of migration 4 (a dropped table loses them) and the new one.
fn indexes(not_cleared: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE INDEX alarms_open ON alarms (workshop_id, severity, start_ts DESC) \
             WHERE {not_cleared}"
        ),
        format!(
            "CREATE UNIQUE INDEX alarms_dedup ON alarms \
             (equipment_id, coalesce(sensor_id, 0), type) WHERE {not_cleared}"
        ),
        "CREATE INDEX alarms_equipment_start ON alarms (equipment_id, start_ts DESC)".to_owned(),
        "CREATE INDEX alarms_workshop_start ON alarms (workshop_id, start_ts DESC)".to_owned(),
    ]
}

fn system_dedup(not_cleared: &str) -> String {
    format!(
        "CREATE UNIQUE INDEX alarms_system_dedup ON alarms (source, type) \
         WHERE {not_cleared} AND source IS NOT NULL"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_sqlite(manager, true).await,
            _ => {
                for sql in [
                    "ALTER TABLE alarms ALTER COLUMN workshop_id DROP NOT NULL, \
                     ALTER COLUMN equipment_id DROP NOT NULL, \
                     ADD COLUMN source varchar(128) NULL"
                        .to_owned(),
                    format!(
                        "ALTER TABLE alarms ADD CONSTRAINT alarms_place_or_source \
                         CHECK ({PLACE_OR_SOURCE})"
                    ),
                    system_dedup("NOT cleared"),
                ] {
                    conn.execute_unprepared(&sql).await?;
                }
                Ok(())
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // System alarms cannot live in the old table: they go first.
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_sqlite(manager, false).await,
            _ => {
                for sql in [
                    "DELETE FROM alarms WHERE workshop_id IS NULL OR equipment_id IS NULL",
                    "DROP INDEX IF EXISTS alarms_system_dedup",
                    "ALTER TABLE alarms DROP CONSTRAINT IF EXISTS alarms_place_or_source, \
                     DROP COLUMN IF EXISTS source, \
                     ALTER COLUMN workshop_id SET NOT NULL, \
                     ALTER COLUMN equipment_id SET NOT NULL",
                ] {
                    conn.execute_unprepared(sql).await?;
                }
                Ok(())
            }
        }
    }
}

/// SQLite's twelve-step table change to the table with (`system`) or without room for system
/// alarms, with foreign keys off around it.
async fn rebuild_sqlite(manager: &SchemaManager<'_>, system: bool) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    conn.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
    let result = rebuild_sqlite_in_transaction(manager, system).await;
    conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
    result
}

async fn rebuild_sqlite_in_transaction(
    manager: &SchemaManager<'_>,
    system: bool,
) -> Result<(), DbErr> {
    let txn = manager.begin().await?;
    let conn = txn.get_connection();
    let table = if system {
        let extra = format!(
            "\n    \"source\" varchar(128) NULL,\n    \
             CONSTRAINT \"alarms_place_or_source\" CHECK ({PLACE_OR_SOURCE}),"
        );
        SQLITE_TABLE
            .replace("@PLACE@", "NULL")
            .replace("@SYSTEM@", &extra)
    } else {
        conn.execute_unprepared(
            "DELETE FROM alarms WHERE workshop_id IS NULL OR equipment_id IS NULL",
        )
        .await?;
        SQLITE_TABLE
            .replace("@PLACE@", "NOT NULL")
            .replace("@SYSTEM@", "")
    };
    conn.execute_unprepared(&table).await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO alarms_new ({COLUMNS}) SELECT {COLUMNS} FROM alarms"
    ))
    .await?;
    conn.execute_unprepared("DROP TABLE alarms").await?;
    conn.execute_unprepared("ALTER TABLE alarms_new RENAME TO alarms")
        .await?;
    let mut statements = indexes("cleared = 0");
    if system {
        statements.push(system_dedup("cleared = 0"));
    }
    for sql in &statements {
        conn.execute_unprepared(sql).await?;
    }
    let dangling = conn
        .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if !dangling.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} rows break a foreign key after rebuilding alarms",
            dangling.len()
        )));
    }
    txn.commit().await
}
