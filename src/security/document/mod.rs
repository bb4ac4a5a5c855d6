//! The guard every GraphQL document passes before anything recursive or super-linear sees it.
//!
//! Three steps, each bounded by the limits rather than by the document: a size check, one
//! linear scan ([`scan`]: tokens, directives, bracket nesting), the parse, and a walk of the
//! parsed document ([`shape`]) that expands each fragment once (memoised) to bound the
//! selections and depth every later visitor will see — async-graphql's depth and complexity
//! visitors expand spreads afresh each time, so `...F1 ...F1` chains cost them 2ⁿ. Variables
//! get the same treatment ([`variables`]). Every refusal names its setting and has a stable
//! code; syntax errors quote at most a short excerpt of the document.
//!
//! All parsing of client documents goes through [`parse`] (clippy's `disallowed-methods`
//! forbids calling the parser directly).

pub mod scan;
pub mod shape;
pub mod variables;

use async_graphql::parser::{Pos, types::ExecutableDocument};

use crate::error::ErrorCode;

/// The limits on one document and its variables (see README, "Request limits").
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// `SF_MAX_DOCUMENT_BYTES`.
    pub max_bytes: usize,
    /// `SF_MAX_DOCUMENT_TOKENS`: tokens, every 8 bytes counting as one more (what the parser
    /// spends, see [`scan`]).
    pub max_tokens: usize,
    /// `SF_MAX_OPERATIONS`: operations defined in one document.
    pub max_operations: usize,
    /// `SF_MAX_NESTING`: brackets in the text, and selection sets after fragment expansion.
    pub max_nesting: usize,
    /// `SF_MAX_SELECTIONS`: fields, spreads and inline fragments of an operation (or of any
    /// fragment) after fragment expansion.
    pub max_selections: usize,
    /// `SF_MAX_DIRECTIVES`: directives in the whole document.
    pub max_directives: usize,
    /// `SF_MAX_DIRECTIVES_PER_FIELD`.
    pub max_directives_per_field: usize,
    /// `SF_MAX_FIELD_REPEATS`: how often one response key may appear in one selection set.
    pub max_field_repeats: usize,
    /// `SF_MAX_ALIASES`: aliases in the document.
    pub max_aliases: usize,
    /// `SF_MAX_ROOT_FIELDS`: root fields of one operation.
    pub max_root_fields: usize,
    /// `SF_MAX_VARIABLES_BYTES`: the variables' size, as JSON.
    pub max_variables_bytes: usize,
}

impl Default for DocumentLimits {
    /// Far above any real client's documents — the whole-plant query is 300 bytes, 100
    /// weighted tokens, 7 levels; GraphiQL's introspection query 1.7 KB, about 500 weighted
    /// tokens, 13 levels — and low enough that the worst accepted document costs under 5 ms
    /// of CPU: the parser spends about 1.1 µs a token and 0.14 µs a byte (BENCHMARKS.md,
    /// "Hostile documents").
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024,
            max_tokens: 3_500,
            max_operations: 50,
            max_nesting: 64,
            max_selections: 5_000,
            max_directives: 100,
            max_directives_per_field: 10,
            max_field_repeats: 10,
            max_aliases: 30,
            max_root_fields: 10,
            max_variables_bytes: 1024 * 1024,
        }
    }
}

/// Which limit a document passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Bytes,
    Tokens,
    Operations,
    Nesting,
    ExpandedNesting,
    Selections,
    Directives,
    DirectivesPerField,
    FieldRepeats,
    Aliases,
    RootFields,
    VariablesBytes,
    VariablesNesting,
}

impl Limit {
    /// The setting that raises it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::Bytes => "SF_MAX_DOCUMENT_BYTES",
            Self::Tokens => "SF_MAX_DOCUMENT_TOKENS",
            Self::Operations => "SF_MAX_OPERATIONS",
            Self::Nesting | Self::ExpandedNesting | Self::VariablesNesting => "SF_MAX_NESTING",
            Self::Selections => "SF_MAX_SELECTIONS",
            Self::Directives => "SF_MAX_DIRECTIVES",
            Self::DirectivesPerField => "SF_MAX_DIRECTIVES_PER_FIELD",
            Self::FieldRepeats => "SF_MAX_FIELD_REPEATS",
            Self::Aliases => "SF_MAX_ALIASES",
            Self::RootFields => "SF_MAX_ROOT_FIELDS",
            Self::VariablesBytes => "SF_MAX_VARIABLES_BYTES",
        }
    }

    /// `DOCUMENT_TOO_LARGE` for sheer size, `QUERY_TOO_COMPLEX` for shape.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Bytes | Self::Tokens | Self::VariablesBytes => ErrorCode::DocumentTooLarge,
            _ => ErrorCode::QueryTooComplex,
        }
    }
}

/// A document refused by a limit: which, how much was found (scans stop one past the
/// limit), and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Limit,
    pub found: usize,
    pub max: usize,
    pub pos: Option<Pos>,
}

impl Refusal {
    pub fn new(limit: Limit, found: usize, max: usize) -> Self {
        Self {
            limit,
            found,
            max,
            pos: None,
        }
    }

    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    /// The message for the client: what was found, the limit, and its setting.
    pub fn message(&self) -> String {
        let (found, max) = (self.found, self.max);
        let what = match self.limit {
            Limit::Bytes => format!("the document is {found} bytes; at most {max} are allowed"),
            Limit::Tokens => {
                format!("the document has more than {max} tokens (every 8 bytes count as one more)")
            }
            Limit::Operations => {
                format!("the document defines {found} operations; at most {max} are allowed")
            }
            Limit::Nesting => format!("the document nests more than {max} levels deep"),
            Limit::ExpandedNesting => format!(
                "selections nest {found} levels deep after fragment expansion; at most {max} \
                 are allowed"
            ),
            Limit::Selections => format!(
                "the document expands to {found} selections once its fragments are spread; at \
                 most {max} are allowed"
            ),
            Limit::Directives => format!("the document uses more than {max} directives"),
            Limit::DirectivesPerField => {
                format!("a selection carries {found} directives; at most {max} are allowed")
            }
            Limit::FieldRepeats => format!(
                "one selection set selects the same field {found} times; at most {max} are \
                 allowed"
            ),
            Limit::Aliases => {
                format!("the operation uses {found} aliases; at most {max} are allowed")
            }
            Limit::RootFields => {
                format!("the operation selects {found} root fields; at most {max} are allowed")
            }
            Limit::VariablesBytes => {
                format!("the variables are over {max} bytes")
            }
            Limit::VariablesNesting => format!("the variables nest more than {max} levels deep"),
        };
        format!("{what} ({})", self.limit.setting())
    }
}

/// Why a document was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// A limit: `DOCUMENT_TOO_LARGE` or `QUERY_TOO_COMPLEX`.
    Limit(Refusal),
    /// Not GraphQL, or a document the spec forbids (a fragment cycle): `BAD_USER_INPUT`,
    /// with a bounded message.
    Invalid { message: String, pos: Option<Pos> },
}

impl DocumentError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Limit(refusal) => refusal.limit.code(),
            Self::Invalid { .. } => ErrorCode::BadUserInput,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Limit(refusal) => refusal.message(),
            Self::Invalid { message, .. } => message.clone(),
        }
    }

    pub fn pos(&self) -> Option<Pos> {
        match self {
            Self::Limit(refusal) => refusal.pos,
            Self::Invalid { pos, .. } => *pos,
        }
    }
}

impl From<Refusal> for DocumentError {
    fn from(refusal: Refusal) -> Self {
        Self::Limit(refusal)
    }
}

/// Most characters of the document a syntax error quotes.
pub const EXCERPT_CHARS: usize = 80;

/// Checks `query` against `limits` and parses it. The only way this server parses a client's
/// document.
pub fn parse(query: &str, limits: &DocumentLimits) -> Result<ExecutableDocument, DocumentError> {
    if query.len() > limits.max_bytes {
        return Err(Refusal::new(Limit::Bytes, query.len(), limits.max_bytes).into());
    }
    scan::scan(
        query,
        scan::ScanLimits {
            tokens: limits.max_tokens,
            directives: limits.max_directives,
            nesting: limits.max_nesting,
        },
    )?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the one call, after the linear scan bounded nesting and size"
    )]
    let document =
        async_graphql::parser::parse_query(query).map_err(|e| syntax_error(query, &e))?;
    shape::check(&document, limits)?;
    Ok(document)
}

/// A parser error as a short message: where, what was expected, and an excerpt of at most
/// [`EXCERPT_CHARS`] characters around the position — never the document itself.
fn syntax_error(query: &str, err: &async_graphql::parser::Error) -> DocumentError {
    use async_graphql::parser::Error;
    let pos = err.positions().next();
    let message = match err {
        Error::Syntax { message, start, .. } => {
            // pest's message ends with a line `  = expected …`; the rest repeats the input.
            let expected = message
                .lines()
                .rev()
                .find_map(|l| l.trim_start().strip_prefix("= "))
                .unwrap_or("unexpected input");
            format!(
                "syntax error at line {}, column {}: {}; near `{}`",
                start.line,
                start.column,
                truncate(expected, EXCERPT_CHARS),
                excerpt(query, *start)
            )
        }
        // The others name operations or fragments, whose names are as long as a client likes.
        other => truncate(&other.to_string(), 2 * EXCERPT_CHARS),
    };
    DocumentError::Invalid { message, pos }
}

/// At most [`EXCERPT_CHARS`] characters of the line at `pos`, centred on its column.
fn excerpt(query: &str, pos: Pos) -> String {
    let Some(line) = query.lines().nth(pos.line.saturating_sub(1)) else {
        return String::new();
    };
    let start = pos.column.saturating_sub(1 + EXCERPT_CHARS / 2);
    let text: String = line.chars().skip(start).take(EXCERPT_CHARS).collect();
    let text = text.replace('`', "'");
    let before = if start > 0 { "…" } else { "" };
    let after = if line.chars().nth(start + EXCERPT_CHARS).is_some() {
        "…"
    } else {
        ""
    };
    format!("{before}{text}{after}")
}

/// `text` cut to `max` characters, with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_quote_a_short_excerpt_only() {
        let long = format!("{{ a {} b(: }}", "x ".repeat(1_500));
        let DocumentError::Invalid { message, .. } =
            parse(&long, &DocumentLimits::default()).expect_err("syntax error")
        else {
            panic!("a syntax error")
        };
        assert!(
            message.starts_with("syntax error at line 1, column"),
            "{message}"
        );
        assert!(message.chars().count() < 250, "{} chars", message.len());
        let multi_line = "query {\n  a\n  b(: 1)\n}";
        let err = parse(multi_line, &DocumentLimits::default()).expect_err("syntax error");
        assert!(
            err.message().contains("line 3, column 5"),
            "{}",
            err.message()
        );
        assert_eq!(err.code(), ErrorCode::BadUserInput);
    }

    #[test]
    fn every_refusal_names_its_setting() {
        let limits = DocumentLimits {
            max_bytes: 10,
            ..DocumentLimits::default()
        };
        let err = parse("{ aaaaaaaaaaaa }", &limits).expect_err("too large");
        assert_eq!(err.code(), ErrorCode::DocumentTooLarge);
        assert!(
            err.message().contains("SF_MAX_DOCUMENT_BYTES"),
            "{}",
            err.message()
        );
        let nested = format!("{{ a(x: {}1{}) }}", "[".repeat(65), "]".repeat(65));
        let err = parse(&nested, &DocumentLimits::default()).expect_err("too deep");
        assert_eq!(err.code(), ErrorCode::QueryTooComplex);
        assert!(
            err.message().contains("SF_MAX_NESTING"),
            "{}",
            err.message()
        );
    }

    /// graphql-js' `getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
    /// directiveIsRepeatable: true, inputValueDeprecation: true })`, what GraphiQL sends.
    const INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } \
        mutationType { name } subscriptionType { name } types { ...FullType } directives { \
        name description isRepeatable locations args(includeDeprecated: true) { ...InputValue \
        } } } } fragment FullType on __Type { kind name description specifiedByURL \
        fields(includeDeprecated: true) { name description args(includeDeprecated: true) { \
        ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } \
        inputFields(includeDeprecated: true) { ...InputValue } interfaces { ...TypeRef } \
        enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } \
        possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name description \
        type { ...TypeRef } defaultValue isDeprecated deprecationReason } fragment TypeRef on \
        __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { \
        kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name \
        ofType { kind name } } } } } } } } } }";

    #[test]
    fn real_clients_documents_pass_the_defaults() {
        let limits = DocumentLimits::default();
        parse(INTROSPECTION, &limits).expect("GraphiQL's introspection query");
        let tokens = scan::scan(
            INTROSPECTION,
            scan::ScanLimits {
                tokens: usize::MAX,
                directives: usize::MAX,
                nesting: usize::MAX,
            },
        )
        .expect("scan")
        .tokens;
        assert!(tokens * 4 < limits.max_tokens, "{tokens} weighted tokens");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("ünïcödé", 3), "ünï…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
