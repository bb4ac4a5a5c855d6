//! The corpus of known hostile document shapes: each one a way a single request has taken
//! down or pinned a GraphQL server (here or in other servers' advisories), with the codes an
//! answer may carry. `hostile.rs` sends every case over every transport.

use serde_json::{Value, json};

/// What a case sends.
pub enum Payload {
    /// A GraphQL request: every transport can carry it.
    Graphql { query: String, variables: Value },
    /// A raw HTTP body: POST only.
    Raw(Vec<u8>),
}

pub struct Case {
    pub name: &'static str,
    pub payload: Payload,
    /// The acceptable `extensions.code` values of the first error.
    pub codes: &'static [&'static str],
}

const TOO_COMPLEX: &[&str] = &["QUERY_TOO_COMPLEX"];
const TOO_LARGE: &[&str] = &["DOCUMENT_TOO_LARGE"];
const BAD_INPUT: &[&str] = &["BAD_USER_INPUT"];
/// A document the guard accepts that then fails validation, auth or a library limit.
const REFUSED_LATER: &[&str] = &[
    "BAD_USER_INPUT",
    "QUERY_TOO_COMPLEX",
    "UNAUTHENTICATED",
    "FORBIDDEN",
];

fn query(name: &'static str, query: String, codes: &'static [&'static str]) -> Case {
    Case {
        name,
        payload: Payload::Graphql {
            query,
            variables: json!({}),
        },
        codes,
    }
}

fn with_variables(
    name: &'static str,
    query: &str,
    variables: Value,
    codes: &'static [&'static str],
) -> Case {
    Case {
        name,
        payload: Payload::Graphql {
            query: query.to_owned(),
            variables,
        },
        codes,
    }
}

/// `levels` fragments, each spreading the next twice.
pub fn fragment_fan_out(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
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

/// `length` fragments, each spreading the next once.
pub fn fragment_chain(length: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..length {
        doc.push_str(&format!(" fragment F{i} on QueryRoot {{ ...F{} }}", i + 1));
    }
    doc + &format!(" fragment F{length} on QueryRoot {{ __typename }}")
}

/// `[[[…1…]]]` nested `depth` deep, as a GraphQL value.
pub fn deep_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{a:{a:…1…}}` nested `depth` deep, as a GraphQL value.
pub fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{a:".repeat(depth), "}".repeat(depth))
}

/// Selection sets nested `depth` deep.
pub fn deep_selection(depth: usize) -> String {
    format!("{}{}", "{ a ".repeat(depth), "}".repeat(depth))
}

fn json_nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

/// Every case. `nesting` is the server's `SF_MAX_NESTING`.
pub fn cases(nesting: usize) -> Vec<Case> {
    let at_limit = nesting - 2; // the field's `{` and the argument's `(` count too
    vec![
        // The crash of the issue: 2,000 list brackets (4 KB) and 3,000 object levels.
        query(
            "deep list value",
            format!("{{ __typename(a: {}) }}", deep_list(2_000)),
            TOO_COMPLEX,
        ),
        query(
            "deep object value",
            format!("{{ __typename(a: {}) }}", deep_object(3_000)),
            TOO_COMPLEX,
        ),
        query(
            "very deep list value (200,000 brackets)",
            format!("{{ __typename(a: {}) }}", deep_list(200_000)),
            TOO_LARGE,
        ),
        query("deep selections", deep_selection(1_000), TOO_COMPLEX),
        query(
            "deep list type",
            format!(
                "query($v: {}Int{}) {{ __typename }}",
                "[".repeat(2_000),
                "]".repeat(2_000)
            ),
            TOO_COMPLEX,
        ),
        query(
            "deep default value",
            format!("query($v: [Int] = {}) {{ __typename }}", deep_list(2_000)),
            TOO_COMPLEX,
        ),
        // Just inside the limit: the parser must handle it on a worker's stack.
        query(
            "list value at the nesting limit",
            format!("{{ sites(a: {}) {{ code }} }}", deep_list(at_limit)),
            REFUSED_LATER,
        ),
        query(
            "object value at the nesting limit",
            format!("{{ sites(a: {}) {{ code }} }}", deep_object(at_limit)),
            REFUSED_LATER,
        ),
        query(
            "selections at the nesting limit",
            deep_selection(nesting),
            REFUSED_LATER,
        ),
        // Fragment fan-out: 2^20 and 2^40 expanded selections, and cycles.
        query("fragment fan-out 20", fragment_fan_out(20), TOO_COMPLEX),
        query("fragment fan-out 40", fragment_fan_out(40), TOO_COMPLEX),
        query(
            "fragment cycle",
            "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }"
                .into(),
            BAD_INPUT,
        ),
        query(
            "self-spreading fragment",
            "query { ...A } fragment A on QueryRoot { __typename ...A }".into(),
            BAD_INPUT,
        ),
        query(
            "fragment chain 2,000 long",
            fragment_chain(2_000),
            TOO_LARGE,
        ),
        query(
            "fragment chain past the nesting limit",
            fragment_chain(100),
            TOO_COMPLEX,
        ),
        // Sheer size.
        query(
            "100,000 repeated fields (1.1 MB)",
            format!("{{ {} }}", "__typename ".repeat(100_000)),
            TOO_LARGE,
        ),
        query(
            "too many tokens inside the byte limit",
            format!("{{ {} }}", "a ".repeat(5_000)),
            TOO_LARGE,
        ),
        query(
            "field duplication",
            format!("{{ {} }}", "__typename ".repeat(50)),
            TOO_COMPLEX,
        ),
        query(
            "aliases",
            format!(
                "{{ {} }}",
                (0..100)
                    .map(|i| format!("a{i}: __typename "))
                    .collect::<String>()
            ),
            TOO_COMPLEX,
        ),
        query(
            "50,000 directives on one field",
            format!("{{ __typename {} }}", "@skip(if: false) ".repeat(50_000)),
            TOO_LARGE,
        ),
        query(
            "directives past the document limit",
            format!(
                "{{ {} }}",
                (0..300)
                    .map(|i| format!("a{i}: __typename @skip(if: false) "))
                    .collect::<String>()
            ),
            TOO_COMPLEX,
        ),
        query(
            "directives on one field",
            format!("{{ __typename {} }}", "@include(if: true) ".repeat(20)),
            TOO_COMPLEX,
        ),
        // Values the parser must take without echoing them back.
        query(
            "huge string argument",
            format!("{{ sites(a: \"{}\") {{ code }} }}", "x".repeat(20_000)),
            REFUSED_LATER,
        ),
        query(
            "huge number argument",
            format!("{{ sites(a: 1{}) {{ code }} }}", "0".repeat(20_000)),
            REFUSED_LATER,
        ),
        query(
            "huge exponent",
            "{ sites(a: 1e99999999999999999999) { code } }".into(),
            REFUSED_LATER,
        ),
        query(
            "unknown field with a 20 KB name",
            format!("{{ {} }}", "f".repeat(20_000)),
            REFUSED_LATER,
        ),
        query(
            "syntax error in a 13 KB document",
            format!("{{ {} (((: }}", "__typename ".repeat(1_200)),
            BAD_INPUT,
        ),
        query(
            "many validation errors",
            format!(
                "{{ sites({}) {{ code }} }}",
                (0..500).map(|i| format!("a{i}: 1 ")).collect::<String>()
            ),
            REFUSED_LATER,
        ),
        query(
            "lone surrogate escapes in a string",
            "{ sites(a: \"\\uD800\\uDBFF x \\uDFFF\") { code } }".into(),
            REFUSED_LATER,
        ),
        query(
            "control characters",
            "{ __typename\u{0000}\u{0007} }".into(),
            BAD_INPUT,
        ),
        query(
            "too many operations",
            (0..60)
                .map(|i| format!("query Q{i} {{ __typename }} "))
                .collect(),
            TOO_COMPLEX,
        ),
        query(
            "white space past the token budget",
            format!("{{ __typename {} }}", " ".repeat(30_000)),
            TOO_LARGE,
        ),
        query(
            "many anonymous operations",
            "{ __typename } ".repeat(500),
            BAD_INPUT,
        ),
        query(
            "introspection cycle",
            format!(
                "{{ __schema {{ types {}{} }} }}",
                "{ fields { type { ofType ".repeat(20),
                "{ name } } } }".repeat(20)
            ),
            REFUSED_LATER,
        ),
        query("empty document", String::new(), BAD_INPUT),
        // Variables.
        with_variables(
            "variables nested past the limit",
            "query($v: [Int]) { __typename }",
            json!({ "v": json_nested(100) }),
            TOO_COMPLEX,
        ),
        with_variables(
            "variables past the size limit",
            "query($v: String) { __typename }",
            json!({ "v": "x".repeat(1_200_000) }),
            TOO_LARGE,
        ),
        // Bodies that are not GraphQL requests at all.
        Case {
            name: "invalid UTF-8 body",
            payload: Payload::Raw(b"{\"query\": \"{ __typename \xff\xfe }\"}".to_vec()),
            codes: BAD_INPUT,
        },
        Case {
            name: "lone surrogate in the JSON body",
            payload: Payload::Raw(br#"{"query": "{ __typename(a: \"\ud800\") }"}"#.to_vec()),
            codes: BAD_INPUT,
        },
        Case {
            name: "JSON nested past the parser's limit",
            payload: Payload::Raw(
                format!(
                    "{{\"query\": \"{{ __typename }}\", \"variables\": {{\"v\": {}1{}}}}}",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                )
                .into_bytes(),
            ),
            codes: BAD_INPUT,
        },
        Case {
            name: "batch of the maximum size over the batch's byte budget",
            payload: Payload::Raw(
                serde_json::to_vec(&vec![json!({ "query": fragment_fan_out(80) }); 20])
                    .expect("json"),
            ),
            codes: TOO_LARGE,
        },
        Case {
            name: "batch of small fan-out documents",
            payload: Payload::Raw(
                serde_json::to_vec(&vec![json!({ "query": fragment_fan_out(25) }); 20])
                    .expect("json"),
            ),
            codes: TOO_COMPLEX,
        },
        Case {
            name: "batch over the size limit",
            payload: Payload::Raw(
                serde_json::to_vec(&vec![json!({ "query": "{ __typename }" }); 21]).expect("json"),
            ),
            codes: BAD_INPUT,
        },
    ]
}
