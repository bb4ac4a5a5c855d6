//! Database housekeeping: partitions ahead, planner statistics, vacuum.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};

use crate::error::AppResult;

/// Days ahead of today whose readings partitions are made in advance.
pub const PARTITION_DAYS_AHEAD: u32 = 7;

/// Ensures the readings partitions of `today` and the next [`PARTITION_DAYS_AHEAD`] days
/// (PostgreSQL; 0 on SQLite, which has none).
pub async fn partitions(db: &DatabaseConnection, today: NaiveDate) -> AppResult<u32> {
    Ok(migration::create_reading_partitions(db, today, PARTITION_DAYS_AHEAD + 1).await?)
}

/// `ANALYZE` on PostgreSQL, `PRAGMA optimize` on SQLite.
pub async fn analyze(db: &DatabaseConnection) -> AppResult<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => db.execute_unprepared("ANALYZE").await?,
        _ => db.execute_unprepared("PRAGMA optimize").await?,
    };
    Ok(())
}

/// `VACUUM (ANALYZE)` on PostgreSQL (outside a transaction, as it must be); on SQLite a WAL
/// checkpoint that truncates the log, then `PRAGMA optimize` (a full `VACUUM` would rewrite
/// the file under the server's feet).
pub async fn vacuum(db: &DatabaseConnection) -> AppResult<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared("VACUUM (ANALYZE)").await?;
        }
        _ => {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
            db.execute_unprepared("PRAGMA optimize").await?;
        }
    }
    Ok(())
}
