//! Request-shape limits async-graphql does not have: aliases and root fields per operation.
//!
//! An alias bomb (`{ a1: sites { … } a2: sites { … } … }`) multiplies work without deepening
//! the query. Counting needs a parse, so requests with too few `:` to hold that many aliases
//! skip it — which is nearly all of them.

use async_graphql::parser::{
    parse_query,
    types::{ExecutableDocument, Selection, SelectionSet},
};

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LimitError {
    Aliases { found: usize, max: usize },
    RootFields { found: usize, max: usize },
}

impl LimitError {
    /// The message for the client.
    pub fn message(&self) -> String {
        match self {
            Self::Aliases { found, max } => {
                format!("the operation uses {found} aliases; at most {max} are allowed")
            }
            Self::RootFields { found, max } => {
                format!("the operation selects {found} root fields; at most {max} are allowed")
            }
        }
    }
}

/// Checks `query` against the alias and root-field limits; an unparsable query passes (the
/// executor reports its syntax error).
pub fn check(query: &str, max_aliases: usize, max_root_fields: usize) -> Result<(), LimitError> {
    // Every alias and every root field beyond the first few needs a `:` (distinct root
    // fields without aliases are bounded by the schema's own size).
    let colons = query.bytes().filter(|b| *b == b':').count();
    if colons <= max_aliases.min(max_root_fields) {
        return Ok(());
    }
    let Ok(document) = parse_query(query) else {
        return Ok(());
    };
    let aliases = count_aliases(&document);
    if aliases > max_aliases {
        return Err(LimitError::Aliases {
            found: aliases,
            max: max_aliases,
        });
    }
    for (_, operation) in document.operations.iter() {
        let roots = operation.node.selection_set.node.items.len();
        if roots > max_root_fields {
            return Err(LimitError::RootFields {
                found: roots,
                max: max_root_fields,
            });
        }
    }
    Ok(())
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let in_operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let in_fragments: usize = document
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum();
    in_operations + in_fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_bombs_and_wide_roots_are_caught() {
        let bomb: String = (0..50)
            .map(|i| format!("a{i}: sites {{ code }} "))
            .collect();
        let query = format!("{{ {bomb} }}");
        assert_eq!(
            check(&query, 30, 100),
            Err(LimitError::Aliases { found: 50, max: 30 })
        );
        assert_eq!(
            check(&query, 100, 10),
            Err(LimitError::RootFields { found: 50, max: 10 })
        );
        assert!(check("{ a: sites { code } b: sites { code } }", 30, 10).is_ok());
        assert!(
            check("{ sites { code } }", 0, 0).is_ok(),
            "no colon, no parse"
        );
        let in_fragment = format!(
            "query {{ ...F }} fragment F on QueryRoot {{ {} }}",
            (0..40)
                .map(|i| format!("x{i}: sites {{ code }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(matches!(
            check(&in_fragment, 30, 100),
            Err(LimitError::Aliases { .. })
        ));
    }
}
