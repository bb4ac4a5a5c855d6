//! Gateway API tokens (admin): long-lived bearer tokens of gateway service accounts, each bound
//! to one workshop, shown once at creation and stored only as a SHA-256 hash.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use entity::{api_token, enums::Role, user, workshop};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::{audit::Audit, session::hash_secret, validate};
use crate::{
    auth::{
        Caller,
        session::{API_TOKEN_PREFIX, Authenticator},
    },
    error::{AppError, AppResult},
};

/// Most live tokens one gateway account may hold.
pub const MAX_TOKENS_PER_USER: u64 = 20;

/// A new token: the row and the secret, which is never stored or shown again.
#[derive(Debug)]
pub struct NewToken {
    pub token: String,
    pub model: api_token::Model,
}

/// Creates a token for a gateway account (admin). Its audit row (entity: the token's id, never
/// the secret) commits with it.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    user_id: i64,
    name: &str,
    workshop_id: i64,
) -> AppResult<NewToken> {
    caller.require(Role::Admin)?;
    let name = validate::name("name", name, 100)?;
    let txn = super::begin_write(db).await?;
    let user = user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("user", user_id))?;
    if user.role != Role::Gateway {
        return Err(AppError::invalid(
            "userId",
            "API tokens are for gateway accounts only",
        ));
    }
    if !user.active {
        return Err(AppError::invalid("userId", "the account is deactivated"));
    }
    workshop::Entity::find_by_id(workshop_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("workshop", workshop_id))?;
    let live = api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .count(&txn)
        .await?;
    if live >= MAX_TOKENS_PER_USER {
        return Err(AppError::Conflict(format!(
            "the account already has {MAX_TOKENS_PER_USER} live tokens; revoke one first"
        )));
    }
    let token = format!(
        "{API_TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    let model = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name),
        token_hash: Set(hash_secret(&token)),
        workshop_id: Set(workshop_id),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(NewToken { token, model })
}

/// The tokens of one account, newest first (admin; at most 1,000).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    user_id: Option<i64>,
) -> AppResult<Vec<api_token::Model>> {
    caller.require(Role::Admin)?;
    let mut select = api_token::Entity::find();
    if let Some(id) = user_id {
        select = select.filter(api_token::Column::UserId.eq(id));
    }
    Ok(select
        .order_by_desc(api_token::Column::Id)
        .limit(1_000)
        .all(db)
        .await?)
}

/// Revokes a token (admin): it stops working at once on this instance. `false` when it was
/// already revoked.
pub async fn revoke(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<bool> {
    caller.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("API token", id))?;
    let hash = token.token_hash.clone();
    let newly = token.revoked_at.is_none();
    if newly {
        let mut active: api_token::ActiveModel = token.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(&txn).await?;
    }
    audit.write(&txn, id).await?;
    txn.commit().await?;
    auth.forget_api_token(&hash).await;
    Ok(newly)
}
