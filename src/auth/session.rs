//! Per-request authentication: the JWT says which session; the session (cached) says whether
//! it is still valid and what the user may do now.
//!
//! The `sessions` table is the truth and this cache serves every request ("cached DB"), so a
//! check costs no statement on a hit; revocations on this instance drop the entry at once,
//! and entries live at most `SESSION_CACHE_TTL` (the bus will carry revocations across
//! instances).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{api_token, enums::Role, session, user, user_workshop};
use moka::future::Cache;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tokio::sync::OnceCell;

use super::{Caller, WorkshopScope, jwt::JwtKeys, password};
use crate::{
    config::AuthConfig,
    error::{AppError, AppResult, INVALID_TOKEN},
    events::{Event, EventBus, Revocation},
};

/// Longest a cached session answer is trusted.
const SESSION_CACHE_TTL: Duration = Duration::from_secs(30);

/// What a valid session lets its user do.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user_id: i64,
    pub role: Role,
    pub scope: WorkshopScope,
    pub expires_at: DateTime<Utc>,
    pub idle_expires_at: DateTime<Utc>,
}

/// What a valid gateway API token lets its holder do.
#[derive(Clone, Debug)]
pub struct ApiTokenInfo {
    pub token_id: i64,
    pub user_id: i64,
    pub workshop_id: i64,
}

/// Prefix of gateway API tokens; what follows is 32 random bytes, base64url.
pub const API_TOKEN_PREFIX: &str = "sfgw_";

/// Verifies tokens and sessions; one per instance, in `AppState`.
pub struct Authenticator {
    pub keys: JwtKeys,
    pub config: AuthConfig,
    sessions: Cache<String, Arc<SessionInfo>>,
    /// Gateway API tokens by hash.
    api_tokens: Cache<String, Arc<ApiTokenInfo>>,
    dummy_hash: OnceCell<String>,
    /// Where revocations go out to every instance.
    events: std::sync::OnceLock<Arc<EventBus>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator with an empty session cache.
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            keys: JwtKeys::new(config),
            config: config.clone(),
            sessions: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            api_tokens: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SESSION_CACHE_TTL)
                .build(),
            dummy_hash: OnceCell::new(),
            events: std::sync::OnceLock::new(),
        }
    }

    /// The caller of a request: from its bearer token, or — without one — the development
    /// admin when allowed, else anonymous. A bad token never falls back.
    pub async fn caller(&self, db: &DatabaseConnection, authorization: Option<&str>) -> Caller {
        let Some(header) = authorization else {
            return if self.config.dev_admin_fallback {
                Caller::development_admin()
            } else {
                Caller::anonymous()
            };
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim);
        match token {
            Some(token) if token.starts_with(API_TOKEN_PREFIX) => {
                match self.authenticate_api_token(db, token).await {
                    Ok(caller) => caller,
                    Err(_) => Caller::rejected(),
                }
            }
            Some(token) => match self.authenticate(db, token).await {
                Ok(caller) => caller,
                Err(_) => Caller::rejected(),
            },
            None => Caller::rejected(),
        }
    }

    /// Checks a token and its session.
    pub async fn authenticate(&self, db: &DatabaseConnection, token: &str) -> AppResult<Caller> {
        let claims = self.keys.verify(token)?;
        let user_id: i64 = claims
            .sub
            .parse()
            .map_err(|_| AppError::Unauthenticated(INVALID_TOKEN))?;
        let sid = claims.sid;
        let info = self
            .sessions
            .try_get_with(sid.clone(), load(db, sid.clone(), self.config.session_idle))
            .await
            .map_err(|e: Arc<AppError>| match &*e {
                AppError::Unauthenticated(why) => AppError::Unauthenticated(why),
                other => AppError::Internal(anyhow::anyhow!("loading a session: {other:?}")),
            })?;
        let now = Utc::now();
        if info.user_id != user_id || info.expires_at <= now || info.idle_expires_at <= now {
            return Err(AppError::Unauthenticated(INVALID_TOKEN));
        }
        Ok(Caller {
            user_id: Some(info.user_id),
            session_id: Some(sid),
            role: Some(info.role),
            scope: info.scope.clone(),
            api_token_id: None,
            token_rejected: false,
            token_expires_at: DateTime::from_timestamp(claims.exp, 0),
        })
    }

    /// Checks a gateway API token (cached like sessions; a hit costs no statement).
    pub async fn authenticate_api_token(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> AppResult<Caller> {
        if token.len() > 128 {
            return Err(AppError::Unauthenticated(INVALID_TOKEN));
        }
        let hash = crate::service::session::hash_secret(token);
        let info = self
            .api_tokens
            .try_get_with(hash.clone(), load_api_token(db, hash))
            .await
            .map_err(|e: Arc<AppError>| match &*e {
                AppError::Unauthenticated(why) => AppError::Unauthenticated(why),
                other => AppError::Internal(anyhow::anyhow!("loading an API token: {other:?}")),
            })?;
        Ok(Caller {
            user_id: Some(info.user_id),
            session_id: None,
            role: Some(Role::Gateway),
            scope: WorkshopScope::Only(Arc::from([info.workshop_id])),
            api_token_id: Some(info.token_id),
            token_rejected: false,
            token_expires_at: None,
        })
    }

    /// Forgets an API token here at once (after revocation), by its hash.
    pub async fn forget_api_token(&self, hash: &str) {
        let revocation = Revocation::ApiToken(hash.to_owned());
        self.apply(&revocation).await;
        self.publish(revocation);
    }

    /// Publishes this instance's revocations on `events` from now on.
    pub fn set_events(&self, events: Arc<EventBus>) {
        let _ = self.events.set(events);
    }

    /// Forgets a session at once — here, and on every instance when the bus reaches them
    /// (after logout, revocation, or a change to what its user may do).
    pub async fn forget(&self, sid: &str) {
        let revocation = Revocation::Session(sid.to_owned());
        self.apply(&revocation).await;
        self.publish(revocation);
    }

    fn publish(&self, revocation: Revocation) {
        if let Some(events) = self.events.get() {
            events.publish(Event::Revoked(revocation));
        }
    }

    /// Drops a revoked session or token from this instance's caches.
    pub async fn apply(&self, revocation: &Revocation) {
        match revocation {
            Revocation::Session(sid) => self.sessions.invalidate(sid).await,
            Revocation::ApiToken(hash) => self.api_tokens.invalidate(hash).await,
        }
    }

    /// Checks `password` against `hash`, or — for unknown users — against a dummy hash, so
    /// both cost the same (no username enumeration by timing). Runs off the async workers,
    /// a bounded number at a time.
    pub async fn verify_password(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        let (hash, known) = match hash {
            Some(hash) => (hash, true),
            None => {
                let dummy = self
                    .dummy_hash
                    .get_or_try_init(|| async {
                        password::run(|| password::hash(&uuid::Uuid::new_v4().to_string())).await?
                    })
                    .await?;
                (dummy.clone(), false)
            }
        };
        let ok = password::run(move || password::verify(&password, &hash))
            .await
            .map_err(AppError::Internal)?;
        Ok(ok && known)
    }
}

/// Loads a live API token of an active gateway account, and marks it used.
async fn load_api_token(db: &DatabaseConnection, hash: String) -> AppResult<Arc<ApiTokenInfo>> {
    let (token, user) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash))
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated(INVALID_TOKEN))?;
    let user = user.ok_or(AppError::Unauthenticated(INVALID_TOKEN))?;
    if token.revoked_at.is_some() || !user.active || user.role != Role::Gateway {
        return Err(AppError::Unauthenticated(INVALID_TOKEN));
    }
    let info = Arc::new(ApiTokenInfo {
        token_id: token.id,
        user_id: user.id,
        workshop_id: token.workshop_id,
    });
    let mut active: api_token::ActiveModel = token.into();
    active.last_used_at = Set(Some(Utc::now()));
    active.update(db).await?;
    Ok(info)
}

/// Loads a live session with its user's role and workshops, and marks it used.
async fn load(db: &DatabaseConnection, sid: String, idle: Duration) -> AppResult<Arc<SessionInfo>> {
    let now = Utc::now();
    let (session, user) = session::Entity::find_by_id(sid.clone())
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated(INVALID_TOKEN))?;
    let user = user.ok_or(AppError::Unauthenticated(INVALID_TOKEN))?;
    if session.revoked_at.is_some()
        || session.expires_at <= now
        || session.idle_expires_at <= now
        || !user.active
    {
        return Err(AppError::Unauthenticated(INVALID_TOKEN));
    }
    let scope = match user.role {
        Role::Manager | Role::Admin => WorkshopScope::All,
        _ => {
            let ids: Vec<i64> = user_workshop::Entity::find()
                .filter(user_workshop::Column::UserId.eq(user.id))
                .all(db)
                .await?
                .into_iter()
                .map(|uw| uw.workshop_id)
                .collect();
            WorkshopScope::Only(ids.into())
        }
    };
    // Sliding idle expiry, written at most once per cache lifetime of the session.
    let idle_expires_at =
        (now + chrono::Duration::from_std(idle).unwrap_or_default()).min(session.expires_at);
    let mut active: session::ActiveModel = session.clone().into();
    active.last_seen_at = Set(now);
    active.idle_expires_at = Set(idle_expires_at);
    active.update(db).await?;
    Ok(Arc::new(SessionInfo {
        user_id: user.id,
        role: user.role,
        scope,
        expires_at: session.expires_at,
        idle_expires_at,
    }))
}
