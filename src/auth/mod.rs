//! Who is calling: identity, role and workshop scope, handed from the HTTP handler to services.
//!
//! A request with a bearer token runs as that token's user (checked against its session); one
//! without runs as the development admin where that is allowed (`SF_DEV_ADMIN`, development
//! only), else anonymously — and anonymous callers may only log in.

pub mod jwt;
pub mod password;
pub mod revocations;
pub mod session;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::enums::Role;
use sea_orm::{ColumnTrait, Condition};

use crate::error::{AppError, AppResult, INVALID_TOKEN, NOT_AUTHENTICATED};

/// The workshops a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkshopScope {
    /// Managers and admins: every workshop.
    All,
    /// Everyone else: the workshops assigned to them.
    Only(Arc<[i64]>),
}

impl WorkshopScope {
    /// Whether rows of `workshop_id` are visible.
    pub fn allows(&self, workshop_id: i64) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(&workshop_id),
        }
    }

    /// A filter restricting `column` (a workshop id column) to the scope.
    pub fn condition(&self, column: impl ColumnTrait) -> Condition {
        match self {
            Self::All => Condition::all(),
            Self::Only(ids) => Condition::all().add(column.is_in(ids.iter().copied())),
        }
    }
}

/// The authenticated (or development) caller of one request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user, when the caller is one.
    pub user_id: Option<i64>,
    /// The session the request's token belongs to.
    pub session_id: Option<String>,
    /// Role deciding what the caller may do; `None` for anonymous callers.
    pub role: Option<Role>,
    /// Workshops the caller may see.
    pub scope: WorkshopScope,
    /// The gateway API token the request came with (gateways only).
    pub api_token_id: Option<i64>,
    /// The request carried a token that failed its checks.
    pub token_rejected: bool,
    /// When the access token the caller came with expires (sockets close then).
    pub token_expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// Requests without a token in development (`SF_DEV_ADMIN`): an admin over all workshops.
    pub fn development_admin() -> Self {
        Self {
            user_id: None,
            session_id: None,
            role: Some(Role::Admin),
            scope: WorkshopScope::All,
            api_token_id: None,
            token_rejected: false,
            token_expires_at: None,
        }
    }

    /// The server's own work (the simulator, jobs): every role's rights over every
    /// workshop, as nobody in particular.
    pub fn system() -> Self {
        Self::development_admin()
    }

    /// No token (where the development admin is off), or a token that failed its checks:
    /// may log in, sees nothing.
    pub fn anonymous() -> Self {
        Self {
            user_id: None,
            session_id: None,
            role: None,
            scope: WorkshopScope::Only(Arc::from([])),
            api_token_id: None,
            token_rejected: false,
            token_expires_at: None,
        }
    }

    /// A request whose token failed its checks: anonymous, and told why.
    pub fn rejected() -> Self {
        Self {
            token_rejected: true,
            ..Self::anonymous()
        }
    }

    fn unauthenticated(&self) -> AppError {
        AppError::Unauthenticated(if self.token_rejected {
            INVALID_TOKEN
        } else {
            NOT_AUTHENTICATED
        })
    }

    /// Fails with `UNAUTHENTICATED` for anonymous callers.
    pub fn require_authenticated(&self) -> AppResult<&Self> {
        if self.role.is_some() {
            Ok(self)
        } else {
            Err(self.unauthenticated())
        }
    }

    /// Fails with `UNAUTHENTICATED` for anonymous callers and `FORBIDDEN` unless the caller's
    /// role is at least `minimum`.
    pub fn require(&self, minimum: Role) -> AppResult<()> {
        let role = self.role.ok_or_else(|| self.unauthenticated())?;
        if rank(role) >= rank(minimum) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role or higher",
                minimum.as_str()
            )))
        }
    }

    /// Fails with `UNAUTHENTICATED` for anonymous callers and `FORBIDDEN` unless the caller
    /// is a gateway or has at least the role `minimum` (for the gateway's own operations:
    /// ingest, machine status, alarms).
    pub fn require_gateway_or(&self, minimum: Role) -> AppResult<()> {
        if self.role == Some(Role::Gateway) {
            Ok(())
        } else {
            self.require(minimum)
        }
    }

    /// Whether the caller is a gateway service account.
    pub fn is_gateway(&self) -> bool {
        self.role == Some(Role::Gateway)
    }

    /// Whether the caller sees `SYSTEM` alarms (the server's own health, which belongs to
    /// no workshop): admins only, like the metrics they come from.
    pub fn sees_system_alarms(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// Whether an alarm of `workshop_id` (`None`: a `SYSTEM` alarm) is visible.
    pub fn sees_alarm_of(&self, workshop_id: Option<i64>) -> bool {
        match workshop_id {
            Some(id) => self.scope.allows(id),
            None => self.sees_system_alarms(),
        }
    }

    /// Fails with `NOT_FOUND` when `workshop_id` is outside the scope, so that hidden rows
    /// are indistinguishable from missing ones.
    pub fn require_workshop(
        &self,
        entity: &'static str,
        id: i64,
        workshop_id: i64,
    ) -> AppResult<()> {
        if self.scope.allows(workshop_id) {
            Ok(())
        } else {
            Err(AppError::not_found(entity, id))
        }
    }
}

/// Position of a role in viewer < operator < engineer < manager < admin; gateways rank lowest
/// for everything outside their own narrow permissions.
fn rank(role: Role) -> u8 {
    match role {
        Role::Gateway => 0,
        Role::Viewer => 1,
        Role::Operator => 2,
        Role::Engineer => 3,
        Role::Manager => 4,
        Role::Admin => 5,
    }
}
