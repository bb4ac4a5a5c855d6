//! Who is calling: identity, role and workshop scope, handed from the HTTP handler to services.
//!
//! Authentication itself (tokens, sessions) arrives with the security layer; until then every
//! request runs as the development admin, through the same `Caller` the services already check.

pub mod password;

use std::sync::Arc;

use entity::enums::Role;
use sea_orm::{ColumnTrait, Condition};

use crate::error::{AppError, AppResult};

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
    /// Role deciding what the caller may do.
    pub role: Role,
    /// Workshops the caller may see.
    pub scope: WorkshopScope,
}

impl Caller {
    /// The caller of every request until authentication lands: an admin over all workshops.
    pub fn development_admin() -> Self {
        Self {
            user_id: None,
            role: Role::Admin,
            scope: WorkshopScope::All,
        }
    }

    /// Fails with `FORBIDDEN` unless the caller's role is at least `minimum`.
    pub fn require(&self, minimum: Role) -> AppResult<()> {
        if rank(self.role) >= rank(minimum) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this needs the {} role or higher",
                minimum.as_str()
            )))
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
