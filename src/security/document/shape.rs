//! Limits on a parsed document's shape, computed in time linear in its text.
//!
//! Each fragment is expanded once: fragments are ordered so that every fragment comes after
//! those it spreads (an explicit stack, so a chain of thousands of fragments needs no deep
//! recursion; a cycle is found on the way), and each one's expanded size and depth is
//! memoised. An operation's cost is then one walk of its own text. The literal walks recurse
//! only as deep as the text nests, which the scan has bounded.

use std::collections::HashMap;

use async_graphql::parser::{
    Pos, Positioned,
    types::{ExecutableDocument, Selection, SelectionSet},
};

use super::{DocumentError, DocumentLimits, Limit, Refusal, truncate};

/// A selection set's size after expansion: selections (fields, spreads, inline fragments)
/// and nesting levels of selection sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cost {
    selections: u64,
    depth: u64,
}

/// Checks `doc` against the shape limits of `limits`.
pub fn check(doc: &ExecutableDocument, limits: &DocumentLimits) -> Result<(), DocumentError> {
    // Validation walks every operation against every fragment it reaches.
    let operations = doc.operations.iter().count();
    if operations > limits.max_operations {
        return Err(Refusal::new(Limit::Operations, operations, limits.max_operations).into());
    }
    let order = fragment_order(doc)?;
    let mut walker = Walker {
        limits,
        fragments: HashMap::with_capacity(order.len()),
        aliases: 0,
    };
    for name in order {
        let Some(fragment) = doc.fragments.get(name) else {
            continue;
        };
        let cost = walker.walk(&fragment.node.selection_set)?;
        walker.bound(cost, fragment.pos)?;
        walker.fragments.insert(name, cost);
    }
    for (_, operation) in doc.operations.iter() {
        let set = &operation.node.selection_set;
        let roots = set.node.items.len();
        if roots > limits.max_root_fields {
            return Err(
                Refusal::new(Limit::RootFields, roots, limits.max_root_fields)
                    .at(operation.pos)
                    .into(),
            );
        }
        let cost = walker.walk(set)?;
        walker.bound(cost, operation.pos)?;
    }
    Ok(())
}

struct Walker<'d, 'l> {
    limits: &'l DocumentLimits,
    /// Expanded cost of each fragment walked so far.
    fragments: HashMap<&'d str, Cost>,
    /// Aliases in the whole document's text.
    aliases: usize,
}

impl<'d> Walker<'d, '_> {
    fn bound(&self, cost: Cost, pos: Pos) -> Result<(), DocumentError> {
        let limits = self.limits;
        if cost.selections > limits.max_selections as u64 {
            let found = usize::try_from(cost.selections).unwrap_or(usize::MAX);
            return Err(
                Refusal::new(Limit::Selections, found, limits.max_selections)
                    .at(pos)
                    .into(),
            );
        }
        if cost.depth > limits.max_nesting as u64 {
            let found = usize::try_from(cost.depth).unwrap_or(usize::MAX);
            return Err(
                Refusal::new(Limit::ExpandedNesting, found, limits.max_nesting)
                    .at(pos)
                    .into(),
            );
        }
        Ok(())
    }

    /// The expanded cost of `set`, checking the literal limits on the way. Spreads of
    /// fragments not walked yet are unknown names (validation reports them): cost 1.
    fn walk(&mut self, set: &'d Positioned<SelectionSet>) -> Result<Cost, DocumentError> {
        let limits = self.limits;
        let mut total = Cost::default();
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for item in &set.node.items {
            let directives = item.node.directives().len();
            if directives > limits.max_directives_per_field {
                return Err(Refusal::new(
                    Limit::DirectivesPerField,
                    directives,
                    limits.max_directives_per_field,
                )
                .at(item.pos)
                .into());
            }
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > limits.max_aliases {
                            return Err(Refusal::new(
                                Limit::Aliases,
                                self.aliases,
                                limits.max_aliases,
                            )
                            .at(item.pos)
                            .into());
                        }
                    }
                    let repeats = keys.entry(field.response_key().node.as_str()).or_default();
                    *repeats += 1;
                    if *repeats > limits.max_field_repeats {
                        return Err(Refusal::new(
                            Limit::FieldRepeats,
                            *repeats,
                            limits.max_field_repeats,
                        )
                        .at(item.pos)
                        .into());
                    }
                    if field.selection_set.node.items.is_empty() {
                        Cost::default()
                    } else {
                        self.walk(&field.selection_set)?
                    }
                }
                Selection::InlineFragment(fragment) => self.walk(&fragment.node.selection_set)?,
                Selection::FragmentSpread(spread) => self
                    .fragments
                    .get(spread.node.fragment_name.node.as_str())
                    .copied()
                    .unwrap_or_default(),
            };
            total.selections = total
                .selections
                .saturating_add(1)
                .saturating_add(inner.selections);
            total.depth = total.depth.max(inner.depth);
        }
        total.depth = total.depth.saturating_add(1);
        Ok(total)
    }
}

/// The fragments of `doc`, each after every fragment it spreads; a cycle is an error.
fn fragment_order(doc: &ExecutableDocument) -> Result<Vec<&str>, DocumentError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Open,
        Done,
    }
    let spreads: HashMap<&str, Vec<&str>> = doc
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut names = Vec::new();
            spreads_in(&fragment.node.selection_set, &mut names);
            (name.as_str(), names)
        })
        .collect();
    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(spreads.len());
    let mut order = Vec::with_capacity(spreads.len());
    for root in spreads.keys() {
        if marks.contains_key(root) {
            continue;
        }
        // (fragment, index of the next spread of it to follow)
        let mut stack = vec![(*root, 0usize)];
        marks.insert(root, Mark::Open);
        while let Some((name, next)) = stack.last_mut() {
            let deps = spreads.get(name).map(Vec::as_slice).unwrap_or_default();
            let Some(dep) = deps.get(*next).copied() else {
                marks.insert(name, Mark::Done);
                order.push(*name);
                stack.pop();
                continue;
            };
            *next += 1;
            if !spreads.contains_key(dep) {
                continue; // unknown: validation's to report
            }
            match marks.get(dep) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let pos = doc.fragments.get(dep).map(|f| f.pos);
                    return Err(DocumentError::Invalid {
                        message: format!(
                            "fragment `{}` spreads itself, directly or through other fragments",
                            truncate(dep, 40)
                        ),
                        pos,
                    });
                }
                None => {
                    marks.insert(dep, Mark::Open);
                    stack.push((dep, 0));
                }
            }
        }
    }
    Ok(order)
}

/// The names of the fragments `set` spreads, at any depth of its text.
fn spreads_in<'d>(set: &'d Positioned<SelectionSet>, names: &mut Vec<&'d str>) {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(field) => spreads_in(&field.node.selection_set, names),
            Selection::InlineFragment(fragment) => spreads_in(&fragment.node.selection_set, names),
            Selection::FragmentSpread(spread) => {
                names.push(spread.node.fragment_name.node.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::document::parse;

    fn refused(doc: &str, limits: &DocumentLimits) -> Refusal {
        match parse(doc, limits) {
            Err(DocumentError::Limit(refusal)) => refusal,
            other => panic!("expected a limit refusal, got {other:?}"),
        }
    }

    /// `levels` fragments, each spreading the next twice: 2^levels expanded selections.
    fn fan_out(levels: usize) -> String {
        let mut doc = String::from("{ ...F0 }\n");
        for i in 0..levels {
            doc.push_str(&format!(
                "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str(&format!(
            "fragment F{levels} on QueryRoot {{ __typename }}\n"
        ));
        doc
    }

    #[test]
    fn fragment_fan_out_is_measured_not_expanded() {
        let limits = DocumentLimits::default();
        assert!(parse(&fan_out(8), &limits).is_ok(), "2^8 selections pass");
        let r = refused(&fan_out(40), &limits);
        assert_eq!(r.limit, Limit::Selections);
        assert!(r.found > limits.max_selections, "{}", r.found);
        // Saturates rather than overflowing.
        let r = refused(&fan_out(200), &limits);
        assert_eq!(r.limit, Limit::Selections);
    }

    #[test]
    fn unused_fragments_are_bounded_too() {
        let doc = fan_out(30).replacen("{ ...F0 }", "{ __typename }", 1);
        assert_eq!(
            refused(&doc, &DocumentLimits::default()).limit,
            Limit::Selections
        );
    }

    #[test]
    fn cycles_are_found_without_recursion() {
        let doc = "{ ...A } fragment A on Q { ...B } fragment B on Q { x { ...A } }";
        match parse(doc, &DocumentLimits::default()) {
            Err(DocumentError::Invalid { message, .. }) => {
                assert!(message.contains("spreads itself"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // A chain of 3,000 fragments: far deeper than a recursive walk could go.
        let mut chain = String::from("{ ...F0 }");
        for i in 0..3_000 {
            chain.push_str(&format!(" fragment F{i} on Q {{ ...F{} }}", i + 1));
        }
        chain.push_str(" fragment F3000 on Q { x }");
        let limits = DocumentLimits {
            max_bytes: usize::MAX,
            max_tokens: usize::MAX,
            ..DocumentLimits::default()
        };
        let r = refused(&chain, &limits);
        assert_eq!(r.limit, Limit::ExpandedNesting);
    }

    #[test]
    fn literal_limits() {
        let limits = DocumentLimits::default();
        let operations: String = (0..51).map(|i| format!("query Q{i} {{ a }} ")).collect();
        assert_eq!(refused(&operations, &limits).limit, Limit::Operations);
        let repeats = format!("{{ x {{ {} }} }}", "a ".repeat(11));
        assert_eq!(refused(&repeats, &limits).limit, Limit::FieldRepeats);
        assert!(parse(&format!("{{ x {{ {} }} }}", "a ".repeat(10)), &limits).is_ok());
        let directives = format!("{{ a {} }}", "@skip(if: false) ".repeat(11));
        assert_eq!(
            refused(&directives, &limits).limit,
            Limit::DirectivesPerField
        );
        let aliases: String = (0..31).map(|i| format!("a{i}: a ")).collect();
        let nested = format!("{{ x {{ {aliases} }} }}");
        assert_eq!(refused(&nested, &limits).limit, Limit::Aliases);
        let roots: String = (0..11).map(|i| format!("f{i} ")).collect();
        assert_eq!(
            refused(&format!("{{ {roots} }}"), &limits).limit,
            Limit::RootFields
        );
        let in_fragment = format!("{{ ...F }} fragment F on Q {{ {aliases} }}");
        assert_eq!(refused(&in_fragment, &limits).limit, Limit::Aliases);
    }

    #[test]
    fn depth_after_expansion_counts_spreads_like_async_graphql() {
        let limits = DocumentLimits {
            max_nesting: 3,
            ..DocumentLimits::default()
        };
        // Operation set (1) → F's set (2) → a's set (3).
        assert!(parse("{ ...F } fragment F on Q { a { b } }", &limits).is_ok());
        let r = refused("{ ...F } fragment F on Q { a { b { c } } }", &limits);
        assert_eq!((r.limit, r.found), (Limit::ExpandedNesting, 4));
    }
}
