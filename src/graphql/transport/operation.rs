//! The one policy path of every GraphQL operation, whatever carried it: HTTP POST and GET,
//! each `subscribe` on a socket (queries and mutations too) and each SSE stream.
//!
//! [`Operation::new`] parses the document once through the guard (so the transport knows
//! the operation's kind before anything runs) and attaches what resolvers need — the caller,
//! the client, the rate-limit outcome and DataLoaders fresh for this operation, on the
//! primary for mutations (their payloads read what they wrote) and on the read pool
//! otherwise. The schema's extensions then charge the rate limit and apply the document
//! limits. [`run`] adds the execution timeout, the audit rows of refused mutations, the
//! `forbidden` security events and the request metrics; [`subscribe`] does the same checks
//! for a subscription and hands it to [`super::feeds`].

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Request, Response, ServerError, Variables,
    parser::types::{ExecutableDocument, OperationType},
};
use futures::{FutureExt as _, StreamExt as _};
use tokio::sync::Notify;

use super::{errors::is_request_error, feeds::Subscription};
use crate::{
    auth::Caller,
    cache::response::Touched,
    db::StatementCounter,
    error::ErrorCode,
    graphql::{
        AppSchema,
        guard::{Guarded, coded},
        loaders::Loaders,
        ratelimit::RateLimitOutcome,
        response_cache::{self, ResponseKey},
    },
    security::{audit as audit_trail, document},
    service::session::ClientInfo,
    state::AppState,
};

/// Who runs operations: one per HTTP request, socket or stream.
#[derive(Clone, Debug)]
pub struct Origin {
    pub caller: Arc<Caller>,
    pub client: ClientInfo,
}

/// What the transport reads back after operations ran: SQL statements and rate-limit
/// decisions (one per HTTP request, shared by a batch; one per socket operation).
#[derive(Clone, Default)]
pub struct Accounting {
    pub statements: StatementCounter,
    pub rate_limits: RateLimitOutcome,
}

/// Set by a subscription resolver when its stream is in place: the checks of the
/// subscribe (arguments, scope) passed. Request data; see [`crate::graphql::context`].
#[derive(Clone, Default)]
pub struct Established(pub Arc<Notify>);

/// One operation, parsed and equipped, not yet run.
pub struct Operation {
    request: Request,
    kind: Option<OperationType>,
    /// Document, operation name and variables, kept for the audit of mutations.
    audited: Option<(String, Option<String>, Variables)>,
    established: Established,
    /// The selected operation's name, for the metrics' `operation` label and the slow log.
    name: Option<String>,
    /// Refused before it was prepared (an unknown persisted query): the response to send.
    refusal: Option<Response>,
}

impl Operation {
    /// Parses `request` (through the guard) and attaches the per-operation data. A
    /// document the guard refuses goes on unparsed: the extension refuses it after the rate
    /// limit has charged it, like any other.
    pub fn new(
        state: &AppState,
        origin: &Origin,
        accounting: &Accounting,
        request: Request,
    ) -> Self {
        let limits = &state.config.graphql.document;
        let mut name = request.operation_name.clone();
        let mut cache_key = None;
        let (mut request, kind) = match document::parse(&request.query, limits) {
            Ok(document) => {
                let kind = selected_kind(&document, request.operation_name.as_deref());
                if name.is_none() && document.operations.iter().count() == 1 {
                    name = document
                        .operations
                        .iter()
                        .find_map(|(n, _)| n.map(|n| n.to_string()));
                }
                if state.cache.responses().enabled() {
                    cache_key = response_cache::key_of(&request, &document, kind, &origin.caller);
                }
                let mut request = request.data(Guarded);
                request.set_parsed_query(document);
                (request, kind)
            }
            Err(_) => (request, None),
        };
        // Only a query that may be cached records what it touches.
        let touched = match cache_key {
            Some(key) => {
                request = request.data(ResponseKey(key));
                Touched::collecting(&accounting.statements)
            }
            None => Touched::off(),
        };
        let audited = (kind == Some(OperationType::Mutation)).then(|| {
            (
                request.query.clone(),
                request.operation_name.clone(),
                request.variables.clone(),
            )
        });
        let pool = if kind == Some(OperationType::Mutation) {
            &state.db.write
        } else {
            &state.db.read
        };
        let loaders = Loaders::new(
            pool,
            origin.caller.clone(),
            &state.cache,
            &accounting.statements,
            &state.config.graphql,
            touched.clone(),
        );
        let established = Established::default();
        request = request
            .data((*origin.caller).clone())
            .data(loaders)
            .data(origin.client.clone())
            .data(accounting.rate_limits.clone())
            .data(established.clone())
            .data(touched);
        Self {
            request,
            kind,
            audited,
            established,
            name,
            refusal: None,
        }
    }

    /// An operation refused before it could be prepared: running it answers `response`.
    pub fn refused(response: Response) -> Self {
        Self {
            request: Request::new(""),
            kind: None,
            audited: None,
            established: Established::default(),
            name: None,
            refusal: Some(response),
        }
    }

    /// The kind of the selected operation, when the document parsed and names one.
    pub fn kind(&self) -> Option<OperationType> {
        self.kind
    }
}

/// The kind of operation `wanted` (or the only one) of `doc`.
fn selected_kind(doc: &ExecutableDocument, wanted: Option<&str>) -> Option<OperationType> {
    doc.operations.iter().find_map(|(name, op)| {
        let selected = match (wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected.then_some(op.node.ty)
    })
}

/// Runs a query or mutation within the request timeout, then records what policy asks:
/// audit rows of refused mutations (successful ones wrote theirs in their transaction), a
/// `forbidden` security event per refused field, the request metrics.
pub async fn run(
    state: &AppState,
    schema: &AppSchema,
    origin: &Origin,
    accounting: &Accounting,
    operation: Operation,
) -> Response {
    if let Some(response) = operation.refusal {
        state.metrics.observe_request(false, 0.0, 0);
        return response;
    }
    let started = Instant::now();
    let statements = &accounting.statements;
    let name = operation.name;
    let run = statements.scope(schema.execute(operation.request));
    let response = match tokio::time::timeout(state.config.server.request_timeout, run).await {
        Ok(response) => response,
        Err(_) => timed_out(),
    };
    if let Some((query, name, variables)) = operation.audited {
        let limits = &state.config.graphql.document;
        let refused: Vec<_> =
            audit_trail::mutations(&query, name.as_deref(), &variables, &response, limits)
                .into_iter()
                .filter(|record| record.error.is_some())
                .collect();
        if !refused.is_empty() {
            let write = crate::service::audit::record(
                &state.db.write,
                &origin.caller,
                &origin.client,
                refused,
            );
            if let Err(err) = statements.scope(write).await {
                // The refusal itself stands; losing its audit row is logged loudly.
                tracing::error!(error = ?err, "writing the audit log failed");
            }
        }
    }
    statements
        .scope(record_forbidden(state, origin, &response))
        .await;
    let elapsed = started.elapsed();
    state.metrics.observe_request(
        response.errors.is_empty(),
        elapsed.as_secs_f64(),
        statements.get(),
    );
    crate::telemetry::operations::finished(
        state,
        name.as_deref(),
        response.errors.is_empty(),
        elapsed,
        statements.get(),
        origin.caller.user_id,
    );
    response
}

/// The answer of an operation that ran out of time.
fn timed_out() -> Response {
    Response::from_errors(vec![coded(
        ServerError::new("the operation took longer than the request timeout", None),
        ErrorCode::Timeout,
    )])
}

/// Starts a subscription: the whole policy of the subscribe runs on the caller's own stream
/// (guard, rate limit, validation, the resolver's argument and scope checks) until the
/// resolver reports its stream in place; then the subscriber joins the shared execution of
/// identical subscriptions ([`super::feeds`]), or starts it. A refusal is the response to
/// send (an error, nothing more follows).
pub async fn subscribe(
    state: &AppState,
    schema: &AppSchema,
    origin: &Origin,
    operation: Operation,
) -> Result<Subscription, Response> {
    if let Some(response) = operation.refusal {
        state.metrics.observe_request(false, 0.0, 0);
        return Err(response);
    }
    let key = super::feeds::FeedKey::new(&operation.request, &origin.caller);
    let established = operation.established.0.clone();
    let mut stream = schema.execute_stream(operation.request);
    let checks = async {
        tokio::select! {
            first = stream.next() => match first {
                // A stream whose first item is ready at once (the resolver reported it in
                // place during the same poll): not a refusal, the feed's first message.
                Some(item) if established.notified().now_or_never().is_some() => Ok(Some(item)),
                first => Err(first.unwrap_or_else(|| {
                    Response::from_errors(vec![coded(
                        ServerError::new("the subscription ended before it started", None),
                        ErrorCode::Internal,
                    )])
                })),
            },
            () = established.notified() => Ok(None),
        }
    };
    let outcome = match tokio::time::timeout(state.config.server.request_timeout, checks).await {
        Ok(outcome) => outcome,
        Err(_) => Err(timed_out()),
    };
    match outcome {
        Err(response) => {
            record_forbidden(state, origin, &response).await;
            state.metrics.observe_request(false, 0.0, 0);
            Err(response)
        }
        Ok(None) => Ok(state.feeds.join(key, stream)),
        Ok(Some(first)) => {
            let stream = futures::stream::once(std::future::ready(first)).chain(stream);
            Ok(state.feeds.join(key, stream.boxed()))
        }
    }
}

/// Records a `forbidden` security event for each root field refused for the caller's role —
/// at most once a minute per caller and field, so probing writes a row, a loop does not.
async fn record_forbidden(state: &AppState, origin: &Origin, response: &Response) {
    let forbidden = async_graphql::Value::from(ErrorCode::Forbidden.as_str());
    let caller = &origin.caller;
    for err in &response.errors {
        let is_forbidden = err
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|code| *code == forbidden);
        if !is_forbidden {
            continue;
        }
        let field = match err.path.first() {
            Some(async_graphql::PathSegment::Field(name)) => name.as_str(),
            _ => "-",
        };
        let who = caller.user_id.map_or_else(
            || origin.client.ip.clone().unwrap_or_default(),
            |id| id.to_string(),
        );
        if !state
            .limiter
            .first_this_minute(&format!("forbidden:{who}:{field}"))
        {
            continue;
        }
        let details = serde_json::json!({
            "field": field,
            "role": caller.role.map(|r| r.as_str()),
            "message": err.message,
        });
        if let Err(e) = crate::service::security::record(
            &state.db.write,
            crate::service::security::kind::FORBIDDEN,
            caller.user_id,
            None,
            &origin.client,
            details,
        )
        .await
        {
            tracing::error!(error = ?e, "recording a forbidden attempt failed");
        }
    }
}

/// Whether `response` is one to send as a protocol-level `error` (the operation never ran)
/// rather than a `next` carrying errors.
pub fn never_ran(response: &Response) -> bool {
    is_request_error(response)
}
