//! Rate limits on the GraphQL path, for HTTP and WebSocket alike.
//!
//! An extension charges each operation: anonymous callers one unit per operation before it is
//! even parsed (so a flood of garbage costs its sender too), users and gateways the complexity
//! async-graphql computed during validation (so one huge query costs what many small ones
//! do). `login` checks its own quotas first thing. Every decision is also noted in the
//! request's `RateLimitOutcome`, from which the HTTP handler writes the `RateLimit-*` and
//! `Retry-After` headers.

use std::{
    any::{Any, TypeId},
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    Context, Data, ErrorExtensions as _, Request, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextValidation,
    },
};
use axum::http::{HeaderMap, HeaderValue};
use entity::enums::Role;

use crate::{
    auth::Caller,
    error::{AppError, AppResult, whole_seconds},
    security::ratelimit::{Class, Decision},
    service::{security, session::ClientInfo},
    state::AppState,
};

/// Adds rate limiting to the schema (`build_schema` registers it when `SF_RATE_LIMIT` is on).
pub struct RateLimitExtension;

impl ExtensionFactory for RateLimitExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Limit)
    }
}

struct Limit;

#[async_trait::async_trait]
impl Extension for Limit {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Request data is not attached to the context yet at this stage: look in the request.
        let charge = Charge::of(
            find::<Caller>(ctx, &request.data),
            find::<ClientInfo>(ctx, &request.data),
            find::<RateLimitOutcome>(ctx, &request.data),
        );
        if let (Some(state), Some(charge)) = (ctx.data_opt::<AppState>(), charge)
            && charge.class == Class::Anonymous
        {
            charge.apply(state, 1).await.map_err(refusal)?;
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let charge = Charge::of(
            ctx.data_opt::<Caller>(),
            ctx.data_opt::<ClientInfo>(),
            ctx.data_opt::<RateLimitOutcome>(),
        );
        if let (Some(state), Some(charge)) = (ctx.data_opt::<AppState>(), charge)
            && charge.class != Class::Anonymous
        {
            let cost = u64::try_from(result.complexity).unwrap_or(u64::MAX);
            charge
                .apply(state, cost)
                .await
                .map_err(|d| vec![refusal(d)])?;
        }
        Ok(result)
    }
}

/// Checks the login quotas — the client's IP, then `username` — before `login` does any work.
pub async fn check_login(ctx: &Context<'_>, username: &str) -> AppResult<()> {
    let Some(state) = ctx.data_opt::<AppState>() else {
        return Ok(());
    };
    if !state.limiter.enabled() {
        return Ok(());
    }
    let client = ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default();
    let outcome = ctx.data_opt::<RateLimitOutcome>().cloned();
    let username: String = username.chars().take(64).collect();
    let checks = [
        (Class::LoginIp, ip_of(&client)),
        (Class::LoginUser, username.clone()),
    ];
    for (class, key) in checks {
        let charge = Charge {
            class,
            key,
            user_id: None,
            username: Some(username.clone()),
            client: client.clone(),
            outcome: outcome.clone(),
        };
        charge
            .apply(state, 1)
            .await
            .map_err(|d| AppError::RateLimited {
                retry_after: d.retry_after,
            })?;
    }
    Ok(())
}

/// Charges a request that is not GraphQL (`POST /ingest`) `cost` units of its caller's class;
/// a refusal is recorded like any other and returned.
pub async fn charge_request(
    state: &AppState,
    caller: &Caller,
    client: &ClientInfo,
    cost: u64,
) -> Result<(), Decision> {
    if !state.limiter.enabled() {
        return Ok(());
    }
    match Charge::of(Some(caller), Some(client), None) {
        Some(charge) => charge.apply(state, cost).await,
        None => Ok(()),
    }
}

/// What the rate limiter decided during one HTTP request (shared by its operations).
#[derive(Clone, Debug, Default)]
pub struct RateLimitOutcome(Arc<Mutex<Decisions>>);

#[derive(Debug, Default)]
struct Decisions {
    last: Option<Decision>,
    refused: Option<Decision>,
}

impl RateLimitOutcome {
    fn note(&self, decision: Decision) {
        let mut decisions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        decisions.last = Some(decision);
        if !decision.allowed {
            decisions.refused = Some(decision);
        }
    }

    /// Writes `RateLimit-Limit`, `-Remaining` and `-Reset` for the last check of the request
    /// (the refusing one, plus `Retry-After`, when `refused`); nothing if nothing was checked.
    pub fn write_headers(&self, headers: &mut HeaderMap, refused: bool) {
        let decisions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let shown = if refused {
            decisions.refused.or(decisions.last)
        } else {
            decisions.last
        };
        let Some(decision) = shown else {
            return;
        };
        headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
        headers.insert(
            "ratelimit-reset",
            HeaderValue::from(whole_seconds(decision.reset_after)),
        );
        if refused {
            headers.insert(
                "retry-after",
                HeaderValue::from(whole_seconds(decision.retry_after).max(1)),
            );
        }
    }
}

/// One check to make: which bucket, and who to name if it trips.
struct Charge {
    class: Class,
    key: String,
    user_id: Option<i64>,
    username: Option<String>,
    client: ClientInfo,
    outcome: Option<RateLimitOutcome>,
}

impl Charge {
    /// The bucket of a caller: anonymous callers by IP, gateways by API token, users by
    /// account, the development admin (no account) by IP in the user class.
    fn of(
        caller: Option<&Caller>,
        client: Option<&ClientInfo>,
        outcome: Option<&RateLimitOutcome>,
    ) -> Option<Self> {
        let caller = caller?;
        let client = client.cloned().unwrap_or_default();
        let (class, key) = match (caller.role, caller.user_id) {
            (None, _) => (Class::Anonymous, ip_of(&client)),
            (Some(Role::Gateway), user) => match (caller.api_token_id, user) {
                (Some(token), _) => (Class::Gateway, format!("token:{token}")),
                (None, user) => (Class::Gateway, format!("user:{}", user.unwrap_or(0))),
            },
            (Some(_), Some(id)) => (Class::User, id.to_string()),
            (Some(_), None) => (Class::User, format!("dev@{}", ip_of(&client))),
        };
        Some(Self {
            class,
            key,
            user_id: caller.user_id,
            username: None,
            client,
            outcome: outcome.cloned(),
        })
    }

    /// Charges `cost`; a refusal is recorded (once a minute per key) and returned.
    async fn apply(&self, state: &AppState, cost: u64) -> Result<(), Decision> {
        let decision = state.limiter.check(self.class, &self.key, cost).await;
        if let Some(outcome) = &self.outcome {
            outcome.note(decision);
        }
        if decision.allowed {
            return Ok(());
        }
        if state.limiter.first_trip_this_minute(self.class, &self.key) {
            let details = serde_json::json!({
                "class": self.class.as_str(),
                "key": self.key,
                "retryAfterS": whole_seconds(decision.retry_after),
            });
            let recorded = security::record(
                &state.db.write,
                security::kind::RATE_LIMIT_TRIPPED,
                self.user_id,
                self.username.as_deref(),
                &self.client,
                details,
            )
            .await;
            if let Err(err) = recorded {
                tracing::error!(error = ?err, "recording a rate-limit trip failed");
            }
        }
        Err(decision)
    }
}

/// The client's IP as a key (`unknown` when the transport gave none).
fn ip_of(client: &ClientInfo) -> String {
    client.ip.clone().unwrap_or_else(|| "unknown".to_owned())
}

/// The GraphQL error of a refused operation: `RATE_LIMITED`, with `retryAfter` in seconds.
fn refusal(decision: Decision) -> ServerError {
    let error = AppError::RateLimited {
        retry_after: decision.retry_after,
    }
    .extend();
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    server_error
}

/// Data of type `T` from the request (before it is attached to the context), else from the
/// connection (WebSocket) or the schema.
fn find<'a, T: Any + Send + Sync>(ctx: &ExtensionContext<'a>, data: &'a Data) -> Option<&'a T> {
    data.get(&TypeId::of::<T>())
        .and_then(|d| d.downcast_ref::<T>())
        .or_else(|| ctx.data_opt::<T>())
}
