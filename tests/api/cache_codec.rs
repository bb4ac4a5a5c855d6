//! lz4 against zstd on this project's real payloads (the plant tree, a line, a series), the
//! measurement behind the cache's codec choice (BENCHMARKS.md, "Cache compression"). Each
//! payload also round-trips through the cache's own codec on both sides of its threshold.
//! Run with `--nocapture` to see the table; times here come from the test profile
//! (dependencies at opt-level 1), so compare them with each other, not with a release build.

use std::time::Instant;

use serde_json::{Value, json};
use smart_factory::cache::codec;

use crate::helpers::{Shape, TestApp};

const PLANT: &str = "{ workshops(first: 5) { edges { node { id code name lines { id code \
    name status equipment { id code name kind status statusSince attributes sensors { id tag \
    name unit hi hiHi latest { ts value quality } } } } } } } }";
const LINE: &str = "query L($id: ID!) { lineById(id: $id) { id code name equipment { id code \
    name kind status statusSince sensors { id tag name unit latest { ts value } } } } }";
const SERIES: &str = "query S($ids: [ID!]!, $from: DateTime!, $to: DateTime!) { \
    readingSeries(sensorIds: $ids, from: $from, to: $to, maxPoints: 500, aggs: [AVG, MIN, MAX]) \
    { sensorId points { ts avg min max } } }";

/// Mean nanoseconds of `f` over `n` runs.
fn time<T>(n: u32, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let started = Instant::now();
    for _ in 0..n {
        last = f();
    }
    (started.elapsed().as_nanos() as f64 / f64::from(n), last)
}

#[tokio::test]
async fn lz4_and_zstd_on_real_payloads() {
    let app = TestApp::seeded(Shape {
        workshops: 2,
        lines_per_workshop: 4,
        machines_per_line: 5,
        sensors_per_machine: 6,
        fast_share: 0.0,
        history_hours: 2,
        products: 3,
    })
    .await;
    let plant = app.graphql(PLANT, json!({})).await.data().clone();
    let line = app.first_id("lines").await;
    let line = app
        .graphql(LINE, json!({ "id": line }))
        .await
        .data()
        .clone();
    let sensors: Vec<Value> = line["lineById"]["equipment"][0]["sensors"]
        .as_array()
        .expect("sensors")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    let now = chrono::Utc::now();
    let series = app
        .graphql(
            SERIES,
            json!({ "ids": sensors, "from": (now - chrono::Duration::hours(2)).to_rfc3339(),
                "to": now.to_rfc3339() }),
        )
        .await
        .data()
        .clone();
    println!(
        "| payload | JSON bytes | lz4 bytes | lz4 ratio | lz4 enc µs | lz4 dec µs | zstd-3 bytes | zstd ratio | zstd enc µs | zstd dec µs |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, payload) in [("plant tree", &plant), ("line", &line), ("series", &series)] {
        let json = serde_json::to_vec(payload).expect("json");
        let n = if json.len() > 100_000 { 20 } else { 200 };
        let (lz4_enc, packed) = time(n, || lz4_flex::compress_prepend_size(&json));
        let (lz4_dec, unpacked) = time(n, || {
            lz4_flex::decompress_size_prepended(&packed).expect("lz4")
        });
        assert_eq!(unpacked, json);
        let (zstd_enc, zpacked) = time(n, || zstd::bulk::compress(&json, 3).expect("zstd"));
        let (zstd_dec, zunpacked) = time(n, || {
            zstd::bulk::decompress(&zpacked, json.len()).expect("zstd")
        });
        assert_eq!(zunpacked, json);
        println!(
            "| {name} | {} | {} | {:.1}× | {:.0} | {:.0} | {} | {:.1}× | {:.0} | {:.0} |",
            json.len(),
            packed.len(),
            json.len() as f64 / packed.len() as f64,
            lz4_enc / 1000.0,
            lz4_dec / 1000.0,
            zpacked.len(),
            json.len() as f64 / zpacked.len() as f64,
            zstd_enc / 1000.0,
            zstd_dec / 1000.0,
        );
        // The cache's codec round-trips the payload raw and compressed.
        for threshold in [usize::MAX, 1] {
            let encoded = codec::encode(payload, threshold).expect("encode");
            assert_eq!(
                codec::decode::<Value>(&encoded.bytes).as_ref(),
                Some(payload)
            );
        }
    }
}
