//! The document guard on the GraphQL path, and the shape of every error that leaves it.
//!
//! A schema extension, so every transport passes it — HTTP POST and GET, each operation of
//! a batch, and each `subscribe` on a socket: `prepare_request` checks the variables and runs
//! [`document::parse`] (size, scan, parse, shape) before async-graphql's own parse and
//! visitors would see the document, and hands the parsed document on so it is parsed once.
//! Documents above [`OFFLOAD_BYTES`] are checked on the blocking pool, at most one per
//! core at a time, so large ones never hold an async worker that other connections wait on.
//! `request` and `subscribe` give every error a code and bound its message and the number
//! of errors, whichever stage raised them.

use std::{any::TypeId, sync::Arc};

use async_graphql::{
    ErrorExtensionValues, Request, Response, ServerError, ServerResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest,
        NextSubscribe,
    },
    futures_util::stream::{BoxStream, StreamExt as _},
    parser::types::ExecutableDocument,
};
use tokio::sync::Semaphore;

use crate::{
    error::ErrorCode,
    security::document::{self, DocumentError, DocumentLimits, truncate, variables},
    state::AppState,
};

/// Documents at least this large are checked and parsed on the blocking pool.
pub const OFFLOAD_BYTES: usize = 8 * 1024;

/// Most characters of one error message (library messages quote names of any length).
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Request data set by a transport that already ran the guard on the request's document
/// (and gave async-graphql the parsed document): `GET` must parse to refuse mutations.
pub struct Guarded;

/// Registers the guard (`build_schema` adds it after the rate limit, so refused documents
/// are still charged).
pub struct DocumentGuard {
    /// One permit per core for documents checked on the blocking pool.
    offload: Arc<Semaphore>,
}

impl DocumentGuard {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            offload: Arc::new(Semaphore::new(cores)),
        }
    }
}

impl Default for DocumentGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Guard {
            offload: self.offload.clone(),
        })
    }
}

struct Guard {
    offload: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl Extension for Guard {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let max_errors = max_errors(ctx);
        shape_errors(next.run(ctx).await, max_errors)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let max_errors = max_errors(ctx);
        next.run(ctx, stream)
            .map(move |response| shape_errors(response, max_errors))
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let Some(state) = ctx.data_opt::<AppState>() else {
            return next.run(ctx, request).await;
        };
        let limits = state.config.graphql.document;
        variables::check(&request.variables, &limits)
            .map_err(|refusal| refused(&DocumentError::Limit(refusal)))?;
        if !request.data.contains_key(&TypeId::of::<Guarded>()) {
            let document = self.parse(&request.query, &limits).await?;
            request.set_parsed_query(document);
        }
        next.run(ctx, request).await
    }
}

impl Guard {
    async fn parse(
        &self,
        query: &str,
        limits: &DocumentLimits,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() < OFFLOAD_BYTES {
            return document::parse(query, limits).map_err(|e| refused(&e));
        }
        // Waiting for a permit is the back-pressure: a flood of large documents queues here.
        let _permit = self
            .offload
            .acquire()
            .await
            .map_err(|_| ServerError::new("the server is shutting down", None))?;
        let (query, limits) = (query.to_owned(), *limits);
        tokio::task::spawn_blocking(move || document::parse(&query, &limits))
            .await
            .map_err(|_| {
                coded(
                    ServerError::new("internal error", None),
                    ErrorCode::Internal,
                )
            })?
            .map_err(|e| refused(&e))
    }
}

/// A guard refusal as a GraphQL error with its code (and position, when known).
pub fn refused(err: &DocumentError) -> ServerError {
    coded(ServerError::new(err.message(), err.pos()), err.code())
}

fn max_errors(ctx: &ExtensionContext<'_>) -> usize {
    ctx.data_opt::<AppState>()
        .map_or(20, |s| s.config.graphql.max_errors.max(1))
}

/// Gives every error a code (the library's own errors — syntax, validation, coercion,
/// limits — have none), cuts long messages, and keeps at most `max_errors` errors.
pub fn shape_errors(mut response: Response, max_errors: usize) -> Response {
    for err in &mut response.errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            let m = &err.message;
            let code = if m.starts_with("Query is too complex")
                || m.starts_with("Query is nested too deep")
                || m.starts_with("The recursion depth of the query")
                || m.contains("too deep")
            {
                ErrorCode::QueryTooComplex
            } else {
                ErrorCode::BadUserInput
            };
            set_code(err, code);
        }
        if err.message.len() > MAX_MESSAGE_CHARS {
            err.message = truncate(&err.message, MAX_MESSAGE_CHARS);
        }
    }
    if response.errors.len() > max_errors {
        let more = response.errors.len() - max_errors;
        response.errors.truncate(max_errors);
        let code = response.errors[max_errors - 1]
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code").cloned());
        let mut summary = ServerError::new(format!("… and {more} more errors"), None);
        if let Some(code) = code {
            summary
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("code", code);
        }
        response.errors.push(summary);
    }
    response
}

/// `err` with `extensions.code` set.
pub fn coded(mut err: ServerError, code: ErrorCode) -> ServerError {
    set_code(&mut err, code);
    err
}

fn set_code(err: &mut ServerError, code: ErrorCode) {
    err.extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_get_codes_short_messages_and_a_bounded_count() {
        let long = ServerError::new(format!("Unknown field \"{}\"", "x".repeat(10_000)), None);
        let many: Vec<_> = (0..50)
            .map(|i| ServerError::new(format!("error {i}"), None))
            .chain([long])
            .collect();
        let response = shape_errors(Response::from_errors(many), 20);
        assert_eq!(response.errors.len(), 21);
        assert_eq!(response.errors[20].message, "… and 31 more errors");
        for err in &response.errors {
            let code = err.extensions.as_ref().and_then(|e| e.get("code"));
            assert!(code.is_some(), "{err:?}");
        }
        let one = ServerError::new(format!("Unknown field \"{}\"", "x".repeat(10_000)), None);
        let response = shape_errors(Response::from_errors(vec![one]), 20);
        assert!(response.errors[0].message.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}
