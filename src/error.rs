//! The one error type of the request path, with the stable codes clients match on.
//!
//! Every failure a client can see maps to one `ErrorCode`; internal causes (database errors,
//! bugs) are logged here with their cause chain and reach the client only as `INTERNAL`.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Message of a token that failed any check (which check is not revealed).
pub const INVALID_TOKEN: &str = "invalid, expired or revoked token";
/// Message for anonymous callers.
pub const NOT_AUTHENTICATED: &str = "authentication required: send `Authorization: Bearer <token>`";

/// The stable values of `extensions.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    QueryTooComplex,
    /// A document or its variables past a size limit (`SF_MAX_DOCUMENT_BYTES`, …).
    DocumentTooLarge,
    /// An automatic persisted query sent by hash alone, before its text was registered.
    PersistedQueryNotFound,
    /// An automatic persisted query whose hash is not the SHA-256 of its text.
    PersistedQueryHashMismatch,
    Timeout,
    Internal,
}

impl ErrorCode {
    /// The wire form, e.g. `BAD_USER_INPUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::DocumentTooLarge => "DOCUMENT_TOO_LARGE",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryHashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Self::Timeout => "TIMEOUT",
            Self::Internal => "INTERNAL",
        }
    }
}

/// A failure on the request path.
///
/// Deliberately not `Display`: async-graphql converts every `Display` type into an error
/// without a code, and this type must only ever reach clients through `extend`, with one.
#[derive(Debug)]
pub enum AppError {
    /// Why, in words safe to show (never which of username or password was wrong).
    Unauthenticated(&'static str),
    Forbidden(String),
    NotFound {
        entity: &'static str,
        id: String,
    },
    BadInput {
        message: String,
        field: Option<&'static str>,
    },
    Conflict(String),
    /// A rate limit refused the operation; the same operation may run after `retry_after`.
    RateLimited {
        retry_after: std::time::Duration,
    },
    Db(DbErr),
    Internal(anyhow::Error),
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

/// Result of a service call.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A validation failure of one input field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            field: Some(field),
        }
    }

    /// A validation failure not tied to one field.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadInput {
            message: message.into(),
            field: None,
        }
    }

    /// An unknown id.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// The message a client sees (internal causes are not included).
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(why) => (*why).to_owned(),
            Self::Forbidden(m) | Self::Conflict(m) => m.clone(),
            Self::NotFound { entity, id } => format!("{entity} {id} not found"),
            Self::BadInput { message, .. } => message.clone(),
            Self::RateLimited { retry_after } => format!(
                "rate limit exceeded: retry in {} s",
                whole_seconds(*retry_after)
            ),
            Self::Db(_) | Self::Internal(_) => "internal error".to_owned(),
        }
    }

    /// For start-up, jobs and commands: keeps the cause of internal errors.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Self::Db(err) => anyhow::Error::new(err),
            Self::Internal(err) => err,
            other => anyhow::anyhow!(other.message()),
        }
    }

    /// The code this error carries on the wire.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::BadInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Db(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// A wait in whole seconds, rounded up (as in `Retry-After`; never 0 for a real wait).
pub fn whole_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Maps constraint violations of a write to client errors; everything else stays internal.
pub trait DbResultExt<T> {
    /// A unique violation becomes `CONFLICT` with `message`; a foreign-key violation becomes
    /// `BAD_USER_INPUT` (a referenced row is missing or still referenced).
    fn on_constraint(self, message: &str) -> AppResult<T>;

    /// For deletes: a foreign-key violation (the row is still referenced) becomes `CONFLICT`
    /// with `message`.
    fn on_delete(self, message: &str) -> AppResult<T>;
}

/// Whether `err` is a foreign-key violation.
///
/// SeaORM recognises SQLite's plain foreign-key code (787), but a parent delete blocked by an
/// `ON DELETE RESTRICT` action fails through SQLite's internal trigger, with
/// `SQLITE_CONSTRAINT_TRIGGER` (1811) and the message "FOREIGN KEY constraint failed".
fn is_foreign_key_violation(err: &DbErr) -> bool {
    if matches!(
        err.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    ) {
        return true;
    }
    if let DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) = err
        && let sea_orm::sqlx::Error::Database(e) = e.as_ref()
        && e.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
            .is_some()
    {
        return e.code().as_deref() == Some("1811")
            && e.message().contains("FOREIGN KEY constraint failed");
    }
    false
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn on_constraint(self, message: &str) -> AppResult<T> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(message.to_owned()),
            _ if is_foreign_key_violation(&err) => AppError::bad_input(
                "the change refers to a missing row, or the row is still referenced",
            ),
            _ => AppError::Db(err),
        })
    }

    fn on_delete(self, message: &str) -> AppResult<T> {
        self.map_err(|err| {
            if is_foreign_key_violation(&err) {
                AppError::Conflict(message.to_owned())
            } else {
                AppError::Db(err)
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

/// An `AppError` shared between the resolvers waiting on one DataLoader batch (DataLoader
/// errors must be `Clone`).
#[derive(Clone, Debug)]
pub struct SharedError(pub std::sync::Arc<AppError>);

impl From<AppError> for SharedError {
    fn from(err: AppError) -> Self {
        Self(std::sync::Arc::new(err))
    }
}

impl From<SharedError> for async_graphql::Error {
    fn from(err: SharedError) -> Self {
        err.0.extend()
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let code = self.code();
        let message = match self {
            Self::Db(cause) => {
                tracing::error!(error.cause_chain = ?cause, "database error on the request path");
                "internal error".to_owned()
            }
            Self::Internal(cause) => {
                tracing::error!(error.cause_chain = ?cause, "internal error on the request path");
                "internal error".to_owned()
            }
            other => other.message(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Self::BadInput {
                field: Some(field), ..
            } = self
            {
                ext.set("field", *field);
            }
            if let Self::RateLimited { retry_after } = self {
                ext.set("retryAfter", whole_seconds(*retry_after));
            }
        })
    }
}
