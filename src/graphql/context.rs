//! What resolvers take from the GraphQL context, and small conversions they share.

use async_graphql::{Context, ID, Lookahead};

use super::{loaders::Loaders, transport::operation::Established};
use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    service::{
        audit::{self, Audit},
        session::ClientInfo,
    },
    state::AppState,
};

/// Access to the per-schema state and the per-request caller and loaders.
pub trait ContextExt {
    /// The application state (schema data).
    fn state(&self) -> &AppState;
    /// The caller of this request (request data); `UNAUTHENTICATED` for anonymous callers,
    /// so every resolver that touches data refuses them.
    fn caller(&self) -> AppResult<&Caller>;
    /// This request's DataLoaders (request data).
    fn loaders(&self) -> &Loaders;
    /// The audit record of the mutation being resolved: caller, client address, field name
    /// and its arguments (variables filled in, secrets redacted). The service writes it in
    /// the mutation's transaction.
    fn audit(&self) -> Audit;
    /// Tells the transport that this subscription's checks passed and its stream is in
    /// place (see `transport::operation::subscribe`). Every subscription resolver calls it
    /// right before returning its stream.
    fn established(&self);
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn caller(&self) -> AppResult<&Caller> {
        self.data_unchecked::<Caller>().require_authenticated()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }

    fn audit(&self) -> Audit {
        let field = self.field();
        let arguments: serde_json::Map<String, serde_json::Value> = field
            .arguments()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| {
                let json = value.into_json().unwrap_or(serde_json::Value::Null);
                (name.to_string(), json)
            })
            .collect();
        let caller = self.data_unchecked::<Caller>();
        Audit::of(audit::Entry {
            user_id: caller.user_id,
            role: caller.role,
            ip: self.data_opt::<ClientInfo>().and_then(|c| c.ip.clone()),
            action: field.name().to_owned(),
            arguments: crate::security::audit::redact(serde_json::Value::Object(arguments)),
        })
    }

    fn established(&self) {
        if let Some(established) = self.data_opt::<Established>() {
            established.0.notify_one();
        }
    }
}

/// Parses a GraphQL `ID` argument into a database key; a malformed id is `BAD_USER_INPUT`
/// naming the argument.
pub fn parse_id(field: &'static str, id: &ID) -> AppResult<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| AppError::invalid(field, format!("`{field}` is not a valid id")))
}

/// Parses an optional `ID` argument.
pub fn parse_opt_id(field: &'static str, id: Option<&ID>) -> AppResult<Option<i64>> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// Parses a list of `ID`s, refusing more than `max`.
pub fn parse_ids(field: &'static str, ids: &[ID], max: usize) -> AppResult<Vec<i64>> {
    if ids.len() > max {
        return Err(AppError::invalid(
            field,
            format!("at most {max} ids in `{field}`"),
        ));
    }
    ids.iter().map(|id| parse_id(field, id)).collect()
}

/// The selections below one field, across every place it appears (`edges.node` and `nodes` of
/// a connection, or repeated selections).
pub struct Selection<'a>(Vec<Lookahead<'a>>);

impl<'a> Selection<'a> {
    /// The selection of the current field.
    pub fn of(lookahead: Lookahead<'a>) -> Self {
        Self(vec![lookahead])
    }

    /// The node selections of a connection field.
    pub fn connection_nodes(lookahead: Lookahead<'a>) -> Self {
        Self(vec![
            lookahead.field("edges").field("node"),
            lookahead.field("nodes"),
        ])
    }

    /// The selection of child `name`.
    pub fn field(&self, name: &str) -> Self {
        Self(self.0.iter().map(|l| l.field(name)).collect())
    }

    /// Whether the selection is asked for anywhere.
    pub fn exists(&self) -> bool {
        self.0.iter().any(Lookahead::exists)
    }
}
