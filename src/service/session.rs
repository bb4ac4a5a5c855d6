//! Login, token refresh and logout: sessions in the `sessions` table, refresh tokens rotated
//! on every use and stored only as hashes.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::{enums::Role, security_event, session, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

use super::{audit::Audit, security};
use crate::{
    auth::{Caller, session::Authenticator},
    error::{AppError, AppResult, INVALID_TOKEN},
};

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    /// `<session id>.<secret>`; only the secret's hash is stored.
    pub refresh_token: String,
    pub session_expires_at: DateTime<Utc>,
    pub user: user::Model,
}

/// Where a request came from, recorded on its session.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

fn new_secret() -> (String, String) {
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub(crate) fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn truncate(value: Option<String>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

const BAD_LOGIN: &str = "invalid username or password";
const IP_BLOCKED: &str = "too many failed logins from this address: try again later";

/// Failed logins from `ip` within the window. Counted from `security_events`, so every
/// instance sees the same numbers.
fn failures_from(auth: &Authenticator, ip: &str) -> sea_orm::Select<security_event::Entity> {
    let window = chrono::Duration::from_std(auth.config.failure_window).unwrap_or_default();
    security_event::Entity::find()
        .filter(security_event::Column::Ip.eq(ip))
        .filter(security_event::Column::Kind.eq(security::kind::LOGIN_FAILED))
        .filter(security_event::Column::Ts.gte(Utc::now() - window))
}

/// Records a failed login (any cause) and, when this failure crosses a per-IP threshold,
/// the matching event: `ip_blocked` (logins from the IP refused for now) or
/// `many_usernames_from_ip` (one address trying many accounts: credential stuffing).
async fn record_failure(
    db: &DatabaseConnection,
    auth: &Authenticator,
    username: &str,
    user_id: Option<i64>,
    client: &ClientInfo,
) -> AppResult<()> {
    security::record(
        db,
        security::kind::LOGIN_FAILED,
        user_id,
        Some(username),
        client,
        serde_json::json!({}),
    )
    .await?;
    let Some(ip) = client.ip.as_deref() else {
        return Ok(());
    };
    // One statement for every count: the usernames of the IP's failures in the window
    // (this one included).
    let names: Vec<Option<String>> = failures_from(auth, ip)
        .select_only()
        .column(security_event::Column::Username)
        .limit(10_000)
        .into_tuple()
        .all(db)
        .await?;
    let failures = names.len() as u64;
    let this_name_before = names
        .iter()
        .filter(|n| n.as_deref() == Some(username))
        .count()
        > 1;
    let mut distinct: Vec<&str> = names.iter().filter_map(|n| n.as_deref()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let usernames = distinct.len() as u64;
    // Each threshold is recorded when this failure crosses it, so once per window.
    let crossed = [
        (
            failures == auth.config.ip_max_failures,
            security::kind::IP_BLOCKED,
        ),
        (
            usernames == auth.config.ip_max_usernames && !this_name_before,
            security::kind::MANY_USERNAMES_FROM_IP,
        ),
    ];
    for (_, kind) in crossed.into_iter().filter(|(hit, _)| *hit) {
        security::record(
            db,
            kind,
            None,
            None,
            client,
            serde_json::json!({ "failures": failures, "usernames": usernames }),
        )
        .await?;
    }
    Ok(())
}

const LOCKED: &str = "too many failed logins: the account is locked for a while";

/// Counts a failed login of a known user; past the threshold within the window, locks the
/// account and records a security event.
async fn count_failure(
    db: &DatabaseConnection,
    auth: &Authenticator,
    user: user::Model,
    client: &ClientInfo,
) -> AppResult<()> {
    let now = Utc::now();
    let window = chrono::Duration::from_std(auth.config.failure_window).unwrap_or_default();
    let recent = user.last_failed_at.is_some_and(|t| now - t < window);
    let failures = if recent { user.failed_logins + 1 } else { 1 };
    let lock = failures >= auth.config.max_failures;
    let (id, username) = (user.id, user.username.clone());
    let mut active: user::ActiveModel = user.into();
    active.failed_logins = Set(failures);
    active.last_failed_at = Set(Some(now));
    if lock {
        let lockout = chrono::Duration::from_std(auth.config.lockout).unwrap_or_default();
        active.locked_until = Set(Some(now + lockout));
    }
    active.update(db).await?;
    if lock {
        security::record(
            db,
            security::kind::ACCOUNT_LOCKED,
            Some(id),
            Some(&username),
            client,
            serde_json::json!({ "failures": failures }),
        )
        .await?;
    }
    Ok(())
}

/// Checks the password and opens a session. Unknown users, wrong passwords and inactive
/// accounts all get the same answer after the same hashing work. The session and the audit
/// row of the login (entity: the user) commit together; failures are recorded as security
/// events, outside any transaction, so a refused login still counts.
pub async fn login(
    db: &DatabaseConnection,
    auth: &Authenticator,
    audit: &Audit,
    username: &str,
    password: &str,
    client: ClientInfo,
) -> AppResult<Tokens> {
    if username.is_empty() || username.len() > 64 || password.is_empty() || password.len() > 1024 {
        return Err(AppError::Unauthenticated(BAD_LOGIN));
    }
    if let Some(ip) = client.ip.as_deref()
        && failures_from(auth, ip).count(db).await? >= auth.config.ip_max_failures
    {
        // The password is not checked: an address guessing at many accounts learns nothing.
        return Err(AppError::Unauthenticated(IP_BLOCKED));
    }
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?;
    let now = Utc::now();
    if let Some(locked) = &user
        && locked.locked_until.is_some_and(|until| until > now)
    {
        // The password is not even checked: guessing on a locked account learns nothing.
        security::record(
            db,
            security::kind::LOGIN_WHILE_LOCKED,
            Some(locked.id),
            Some(username),
            &client,
            serde_json::json!({}),
        )
        .await?;
        return Err(AppError::Unauthenticated(LOCKED));
    }
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = auth.verify_password(password.to_owned(), hash).await?;
    let user = match user {
        // Gateway service accounts authenticate with API tokens only.
        Some(user) if password_ok && user.active && user.role != Role::Gateway => user,
        Some(user) => {
            record_failure(db, auth, username, Some(user.id), &client).await?;
            count_failure(db, auth, user, &client).await?;
            return Err(AppError::Unauthenticated(BAD_LOGIN));
        }
        None => {
            record_failure(db, auth, username, None, &client).await?;
            return Err(AppError::Unauthenticated(BAD_LOGIN));
        }
    };
    let txn = super::begin_write(db).await?;
    let user = if user.failed_logins > 0 || user.locked_until.is_some() {
        let mut active: user::ActiveModel = user.into();
        active.failed_logins = Set(0);
        active.locked_until = Set(None);
        active.update(&txn).await?
    } else {
        user
    };
    let max = chrono::Duration::from_std(auth.config.session_max).unwrap_or_default();
    let idle = chrono::Duration::from_std(auth.config.session_idle).unwrap_or_default();
    let sid = uuid::Uuid::new_v4().to_string();
    let (secret, hash) = new_secret();
    let expires_at = now + max;
    session::ActiveModel {
        id: Set(sid.clone()),
        user_id: Set(user.id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        idle_expires_at: Set((now + idle).min(expires_at)),
        ip: Set(truncate(client.ip, 64)),
        user_agent: Set(truncate(client.user_agent, 512)),
        refresh_hash: Set(hash),
        previous_refresh_hash: Set(None),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    }
    .insert(&txn)
    .await?;
    let (access_token, access_expires_at) = auth.keys.issue(user.id, &sid, user.role.as_str())?;
    audit.write(&txn, user.id).await?;
    txn.commit().await?;
    Ok(Tokens {
        access_token,
        access_expires_at,
        refresh_token: format!("{sid}.{secret}"),
        session_expires_at: expires_at,
        user,
    })
}

/// Exchanges a refresh token for new tokens, rotating the refresh token. Presenting the
/// previous (already used) one is treated as theft: the session is revoked. A successful
/// refresh writes its audit row (entity: the session) with the rotation.
pub async fn refresh(
    db: &DatabaseConnection,
    auth: &Authenticator,
    audit: &Audit,
    refresh_token: &str,
    client: &ClientInfo,
) -> AppResult<Tokens> {
    let invalid = || AppError::Unauthenticated("invalid or expired refresh token");
    let (sid, secret) = refresh_token.split_once('.').ok_or_else(invalid)?;
    if sid.len() != 36 || secret.len() > 128 {
        return Err(invalid());
    }
    let presented = hash_secret(secret);
    let txn = super::begin_write(db).await?;
    let (current, user) = session::Entity::find_by_id(sid.to_owned())
        .find_also_related(user::Entity)
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    let user = user.ok_or_else(invalid)?;
    let now = Utc::now();
    if current.revoked_at.is_some() || current.expires_at <= now || current.idle_expires_at <= now {
        return Err(invalid());
    }
    if current.previous_refresh_hash.as_deref() == Some(presented.as_str()) {
        let mut active: session::ActiveModel = current.into();
        active.revoked_at = Set(Some(now));
        active.revoked_reason = Set(Some("refresh_token_reuse".into()));
        active.update(&txn).await?;
        security::record(
            &txn,
            security::kind::REFRESH_TOKEN_REUSE,
            Some(user.id),
            Some(&user.username),
            client,
            serde_json::json!({ "session": sid }),
        )
        .await?;
        txn.commit().await?;
        auth.forget(sid).await;
        tracing::warn!(
            session = sid,
            user = user.id,
            "refresh token reuse: session revoked"
        );
        return Err(invalid());
    }
    if current.refresh_hash != presented || !user.active {
        return Err(invalid());
    }
    let client_ip = truncate(client.ip.clone(), 64);
    let client_agent = truncate(client.user_agent.clone(), 512);
    if current.ip != client_ip || current.user_agent != client_agent {
        security::record(
            &txn,
            security::kind::SESSION_NEW_CLIENT,
            Some(user.id),
            Some(&user.username),
            client,
            serde_json::json!({
                "session": sid,
                "previousIp": current.ip,
                "previousUserAgent": current.user_agent,
            }),
        )
        .await?;
    }
    let (secret, hash) = new_secret();
    let idle = chrono::Duration::from_std(auth.config.session_idle).unwrap_or_default();
    let expires_at = current.expires_at;
    let mut active: session::ActiveModel = current.into();
    active.previous_refresh_hash = Set(Some(presented));
    active.refresh_hash = Set(hash);
    active.last_seen_at = Set(now);
    active.idle_expires_at = Set((now + idle).min(expires_at));
    active.ip = Set(client_ip);
    active.user_agent = Set(client_agent);
    active.update(&txn).await?;
    let (access_token, access_expires_at) = auth.keys.issue(user.id, sid, user.role.as_str())?;
    audit.write(&txn, sid).await?;
    txn.commit().await?;
    Ok(Tokens {
        access_token,
        access_expires_at,
        refresh_token: format!("{sid}.{secret}"),
        session_expires_at: expires_at,
        user,
    })
}

/// Revokes those of `ids` still open, on `conn` (the change's transaction); returns how many
/// were open. Once that has committed, the caller [`forget`]s them.
pub(crate) async fn revoke(
    conn: &impl ConnectionTrait,
    ids: &[String],
    reason: &str,
) -> AppResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.is_in(ids.iter().cloned()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Drops sessions from this instance's cache and tells the others — after their revocation
/// (or the change to what their user may do) committed. Cannot fail.
pub(crate) async fn forget(auth: &Authenticator, ids: &[String]) {
    for sid in ids {
        auth.forget(sid).await;
    }
}

/// Revokes every open session of `user_id` except `keep`, on `conn`; returns the sessions to
/// [`forget`] after the commit and how many ended.
pub(crate) async fn revoke_user_sessions(
    conn: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<&str>,
    reason: &str,
) -> AppResult<(Vec<String>, u64)> {
    let open: Vec<String> = open_sessions(conn, user_id)
        .await?
        .into_iter()
        .filter(|sid| Some(sid.as_str()) != keep)
        .collect();
    let ended = revoke(conn, &open, reason).await?;
    Ok((open, ended))
}

/// Ids of the open sessions of `user_id`.
pub(crate) async fn open_sessions(
    conn: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<String>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// Ends the caller's session (audit entity: the session).
pub async fn logout(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
) -> AppResult<bool> {
    let sid = caller
        .session_id
        .clone()
        .ok_or_else(|| AppError::bad_input("this request carries no session to end"))?;
    let sids = [sid];
    let txn = super::begin_write(db).await?;
    let ended = revoke(&txn, &sids, "logout").await?;
    audit.write(&txn, &sids[0]).await?;
    txn.commit().await?;
    forget(auth, &sids).await;
    Ok(ended > 0)
}

/// Ends every session of the caller's user; returns how many were open (audit entity: the
/// user).
pub async fn logout_all(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
) -> AppResult<u64> {
    let user_id = caller
        .user_id
        .ok_or_else(|| AppError::bad_input("this request carries no user"))?;
    let txn = super::begin_write(db).await?;
    let (sids, ended) = revoke_user_sessions(&txn, user_id, None, "logout_all").await?;
    audit.write(&txn, user_id).await?;
    txn.commit().await?;
    forget(auth, &sids).await;
    Ok(ended)
}

/// The sessions of a user, newest first (admin).
pub async fn list_for_user(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: i64,
) -> AppResult<Vec<session::Model>> {
    caller.require(entity::enums::Role::Admin)?;
    user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user", user_id))?;
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .order_by_desc(session::Column::CreatedAt)
        .limit(1_000)
        .all(db)
        .await?)
}

/// Ends any user's session (admin); `false` when it had already ended (audit entity: the
/// session).
pub async fn revoke_by_admin(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    sid: &str,
) -> AppResult<bool> {
    caller.require(entity::enums::Role::Admin)?;
    if sid.len() > 64 {
        return Err(AppError::invalid("id", "`id` is not a session id"));
    }
    let sids = [sid.to_owned()];
    let txn = super::begin_write(db).await?;
    session::Entity::find_by_id(sid.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("session", sid))?;
    let ended = revoke(&txn, &sids, "revoked_by_admin").await?;
    audit.write(&txn, sid).await?;
    txn.commit().await?;
    forget(auth, &sids).await;
    Ok(ended > 0)
}

/// Deletes sessions that ended (expired or revoked) more than `keep` ago; returns how many.
/// Runs from `smart-factory maintenance cleanup-sessions` (and the scheduler, once jobs land).
pub async fn cleanup_expired(db: &DatabaseConnection, keep: chrono::Duration) -> AppResult<u64> {
    let cutoff = Utc::now() - keep;
    let result = session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::ExpiresAt.lt(cutoff))
                .add(session::Column::IdleExpiresAt.lt(cutoff))
                .add(session::Column::RevokedAt.lt(cutoff)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The caller's user row.
pub async fn me(db: &DatabaseConnection, caller: &Caller) -> AppResult<user::Model> {
    let id = caller.user_id.ok_or_else(|| {
        AppError::bad_input("the development admin is not a user; log in to use `me`")
    })?;
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated(INVALID_TOKEN))
}
