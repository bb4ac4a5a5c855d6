//! The `hostile` scenario: what one anonymous attacker sending the worst documents the
//! server accepts (and some it refuses) costs everyone else.
//!
//! Three measurements in one run: `point-auth` with 16 logged-in clients alone; the same
//! while one anonymous client sends [`documents`] round-robin at the anonymous rate limit
//! (20/s by default); and, with nothing else running, the server CPU each document costs
//! (from `/proc/<pid>/stat`, over [`COST_SAMPLES`] sequential sends). The documents are the
//! worst shapes under the default limits of `SF_MAX_DOCUMENT_BYTES` (32 KiB),
//! `SF_MAX_DOCUMENT_TOKENS` (3,500, every 8 bytes counting one more), `SF_MAX_OPERATIONS`
//! (50) and `SF_MAX_SELECTIONS` (5,000); a server with other limits refuses other documents,
//! which the cost table's status column shows.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::json;

use crate::load::{self, LoadConfig, Target};
use crate::report::{Row, RowResult};

/// Sequential sends per document when measuring its CPU cost.
pub const COST_SAMPLES: u32 = 100;
/// The attacker's pace: the default anonymous rate limit, 20 operations a second.
const ATTACK_INTERVAL: Duration = Duration::from_millis(50);

/// `levels` fragments each spreading the next twice.
fn fan_out(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for i in 0..levels {
        doc.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    doc + &format!("fragment F{levels} on QueryRoot {{ __typename }}\n")
}

/// The attacker's documents: a name, whether the default limits accept it, and the body.
pub fn documents() -> Vec<(&'static str, bool, String)> {
    let body = |query: String| json!({ "query": query }).to_string();
    let operations: String = (0..50)
        .map(|i| format!("query Q{i} {{ __typename }} "))
        .collect();
    let fragments = {
        let spreads: String = (0..150).map(|i| format!("...F{i} ")).collect();
        let defs: String = (0..150)
            .map(|i| format!("fragment F{i} on QueryRoot {{ __typename }} "))
            .collect();
        format!("query {{ ...G }} fragment G on QueryRoot {{ {spreads} }} {defs}")
    };
    let wide = "query { ...G } fragment G on QueryRoot { ...F0 ...F0 ...F0 ...F0 } \
                fragment F0 on QueryRoot { ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 \
                ...F1 } fragment F1 on QueryRoot { ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 \
                ...F2 ...F2 } fragment F2 on QueryRoot { __typename __typename __typename \
                __typename __typename __typename __typename __typename __typename __typename }";
    vec![
        (
            "2,790-item list argument (3,490 weighted tokens)",
            true,
            body(format!("{{ __typename(a: [{}]) }}", "1 ".repeat(2_790))),
        ),
        (
            "27 KB string argument",
            true,
            body(format!("{{ __typename(a: \"{}\") }}", "x".repeat(27_700))),
        ),
        (
            "50 operations",
            true,
            json!({ "query": operations, "operationName": "Q1" }).to_string(),
        ),
        ("150 fragments", true, body(fragments)),
        (
            "4,445 selections via fragments",
            true,
            body(wide.to_owned()),
        ),
        (
            "fragment fan-out, 3,070 selections",
            true,
            body(fan_out(10)),
        ),
        (
            "nesting 64",
            true,
            body(format!(
                "{{ __typename(a: {}1{}) }}",
                "[".repeat(62),
                "]".repeat(62)
            )),
        ),
        (
            "500 validation errors",
            true,
            body(format!(
                "{{ sites({}) {{ code }} }}",
                (0..500).map(|i| format!("a{i}: 1 ")).collect::<String>()
            )),
        ),
        (
            "refused: 2,000 nested brackets",
            false,
            body(format!(
                "{{ __typename(a: {}1{}) }}",
                "[".repeat(2_000),
                "]".repeat(2_000)
            )),
        ),
        ("refused: fragment fan-out 40", false, body(fan_out(40))),
        (
            "refused: 1.1 MB of fields",
            false,
            body(format!("{{ {} }}", "__typename ".repeat(100_000))),
        ),
    ]
}

/// One anonymous POST; the status.
async fn send(client: &reqwest::Client, url: &str, body: &str) -> Result<u16> {
    let response = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/graphql-response+json")
        .body(body.to_owned())
        .send()
        .await
        .context("hostile request")?;
    let status = response.status().as_u16();
    response.bytes().await.context("hostile body")?;
    Ok(status)
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

/// Runs the scenario: two `point-auth` rows (alone, under attack) and the cost table.
pub async fn run(
    client: &reqwest::Client,
    graphql_url: &str,
    point: Arc<Target>,
    cfg: LoadConfig,
    pid: Option<u32>,
) -> Result<(Vec<Row>, String)> {
    let docs = Arc::new(documents());
    eprintln!("hostile: point-auth alone ...");
    let alone = load::summarize(&load::run(client, point.clone(), cfg).await?, cfg.duration);

    eprintln!("hostile: point-auth with one attacker at 20 documents/s ...");
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let server_errors = Arc::new(AtomicU64::new(0));
    let attacker = {
        let (client, url, docs) = (client.clone(), graphql_url.to_owned(), docs.clone());
        let (stop, sent, server_errors) = (stop.clone(), sent.clone(), server_errors.clone());
        tokio::spawn(async move {
            let mut next = Instant::now();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let (_, _, body) = &docs[i % docs.len()];
                match send(&client, &url, body).await {
                    Ok(status) if status >= 500 => {
                        server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => {
                        server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                sent.fetch_add(1, Ordering::Relaxed);
                i += 1;
                next += ATTACK_INTERVAL;
                tokio::time::sleep_until(next.into()).await;
            }
        })
    };
    let attacked = load::summarize(&load::run(client, point, cfg).await?, cfg.duration);
    stop.store(true, Ordering::Relaxed);
    attacker.await.context("attacker task")?;
    let ratio = attacked.req_per_s / alone.req_per_s.max(f64::MIN_POSITIVE);

    let mut table = String::new();
    writeln!(
        table,
        "\nhostile: point-auth under attack {:.1} req/s vs {:.1} alone = {:.2}×; attacker sent {} \
         documents, {} answered 5xx or failed\n",
        attacked.req_per_s,
        alone.req_per_s,
        ratio,
        sent.load(Ordering::Relaxed),
        server_errors.load(Ordering::Relaxed)
    )?;
    writeln!(table, "| document | bytes | status | server CPU ms/doc |")?;
    writeln!(table, "|---|---:|---:|---:|")?;
    for (name, _, body) in docs.iter() {
        let status = send(client, graphql_url, body).await?;
        let before = pid.and_then(cpu_seconds);
        for _ in 0..COST_SAMPLES {
            send(client, graphql_url, body).await?;
        }
        let cost = match (before, pid.and_then(cpu_seconds)) {
            (Some(a), Some(b)) => format!("{:.2}", (b - a) * 1000.0 / f64::from(COST_SAMPLES)),
            _ => "n/a".to_owned(),
        };
        writeln!(table, "| {name} | {} | {status} | {cost} |", body.len())?;
    }
    let rows = vec![
        Row {
            scenario: "hostile: point-auth alone".into(),
            result: RowResult::Measured(alone),
            rss_kb: None,
        },
        Row {
            scenario: "hostile: point-auth + attacker".into(),
            result: RowResult::Measured(attacked),
            rss_kb: None,
        },
    ];
    Ok((rows, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_documents_fit_the_default_byte_limit() {
        for (name, accepted, body) in documents() {
            let request: serde_json::Value = serde_json::from_str(&body).expect("json");
            let len = request["query"].as_str().expect("query").len();
            if accepted {
                assert!(len <= 32 * 1024, "{name}: {len} bytes");
            }
        }
    }
}
