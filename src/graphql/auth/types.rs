//! Users and tokens as the API shows them.

use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};
use entity::user;

use crate::service::session::Tokens;

/// What a user may do: viewer < operator < engineer < manager < admin; gateways only push
/// data for their workshop.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Reads and subscribes in assigned workshops.
    Viewer,
    /// + acknowledges alarms, reports production, sets machine states.
    Operator,
    /// + edits equipment, sensors and thresholds; clears alarms; plans maintenance.
    Engineer,
    /// + every workshop; production orders, shifts, reports.
    Manager,
    /// Everything, including users and the system.
    Admin,
    /// A line gateway's service account.
    Gateway,
}

impl From<entity::enums::Role> for Role {
    fn from(r: entity::enums::Role) -> Self {
        use entity::enums::Role as Db;
        match r {
            Db::Viewer => Self::Viewer,
            Db::Operator => Self::Operator,
            Db::Engineer => Self::Engineer,
            Db::Manager => Self::Manager,
            Db::Admin => Self::Admin,
            Db::Gateway => Self::Gateway,
        }
    }
}

/// A person or service account.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct User {
    /// Identifier.
    pub id: ID,
    /// Login name.
    pub username: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Name to show.
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Whether the account may log in.
    pub active: bool,
}

#[async_graphql::ComplexObject]
impl User {
    /// Workshops assigned to the user (what a non-manager may see); visible to admins and to
    /// the user themselves, empty for others.
    async fn workshop_ids(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<ID>> {
        use crate::graphql::context::ContextExt;
        let Ok(id) = self.id.parse::<i64>() else {
            return Ok(Vec::new());
        };
        let ids = ctx
            .loaders()
            .workshop_ids_by_user
            .load_one(id)
            .await?
            .map(|ids| ids.iter().map(|w| ID::from(*w)).collect())
            .unwrap_or_default();
        Ok(ids)
    }
}

impl From<Role> for entity::enums::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => Self::Viewer,
            Role::Operator => Self::Operator,
            Role::Engineer => Self::Engineer,
            Role::Manager => Self::Manager,
            Role::Admin => Self::Admin,
            Role::Gateway => Self::Gateway,
        }
    }
}

/// A gateway's API token (never the secret itself, which is shown once at creation).
#[derive(SimpleObject)]
pub struct ApiToken {
    /// Identifier.
    pub id: ID,
    /// The gateway account.
    pub user_id: ID,
    /// What it is for, e.g. the gateway's host name.
    pub name: String,
    /// The one workshop it may write to.
    pub workshop_id: ID,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last request that reached the database with it (at most every 30 s).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<entity::api_token::Model> for ApiToken {
    fn from(m: entity::api_token::Model) -> Self {
        Self {
            id: m.id.into(),
            user_id: m.user_id.into(),
            name: m.name,
            workshop_id: m.workshop_id.into(),
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        }
    }
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id.into(),
            username: m.username,
            email: m.email,
            display_name: m.display_name,
            role: m.role.into(),
            active: m.active,
        }
    }
}

/// Tokens of a new or refreshed session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Bearer token for `Authorization: Bearer …`; short-lived.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// Single-use token for `refreshToken`; a new one comes back each time. Keep it secret.
    pub refresh_token: String,
    /// When the session ends at the latest, however often it is refreshed.
    pub session_expires_at: DateTime<Utc>,
    /// The logged-in user.
    pub user: User,
}

impl From<Tokens> for AuthPayload {
    fn from(t: Tokens) -> Self {
        Self {
            access_token: t.access_token,
            access_token_expires_at: t.access_expires_at,
            refresh_token: t.refresh_token,
            session_expires_at: t.session_expires_at,
            user: t.user.into(),
        }
    }
}

/// Something security-relevant that happened: a lockout, a reused refresh token, a session
/// moving to another client.
#[derive(SimpleObject)]
pub struct SecurityEvent {
    /// Identifier.
    pub id: ID,
    /// When.
    pub ts: DateTime<Utc>,
    /// What: `account_locked`, `login_while_locked`, `refresh_token_reuse`,
    /// `session_new_client`.
    pub kind: String,
    /// The user concerned, when known.
    pub user_id: Option<ID>,
    /// The username given, when known.
    pub username: Option<String>,
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details (JSON).
    pub details: Option<async_graphql::Json<serde_json::Value>>,
}

impl From<entity::security_event::Model> for SecurityEvent {
    fn from(m: entity::security_event::Model) -> Self {
        Self {
            id: m.id.into(),
            ts: m.ts,
            kind: m.kind,
            user_id: m.user_id.map(ID::from),
            username: m.username,
            ip: m.ip,
            user_agent: m.user_agent,
            details: m.details.map(async_graphql::Json),
        }
    }
}

/// One mutation run: who, what, when, from where, and how it ended.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// Identifier.
    pub id: ID,
    /// When.
    pub ts: DateTime<Utc>,
    /// The user (absent for the development admin and anonymous callers).
    pub user_id: Option<ID>,
    /// The mutation, e.g. `updateSensor`.
    pub action: String,
    /// `input.id` of the mutation, when it had one.
    pub entity_id: Option<String>,
    /// Client IP address.
    pub ip: Option<String>,
    /// Whether it succeeded.
    pub ok: bool,
    /// Arguments (secrets redacted), outcome and the caller's role (JSON).
    pub payload: Option<async_graphql::Json<serde_json::Value>>,
}

impl From<entity::audit_log::Model> for AuditEntry {
    fn from(m: entity::audit_log::Model) -> Self {
        let ok = m
            .payload
            .as_ref()
            .and_then(|p| p.get("ok"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        Self {
            id: m.id.into(),
            ts: m.ts,
            user_id: m.user_id.map(ID::from),
            action: m.action,
            entity_id: m.entity_id,
            ip: m.ip,
            ok,
            payload: m.payload.map(async_graphql::Json),
        }
    }
}

/// A login session.
#[derive(SimpleObject)]
pub struct Session {
    /// Identifier (the `sid` of its tokens).
    pub id: ID,
    /// The user.
    pub user_id: ID,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last token check that reached the database (at most every 30 s).
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// Ends if unused until then.
    pub idle_expires_at: DateTime<Utc>,
    /// Client IP address at login or last refresh.
    pub ip: Option<String>,
    /// Client user agent at login or last refresh.
    pub user_agent: Option<String>,
    /// When it was ended early.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why: `logout`, `logout_all`, `refresh_token_reuse`, `revoked_by_admin`.
    pub revoked_reason: Option<String>,
}

impl From<entity::session::Model> for Session {
    fn from(m: entity::session::Model) -> Self {
        Self {
            id: m.id.into(),
            user_id: m.user_id.into(),
            created_at: m.created_at,
            last_seen_at: m.last_seen_at,
            expires_at: m.expires_at,
            idle_expires_at: m.idle_expires_at,
            ip: m.ip,
            user_agent: m.user_agent,
            revoked_at: m.revoked_at,
            revoked_reason: m.revoked_reason,
        }
    }
}
