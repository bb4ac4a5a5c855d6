//! Cache invalidation (admins only).

use async_graphql::{Context, Object, Result};

use super::types::InvalidateCachePayload;
use crate::{graphql::context::ContextExt, service::cache as cache_service};

/// Cache mutations.
#[derive(Default)]
pub struct CacheMutation;

/// Cache mutations.
#[Object]
impl CacheMutation {
    /// Drops cached data on every instance: the named tags (`equipment:42`,
    /// `line:7:equipment`, `workshop:3:lines`, `equipment:42:sensors`, `line:7`, `sensor:5`),
    /// or everything with `all: true` (admins only). Writes invalidate what they change by
    /// themselves; this is for repairs.
    async fn invalidate_cache(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Tags to drop.")] tags: Option<Vec<String>>,
        #[graphql(desc = "Drop everything (instead of tags).")] all: Option<bool>,
    ) -> Result<InvalidateCachePayload> {
        let state = ctx.state();
        let all = all.unwrap_or(false);
        let n = cache_service::invalidate(
            &state.db.write,
            &state.cache,
            ctx.caller()?,
            &ctx.audit(),
            cache_service::Invalidation {
                tags: tags.unwrap_or_default(),
                all,
            },
        )
        .await?;
        Ok(InvalidateCachePayload {
            invalidated: i32::try_from(n).unwrap_or(i32::MAX),
            all,
        })
    }
}
