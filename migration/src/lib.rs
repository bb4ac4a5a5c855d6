//! Database schema migrations for the smart-factory server (PostgreSQL and SQLite).

pub use sea_orm_migration::prelude::*;

use sea_orm_migration::sea_orm::DbBackend;

mod common;
mod m20261127_000001_create_plant;
mod m20261127_000002_create_telemetry;
mod m20261127_000003_create_operations;
mod m20261127_000004_create_alarms;
mod m20261127_000005_create_maintenance;
mod m20261127_000006_create_people;
mod m20261127_000007_create_system;
mod m20261127_000008_security_events_by_ip;
mod m20261203_000009_system_alarms;
mod m20261204_000010_jobs_and_rollups;

/// The ordered list of schema migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_plant::Migration),
            Box::new(m20261127_000002_create_telemetry::Migration),
            Box::new(m20261127_000003_create_operations::Migration),
            Box::new(m20261127_000004_create_alarms::Migration),
            Box::new(m20261127_000005_create_maintenance::Migration),
            Box::new(m20261127_000006_create_people::Migration),
            Box::new(m20261127_000007_create_system::Migration),
            Box::new(m20261127_000008_security_events_by_ip::Migration),
            Box::new(m20261203_000009_system_alarms::Migration),
            Box::new(m20261204_000010_jobs_and_rollups::Migration),
        ]
    }
}

/// Ensure daily partitions `sensor_readings_pYYYYMMDD` of `sensor_readings` exist for
/// `days` consecutive days starting at `from` (UTC day boundaries).
///
/// On PostgreSQL each missing partition is created; if the default partition already
/// holds rows for that day they are moved into the new partition before it is attached.
/// Each day is handled by a single `DO` block, so it is atomic even when `db` is a pool,
/// and an advisory lock serialises concurrent callers. Returns the number of partitions
/// ensured (`days`). On SQLite (no partitioning) this does nothing and returns 0.
pub async fn create_reading_partitions(
    db: &impl ConnectionTrait,
    from: chrono::NaiveDate,
    days: u32,
) -> Result<u32, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let mut ensured = 0;
    for i in 0..days {
        let day = from
            .checked_add_days(chrono::Days::new(u64::from(i)))
            .ok_or_else(|| DbErr::Custom(format!("partition date out of range: {from} + {i}")))?;
        let next = day
            .succ_opt()
            .ok_or_else(|| DbErr::Custom(format!("partition date out of range: {day} + 1")))?;
        db.execute_unprepared(&partition_sql(day, next)).await?;
        ensured += 1;
    }
    Ok(ensured)
}

/// The `DO` block that ensures the partition for `[day, next)`.
fn partition_sql(day: chrono::NaiveDate, next: chrono::NaiveDate) -> String {
    let name = format!("sensor_readings_p{}", day.format("%Y%m%d"));
    let a = format!("{} 00:00:00+00", day.format("%Y-%m-%d"));
    let b = format!("{} 00:00:00+00", next.format("%Y-%m-%d"));
    format!(
        r#"DO $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('sensor_readings_partitions'));
    IF to_regclass('{name}') IS NULL THEN
        IF EXISTS (SELECT 1 FROM sensor_readings_default
                   WHERE ts >= '{a}' AND ts < '{b}') THEN
            CREATE TABLE {name} (LIKE sensor_readings INCLUDING ALL);
            WITH moved AS (
                DELETE FROM sensor_readings_default
                WHERE ts >= '{a}' AND ts < '{b}'
                RETURNING *
            )
            INSERT INTO {name} SELECT * FROM moved;
            ALTER TABLE sensor_readings ATTACH PARTITION {name}
                FOR VALUES FROM ('{a}') TO ('{b}');
        ELSE
            CREATE TABLE IF NOT EXISTS {name} PARTITION OF sensor_readings
                FOR VALUES FROM ('{a}') TO ('{b}');
        END IF;
    END IF;
END
$$"#
    )
}
