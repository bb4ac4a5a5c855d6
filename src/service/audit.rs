//! The audit log: who ran which mutation, when, from where, with what arguments and outcome.

use chrono::{DateTime, Utc};
use entity::{audit_log, enums::Role};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{
    page::{self, Ordering, Page, PageRequest, SortValue},
    session::ClientInfo,
};
use crate::{auth::Caller, error::AppResult, security::audit::MutationRecord};

/// The audit row a mutation writes in its own transaction, so the change and its record
/// commit or roll back together. Built by the API layer from the caller, the client and the
/// mutation's arguments (secrets redacted); [`Audit::internal`] for the server's own writes
/// (the simulator), which are not mutations and leave no row.
#[derive(Clone, Debug, Default)]
pub struct Audit(Option<Entry>);

/// Who ran which mutation, from where, with what.
#[derive(Clone, Debug)]
pub struct Entry {
    pub user_id: Option<i64>,
    pub role: Option<Role>,
    pub ip: Option<String>,
    /// The mutation, e.g. `updateSensor`.
    pub action: String,
    /// Its arguments, variables filled in and secrets redacted.
    pub arguments: serde_json::Value,
}

impl Audit {
    /// A mutation's record.
    pub fn of(entry: Entry) -> Self {
        Self(Some(entry))
    }

    /// The record with `arguments` in place of the mutation's own (a summary where the
    /// arguments are bulk data, such as an ingest batch).
    pub fn with_arguments(mut self, arguments: serde_json::Value) -> Self {
        if let Some(entry) = &mut self.0 {
            entry.arguments = arguments;
        }
        self
    }

    /// The server's own write: no row.
    pub fn internal() -> Self {
        Self(None)
    }

    /// Writes the row for a successful change of `entity_id`, on `conn` — the change's own
    /// transaction. One statement.
    pub async fn write(
        &self,
        conn: &impl ConnectionTrait,
        entity_id: impl std::fmt::Display,
    ) -> AppResult<()> {
        let Some(entry) = &self.0 else {
            return Ok(());
        };
        let row = audit_log::ActiveModel {
            ts: Set(Utc::now()),
            user_id: Set(entry.user_id),
            action: Set(entry.action.chars().take(64).collect()),
            entity: Set(None),
            entity_id: Set(Some(entity_id.to_string().chars().take(64).collect())),
            ip: Set(entry.ip.clone()),
            payload: Set(Some(serde_json::json!({
                "arguments": entry.arguments,
                "ok": true,
                "error": null,
                "role": entry.role.map(|role| role.as_str()),
            }))),
            ..Default::default()
        };
        audit_log::Entity::insert(row)
            .exec_without_returning(conn)
            .await?;
        Ok(())
    }
}

/// Writes the refused and failed mutations of one request, in one statement (successful ones
/// wrote their rows in their own transactions).
pub async fn record(
    db: &DatabaseConnection,
    caller: &Caller,
    client: &ClientInfo,
    records: Vec<MutationRecord>,
) -> AppResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = records.into_iter().map(|r| audit_log::ActiveModel {
        ts: Set(now),
        user_id: Set(caller.user_id),
        action: Set(r.action.chars().take(64).collect()),
        entity: Set(r.error.clone().map(|code| format!("error:{code}"))),
        entity_id: Set(r.entity_id.map(|id| id.chars().take(64).collect())),
        ip: Set(client.ip.clone()),
        payload: Set(Some(serde_json::json!({
            "arguments": r.arguments,
            "ok": r.error.is_none(),
            "error": r.error,
            "role": caller.role.map(|role| role.as_str()),
        }))),
        ..Default::default()
    });
    audit_log::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Filters of `auditLog`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first.
pub const NEWEST_FIRST: Ordering<audit_log::Entity> = Ordering {
    key: "ts_desc",
    column: audit_log::Column::Ts,
    descending: true,
    value: |m| SortValue::Time(m.ts),
    id_column: audit_log::Column::Id,
    id: |m| m.id,
};

/// One page of the audit log (admin).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &AuditFilter,
    request: &PageRequest,
) -> AppResult<Page<audit_log::Model>> {
    caller.require(Role::Admin)?;
    let mut select = audit_log::Entity::find();
    if let Some(id) = filter.user_id {
        select = select.filter(audit_log::Column::UserId.eq(id));
    }
    if let Some(action) = &filter.action {
        select = select.filter(audit_log::Column::Action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        select = select.filter(audit_log::Column::Ts.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(audit_log::Column::Ts.lt(to));
    }
    page::fetch(db, select, &NEWEST_FIRST, request).await
}
