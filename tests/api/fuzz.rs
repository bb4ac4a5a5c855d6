//! Fuzzing the GraphQL path with the real binary: documents from a GraphQL-aware grammar
//! (deep values, fragments, directives, aliases, odd strings and numbers) and mutations of
//! real queries (bytes cut, repeated, or spliced with brackets, quotes and escapes), sent to
//! a server process. Each answer must be a 4xx or a GraphQL response — data, or errors that
//! all carry a code — never a 5xx, and the server must answer `/health/live` after each.
//!
//! `cargo test` runs a fixed seed and a random one (printed when it fails). For longer runs:
//! `SF_FUZZ_CASES=20000 cargo test --release --test api fuzz -- --nocapture`, and
//! `SF_FUZZ_SEED=<n>` replays one seed.

use std::time::Duration;

use proptest::{
    prelude::*,
    strategy::ValueTree as _,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::{Value, json};

use crate::process::ServerProcess;

/// Real queries of the suite, the seeds of the mutations.
const SEEDS: &[&str] = &[
    "{ workshops(first: 100) { edges { node { id code name lines { id code name equipment { \
     id code name status sensors { id tag latest { ts value quality } } } } } } } }",
    "query Point($id: ID!) { equipmentById(id: $id) { id code name status sensors { id tag \
     metric unit latest { ts value quality } } } }",
    "query { alarms(filter: {open: true}, first: 100) { totalCount edges { node { id severity \
     message startTs equipment { id code } } } } }",
    "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { \
     accessToken } }",
    "query Series($ids: [ID!]!, $from: DateTime!, $to: DateTime!) { readingSeries(sensorIds: \
     $ids, from: $from, to: $to, maxPoints: 500, aggs: [AVG, MIN, MAX]) { sensorId points { ts \
     avg } } }",
    "query { ...F } fragment F on QueryRoot { sites { code ... on Site { name } } }",
];

const FIELDS: &[&str] = &[
    "__typename",
    "sites",
    "workshops",
    "lines",
    "equipment",
    "sensors",
    "latest",
    "alarms",
    "code",
    "name",
    "id",
    "edges",
    "node",
    "__schema",
    "types",
    "fields",
    "ofType",
    "me",
    "login",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[_a-zA-Z][_a-zA-Z0-9]{0,12}",
        1 => (1usize..3000).prop_map(|n| "n".repeat(n)),
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        (1usize..400).prop_map(|n| format!("1{}", "9".repeat(n))),
        Just("1e999999".to_owned()),
        Just("-0.0e-0".to_owned()),
        "\"([a-z ]|\\\\n|\\\\u00e9|\\\\uD800|\\\\uDFFF|\\\\\"|🏭|\\\\x){0,20}\"",
        Just("\"\"\"block \\\"\"\" \"\"\"".to_owned()),
        Just("\"unterminated".to_owned()),
        "[A-Z_]{1,10}",
        Just("$v".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(80, 400, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((name(), inner), 0..5).prop_map(|fields| {
                let body: Vec<_> = fields
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn arguments() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => prop::collection::vec((name(), value()), 1..4).prop_map(|args| {
            let body: Vec<_> = args.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("({})", body.join(", "))
        }),
    ]
}

fn directives() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        1 => Just(" @include(if: true)".to_owned()),
        1 => Just(" @skip(if: $v)".to_owned()),
        1 => (1usize..200).prop_map(|n| " @skip(if: false)".repeat(n)),
        1 => Just(" @unknown".to_owned()),
    ]
}

fn selection_set() -> impl Strategy<Value = String> {
    let leaf = (name(), arguments(), directives()).prop_map(|(n, a, d)| format!("{n}{a}{d}"));
    let set = leaf.prop_recursive(70, 300, 8, |inner| {
        let field = (
            prop::option::of(name()),
            name(),
            arguments(),
            directives(),
            prop::collection::vec(inner.clone(), 1..6),
        )
            .prop_map(|(alias, n, a, d, items)| {
                let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
                format!("{alias}{n}{a}{d} {{ {} }}", items.join(" "))
            });
        let spread =
            (0usize..4, 1usize..40).prop_map(|(f, times)| format!("...F{f} ").repeat(times));
        let inline = prop::collection::vec(inner, 1..4)
            .prop_map(|items| format!("... on QueryRoot {{ {} }}", items.join(" ")));
        prop_oneof![4 => field, 1 => spread, 1 => inline]
    });
    prop::collection::vec(set, 1..6).prop_map(|items| format!("{{ {} }}", items.join(" ")))
}

fn document() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("query"),
            Just("query Q($v: Boolean)"),
            Just("mutation"),
            Just("subscription"),
            Just("")
        ],
        selection_set(),
        prop::collection::vec(selection_set(), 0..4),
    )
        .prop_map(|(head, operation, fragments)| {
            let mut doc = format!("{head} {operation}");
            for (i, body) in fragments.iter().enumerate() {
                doc.push_str(&format!(" fragment F{i} on QueryRoot {body}"));
            }
            doc
        })
}

/// One edit of a real query.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize, usize),
    Repeat(usize, usize, usize),
    Insert(usize, String),
}

fn mutated() -> impl Strategy<Value = String> {
    let edit = prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, len)| Edit::Cut(at, len)),
        (any::<usize>(), 1usize..30, 2usize..400).prop_map(|(at, len, n)| Edit::Repeat(at, len, n)),
        (
            any::<usize>(),
            "([{}\\[\\]()\"\\\\#@$!:=|&.]|\\.\\.\\.|\"\"\"|\\\\u[0-9a-fA-F]{4}|é|\u{0}){1,8}"
        )
            .prop_map(|(at, s)| Edit::Insert(at, s)),
    ];
    (
        prop::sample::select(SEEDS),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(|(seed, edits)| {
            let mut doc: Vec<char> = seed.chars().collect();
            for edit in edits {
                let len = doc.len().max(1);
                match edit {
                    Edit::Cut(at, n) => {
                        let at = at % len;
                        let end = (at + n).min(doc.len());
                        doc.drain(at.min(end)..end);
                    }
                    Edit::Repeat(at, n, times) => {
                        let at = at % len;
                        let end = (at + n).min(doc.len());
                        let piece: Vec<char> = doc[at.min(end)..end].to_vec();
                        for _ in 0..times {
                            doc.splice(end..end, piece.iter().copied());
                        }
                    }
                    Edit::Insert(at, s) => {
                        let at = (at % len).min(doc.len());
                        doc.splice(at..at, s.chars());
                    }
                }
            }
            doc.into_iter().collect()
        })
}

/// A request body: a document with variables of random shape.
fn request() -> impl Strategy<Value = Value> {
    let variables = prop_oneof![
        3 => Just(json!({})),
        1 => Just(json!({ "v": true })),
        1 => (1usize..120).prop_map(|depth| {
            let mut v = json!(1);
            for _ in 0..depth {
                v = json!([v]);
            }
            json!({ "v": v })
        }),
        1 => Just(json!({ "v": "\u{0}\u{ffff}🏭" })),
    ];
    (prop_oneof![1 => document(), 1 => mutated()], variables)
        .prop_map(|(query, variables)| json!({ "query": query, "variables": variables }))
}

fn cases_per_seed() -> usize {
    std::env::var("SF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

async fn run_seed(server: &mut ServerProcess, client: &reqwest::Client, seed: u64) {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = request();
    for case in 0..cases_per_seed() {
        let body = strategy
            .new_tree(&mut runner)
            .expect("a generated case")
            .current();
        let accept = if case % 2 == 0 {
            "application/graphql-response+json"
        } else {
            "application/json"
        };
        let shown = || {
            let text = body.to_string();
            let cut: String = text.chars().take(1_500).collect();
            format!("seed {seed}, case {case}: {cut}")
        };
        let response = client
            .post(format!("{}/graphql", server.address))
            .header("accept", accept)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer ({e}) to {}", shown()));
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.as_u16() < 500, "status {status} for {}", shown());
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("a non-JSON answer {text:.200} to {}", shown()));
        for err in answer["errors"].as_array().into_iter().flatten() {
            assert!(
                err["extensions"]["code"].is_string(),
                "an error without a code {err} for {}",
                shown()
            );
            let message = err["message"].as_str().unwrap_or("");
            assert!(
                message.chars().count() <= 400,
                "a long message for {}",
                shown()
            );
        }
        assert!(
            answer.get("data").is_some() || answer.get("errors").is_some(),
            "neither data nor errors for {}",
            shown()
        );
        assert!(server.alive(client).await, "the server died on {}", shown());
    }
}

#[tokio::test]
async fn random_and_mutated_documents_never_crash_the_server() {
    // Development profile: queries that pass the guard run as the development admin, so
    // the resolvers see the generated arguments too.
    let mut server = ServerProcess::start(&[("SF_RATE_LIMIT", "off")]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let seeds = match std::env::var("SF_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => vec![20_261_201, rand_seed()],
    };
    for seed in seeds {
        eprintln!("fuzz: seed {seed}, {} cases", cases_per_seed());
        run_seed(&mut server, &client, seed).await;
    }
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
