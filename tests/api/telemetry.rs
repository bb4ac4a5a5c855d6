//! Telemetry reads: `latestReadings`, raw `readings` and bucketed `readingSeries`. Series are
//! checked against raw readings fetched through the API and bucketed here, independently.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{SMALL, Shape, TestApp, iso, list, time};

const LATEST: &str = "query L($ids: [ID!], $eq: ID, $line: ID) { \
    latestReadings(sensorIds: $ids, equipmentId: $eq, lineId: $line) \
    { sensorId ts value quality } }";

const READINGS: &str = "query R($id: ID!, $from: DateTime!, $to: DateTime!, $limit: Int) { \
    readings(sensorId: $id, from: $from, to: $to, limit: $limit) { sensorId ts value quality } }";

const SERIES: &str = "query S($ids: [ID!]!, $from: DateTime!, $to: DateTime!, $bucket: Int, \
    $maxPoints: Int, $aggs: [Agg!]) { readingSeries(sensorIds: $ids, from: $from, to: $to, \
    bucketSeconds: $bucket, maxPoints: $maxPoints, aggs: $aggs) { sensorId bucketSeconds source \
    points { ts avg min max last sum count } } }";

/// Two lines with one machine each, two sensors per machine: selectors can be told apart.
const TWO_LINES: Shape = Shape {
    workshops: 1,
    lines_per_workshop: 2,
    machines_per_line: 1,
    sensors_per_machine: 2,
    fast_share: 0.0,
    history_hours: 1,
    products: 1,
};

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("a string, got {v}"))
        .to_owned()
}

fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, got {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// A sensor as the plant lists it.
struct SensorInfo {
    id: String,
    equipment_id: String,
    line_id: String,
    latest_ts: DateTime<Utc>,
    latest_value: f64,
}

async fn sensors(app: &TestApp) -> Vec<SensorInfo> {
    let response = app
        .graphql(
            "{ sensors(first: 100) { nodes { id equipmentId equipment { lineId } \
             latest { ts value } } } }",
            json!({}),
        )
        .await;
    list(&response.data()["sensors"]["nodes"])
        .iter()
        .map(|s| SensorInfo {
            id: str_of(&s["id"]),
            equipment_id: str_of(&s["equipmentId"]),
            line_id: str_of(&s["equipment"]["lineId"]),
            latest_ts: time(&s["latest"]["ts"]),
            latest_value: float(&s["latest"]["value"]),
        })
        .collect()
}

/// Every raw reading of `sensor` in `[from, to)`, through the API.
async fn raw(app: &TestApp, sensor: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
    let response = app
        .graphql(
            READINGS,
            json!({ "id": sensor, "from": iso(from), "to": iso(to), "limit": 10_000 }),
        )
        .await;
    let rows = list(&response.data()["readings"]).clone();
    assert!(rows.len() < 10_000, "the fixture must fit in one call");
    rows
}

/// The seeded history of a sensor: from an hour and a bit before its latest reading.
fn history_range(sensor: &SensorInfo) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        sensor.latest_ts - Duration::minutes(70),
        sensor.latest_ts + Duration::seconds(1),
    )
}

async fn series(app: &TestApp, vars: Value) -> Vec<Value> {
    let response = app.graphql(SERIES, vars).await;
    list(&response.data()["readingSeries"]).clone()
}

async fn series_error(app: &TestApp, vars: Value) -> String {
    let response = app.graphql(SERIES, vars).await;
    assert!(
        response.body["data"].is_null() || response.body["data"]["readingSeries"].is_null(),
        "expected no series: {}",
        response.body
    );
    response.error_code()
}

// ---------------------------------------------------------------------------------------------
// latestReadings

#[tokio::test]
async fn latest_readings_by_sensor_ids_match_each_sensors_latest() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    assert_eq!(all.len(), 4);
    // Ask for two of them, in reverse order: the answer is by sensor id.
    let wanted = [all[3].id.clone(), all[1].id.clone()];
    let response = app.graphql(LATEST, json!({ "ids": wanted })).await;
    let rows = list(&response.data()["latestReadings"]);
    let got: Vec<String> = rows.iter().map(|r| str_of(&r["sensorId"])).collect();
    assert_eq!(got, vec![all[1].id.clone(), all[3].id.clone()]);
    for row in rows {
        let sensor = all
            .iter()
            .find(|s| s.id == str_of(&row["sensorId"]))
            .expect("a listed sensor");
        assert_eq!(time(&row["ts"]), sensor.latest_ts);
        assert_eq!(float(&row["value"]), sensor.latest_value);
        assert_eq!(row["quality"], json!(192));
        // The latest value is the newest raw reading.
        let history = raw(
            &app,
            &sensor.id,
            history_range(sensor).0,
            history_range(sensor).1,
        )
        .await;
        let newest = history.last().expect("seeded readings");
        assert_eq!(time(&newest["ts"]), sensor.latest_ts);
        assert_eq!(float(&newest["value"]), sensor.latest_value);
    }
}

#[tokio::test]
async fn latest_readings_leave_out_unknown_sensors_and_accept_an_empty_list() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let response = app
        .graphql(LATEST, json!({ "ids": [all[0].id, "987654"] }))
        .await;
    let rows = list(&response.data()["latestReadings"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(str_of(&rows[0]["sensorId"]), all[0].id);

    let response = app.graphql(LATEST, json!({ "ids": [] })).await;
    assert_eq!(response.data()["latestReadings"], json!([]));
}

#[tokio::test]
async fn latest_readings_by_equipment_are_that_machines_sensors() {
    let app = TestApp::seeded(TWO_LINES).await;
    let all = sensors(&app).await;
    let machine = all[0].equipment_id.clone();
    let mut expected: Vec<String> = all
        .iter()
        .filter(|s| s.equipment_id == machine)
        .map(|s| s.id.clone())
        .collect();
    expected.sort_by_key(|id| id.parse::<i64>().expect("numeric id"));
    assert_eq!(expected.len(), 2);
    let response = app.graphql(LATEST, json!({ "eq": machine })).await;
    let got: Vec<String> = list(&response.data()["latestReadings"])
        .iter()
        .map(|r| str_of(&r["sensorId"]))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn latest_readings_by_line_are_that_lines_sensors() {
    let app = TestApp::seeded(TWO_LINES).await;
    let all = sensors(&app).await;
    let line = all[all.len() - 1].line_id.clone();
    let mut expected: Vec<String> = all
        .iter()
        .filter(|s| s.line_id == line)
        .map(|s| s.id.clone())
        .collect();
    expected.sort_by_key(|id| id.parse::<i64>().expect("numeric id"));
    assert_eq!(expected.len(), 2, "two sensors on the line");
    assert!(expected.len() < all.len(), "the other line has sensors too");
    let response = app.graphql(LATEST, json!({ "line": line })).await;
    let got: Vec<String> = list(&response.data()["latestReadings"])
        .iter()
        .map(|r| str_of(&r["sensorId"]))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn latest_readings_need_exactly_one_selector() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let s = &all[0];
    for vars in [
        json!({}),
        json!({ "ids": [s.id], "eq": s.equipment_id }),
        json!({ "ids": [s.id], "line": s.line_id }),
        json!({ "eq": s.equipment_id, "line": s.line_id }),
        json!({ "ids": [s.id], "eq": s.equipment_id, "line": s.line_id }),
    ] {
        let response = app.graphql(LATEST, vars.clone()).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{vars}");
    }
}

#[tokio::test]
async fn latest_readings_refuse_more_than_1000_ids_and_malformed_ids() {
    let app = TestApp::seeded(SMALL).await;
    let ids: Vec<String> = (1..=1_000).map(|n| n.to_string()).collect();
    let response = app.graphql(LATEST, json!({ "ids": ids })).await;
    assert_eq!(
        list(&response.data()["latestReadings"]).len(),
        4,
        "1,000 ids are allowed; the four seeded sensors are among them"
    );
    let ids: Vec<String> = (1..=1_001).map(|n| n.to_string()).collect();
    let response = app.graphql(LATEST, json!({ "ids": ids })).await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    for bad in ["abc", "0", "-3", ""] {
        let response = app.graphql(LATEST, json!({ "ids": [bad] })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "id {bad:?}");
        let response = app.graphql(LATEST, json!({ "eq": bad })).await;
        assert_eq!(
            response.error_code(),
            "BAD_USER_INPUT",
            "equipment id {bad:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// readings

#[tokio::test]
async fn readings_are_oldest_first_within_the_range() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let sensor = &all[0];
    let (from, to) = history_range(sensor);
    let rows = raw(&app, &sensor.id, from, to).await;
    // One hour every 10 s, both ends included by the seeder.
    assert_eq!(rows.len(), 361);
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| time(&r["ts"])).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "strictly oldest first"
    );
    assert!(times.iter().all(|t| *t >= from && *t < to));
    assert!(rows.iter().all(|r| str_of(&r["sensorId"]) == sensor.id));
    assert_eq!(times.last().copied(), Some(sensor.latest_ts));
}

#[tokio::test]
async fn readings_range_includes_from_and_excludes_to() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let sensor = &all[1];
    let (from, to) = history_range(sensor);
    let rows = raw(&app, &sensor.id, from, to).await;
    let (a, b) = (time(&rows[10]["ts"]), time(&rows[20]["ts"]));
    let part = raw(&app, &sensor.id, a, b).await;
    assert_eq!(part, rows[10..20].to_vec());
}

#[tokio::test]
async fn readings_limit_keeps_the_oldest_and_is_bounded() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let sensor = &all[0];
    let (from, to) = history_range(sensor);
    let rows = raw(&app, &sensor.id, from, to).await;
    let vars =
        |limit: Value| json!({ "id": sensor.id, "from": iso(from), "to": iso(to), "limit": limit });
    let response = app.graphql(READINGS, vars(json!(5))).await;
    assert_eq!(
        list(&response.data()["readings"]).clone(),
        rows[..5].to_vec()
    );
    // Without a limit: the default (1,000) holds the whole hour.
    let response = app.graphql(READINGS, vars(Value::Null)).await;
    assert_eq!(list(&response.data()["readings"]).len(), rows.len());
    // The configured maximum is accepted.
    let max = app.state.config.graphql.max_readings;
    let response = app.graphql(READINGS, vars(json!(max))).await;
    assert_eq!(list(&response.data()["readings"]).len(), rows.len());
    for bad in [json!(0), json!(-1), json!(i32::MIN), json!(max + 1)] {
        let response = app.graphql(READINGS, vars(bad.clone())).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "limit {bad}");
    }
}

#[tokio::test]
async fn readings_refuse_empty_reversed_and_far_away_ranges() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let id = all[0].id.clone();
    let now = all[0].latest_ts;
    let cases = [
        ("from = to", iso(now), iso(now)),
        ("from > to", iso(now), iso(now - Duration::hours(1))),
        ("year 9999", iso(now), "9999-12-31T23:59:59Z".to_owned()),
        ("year 1000", "1000-01-01T00:00:00Z".to_owned(), iso(now)),
        (
            "longer than 366 days",
            iso(now - Duration::days(367)),
            iso(now),
        ),
    ];
    for (what, from, to) in cases {
        let response = app
            .graphql(READINGS, json!({ "id": id, "from": from, "to": to }))
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{what}");
    }
    // A malformed timestamp is refused before the resolver, with a code too.
    let response = app
        .graphql(
            READINGS,
            json!({ "id": id, "from": "yesterday", "to": iso(now) }),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn readings_of_an_unknown_sensor_are_not_found() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let vars = |id: &str| json!({ "id": id, "from": iso(from), "to": iso(to) });
    let response = app.graphql(READINGS, vars("987654")).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    for bad in ["abc", "0", "-1"] {
        let response = app.graphql(READINGS, vars(bad)).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "id {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// readingSeries

/// A bucket computed here from raw readings.
#[derive(Debug, Default)]
struct Bucket {
    values: Vec<f64>,
    /// Newest reading so far: (ts, value).
    last: Option<(DateTime<Utc>, f64)>,
}

fn bucket_raw(rows: &[Value], width: i64) -> BTreeMap<i64, Bucket> {
    let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
    for row in rows {
        let ts = time(&row["ts"]);
        let value = float(&row["value"]);
        let bucket = buckets
            .entry(ts.timestamp().div_euclid(width) * width)
            .or_default();
        bucket.values.push(value);
        if bucket.last.is_none_or(|(t, _)| ts > t) {
            bucket.last = Some((ts, value));
        }
    }
    buckets
}

const ALL_AGGS: [&str; 6] = ["AVG", "MIN", "MAX", "LAST", "SUM", "COUNT"];

#[tokio::test]
async fn series_buckets_equal_raw_readings_bucketed_independently() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    // A range that starts and ends inside buckets.
    let to = all[0].latest_ts - Duration::seconds(95);
    let from = to - Duration::minutes(47);
    let ids = [all[2].id.clone(), all[0].id.clone()];
    let got = series(
        &app,
        json!({ "ids": ids, "from": iso(from), "to": iso(to), "bucket": 300, "aggs": ALL_AGGS }),
    )
    .await;
    assert_eq!(got.len(), 2);
    for (series, id) in got.iter().zip(&ids) {
        assert_eq!(&str_of(&series["sensorId"]), id, "the caller's order");
        assert_eq!(series["bucketSeconds"], json!(300));
        assert_eq!(series["source"], json!("RAW"));
        let rows = raw(&app, id, from, to).await;
        assert!(rows.len() > 200, "the range holds readings");
        let expected = bucket_raw(&rows, 300);
        let points = list(&series["points"]);
        assert_eq!(
            points.len(),
            expected.len(),
            "one point per non-empty bucket"
        );
        for (point, (start, bucket)) in points.iter().zip(&expected) {
            assert_eq!(time(&point["ts"]).timestamp(), *start, "bucket start");
            let n = bucket.values.len();
            let sum: f64 = bucket.values.iter().sum();
            let min = bucket.values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = bucket
                .values
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(point["count"], json!(n));
            assert!(close(float(&point["sum"]), sum), "sum {point} vs {sum}");
            assert!(close(float(&point["avg"]), sum / n as f64), "avg {point}");
            assert_eq!(float(&point["min"]), min);
            assert_eq!(float(&point["max"]), max);
            let (_, last) = bucket.last.expect("a non-empty bucket");
            assert_eq!(float(&point["last"]), last, "LAST is the newest reading");
        }
    }
}

#[tokio::test]
async fn series_counts_add_up_to_the_raw_readings() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let to = all[0].latest_ts - Duration::seconds(3);
    let from = to - Duration::minutes(38) - Duration::seconds(7);
    for width in [2, 7, 60, 600, 3_600] {
        let got = series(
            &app,
            json!({ "ids": [all[1].id], "from": iso(from), "to": iso(to), "bucket": width,
                    "aggs": ["COUNT"] }),
        )
        .await;
        let total: i64 = list(&got[0]["points"])
            .iter()
            .map(|p| p["count"].as_i64().expect("count asked for"))
            .sum();
        let rows = raw(&app, &all[1].id, from, to).await;
        assert_eq!(total, rows.len() as i64, "bucket width {width}");
    }
}

#[tokio::test]
async fn series_min_avg_max_are_consistent() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[3]);
    let got = series(
        &app,
        json!({ "ids": [all[3].id], "from": iso(from), "to": iso(to), "maxPoints": 25,
                "aggs": ["MIN", "AVG", "MAX", "LAST"] }),
    )
    .await;
    let points = list(&got[0]["points"]);
    assert!(!points.is_empty());
    for p in points {
        let (min, avg, max, last) = (
            float(&p["min"]),
            float(&p["avg"]),
            float(&p["max"]),
            float(&p["last"]),
        );
        assert!(min <= avg + 1e-9 && avg <= max + 1e-9, "{p}");
        assert!(min <= last && last <= max, "{p}");
    }
}

#[tokio::test]
async fn series_leave_aggregates_not_asked_for_null() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let base = json!({ "ids": [all[0].id], "from": iso(from), "to": iso(to), "bucket": 600 });
    let fields = ["avg", "min", "max", "last", "sum", "count"];
    let cases: [(Option<Vec<&str>>, Vec<&str>); 4] = [
        (None, vec!["avg"]),
        (Some(vec!["MIN"]), vec!["min"]),
        (Some(vec!["LAST", "COUNT"]), vec!["last", "count"]),
        (Some(ALL_AGGS.to_vec()), fields.to_vec()),
    ];
    for (aggs, present) in cases {
        let mut vars = base.clone();
        if let Some(aggs) = &aggs {
            vars["aggs"] = json!(aggs);
        }
        let got = series(&app, vars).await;
        let points = list(&got[0]["points"]);
        assert!(!points.is_empty());
        for p in points {
            for field in fields {
                assert_eq!(
                    !p[field].is_null(),
                    present.contains(&field),
                    "aggs {aggs:?}: {field} in {p}"
                );
            }
        }
    }
}

#[tokio::test]
async fn series_derived_width_keeps_within_max_points() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    // A range that does not start on a bucket boundary.
    let to = all[0].latest_ts - Duration::seconds(5);
    let from = to - Duration::hours(1);
    for max_points in [1, 2, 7, 10, 60, 500] {
        let got = series(
            &app,
            json!({ "ids": [all[0].id], "from": iso(from), "to": iso(to),
                    "maxPoints": max_points, "aggs": ["COUNT"] }),
        )
        .await;
        let width = got[0]["bucketSeconds"].as_i64().expect("width");
        let points = list(&got[0]["points"]);
        assert!(
            points.len() <= max_points,
            "maxPoints {max_points}: {} buckets of {width} s",
            points.len()
        );
        assert!(width >= 3_600 / max_points as i64, "width {width}");
        let total: i64 = points
            .iter()
            .map(|p| p["count"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(total, 360, "maxPoints {max_points}: every reading counted");
    }
}

#[tokio::test]
async fn series_explicit_bucket_seconds_wins_over_max_points() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let got = series(
        &app,
        json!({ "ids": [all[0].id], "from": iso(from), "to": iso(to), "bucket": 120,
                "maxPoints": 3 }),
    )
    .await;
    assert_eq!(got[0]["bucketSeconds"], json!(120));
    let points = list(&got[0]["points"]);
    assert!(points.len() > 3, "the explicit width decides the buckets");
    for p in points {
        assert_eq!(time(&p["ts"]).timestamp() % 120, 0, "aligned on the epoch");
    }
    // Without an explicit width, the default maxPoints (500) derives it.
    let got = series(
        &app,
        json!({ "ids": [all[0].id], "from": iso(from), "to": iso(to) }),
    )
    .await;
    let span = (to - from).num_seconds();
    assert!(got[0]["bucketSeconds"].as_i64().expect("width") >= span / 500);
}

#[tokio::test]
async fn series_of_a_repeated_sensor_repeat_its_points() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let got = series(
        &app,
        json!({ "ids": [all[0].id, all[0].id], "from": iso(from), "to": iso(to), "bucket": 600 }),
    )
    .await;
    assert_eq!(got.len(), 2);
    assert!(!list(&got[0]["points"]).is_empty());
    assert_eq!(
        got[0], got[1],
        "the same sensor twice: the same series twice"
    );
}

#[tokio::test]
async fn series_refuse_bad_sensor_lists() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let vars = |ids: Value| json!({ "ids": ids, "from": iso(from), "to": iso(to) });
    assert_eq!(series_error(&app, vars(json!([]))).await, "BAD_USER_INPUT");
    let many: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    assert_eq!(
        series_error(&app, vars(json!(many))).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        series_error(&app, vars(json!([all[0].id, "987654"]))).await,
        "NOT_FOUND"
    );
    assert_eq!(
        series_error(&app, vars(json!([all[0].id, "x"]))).await,
        "BAD_USER_INPUT"
    );
    // 100 ids are allowed by count; the unknown ones among them are then not found.
    let hundred: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    assert_eq!(series_error(&app, vars(json!(hundred))).await, "NOT_FOUND");
}

#[tokio::test]
async fn series_refuse_bad_widths_point_counts_and_aggregates() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let (from, to) = history_range(&all[0]);
    let max = app.state.config.graphql.max_series_points;
    let vars = |extra: Value| {
        let mut v = json!({ "ids": [all[0].id], "from": iso(from), "to": iso(to) });
        if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(extra.clone());
        }
        v
    };
    let cases = [
        ("maxPoints 0", json!({ "maxPoints": 0 })),
        ("maxPoints negative", json!({ "maxPoints": -5 })),
        (
            "maxPoints over the maximum",
            json!({ "maxPoints": max + 1 }),
        ),
        ("bucketSeconds 0", json!({ "bucket": 0 })),
        ("bucketSeconds negative", json!({ "bucket": -60 })),
        // 4,201 s at 1 s per bucket is more than the maximum number of points.
        ("bucketSeconds too small", json!({ "bucket": 1 })),
        ("no aggregates", json!({ "aggs": [] })),
    ];
    for (what, extra) in cases {
        let response = app.graphql(SERIES, vars(extra)).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{what}");
    }
    // The argument in error is named as the client wrote it.
    let response = app.graphql(SERIES, vars(json!({ "bucket": 0 }))).await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["field"],
        json!("bucketSeconds"),
        "{}",
        response.body
    );
    // The maximum itself is fine.
    let response = app.graphql(SERIES, vars(json!({ "maxPoints": max }))).await;
    assert_eq!(list(&response.data()["readingSeries"]).len(), 1);
}

#[tokio::test]
async fn series_refuse_reversed_and_far_away_ranges() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let now = all[0].latest_ts;
    let cases = [
        ("from = to", iso(now), iso(now)),
        ("from > to", iso(now), iso(now - Duration::minutes(5))),
        ("year 9999", iso(now), "9999-01-01T00:00:00Z".to_owned()),
        ("year 1000", "1000-01-01T00:00:00Z".to_owned(), iso(now)),
    ];
    for (what, from, to) in cases {
        let code = series_error(
            &app,
            json!({ "ids": [all[0].id], "from": from, "to": to, "bucket": 3_600 }),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT", "{what}");
    }
}

#[tokio::test]
async fn series_of_a_range_without_readings_have_no_points() {
    let app = TestApp::seeded(SMALL).await;
    let all = sensors(&app).await;
    let from = all[0].latest_ts + Duration::hours(1);
    let got = series(
        &app,
        json!({ "ids": [all[0].id], "from": iso(from), "to": iso(from + Duration::hours(1)) }),
    )
    .await;
    assert_eq!(got.len(), 1, "one series per sensor, even when empty");
    assert_eq!(got[0]["points"], json!([]));
}
