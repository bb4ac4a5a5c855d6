//! The GraphQL API: schema assembly, transport, per-request loaders, and one folder per domain.

pub mod alarm;
pub mod auth;
pub mod cache;
pub mod connection;
pub mod context;
pub mod enums;
pub mod graphiql;
pub mod guard;
pub mod jobs;
pub mod loaders;
pub mod maintenance;
pub mod oee;
pub mod plant;
pub mod prefetch;
pub mod production;
pub mod ratelimit;
pub mod response_cache;
pub mod root;
pub mod system;
pub mod telemetry;
pub mod transport;

use async_graphql::{Context, Schema};

use crate::{
    error::{AppError, AppResult},
    service::page::PageRequest,
    state::AppState,
};
use context::ContextExt;
use root::{MutationRoot, QueryRoot, SubscriptionRoot};

/// The schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema with the configured limits; `state` becomes schema data.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    );
    if let Some(state) = state {
        let limits = &state.config.graphql;
        builder = builder
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity)
            // The guard refuses deeper documents first; this is the library's own check.
            .limit_recursive_depth(limits.document.max_nesting);
        if !state.config.server.introspection {
            builder = builder.disable_introspection();
        }
        // Order matters: the rate limit charges a document before the guard looks at it.
        if state.limiter.enabled() {
            builder = builder.extension(ratelimit::RateLimitExtension);
        }
        builder = builder.extension(guard::DocumentGuard::new());
        if state.cache.responses().enabled() {
            builder = builder.extension(response_cache::ResponseCacheExtension);
        }
        builder = builder.data(state);
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// A page request for list `list`, asking for `totalCount` only when the query selects it.
pub(crate) fn page_request(
    ctx: &Context<'_>,
    list: &'static str,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<PageRequest> {
    let limits = &ctx.state().config.graphql;
    let want_total = ctx.look_ahead().field("totalCount").exists();
    Ok(PageRequest::new(
        list,
        first,
        after,
        limits.default_page_size,
        limits.max_page_size,
    )?
    .with_total(want_total))
}

/// Most characters of a search text.
const MAX_SEARCH: usize = 100;

/// Checks a free-text search argument; blank means no search.
pub(crate) fn search_text(search: Option<String>) -> AppResult<Option<String>> {
    match search {
        None => Ok(None),
        Some(s) if s.chars().count() > MAX_SEARCH => Err(AppError::invalid(
            "search",
            format!("`search` must be at most {MAX_SEARCH} characters"),
        )),
        Some(s) if s.contains('\0') => {
            Err(AppError::invalid("search", "`search` must not contain NUL"))
        }
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(s)),
    }
}
