//! The audit log: who ran which mutation, when, from where, with what arguments and outcome.

use chrono::{DateTime, Utc};
use entity::{audit_log, enums::Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{
    page::{self, Ordering, Page, PageRequest, SortValue},
    session::ClientInfo,
};
use crate::{auth::Caller, error::AppResult, security::audit::MutationRecord};

/// Writes the mutations of one request, in one statement.
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
