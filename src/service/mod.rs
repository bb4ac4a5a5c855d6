//! Business rules per domain, free of GraphQL: every function takes the caller, checks role
//! and workshop scope, validates input and runs its writes in one transaction.

pub mod alarm;
pub mod alarm_lifecycle;
pub mod alarm_rules;
pub mod alarm_transition;
pub mod api_token;
pub mod audit;
pub mod cache;
pub mod equipment;
pub mod equipment_status;
pub mod jobs;
pub mod line;
pub mod live;
pub mod maintenance;
pub mod metrics;
pub mod oee;
pub mod page;
pub mod product;
pub mod production;
pub mod security;
pub mod sensor;
pub mod session;
pub mod system_alarm;
pub mod telemetry;
pub mod user;
pub mod validate;
pub mod workshop;

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, LikeExpr};

/// Begins a transaction that reads, then writes what it read: on SQLite it takes the write
/// lock at `BEGIN IMMEDIATE`, so a concurrent writer waits (busy timeout) instead of failing
/// on a stale snapshot; on PostgreSQL it is a plain `BEGIN` (lock rows with `FOR UPDATE`).
pub(crate) async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// A case-insensitive "contains" match that treats `%`, `_` and `\` in `needle` literally.
pub(crate) fn contains(column: impl IntoColumnRef, needle: &str) -> Expr {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Groups rows by a key, with an (empty) entry for every requested key, so that loaders can
/// cache "no children" as firmly as "these children".
pub(crate) fn group_by_key<T>(
    keys: &[i64],
    rows: Vec<T>,
    key: impl Fn(&T) -> i64,
) -> HashMap<i64, Vec<T>> {
    let mut map: HashMap<i64, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}
