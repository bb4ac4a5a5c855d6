//! Security events: lockouts, token misuse, sessions moving between clients — written where
//! they happen, listed for admins.

use chrono::{DateTime, Utc};
use entity::{enums::Role, security_event};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde_json::Value;

use super::{
    page::{self, Ordering, Page, PageRequest, SortValue},
    session::ClientInfo,
};
use crate::{auth::Caller, error::AppResult};

/// Kinds of security events.
pub mod kind {
    /// Too many failed logins: the account is locked for a while.
    pub const ACCOUNT_LOCKED: &str = "account_locked";
    /// A login attempt on a locked account.
    pub const LOGIN_WHILE_LOCKED: &str = "login_while_locked";
    /// A used refresh token came back: the session was revoked.
    pub const REFRESH_TOKEN_REUSE: &str = "refresh_token_reuse";
    /// A session was refreshed from another IP address or user agent.
    pub const SESSION_NEW_CLIENT: &str = "session_new_client";
    /// A login failed (unknown user, wrong password, inactive or service account); these
    /// rows are what per-IP failures are counted from.
    pub const LOGIN_FAILED: &str = "login_failed";
    /// An IP reached `SF_LOGIN_IP_MAX_FAILURES`: its logins are refused until failures age
    /// out of the window.
    pub const IP_BLOCKED: &str = "ip_blocked";
    /// One IP failed with `SF_LOGIN_IP_MAX_USERNAMES` distinct usernames (credential stuffing).
    pub const MANY_USERNAMES_FROM_IP: &str = "many_usernames_from_ip";
    /// A caller was refused an operation for its role (recorded at most once a minute per
    /// caller and field).
    pub const FORBIDDEN: &str = "forbidden";

    /// The kind as a `'static` label (metrics labels are static; unknown kinds count as
    /// `other`).
    pub fn canonical(kind: &str) -> &'static str {
        [
            ACCOUNT_LOCKED,
            LOGIN_WHILE_LOCKED,
            REFRESH_TOKEN_REUSE,
            SESSION_NEW_CLIENT,
            RATE_LIMIT_TRIPPED,
            LOGIN_FAILED,
            IP_BLOCKED,
            MANY_USERNAMES_FROM_IP,
            FORBIDDEN,
        ]
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or("other")
    }
    /// A rate limit refused a caller (recorded at most once a minute per limited key).
    pub const RATE_LIMIT_TRIPPED: &str = "rate_limit_tripped";
}

/// Records one event; `user_id`/`username` when known.
pub async fn record(
    db: &impl ConnectionTrait,
    kind: &str,
    user_id: Option<i64>,
    username: Option<&str>,
    client: &ClientInfo,
    details: Value,
) -> AppResult<()> {
    security_event::ActiveModel {
        ts: Set(Utc::now()),
        kind: Set(kind.to_owned()),
        user_id: Set(user_id),
        username: Set(username.map(|u| u.chars().take(64).collect())),
        ip: Set(client.ip.clone()),
        user_agent: Set(client
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(512).collect())),
        details: Set(Some(details)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::telemetry::metrics::SECURITY_EVENTS
        .get_or_create(&crate::telemetry::metrics::KindLabels {
            kind: kind::canonical(kind),
        })
        .inc();
    tracing::warn!(kind, user_id, "security event");
    Ok(())
}

/// Filters of `securityEvents`.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub kind: Option<String>,
    pub user_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first.
pub const NEWEST_FIRST: Ordering<security_event::Entity> = Ordering {
    key: "ts_desc",
    column: security_event::Column::Ts,
    descending: true,
    value: |m| SortValue::Time(m.ts),
    id_column: security_event::Column::Id,
    id: |m| m.id,
};

/// One page of events (admin).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &EventFilter,
    request: &PageRequest,
) -> AppResult<Page<security_event::Model>> {
    caller.require(Role::Admin)?;
    let mut select = security_event::Entity::find();
    if let Some(kind) = &filter.kind {
        select = select.filter(security_event::Column::Kind.eq(kind.clone()));
    }
    if let Some(id) = filter.user_id {
        select = select.filter(security_event::Column::UserId.eq(id));
    }
    if let Some(from) = filter.from {
        select = select.filter(security_event::Column::Ts.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(security_event::Column::Ts.lt(to));
    }
    page::fetch(db, select, &NEWEST_FIRST, request).await
}
