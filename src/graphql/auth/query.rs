//! The caller's own user.

use async_graphql::{Context, Object, Result};

use super::types::User;
use crate::{graphql::context::ContextExt, service::session};

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
}
