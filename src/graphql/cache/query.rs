//! Cache statistics query (admins only).

use async_graphql::{Context, Object, Result};

use super::types::CacheStats;
use crate::{graphql::context::ContextExt, service::cache as cache_service};

/// Cache queries.
#[derive(Default)]
pub struct CacheQuery;

/// Cache queries.
#[Object]
impl CacheQuery {
    /// This instance's cache statistics: hits, misses and ratio per kind and level,
    /// evictions, bytes before and after compression, Redis latency (admins only).
    async fn cache_stats(&self, ctx: &Context<'_>) -> Result<CacheStats> {
        Ok(cache_service::stats(&ctx.state().cache, ctx.caller()?)?.into())
    }
}
