//! Login, refresh and logout.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::types::AuthPayload;
use crate::{
    graphql::context::ContextExt,
    service::session::{self, ClientInfo},
};

/// Input of `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Login name.
    pub username: String,
    /// Password.
    #[graphql(secret)]
    pub password: String,
}

/// Input of `refreshToken`.
#[derive(InputObject)]
pub struct RefreshTokenInput {
    /// The refresh token of the last login or refresh.
    #[graphql(secret)]
    pub refresh_token: String,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a session was open and is now ended.
    pub logged_out: bool,
}

/// Result of `logoutAll`.
#[derive(SimpleObject)]
pub struct LogoutAllPayload {
    /// How many sessions were ended.
    pub sessions_ended: i64,
}

/// Input of `revokeSession`.
#[derive(InputObject)]
pub struct RevokeSessionInput {
    /// The session to end.
    pub id: async_graphql::ID,
}

/// Result of `revokeSession`.
#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    /// Whether the session was open and is now ended (its tokens stop working at once).
    pub revoked: bool,
}

/// Auth mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Opens a session: an access token and a refresh token.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        crate::graphql::ratelimit::check_login(ctx, &input.username).await?;
        let state = ctx.state();
        let client = ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default();
        let tokens = session::login(
            &state.db.write,
            &state.auth,
            &ctx.audit(),
            &input.username,
            &input.password,
            client,
        )
        .await?;
        Ok(tokens.into())
    }

    /// Exchanges a refresh token for new tokens; the old refresh token stops working, and
    /// presenting it again ends the session.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        input: RefreshTokenInput,
    ) -> Result<AuthPayload> {
        let state = ctx.state();
        let client = ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default();
        let tokens = session::refresh(
            &state.db.write,
            &state.auth,
            &ctx.audit(),
            &input.refresh_token,
            &client,
        )
        .await?;
        Ok(tokens.into())
    }

    /// Ends the session of this request's token.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let state = ctx.state();
        let ended =
            session::logout(&state.db.write, &state.auth, ctx.caller()?, &ctx.audit()).await?;
        Ok(LogoutPayload { logged_out: ended })
    }

    /// Ends every session of the logged-in user.
    async fn logout_all(&self, ctx: &Context<'_>) -> Result<LogoutAllPayload> {
        let state = ctx.state();
        let n =
            session::logout_all(&state.db.write, &state.auth, ctx.caller()?, &ctx.audit()).await?;
        Ok(LogoutAllPayload {
            sessions_ended: i64::try_from(n).unwrap_or(i64::MAX),
        })
    }

    /// Ends any user's session (admin).
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        input: RevokeSessionInput,
    ) -> Result<RevokeSessionPayload> {
        let state = ctx.state();
        let revoked = session::revoke_by_admin(
            &state.db.write,
            &state.auth,
            ctx.caller()?,
            &ctx.audit(),
            &input.id,
        )
        .await?;
        Ok(RevokeSessionPayload { revoked })
    }
}
