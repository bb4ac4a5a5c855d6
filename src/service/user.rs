//! Users (admin): create, list, update, assign workshops, deactivate, delete; and the caller's
//! own password change.
//!
//! Anything that changes what a user may do (role, workshops, active) drops that user's cached
//! sessions on this instance at once, so the next request re-reads them; deactivation also
//! revokes every session and stops the user's API tokens.

use std::collections::HashMap;

use chrono::Utc;
use entity::{api_token, enums::Role, user, user_workshop, workshop};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};

use super::{
    audit::Audit,
    page::{self, Ordering, Page, PageRequest, SortValue},
    session, validate,
};
use crate::{
    auth::{Caller, password, session::Authenticator},
    error::{AppError, AppResult, DbResultExt},
};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (argon2 hashes every byte; bounded against abuse).
pub const MAX_PASSWORD: usize = 256;
/// Most workshops one user can be assigned.
pub const MAX_WORKSHOPS: usize = 200;

const USERNAME_TAKEN: &str = "a user with this username already exists";

/// Users by username.
pub const BY_USERNAME: Ordering<user::Entity> = Ordering {
    key: "username",
    column: user::Column::Username,
    descending: false,
    value: |m| SortValue::Text(m.username.clone()),
    id_column: user::Column::Id,
    id: |m| m.id,
};

/// Filters of `users`.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Substring of username, display name or e-mail.
    pub search: Option<String>,
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    /// Required for people; gateway service accounts have none (they use API tokens).
    pub password: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Role,
    pub workshop_ids: Vec<i64>,
}

/// Changes of `update`; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    /// `Some(None)` clears the e-mail address.
    pub email: Option<Option<String>>,
    /// `Some(None)` clears the display name.
    pub display_name: Option<Option<String>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// A new password set by the admin (the user's sessions end).
    pub password: Option<String>,
}

/// Checks a new password: 12 to 256 characters, no control characters.
pub fn check_password(field: &'static str, value: &str) -> AppResult<()> {
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be at most {MAX_PASSWORD} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(())
}

fn email(value: Option<&str>) -> AppResult<Option<String>> {
    let Some(value) = validate::text("email", value, 254)? else {
        return Ok(None);
    };
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
    }) && !value.chars().any(char::is_whitespace);
    if valid {
        Ok(Some(value))
    } else {
        Err(AppError::invalid(
            "email",
            "`email` is not an e-mail address",
        ))
    }
}

async fn hash(password: String) -> AppResult<String> {
    password::run(move || password::hash(&password))
        .await
        .map_err(AppError::Internal)?
        .map_err(AppError::Internal)
}

/// One page of users (admin).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: &UserFilter,
    request: &PageRequest,
) -> AppResult<Page<user::Model>> {
    caller.require(Role::Admin)?;
    let mut select = user::Entity::find();
    if let Some(role) = filter.role {
        select = select.filter(user::Column::Role.eq(role));
    }
    if let Some(active) = filter.active {
        select = select.filter(user::Column::Active.eq(active));
    }
    if let Some(search) = &filter.search {
        let search = validate::name("search", search, 100)?;
        select = select.filter(
            Condition::any()
                .add(user::Column::Username.contains(&search))
                .add(user::Column::DisplayName.contains(&search))
                .add(user::Column::Email.contains(&search)),
        );
    }
    page::fetch(db, select, &BY_USERNAME, request).await
}

/// One user (admin).
pub async fn get(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> AppResult<user::Model> {
    caller.require(Role::Admin)?;
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user", id))
}

/// The assigned workshop ids of each user, an entry (maybe empty) for every key. Admins see
/// everyone's; other callers only their own (other keys get no entry).
pub async fn workshop_ids(
    db: &DatabaseConnection,
    caller: &Caller,
    user_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<i64>>> {
    caller.require_authenticated()?;
    let user_ids: Vec<i64> = if caller.require(Role::Admin).is_ok() {
        user_ids.to_vec()
    } else {
        user_ids
            .iter()
            .copied()
            .filter(|id| caller.user_id == Some(*id))
            .collect()
    };
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut map: HashMap<i64, Vec<i64>> = user_ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in user_workshop::Entity::find()
        .filter(user_workshop::Column::UserId.is_in(user_ids.iter().copied()))
        .all(db)
        .await?
    {
        map.entry(row.user_id).or_default().push(row.workshop_id);
    }
    for ids in map.values_mut() {
        ids.sort_unstable();
    }
    Ok(map)
}

/// Checks that every workshop exists; returns them de-duplicated and sorted.
async fn existing_workshops(
    db: &impl sea_orm::ConnectionTrait,
    ids: &[i64],
) -> AppResult<Vec<i64>> {
    if ids.len() > MAX_WORKSHOPS {
        return Err(AppError::invalid(
            "workshopIds",
            format!("at most {MAX_WORKSHOPS} workshops"),
        ));
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(ids);
    }
    let found = workshop::Entity::find()
        .filter(workshop::Column::Id.is_in(ids.iter().copied()))
        .count(db)
        .await?;
    if found != ids.len() as u64 {
        return Err(AppError::invalid(
            "workshopIds",
            "`workshopIds` names a workshop that does not exist",
        ));
    }
    Ok(ids)
}

async fn replace_workshops(
    db: &impl sea_orm::ConnectionTrait,
    user_id: i64,
    ids: &[i64],
) -> AppResult<()> {
    user_workshop::Entity::delete_many()
        .filter(user_workshop::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if !ids.is_empty() {
        user_workshop::Entity::insert_many(ids.iter().map(|w| user_workshop::ActiveModel {
            user_id: Set(user_id),
            workshop_id: Set(*w),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Creates a user (admin). People need a password; gateway accounts get none: they
/// authenticate with API tokens, each bound to one workshop.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    audit: &Audit,
    input: NewUser,
) -> AppResult<user::Model> {
    caller.require(Role::Admin)?;
    let username = validate::code("username", &input.username, 64)?;
    let email = email(input.email.as_deref())?;
    let display_name = validate::text("displayName", input.display_name.as_deref(), 200)?;
    let secret = match (input.role, input.password) {
        (Role::Gateway, Some(_)) => {
            return Err(AppError::invalid(
                "password",
                "gateway accounts have no password; create an API token for them",
            ));
        }
        // Nobody knows this one: the account cannot log in with a password.
        (Role::Gateway, None) => uuid::Uuid::new_v4().to_string(),
        (_, Some(p)) => {
            check_password("password", &p)?;
            p
        }
        (_, None) => {
            return Err(AppError::invalid("password", "`password` is required"));
        }
    };
    let password_hash = hash(secret).await?;
    let txn = super::begin_write(db).await?;
    let workshops = existing_workshops(&txn, &input.workshop_ids).await?;
    let now = Utc::now();
    let model = user::ActiveModel {
        username: Set(username),
        email: Set(email),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        role: Set(input.role),
        active: Set(true),
        failed_logins: Set(0),
        password_changed_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .on_constraint(USERNAME_TAKEN)?;
    replace_workshops(&txn, model.id, &workshops).await?;
    audit.write(&txn, model.id).await?;
    txn.commit().await?;
    Ok(model)
}

/// Refuses a change that would leave the plant without an active admin.
async fn keep_an_admin(
    db: &impl sea_orm::ConnectionTrait,
    current: &user::Model,
    role: Role,
    active: bool,
) -> AppResult<()> {
    let loses_admin =
        current.role == Role::Admin && current.active && !(role == Role::Admin && active);
    if !loses_admin {
        return Ok(());
    }
    let admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Active.eq(true))
        .count(db)
        .await?;
    if admins <= 1 {
        return Err(AppError::Conflict(
            "this is the last active admin; make another admin first".into(),
        ));
    }
    Ok(())
}

/// Updates a user (admin). Changing the role or deactivating takes effect on the next request
/// (this instance drops the user's cached sessions); deactivating or setting a password ends
/// the user's sessions and, for gateways, stops their API tokens. The change, the sessions it
/// ends and its audit row commit together.
pub async fn update(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    patch: UserPatch,
) -> AppResult<user::Model> {
    caller.require(Role::Admin)?;
    let email = patch.email.map(|e| email(e.as_deref())).transpose()?;
    let display_name = patch
        .display_name
        .map(|d| validate::text("displayName", d.as_deref(), 200))
        .transpose()?;
    if let Some(p) = &patch.password {
        check_password("password", p)?;
    }
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    let role = patch.role.unwrap_or(current.role);
    let active = patch.active.unwrap_or(current.active);
    if caller.user_id == Some(id) && (role != current.role || !active) {
        return Err(AppError::Conflict(
            "you cannot change your own role or deactivate yourself".into(),
        ));
    }
    if (role == Role::Gateway) != (current.role == Role::Gateway) {
        return Err(AppError::invalid(
            "role",
            "a person cannot become a gateway account or the other way round",
        ));
    }
    if patch.password.is_some() && current.role == Role::Gateway {
        return Err(AppError::invalid(
            "password",
            "gateway accounts have no password",
        ));
    }
    keep_an_admin(&txn, &current, role, active).await?;
    let deactivated = current.active && !active;
    let mut model: user::ActiveModel = current.into();
    if let Some(email) = email {
        model.email = Set(email);
    }
    if let Some(display_name) = display_name {
        model.display_name = Set(display_name);
    }
    model.role = Set(role);
    model.active = Set(active);
    let password_set = patch.password.is_some();
    if let Some(p) = patch.password {
        model.password_hash = Set(hash(p).await?);
        model.password_changed_at = Set(Some(Utc::now()));
        model.failed_logins = Set(0);
        model.locked_until = Set(None);
    }
    model.updated_at = Set(Utc::now());
    let model = model.update(&txn).await?;
    let sessions = if deactivated || password_set {
        let reason = if deactivated {
            "user_deactivated"
        } else {
            "password_reset"
        };
        session::revoke_user_sessions(&txn, id, None, reason)
            .await?
            .0
    } else {
        session::open_sessions(&txn, id).await?
    };
    let tokens = token_hashes(&txn, id).await?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    forget(auth, &sessions, &tokens).await;
    Ok(model)
}

/// Replaces a user's workshops (admin); takes effect on the user's next request.
pub async fn set_workshops(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    id: i64,
    workshop_ids: &[i64],
) -> AppResult<user::Model> {
    caller.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    let user = get(&txn, caller, id).await?;
    let workshops = existing_workshops(&txn, workshop_ids).await?;
    replace_workshops(&txn, id, &workshops).await?;
    let sessions = session::open_sessions(&txn, id).await?;
    let tokens = token_hashes(&txn, id).await?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    forget(auth, &sessions, &tokens).await;
    Ok(user)
}

/// Deletes a user (admin); their sessions and API tokens go with them. Admins cannot delete
/// themselves, nor the last active admin.
pub async fn delete(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    id: i64,
) -> AppResult<i64> {
    caller.require(Role::Admin)?;
    if caller.user_id == Some(id) {
        return Err(AppError::Conflict(
            "you cannot delete your own account".into(),
        ));
    }
    let txn = super::begin_write(db).await?;
    let current = get(&txn, caller, id).await?;
    keep_an_admin(&txn, &current, Role::Viewer, false).await?;
    let sessions = session::open_sessions(&txn, id).await?;
    let tokens = token_hashes(&txn, id).await?;
    user::Entity::delete_by_id(id)
        .exec(&txn)
        .await
        .on_delete("the user is still referenced (orders, alarms or reports name them)")?;
    audit.write(&txn, id).await?;
    txn.commit().await?;
    forget(auth, &sessions, &tokens).await;
    Ok(id)
}

/// Changes the caller's own password; the old one is required. Every other session of the
/// user ends; this one stays. Returns how many sessions ended. The new hash, the ended
/// sessions and the audit row (entity: the user) commit together.
pub async fn change_password(
    db: &DatabaseConnection,
    auth: &Authenticator,
    caller: &Caller,
    audit: &Audit,
    old: &str,
    new: &str,
) -> AppResult<u64> {
    caller.require(Role::Viewer)?;
    let user_id = caller
        .user_id
        .ok_or_else(|| AppError::bad_input("only a logged-in person can change a password"))?;
    check_password("newPassword", new)?;
    if old == new {
        return Err(AppError::invalid(
            "newPassword",
            "`newPassword` must differ from the current one",
        ));
    }
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user", user_id))?;
    let ok = old.len() <= MAX_PASSWORD * 4
        && auth
            .verify_password(old.to_owned(), Some(user.password_hash.clone()))
            .await?;
    if !ok {
        return Err(AppError::invalid(
            "oldPassword",
            "`oldPassword` is not the current password",
        ));
    }
    let password_hash = hash(new.to_owned()).await?;
    let mut model: user::ActiveModel = user.into();
    model.password_hash = Set(password_hash);
    model.password_changed_at = Set(Some(Utc::now()));
    model.updated_at = Set(Utc::now());
    let txn = super::begin_write(db).await?;
    model.update(&txn).await?;
    let (sessions, ended) = session::revoke_user_sessions(
        &txn,
        user_id,
        caller.session_id.as_deref(),
        "password_changed",
    )
    .await?;
    audit.write(&txn, user_id).await?;
    txn.commit().await?;
    session::forget(auth, &sessions).await;
    Ok(ended)
}

/// Drops the user's cached sessions and API tokens here (and, over the bus, on every
/// instance), so the next request re-reads role and scope. After the change committed.
async fn forget(auth: &Authenticator, sessions: &[String], token_hashes: &[String]) {
    session::forget(auth, sessions).await;
    for hash in token_hashes {
        auth.forget_api_token(hash).await;
    }
}

/// The token hashes of a user's API tokens, read in the change's transaction.
async fn token_hashes(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<String>> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.token_hash)
        .collect())
}
