//! Users and gateway API tokens (admin), and the caller's own password.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::types::{ApiToken, Role, User};
use crate::{
    graphql::{
        connection::{Conn, connection},
        context::{ContextExt, parse_id, parse_opt_id},
        page_request,
        plant::mutation::{DeleteInput, DeletePayload, patch},
    },
    service::{api_token, user as user_service},
};

/// Parses a list of workshop ids, naming the argument in errors.
fn workshop_ids(ids: &[ID]) -> Result<Vec<i64>> {
    if ids.len() > user_service::MAX_WORKSHOPS {
        return Err(crate::error::AppError::invalid(
            "workshopIds",
            format!("at most {} workshops", user_service::MAX_WORKSHOPS),
        )
        .into());
    }
    Ok(ids
        .iter()
        .map(|id| parse_id("workshopIds", id))
        .collect::<Result<_, _>>()?)
}

/// Filters of `users`.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Only active (true) or deactivated (false) accounts.
    pub active: Option<bool>,
    /// Substring of username, display name or e-mail (at most 100 characters).
    pub search: Option<String>,
}

/// Input of `createUser`.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Login name: letters, digits and `_ - . : /`, at most 64; unique.
    pub username: String,
    /// 12 to 256 characters; required for people, refused for gateway accounts.
    #[graphql(secret)]
    pub password: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Name to show, at most 200 characters.
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Workshops the user may see (ignored for managers and admins, who see all).
    #[graphql(default)]
    pub workshop_ids: Vec<ID>,
}

/// Input of `updateUser`; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user to change.
    pub id: ID,
    /// New e-mail address; `null` clears it.
    pub email: MaybeUndefined<String>,
    /// New display name; `null` clears it.
    pub display_name: MaybeUndefined<String>,
    /// New role (a person cannot become a gateway or the reverse); takes effect on the
    /// user's next request.
    pub role: Option<Role>,
    /// `false` deactivates (ends every session and stops API tokens), `true` reactivates.
    pub active: Option<bool>,
    /// A new password (12 to 256 characters) set by the admin; the user's sessions end.
    #[graphql(secret)]
    pub password: Option<String>,
}

/// Input of `setUserWorkshops`.
#[derive(InputObject)]
pub struct SetUserWorkshopsInput {
    /// The user.
    pub user_id: ID,
    /// The complete new list (at most 200); replaces the old one.
    pub workshop_ids: Vec<ID>,
}

/// Input of `deactivateUser`.
#[derive(InputObject)]
pub struct DeactivateUserInput {
    /// The user to deactivate.
    pub id: ID,
}

/// Result of a user write.
#[derive(SimpleObject)]
pub struct UserPayload {
    /// The user as stored.
    pub user: User,
}

/// Input of `changePassword`.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The current password.
    #[graphql(secret)]
    pub old_password: String,
    /// The new one: 12 to 256 characters, different from the current one.
    #[graphql(secret)]
    pub new_password: String,
}

/// Result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// How many other sessions of the user were ended (this one stays open).
    pub other_sessions_ended: i64,
}

/// Input of `createApiToken`.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// The gateway account.
    pub user_id: ID,
    /// What the token is for, e.g. the gateway's host name (at most 100 characters).
    pub name: String,
    /// The one workshop it may write to.
    pub workshop_id: ID,
}

/// Result of `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The secret, for `Authorization: Bearer …`. Shown only now; it is stored hashed.
    pub token: String,
    /// The token's record.
    pub api_token: ApiToken,
}

/// Input of `revokeApiToken`.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token to revoke.
    pub id: ID,
}

/// Result of `revokeApiToken`.
#[derive(SimpleObject)]
pub struct RevokeApiTokenPayload {
    /// Whether it was live and is now revoked (it stops working at once).
    pub revoked: bool,
}

/// User queries (admin).
#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// Users, by username (admin).
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Filters; all optional.")] filter: Option<UserFilter>,
        #[graphql(desc = "Page size (default 50, at most the configured maximum).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Cursor of the item to continue after.")] after: Option<String>,
    ) -> Result<Conn<User>> {
        let f = filter.unwrap_or_default();
        let filter = user_service::UserFilter {
            role: f.role.map(Into::into),
            active: f.active,
            search: f.search,
        };
        let request = page_request(ctx, "users", first, after)?;
        let page =
            user_service::list(&ctx.state().db.read, ctx.caller()?, &filter, &request).await?;
        Ok(connection(page, User::from))
    }

    /// Gateway API tokens, newest first, of one account or all (admin; at most 1,000).
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this account's tokens.")] user_id: Option<ID>,
    ) -> Result<Vec<ApiToken>> {
        let user_id = parse_opt_id("userId", user_id.as_ref())?;
        let rows = api_token::list(&ctx.state().db.read, ctx.caller()?, user_id).await?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }
}

/// User and token mutations.
#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a user (admin).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserPayload> {
        let new = user_service::NewUser {
            username: input.username,
            password: input.password,
            email: input.email,
            display_name: input.display_name,
            role: input.role.into(),
            workshop_ids: workshop_ids(&input.workshop_ids)?,
        };
        let user =
            user_service::create(&ctx.state().db.write, ctx.caller()?, &ctx.audit(), new).await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Changes a user (admin): contact data, role, active, password.
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<UserPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = user_service::UserPatch {
            email: patch(input.email),
            display_name: patch(input.display_name),
            role: input.role.map(Into::into),
            active: input.active,
            password: input.password,
        };
        let state = ctx.state();
        let user = user_service::update(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            id,
            changes,
        )
        .await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Replaces the workshops a user may see (admin).
    async fn set_user_workshops(
        &self,
        ctx: &Context<'_>,
        input: SetUserWorkshopsInput,
    ) -> Result<UserPayload> {
        let id = parse_id("userId", &input.user_id)?;
        let ids = workshop_ids(&input.workshop_ids)?;
        let state = ctx.state();
        let user = user_service::set_workshops(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            id,
            &ids,
        )
        .await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Deactivates a user (admin): every session ends and API tokens stop, at once.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> Result<UserPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = user_service::UserPatch {
            active: Some(false),
            ..Default::default()
        };
        let state = ctx.state();
        let user = user_service::update(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            id,
            changes,
        )
        .await?;
        Ok(UserPayload { user: user.into() })
    }

    /// Deletes a user (admin); not yourself, not the last admin.
    async fn delete_user(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let id = parse_id("id", &input.id)?;
        let state = ctx.state();
        let id = user_service::delete(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            id,
        )
        .await?;
        Ok(DeletePayload {
            deleted_id: id.into(),
        })
    }

    /// Changes your own password; other sessions end.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<ChangePasswordPayload> {
        let state = ctx.state();
        let n = user_service::change_password(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            &input.old_password,
            &input.new_password,
        )
        .await?;
        Ok(ChangePasswordPayload {
            other_sessions_ended: i64::try_from(n).unwrap_or(i64::MAX),
        })
    }

    /// Creates an API token for a gateway account (admin). The secret is in the answer only.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> Result<CreateApiTokenPayload> {
        let user_id = parse_id("userId", &input.user_id)?;
        let workshop_id = parse_id("workshopId", &input.workshop_id)?;
        let created = api_token::create(
            &ctx.state().db.write,
            ctx.caller()?,
            &ctx.audit(),
            user_id,
            &input.name,
            workshop_id,
        )
        .await?;
        Ok(CreateApiTokenPayload {
            token: created.token,
            api_token: created.model.into(),
        })
    }

    /// Revokes a gateway API token (admin).
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> Result<RevokeApiTokenPayload> {
        let id = parse_id("id", &input.id)?;
        let state = ctx.state();
        let revoked = api_token::revoke(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            id,
        )
        .await?;
        Ok(RevokeApiTokenPayload { revoked })
    }
}
