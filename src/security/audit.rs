//! Which mutations a request ran, with their arguments (secrets redacted) and outcome, for the
//! audit log. Worked out from the request after execution, so queries pay nothing.

use async_graphql::{
    Name, Response, Variables,
    parser::types::{OperationType, Selection},
};

use super::document::{self, DocumentLimits};
use serde_json::Value;

/// One root mutation field of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct MutationRecord {
    /// The field, e.g. `updateSensor`.
    pub action: String,
    /// Its arguments with variables filled in and secrets redacted.
    pub arguments: Value,
    /// `input.id` or `id`, when given.
    pub entity_id: Option<String>,
    /// `None` when it succeeded, else the error code.
    pub error: Option<String>,
}

/// Argument names whose values never reach the log.
fn is_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("password") || lower.contains("token") || lower.contains("secret")
}

/// `value` with every secret-named member replaced by `***`, at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret(&k) {
                        Value::String("***".into())
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// The root mutation fields `query` ran (empty for queries and for documents the guard
/// refuses under `limits`, which never ran).
pub fn mutations(
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables,
    response: &Response,
    limits: &DocumentLimits,
) -> Vec<MutationRecord> {
    // Cheap pre-check: most requests are queries.
    if !query.contains("mutation") {
        return Vec::new();
    }
    let Ok(document) = document::parse(query, limits) else {
        return Vec::new();
    };
    let Some((_, operation)) =
        document
            .operations
            .iter()
            .find(|(name, _)| match (operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (None, _) => true,
                (Some(_), None) => false,
            })
    else {
        return Vec::new();
    };
    if operation.node.ty != OperationType::Mutation {
        return Vec::new();
    }
    let lookup = |name: Name| variables.get(&name).cloned().ok_or(());
    let mut records = Vec::new();
    for selection in &operation.node.selection_set.node.items {
        let Selection::Field(field) = &selection.node else {
            continue;
        };
        let field = &field.node;
        let mut arguments = serde_json::Map::new();
        for (name, value) in &field.arguments {
            let resolved = value
                .node
                .clone()
                .into_const_with(lookup)
                .ok()
                .and_then(|v| v.into_json().ok())
                .unwrap_or(Value::Null);
            arguments.insert(name.node.to_string(), resolved);
        }
        let arguments = redact(Value::Object(arguments));
        let entity_id = arguments
            .pointer("/input/id")
            .or_else(|| arguments.get("id"))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| Some(v.to_string()))
            })
            .filter(|v| v != "null");
        let key = field.response_key().node.as_str();
        let error = response
            .errors
            .iter()
            // The field's own error: a payload field failing after the change committed
            // (path longer than one) does not make the mutation a failure.
            .find(|e| {
                e.path.len() == 1
                    && e.path.first().is_some_and(|p| match p {
                        async_graphql::PathSegment::Field(f) => f == key,
                        async_graphql::PathSegment::Index(_) => false,
                    })
            })
            .map(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .map(|c| c.to_string().trim_matches('"').to_owned())
                    .unwrap_or_else(|| "ERROR".to_owned())
            });
        records.push(MutationRecord {
            action: field.name.node.to_string(),
            arguments,
            entity_id,
            error,
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_found_with_variables_and_secrets_redacted() {
        let vars = Variables::from_json(serde_json::json!({ "p": "hunter2", "id": "7" }));
        let query = "mutation M($p: String!, $id: ID!) { login(input: {username: \"a\", \
                     password: $p}) { accessToken } updateSensor(input: {id: $id, name: \"x\"}) \
                     { sensor { id } } }";
        let records = mutations(
            query,
            None,
            &vars,
            &Response::default(),
            &DocumentLimits::default(),
        );
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].action, "login");
        assert_eq!(records[0].arguments["input"]["password"], "***");
        assert_eq!(records[0].arguments["input"]["username"], "a");
        assert_eq!(records[1].entity_id.as_deref(), Some("7"));
        assert!(!records[0].arguments.to_string().contains("hunter2"));
    }

    #[test]
    fn queries_record_nothing() {
        let none = mutations(
            "{ mutationLog }",
            None,
            &Variables::default(),
            &Response::default(),
            &DocumentLimits::default(),
        );
        assert!(none.is_empty());
        let q = mutations(
            "query mutation { a }",
            None,
            &Variables::default(),
            &Response::default(),
            &DocumentLimits::default(),
        );
        assert!(q.is_empty());
    }

    #[test]
    fn refused_documents_record_nothing_and_are_never_parsed_unguarded() {
        // 100,000 brackets: the parser alone would overflow the stack.
        let deep = format!("mutation {{ a(x: {}) }}", "[".repeat(100_000));
        let limits = DocumentLimits {
            max_bytes: usize::MAX,
            ..DocumentLimits::default()
        };
        let none = mutations(
            &deep,
            None,
            &Variables::default(),
            &Response::default(),
            &limits,
        );
        assert!(none.is_empty());
    }
}
