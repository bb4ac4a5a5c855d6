//! Automatic persisted queries (Apollo's protocol), before an operation is prepared, so the
//! rest of the policy path — the guard, the operation's kind (GET refuses mutations), the
//! response cache key — sees the query text whichever way it came.
//!
//! `extensions.persistedQuery = {version: 1, sha256Hash}`: with a `query`, the hash must be
//! the SHA-256 of its bytes, and the text is remembered once the guard accepted it; without
//! one, the remembered text is used, or the answer is `PERSISTED_QUERY_NOT_FOUND` (message
//! `PersistedQueryNotFound`, which clients look for before sending the text). The texts live
//! in the cache's two levels (`cache::persisted`), bounded by the guard's document size.
//!
//! async-graphql's own APQ extension resolves the hash inside execution, after the
//! transport has to know the operation's kind, and stores parsed documents Redis cannot
//! hold; this does the same protocol where every transport passes.

use async_graphql::{Request, Response, ServerError, Value};
use sha2::{Digest as _, Sha256};

use crate::{error::ErrorCode, graphql::guard::coded, state::AppState};

/// The request extension that carries the hash.
pub const EXTENSION: &str = "persistedQuery";

/// A query text to remember once the guard has accepted it.
pub struct Registration {
    pub hash: String,
    pub query: String,
}

/// Fills in `request`'s query from its persisted hash, or checks the hash of the query it
/// came with; a refusal is the response to send.
pub async fn resolve(
    state: &AppState,
    request: &mut Request,
) -> Result<Option<Registration>, Response> {
    let Some(extension) = request.extensions.remove(EXTENSION) else {
        return Ok(None);
    };
    let hash = hash_of(&extension).map_err(refusal)?;
    if request.query.is_empty() {
        let Some(query) = state.cache.persisted(&hash).await else {
            return Err(refusal(coded(
                ServerError::new("PersistedQueryNotFound", None),
                ErrorCode::PersistedQueryNotFound,
            )));
        };
        request.query = query.to_string();
        return Ok(None);
    }
    if hex_sha256(&request.query) != hash {
        return Err(refusal(coded(
            ServerError::new(
                "`persistedQuery.sha256Hash` is not the SHA-256 of `query`",
                None,
            ),
            ErrorCode::PersistedQueryHashMismatch,
        )));
    }
    Ok(Some(Registration {
        hash,
        query: request.query.clone(),
    }))
}

/// Remembers a registered query (after the guard parsed it: refused documents are not kept).
pub async fn register(state: &AppState, registration: Registration) {
    state
        .cache
        .persist(&registration.hash, &registration.query)
        .await;
}

/// The lower-case hex SHA-256 of `query`.
pub fn hex_sha256(query: &str) -> String {
    crate::cache::l2::hex(&Sha256::digest(query.as_bytes()))
}

/// The hash of a `persistedQuery` extension, checked: version 1, 64 hex digits.
fn hash_of(extension: &Value) -> Result<String, ServerError> {
    let bad = |message: &str| coded(ServerError::new(message, None), ErrorCode::BadUserInput);
    let Value::Object(fields) = extension else {
        return Err(bad("`extensions.persistedQuery` must be an object"));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        _ => {
            return Err(bad(
                "`extensions.persistedQuery.version` must be 1 (the only version supported)",
            ));
        }
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(bad(
            "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits",
        )),
    }
}

fn refusal(err: ServerError) -> Response {
    Response::from_errors(vec![err])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_checked_before_anything_is_looked_up() {
        let ok = |hash: &str| {
            let mut fields = async_graphql::indexmap::IndexMap::new();
            fields.insert(async_graphql::Name::new("version"), Value::from(1));
            fields.insert(async_graphql::Name::new("sha256Hash"), Value::from(hash));
            hash_of(&Value::Object(fields))
        };
        let good = hex_sha256("{ __typename }");
        assert_eq!(ok(&good).ok(), Some(good.clone()));
        assert_eq!(ok(&good.to_uppercase()).ok(), Some(good));
        assert!(ok("abc").is_err());
        assert!(ok(&"g".repeat(64)).is_err());
        assert!(hash_of(&Value::from("x")).is_err());
    }
}
