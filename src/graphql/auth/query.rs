//! The caller's own user, and security events for admins.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use super::types::{AuditEntry, SecurityEvent, Session, User};
use crate::{
    error::AppError,
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, parse_id, parse_opt_id},
        page_request,
    },
    service::{audit, security, session},
};

/// Filters of `securityEvents`.
#[derive(InputObject, Default)]
pub struct SecurityEventFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events of this user.
    pub user_id: Option<ID>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// Filters of `auditLog`.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Only this user's mutations.
    pub user_id: Option<ID>,
    /// Only this mutation, e.g. `updateSensor`.
    pub action: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// Auth queries.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The logged-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let user = session::me(&ctx.state().db.read, ctx.caller()?).await?;
        Ok(user.into())
    }

    /// A user's sessions, newest first (admin; at most 1,000).
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user.")] user_id: ID,
    ) -> Result<Vec<Session>> {
        let user_id = parse_id("userId", &user_id)?;
        let rows = session::list_for_user(&ctx.state().db.read, ctx.caller()?, user_id).await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    /// Security events, newest first (admin).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<SecurityEventFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<SecurityEvent>> {
        let f = filter.unwrap_or_default();
        if f.kind
            .as_ref()
            .is_some_and(|k| k.len() > 48 || k.contains('\0'))
        {
            return Err(AppError::invalid("kind", "`kind` is not an event kind").into());
        }
        let filter = security::EventFilter {
            kind: f.kind,
            user_id: parse_opt_id("userId", f.user_id.as_ref())?,
            from: f.from,
            to: f.to,
        };
        let request = page_request(ctx, "security_events", first, after)?;
        let page = security::list(&ctx.state().db.read, ctx.caller()?, &filter, &request).await?;
        Ok(connection(page, SecurityEvent::from))
    }

    /// The audit log of mutations, newest first (admin).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<AuditFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<AuditEntry>> {
        let f = filter.unwrap_or_default();
        if f.action
            .as_ref()
            .is_some_and(|a| a.len() > 64 || a.contains('\0'))
        {
            return Err(AppError::invalid("action", "`action` is not a mutation name").into());
        }
        let filter = audit::AuditFilter {
            user_id: parse_opt_id("userId", f.user_id.as_ref())?,
            action: f.action,
            from: f.from,
            to: f.to,
        };
        let request = page_request(ctx, "audit_log", first, after)?;
        let page = audit::list(&ctx.state().db.read, ctx.caller()?, &filter, &request).await?;
        Ok(connection(page, AuditEntry::from))
    }
}
