//! Login, tokens, logout and the caller's own user.

pub mod mutation;
pub mod query;
pub mod types;
pub mod users;
