//! The whole-response cache on the GraphQL path (DESIGN.md §8).
//!
//! [`key_of`] decides, when an operation is prepared, whether it may be cached at all — a
//! query whose root fields all read plant data through tagged sources ([`CACHEABLE_ROOTS`];
//! never a mutation, a subscription or introspection) — and keys it by the normalised
//! document, the operation name, the variables, the caller's role and workshop scope. The
//! [`ResponseCacheExtension`] then answers from the cache after the rate limit, the guard
//! and validation have run, or executes once for all identical concurrent misses and
//! stores the response when it may: no errors, something tagged was read, every SQL
//! statement it ran was for tagged data, and it is not too large.

use std::sync::Arc;

use async_graphql::{
    Request, Response,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};
use sha2::{Digest as _, Sha256};

use crate::{
    auth::{Caller, WorkshopScope},
    cache::response::{Entry, Key, Touched},
    state::AppState,
};

/// Root query fields whose data comes only through tagged sources (the cached loaders and
/// the tagged root reads); anything else below them that runs untagged SQL still keeps the
/// response out of the cache, found by its statements.
pub const CACHEABLE_ROOTS: &[&str] = &[
    "__typename",
    "workshops",
    "workshopById",
    "lineById",
    "equipmentById",
    "sensorById",
];

/// Request data: the cache key of a query that may be cached.
#[derive(Clone, Copy, Debug)]
pub struct ResponseKey(pub Key);

/// The cache key of `request` (already parsed into `document`) for `caller`, or `None` when
/// its response is never cached.
pub fn key_of(
    request: &Request,
    document: &ExecutableDocument,
    kind: Option<OperationType>,
    caller: &Caller,
) -> Option<Key> {
    let role = caller.role?;
    if kind != Some(OperationType::Query) || !roots_cacheable(document, request) {
        return None;
    }
    let variables = serde_json::to_vec(&request.variables).ok()?;
    let scope = match &caller.scope {
        WorkshopScope::All => "all".to_owned(),
        WorkshopScope::Only(ids) => {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        }
    };
    let mut hash = Sha256::new();
    for part in [
        b"response:v1".as_slice(),
        normalise(&request.query).as_bytes(),
        request.operation_name.as_deref().unwrap_or("").as_bytes(),
        &variables,
        role.as_str().as_bytes(),
        scope.as_bytes(),
    ] {
        // Length-prefixed, so no two different inputs run together into one.
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    Some(hash.finalize().into())
}

/// Whether every root field of the selected operation (through fragments) is cacheable.
fn roots_cacheable(document: &ExecutableDocument, request: &Request) -> bool {
    let wanted = request.operation_name.as_deref();
    let Some(operation) = document.operations.iter().find_map(|(name, op)| {
        let selected = match (wanted, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected.then_some(op)
    }) else {
        return false;
    };
    // Fragments may spread each other; the guard bounds the document, this bounds the walk.
    let mut budget = 1_000_usize;
    selection_cacheable(document, &operation.node.selection_set.node, &mut budget)
}

fn selection_cacheable(doc: &ExecutableDocument, set: &SelectionSet, budget: &mut usize) -> bool {
    set.items.iter().all(|item| {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match &item.node {
            Selection::Field(field) => CACHEABLE_ROOTS.contains(&field.node.name.node.as_str()),
            Selection::InlineFragment(fragment) => {
                selection_cacheable(doc, &fragment.node.selection_set.node, budget)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_some_and(|f| selection_cacheable(doc, &f.node.selection_set.node, budget)),
        }
    })
}

/// The document with comments, commas and insignificant white space removed (strings and
/// block strings kept as written), so layout differences share one key.
pub fn normalise(query: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut gap = false;
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
                gap = true;
            }
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => gap = true,
            '"' => {
                if gap && out.ends_with(word) {
                    out.push(' ');
                }
                gap = false;
                out.push('"');
                let block = chars.peek() == Some(&'"') && {
                    let mut ahead = chars.clone();
                    ahead.next();
                    ahead.peek() == Some(&'"')
                };
                if block {
                    out.push_str("\"\"");
                    chars.next();
                    chars.next();
                    // Until an unescaped `"""`.
                    let mut quotes = 0;
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        out.push(c);
                        if c == '"' && !escaped {
                            quotes += 1;
                            if quotes == 3 {
                                break;
                            }
                        } else {
                            quotes = 0;
                        }
                        escaped = c == '\\';
                    }
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        out.push(c);
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '"' || c == '\n' {
                            break;
                        }
                    }
                }
            }
            c => {
                if gap && out.ends_with(word) && (word(c) || c == '.') {
                    out.push(' ');
                }
                gap = false;
                out.push(c);
            }
        }
    }
    out
}

/// Registers the response cache on the schema (last, so it runs after the rate limit, the
/// guard and validation).
pub struct ResponseCacheExtension;

impl ExtensionFactory for ResponseCacheExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResponseCaching)
    }
}

struct ResponseCaching;

/// The response of the execution that ran was not cacheable.
#[derive(Debug)]
struct NotCached;

#[async_trait::async_trait]
impl Extension for ResponseCaching {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (Some(state), Some(ResponseKey(key))) =
            (ctx.data_opt::<AppState>(), ctx.data_opt::<ResponseKey>())
        else {
            return next.run(ctx, operation_name).await;
        };
        let cache = &state.cache;
        if let Some(hit) = cache.response(key).await {
            return Response::new(hit.data.clone());
        }
        let touched = ctx.data_opt::<Touched>().cloned().unwrap_or_default();
        let responses = cache.responses();
        let max_bytes = responses.config().max_bytes;
        let mut next = Some(next);
        let mut own = None;
        let shared = responses
            .inflight
            .try_get_with(*key, async {
                let next = next.take().ok_or(NotCached)?;
                let since = responses.epochs();
                let before = touched.statements().unwrap_or(0);
                let response = next.run(ctx, operation_name).await;
                let entry =
                    entry_of(&response, &touched, before, max_bytes).map(|(tags, live, bytes)| {
                        Arc::new(Entry {
                            data: response.data.clone(),
                            tags,
                            live,
                            bytes,
                            since,
                        })
                    });
                own = Some(response);
                let entry = entry.ok_or(NotCached)?;
                cache.store_response(*key, entry.clone()).await;
                Ok::<_, NotCached>(entry)
            })
            .await;
        // The entry is in the cache now (or was not cacheable): no later request may take
        // it from here, where no invalidation reaches it.
        responses.inflight.invalidate(key).await;
        if let Some(response) = own {
            return response;
        }
        match (shared, next) {
            (Ok(entry), _) if responses.current(&entry) => Response::new(entry.data.clone()),
            (_, Some(next)) => next.run(ctx, operation_name).await,
            // Unreachable: only the execution that took `next` leaves `own` set.
            (Ok(entry), None) => Response::new(entry.data.clone()),
            (Err(_), None) => Response::from_errors(vec![crate::graphql::guard::coded(
                async_graphql::ServerError::new("internal error", None),
                crate::error::ErrorCode::Internal,
            )]),
        }
    }
}

/// Tags, live sensors and JSON size of a response that may be cached.
type Cacheable = (Box<[crate::cache::Tag]>, Box<[i64]>, usize);

/// What to store of `response`, or `None` when it must not be cached.
fn entry_of(
    response: &Response,
    touched: &Touched,
    statements_before: u32,
    max_bytes: usize,
) -> Option<Cacheable> {
    if !response.errors.is_empty() {
        return None;
    }
    let summary = touched.summary();
    let ran = touched.statements()?.saturating_sub(statements_before);
    if summary.refused
        || (summary.tags.is_empty() && summary.live.is_empty())
        || ran > summary.tagged_statements
    {
        return None;
    }
    let bytes = serde_json::to_vec(&response.data).ok()?.len();
    if bytes > max_bytes {
        return None;
    }
    Some((summary.tags.into(), summary.live.into(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_drops_layout_and_keeps_strings() {
        let a = "query Q($id: ID!) {\n  equipmentById(id: $id) { # the machine\n id, name }\n}";
        let b = "query Q($id:ID!){equipmentById(id:$id){id name}}";
        assert_eq!(normalise(a), normalise(b));
        assert_eq!(
            normalise(b),
            "query Q($id:ID!){equipmentById(id:$id){id name}}"
        );
        let s1 = r#"{ workshops(filter: {search: "a  b, # c"}) { id } }"#;
        let s2 = r#"{ workshops(filter: {search: "a b, # c"}) { id } }"#;
        assert_ne!(normalise(s1), normalise(s2), "string contents are kept");
        assert!(normalise(s1).contains("\"a  b, # c\""));
        let block = "{ a(x: \"\"\" q \\\"\"\" \"\"\") }";
        assert!(normalise(block).contains("\"\"\" q \\\"\"\" \"\"\""));
        assert_eq!(
            normalise("{ a ...F } fragment F on Q { b }"),
            "{a ...F}fragment F on Q{b}"
        );
        assert_ne!(normalise("{ a b }"), normalise("{ ab }"));
    }

    fn parsed(query: &str) -> (Request, ExecutableDocument) {
        let request = Request::new(query);
        let limits = crate::security::document::DocumentLimits::default();
        let doc = crate::security::document::parse(query, &limits).expect("parses");
        (request, doc)
    }

    #[test]
    fn only_plant_reads_are_cacheable() {
        for (query, ok) in [
            ("{ equipmentById(id: 1) { id } }", true),
            ("{ __typename lineById(id: 1) { id } }", true),
            (
                "{ ...R } fragment R on QueryRoot { workshops { nodes { id } } }",
                true,
            ),
            (
                "{ equipmentById(id: 1) { id } cacheStats { enabled } }",
                false,
            ),
            ("{ __schema { types { name } } }", false),
            ("{ ... on QueryRoot { me { id } } }", false),
        ] {
            let (request, doc) = parsed(query);
            assert_eq!(roots_cacheable(&doc, &request), ok, "{query}");
        }
    }

    #[test]
    fn keys_separate_roles_scopes_and_variables() {
        let query = "query($id: ID!) { equipmentById(id: $id) { id } }";
        let (request, doc) = parsed(query);
        let kind = Some(OperationType::Query);
        let admin = Caller::development_admin();
        let mut viewer = Caller::development_admin();
        viewer.role = Some(entity::enums::Role::Viewer);
        viewer.scope = WorkshopScope::Only(vec![2, 1].into());
        let mut other = viewer.clone();
        other.scope = WorkshopScope::Only(vec![3].into());
        let same_scope = Caller {
            user_id: Some(9),
            scope: WorkshopScope::Only(vec![1, 2].into()),
            ..viewer.clone()
        };
        let keys: Vec<_> = [&admin, &viewer, &other]
            .iter()
            .map(|c| key_of(&request, &doc, kind, c).expect("cacheable"))
            .collect();
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        assert_eq!(key_of(&request, &doc, kind, &same_scope), Some(keys[1]));
        let with_vars = Request::new(query).variables(async_graphql::Variables::from_json(
            serde_json::json!({ "id": "1" }),
        ));
        assert_ne!(key_of(&with_vars, &doc, kind, &admin), Some(keys[0]));
        assert_eq!(
            key_of(&request, &doc, Some(OperationType::Mutation), &admin),
            None
        );
        let mut anonymous = admin.clone();
        anonymous.role = None;
        assert_eq!(key_of(&request, &doc, kind, &anonymous), None);
    }
}
