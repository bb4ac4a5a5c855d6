//! Small builders shared by the migrations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Default expression for `created_at` / `updated_at` style columns.
///
/// PostgreSQL uses `CURRENT_TIMESTAMP`. SQLite's `CURRENT_TIMESTAMP` yields
/// `YYYY-MM-DD HH:MM:SS`, which does not compare correctly (as text) with the
/// RFC 3339 strings sqlx writes for `DateTime<Utc>`, so on SQLite the default
/// produces the same RFC 3339 shape (`YYYY-MM-DDTHH:MM:SS.sss+00:00`).
pub(crate) fn now_default(manager: &SchemaManager) -> Expr {
    match manager.get_database_backend() {
        DbBackend::Sqlite => Expr::cust("(strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))"),
        _ => Expr::current_timestamp(),
    }
}

/// `id BIGINT` identity / autoincrement primary key.
pub(crate) fn pk_id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

/// NOT NULL timestamptz defaulting to the current time.
pub(crate) fn ts_now<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .default(now_default(manager))
        .take()
}

/// NOT NULL timestamptz without default.
pub(crate) fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

/// Nullable timestamptz.
pub(crate) fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

/// NOT NULL varchar(len).
pub(crate) fn varchar<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().take()
}

/// Nullable varchar(len).
pub(crate) fn varchar_null<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().take()
}

/// NOT NULL bigint.
pub(crate) fn bigint<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

/// Nullable bigint.
pub(crate) fn bigint_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().take()
}

/// NOT NULL integer, optionally with a default.
pub(crate) fn int<T: IntoIden>(col: T, default: Option<i32>) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.integer().not_null();
    if let Some(d) = default {
        def.default(d);
    }
    def
}

/// Nullable integer.
pub(crate) fn int_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).integer().null().take()
}

/// NOT NULL double.
pub(crate) fn double<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).double().not_null().take()
}

/// Nullable double.
pub(crate) fn double_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).double().null().take()
}

/// NOT NULL boolean with a default.
pub(crate) fn boolean<T: IntoIden>(col: T, default: bool) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(default)
        .take()
}

/// Nullable text.
pub(crate) fn text_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

/// NOT NULL json (jsonb on PostgreSQL, text on SQLite).
pub(crate) fn json<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).json_binary().not_null().take()
}

/// Nullable json.
pub(crate) fn json_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).json_binary().null().take()
}

/// Foreign key from `from_tbl.from_col` to `to_tbl.id`.
pub(crate) fn fk<FT, FC, TT>(
    name: &str,
    from_tbl: FT,
    from_col: FC,
    to_tbl: TT,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    FT: IntoIden,
    FC: IntoIden,
    TT: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(from_tbl, from_col)
        .to(to_tbl, Alias::new("id"))
        .on_delete(on_delete)
        .take()
}

/// Plain (non-unique) index.
pub(crate) fn index<T, C>(name: &str, table: T, cols: C) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIterator,
    C::Item: IntoIndexColumn,
{
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(c);
    }
    idx
}

/// Run raw SQL statements in order.
pub(crate) async fn exec_all(manager: &SchemaManager<'_>, stmts: &[&str]) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    for sql in stmts {
        conn.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Drop tables in the given order.
pub(crate) async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for t in tables {
        manager
            .drop_table(Table::drop().table(*t).if_exists().take())
            .await?;
    }
    Ok(())
}
