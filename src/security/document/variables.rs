//! Limits on a request's variables: nesting and size, measured without recursion.
//!
//! The JSON parser has already bounded nesting at 128 levels; this applies the document's own
//! nesting limit and a size limit (as JSON text, estimated from the values) to what every
//! later stage — coercion, validation, the audit log — walks recursively.

use async_graphql::{Value as ConstValue, Variables};

use super::{DocumentLimits, Limit, Refusal};

/// Checks `variables` against the nesting and size limits of `limits`.
pub fn check(variables: &Variables, limits: &DocumentLimits) -> Result<(), Refusal> {
    let mut bytes = 2usize;
    let mut stack: Vec<(&ConstValue, usize)> = Vec::new();
    for (name, value) in variables.iter() {
        bytes += name.len() + 4;
        stack.push((value, 1));
    }
    while let Some((value, depth)) = stack.pop() {
        if depth > limits.max_nesting {
            return Err(Refusal::new(
                Limit::VariablesNesting,
                depth,
                limits.max_nesting,
            ));
        }
        bytes = bytes.saturating_add(match value {
            ConstValue::Null => 4,
            ConstValue::Boolean(_) => 5,
            ConstValue::Number(_) => 8,
            ConstValue::String(s) => s.len() + 2,
            ConstValue::Enum(e) => e.len() + 2,
            ConstValue::Binary(b) => b.len(),
            ConstValue::List(items) => {
                stack.extend(items.iter().map(|v| (v, depth + 1)));
                items.len() + 2
            }
            ConstValue::Object(fields) => {
                for (key, v) in fields {
                    stack.push((v, depth + 1));
                    bytes = bytes.saturating_add(key.len() + 4);
                }
                2
            }
        });
        if bytes > limits.max_variables_bytes {
            return Err(Refusal::new(
                Limit::VariablesBytes,
                bytes,
                limits.max_variables_bytes,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let limits = DocumentLimits::default();
        let mut deep = serde_json::json!(1);
        for _ in 0..65 {
            deep = serde_json::json!([deep]);
        }
        let refused = check(&vars(serde_json::json!({ "a": deep })), &limits).expect_err("deep");
        assert_eq!(refused.limit, Limit::VariablesNesting);
        let big = "x".repeat(limits.max_variables_bytes);
        let refused = check(&vars(serde_json::json!({ "s": big })), &limits).expect_err("big");
        assert_eq!(refused.limit, Limit::VariablesBytes);
        // 5,000 readings, the largest ingest batch, pass.
        let rows: Vec<_> = (0..5_000)
            .map(|i| serde_json::json!({"sensorId": i.to_string(), "ts": "2026-12-01T10:00:00Z", "value": 1.5, "quality": 192}))
            .collect();
        assert!(check(&vars(serde_json::json!({ "rows": rows })), &limits).is_ok());
    }
}
