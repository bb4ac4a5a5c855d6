//! Alarm lists, filters, orderings and counts, checked against what the test counts itself by
//! paging through `alarms`.

use std::collections::BTreeMap;

use entity::{alarm, enums::Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Shape, TestApp, expected, id_of, ids, insert_user, time},
    pagination::walk,
};

/// Two workshops of two lines with two machines: 24 alarms per workshop (4 h), 4 of them open.
const ALARMS: Shape = Shape {
    workshops: 2,
    lines_per_workshop: 2,
    machines_per_line: 2,
    sensors_per_machine: 1,
    fast_share: 0.0,
    history_hours: 4,
    products: 1,
};

const NODE: &str = "type severity status message startTs lastTs acknowledged cleared \
    occurrences assigneeId workshopId sensor { id } equipment { id lineId workshopId }";

const SEVERITIES: [&str; 5] = ["INDETERMINATE", "WARNING", "MINOR", "MAJOR", "CRITICAL"];
const STATUSES: [&str; 4] = ["ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK"];

fn rank(severity: &Value) -> usize {
    SEVERITIES
        .iter()
        .position(|s| severity == s)
        .unwrap_or_else(|| panic!("unknown severity {severity}"))
}

/// Every alarm matching literal `args`, walked 5 at a time.
async fn alarms(app: &TestApp, args: &str) -> Vec<Value> {
    walk(app, "alarms", args, NODE, 5).await
}

async fn alarms_error(app: &TestApp, filter: &str) -> String {
    let query = format!("{{ alarms(filter: {filter}) {{ totalCount nodes {{ id }} }} }}");
    let response = app.graphql(&query, json!({})).await;
    assert!(response.body["data"].is_null(), "{}", response.body);
    response.error_code()
}

fn assert_newest_first(nodes: &[Value]) {
    for pair in nodes.windows(2) {
        let (a, b) = (time(&pair[0]["startTs"]), time(&pair[1]["startTs"]));
        assert!(
            a > b || (a == b && id_of(&pair[0]) > id_of(&pair[1])),
            "newest first: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test]
async fn all_alarms_are_newest_first_with_the_seeded_shape() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    assert_eq!(
        all.len(),
        48,
        "6 an hour for 4 hours in each of 2 workshops"
    );
    assert_newest_first(&all);
    let open: Vec<_> = all
        .iter()
        .filter(|a| a["cleared"] == json!(false))
        .collect();
    assert_eq!(open.len(), 8, "the last 4 of each workshop are open");
    for a in &all {
        let status = match (a["cleared"].as_bool(), a["acknowledged"].as_bool()) {
            (Some(false), Some(false)) => "ACTIVE_UNACK",
            (Some(false), Some(true)) => "ACTIVE_ACK",
            (Some(true), Some(false)) => "CLEARED_UNACK",
            (Some(true), Some(true)) => "CLEARED_ACK",
            _ => panic!("flags in {a}"),
        };
        assert_eq!(a["status"], json!(status), "status follows the flags");
        assert_eq!(a["workshopId"], a["equipment"]["workshopId"]);
    }
}

#[tokio::test]
async fn alarms_filter_by_workshop() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let mut workshops: Vec<Value> = all.iter().map(|a| a["workshopId"].clone()).collect();
    workshops.dedup();
    workshops.sort_by_key(|w| w.as_str().map(str::to_owned));
    workshops.dedup();
    assert_eq!(workshops.len(), 2);
    let mut seen = 0;
    for w in &workshops {
        let got = alarms(&app, &format!("filter: {{workshopId: {w}}}")).await;
        assert_eq!(ids(&got), expected(&all, |a| &a["workshopId"] == w));
        assert!(!got.is_empty());
        seen += got.len();
    }
    assert_eq!(seen, all.len(), "the workshops partition the alarms");
    let none = alarms(&app, "filter: {workshopId: \"987654\"}").await;
    assert!(none.is_empty(), "an unknown workshop has no alarms");
}

#[tokio::test]
async fn alarms_filter_by_line_and_equipment() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let line = all[0]["equipment"]["lineId"].clone();
    let got = alarms(&app, &format!("filter: {{lineId: {line}}}")).await;
    let want = expected(&all, |a| a["equipment"]["lineId"] == line);
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(ids(&got), want);

    let machine = all[all.len() - 1]["equipment"]["id"].clone();
    let got = alarms(&app, &format!("filter: {{equipmentId: {machine}}}")).await;
    let want = expected(&all, |a| a["equipment"]["id"] == machine);
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(ids(&got), want);

    // Both at once: the machine's line narrows nothing further, another line empties it.
    let own_line = all[all.len() - 1]["equipment"]["lineId"].clone();
    let got = alarms(
        &app,
        &format!("filter: {{lineId: {own_line}, equipmentId: {machine}}}"),
    )
    .await;
    assert_eq!(ids(&got), want);
    let other_line = all
        .iter()
        .map(|a| a["equipment"]["lineId"].clone())
        .find(|l| *l != own_line)
        .expect("another line");
    let got = alarms(
        &app,
        &format!("filter: {{lineId: {other_line}, equipmentId: {machine}}}"),
    )
    .await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn alarms_filter_by_minimum_severity() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let mut sizes = Vec::new();
    for (min, name) in SEVERITIES.iter().enumerate() {
        let got = alarms(&app, &format!("filter: {{minSeverity: {name}}}")).await;
        let want = expected(&all, |a| rank(&a["severity"]) >= min);
        assert_eq!(ids(&got), want, "minSeverity {name}");
        sizes.push(got.len());
    }
    assert_eq!(sizes[0], all.len(), "INDETERMINATE is the floor");
    assert!(sizes[4] > 0 && sizes[4] < sizes[1], "a real cut: {sizes:?}");
}

#[tokio::test]
async fn alarms_filter_by_status_list() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let sets: [&[&str]; 6] = [
        &["ACTIVE_UNACK"],
        &["ACTIVE_ACK"],
        &["CLEARED_ACK"],
        &["CLEARED_UNACK"],
        &["ACTIVE_UNACK", "CLEARED_ACK"],
        &STATUSES,
    ];
    for set in sets {
        let got = alarms(&app, &format!("filter: {{status: [{}]}}", set.join(", "))).await;
        let want = expected(&all, |a| set.iter().any(|s| a["status"] == json!(s)));
        assert_eq!(ids(&got), want, "status {set:?}");
        assert!(
            got.iter()
                .all(|a| set.iter().any(|s| a["status"] == json!(s)))
        );
    }
    // Each status alone (the seed has no CLEARED_UNACK) partitions the alarms.
    let mut total = 0;
    for s in STATUSES {
        total += alarms(&app, &format!("filter: {{status: [{s}]}}"))
            .await
            .len();
    }
    assert_eq!(total, all.len());
}

#[tokio::test]
async fn alarms_filter_by_open_flag() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let open = alarms(&app, "filter: {open: true}").await;
    let closed = alarms(&app, "filter: {open: false}").await;
    assert_eq!(ids(&open), expected(&all, |a| a["cleared"] == json!(false)));
    assert_eq!(
        ids(&closed),
        expected(&all, |a| a["cleared"] == json!(true))
    );
    assert_eq!(open.len(), 8);
    assert_eq!(open.len() + closed.len(), all.len());
    // Combined with a status: open and cleared exclude each other.
    let none = alarms(&app, "filter: {open: true, status: [CLEARED_ACK]}").await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn alarms_filter_by_type_matches_exactly() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let got = alarms(&app, "filter: {type: \"SEED_3\"}").await;
    let want = expected(&all, |a| a["type"] == json!("SEED_3"));
    assert!(!want.is_empty() && want.len() < all.len());
    assert_eq!(ids(&got), want);
    for literal in ["SEED_%", "SEED_", "seed_3", "SEED_3 ", "' OR '1'='1"] {
        let got = alarms(&app, &format!("filter: {{type: {}}}", json!(literal))).await;
        assert!(got.is_empty(), "type {literal:?} matches literally");
    }
    let long = "T".repeat(65);
    assert_eq!(
        alarms_error(&app, &format!("{{type: \"{long}\"}}")).await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn alarms_filter_by_start_range_is_half_open() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    // Newest first: an alarm in the middle bounds the range on both sides.
    let (newer, older) = (&all[10]["startTs"], &all[30]["startTs"]);
    let (to, from) = (time(newer), time(older));
    let got = alarms(&app, &format!("filter: {{from: {older}, to: {newer}}}")).await;
    let want = expected(&all, |a| {
        let t = time(&a["startTs"]);
        t >= from && t < to
    });
    assert!(want.contains(&id_of(&all[30])), "from is inclusive");
    assert!(!want.contains(&id_of(&all[10])), "to is exclusive");
    assert_eq!(ids(&got), want);

    let got = alarms(&app, &format!("filter: {{from: {newer}}}")).await;
    assert_eq!(ids(&got), expected(&all, |a| time(&a["startTs"]) >= to));
    let got = alarms(&app, &format!("filter: {{to: {older}}}")).await;
    assert_eq!(ids(&got), expected(&all, |a| time(&a["startTs"]) < from));

    assert_eq!(
        alarms_error(&app, &format!("{{from: {newer}, to: {older}}}")).await,
        "BAD_USER_INPUT",
        "from after to"
    );
    assert_eq!(
        alarms_error(&app, &format!("{{from: {newer}, to: {newer}}}")).await,
        "BAD_USER_INPUT",
        "from = to"
    );
}

/// Creates a user and assigns it (and a sensor) to some alarms, directly in the database.
async fn assign(app: &TestApp, alarm_ids: &[i64], sensor_id: i64) -> i64 {
    let user = insert_user(app, "tech", Role::Operator).await;
    alarm::Entity::update_many()
        .col_expr(alarm::Column::AssigneeId, Expr::value(user))
        .col_expr(alarm::Column::SensorId, Expr::value(sensor_id))
        .filter(alarm::Column::Id.is_in(alarm_ids.iter().copied()))
        .exec(&app.state.db.write)
        .await
        .expect("assign alarms");
    user
}

#[tokio::test]
async fn alarms_filter_by_assignee_and_sensor() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    assert!(all.iter().all(|a| a["assigneeId"].is_null()));
    let chosen = [id_of(&all[2]), id_of(&all[7]), id_of(&all[40])];
    let sensor: i64 = app
        .first_id("sensors")
        .await
        .parse()
        .expect("numeric sensor id");
    let user = assign(&app, &chosen, sensor).await;
    let got = alarms(&app, &format!("filter: {{assigneeId: \"{user}\"}}")).await;
    assert_eq!(ids(&got), chosen.to_vec());
    assert!(
        got.iter()
            .all(|a| a["assigneeId"] == json!(user.to_string()))
    );
    let got = alarms(&app, &format!("filter: {{sensorId: \"{sensor}\"}}")).await;
    assert_eq!(ids(&got), chosen.to_vec());
    assert!(
        got.iter()
            .all(|a| a["sensor"]["id"] == json!(sensor.to_string()))
    );
    let got = alarms(&app, "filter: {assigneeId: \"987654\"}").await;
    assert!(got.is_empty());
    assert_eq!(
        alarms_error(&app, "{assigneeId: \"nobody\"}").await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn alarms_filters_combine() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let w = all[0]["workshopId"].clone();
    let got = alarms(
        &app,
        &format!("filter: {{workshopId: {w}, minSeverity: MAJOR, open: false}}"),
    )
    .await;
    let want = expected(&all, |a| {
        a["workshopId"] == w && rank(&a["severity"]) >= 3 && a["cleared"] == json!(true)
    });
    assert!(!want.is_empty());
    assert_eq!(ids(&got), want);
}

/// Compares two alarms by an ordering's sort key.
type Compare = fn(&Value, &Value) -> std::cmp::Ordering;

#[tokio::test]
async fn alarms_orderings_hold_across_pages() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let mut all_ids = ids(&all);
    all_ids.sort_unstable();
    let orders: [(&str, Compare); 3] = [
        ("START_DESC", |a, b| {
            time(&b["startTs"]).cmp(&time(&a["startTs"]))
        }),
        ("SEVERITY_DESC", |a, b| {
            rank(&b["severity"]).cmp(&rank(&a["severity"]))
        }),
        ("LAST_DESC", |a, b| {
            time(&b["lastTs"]).cmp(&time(&a["lastTs"]))
        }),
    ];
    for (order, cmp) in orders {
        for size in [1, 4, 7] {
            let got = walk(&app, "alarms", &format!("orderBy: {order}"), NODE, size).await;
            for pair in got.windows(2) {
                let ordering =
                    cmp(&pair[0], &pair[1]).then_with(|| id_of(&pair[1]).cmp(&id_of(&pair[0])));
                assert_eq!(
                    ordering,
                    std::cmp::Ordering::Less,
                    "{order}, pages of {size}: {} before {}",
                    pair[0],
                    pair[1]
                );
            }
            let mut got_ids = ids(&got);
            got_ids.sort_unstable();
            assert_eq!(got_ids, all_ids, "{order}: the same alarms");
        }
    }
    // Severity order with a filter still pages correctly.
    let got = walk(
        &app,
        "alarms",
        "orderBy: SEVERITY_DESC, filter: {open: false}",
        NODE,
        3,
    )
    .await;
    assert_eq!(got.len(), 40);
    assert!(
        got.windows(2)
            .all(|p| rank(&p[0]["severity"]) >= rank(&p[1]["severity"]))
    );
}

const BY_ID: &str = "query A($id: ID!) { alarmById(id: $id) { id type severity status message \
    startTs lastTs acknowledged cleared occurrences assigneeId workshopId sensor { id } \
    equipment { id lineId workshopId } } }";

#[tokio::test]
async fn alarm_by_id_returns_the_listed_alarm() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    for a in [&all[0], &all[17], &all[47]] {
        let response = app.graphql(BY_ID, json!({ "id": a["id"] })).await;
        assert_eq!(&response.data()["alarmById"], a);
    }
    let response = app.graphql(BY_ID, json!({ "id": "987654" })).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    for bad in ["abc", "0", "-4", "1.5"] {
        let response = app.graphql(BY_ID, json!({ "id": bad })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "id {bad:?}");
    }
}

/// Counts by a grouping key, computed here.
fn count_by(alarms: &[Value], key: impl Fn(&Value) -> String) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for a in alarms {
        *counts.entry(key(a)).or_insert(0) += 1;
    }
    counts
}

const COUNTS: &str = "query C($w: ID, $g: AlarmCountGroup!, $open: Boolean!) { \
    alarmCounts(workshopId: $w, groupBy: $g, onlyOpen: $open) \
    { severity status workshopId count } }";

#[tokio::test]
async fn alarm_counts_equal_counting_the_list() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let workshop = all[0]["workshopId"].clone();
    let groups: [(&str, &str); 3] = [
        ("SEVERITY", "severity"),
        ("STATUS", "status"),
        ("WORKSHOP", "workshopId"),
    ];
    for only_open in [true, false] {
        for w in [Value::Null, workshop.clone()] {
            let counted: Vec<Value> = all
                .iter()
                .filter(|a| !only_open || a["cleared"] == json!(false))
                .filter(|a| w.is_null() || a["workshopId"] == w)
                .cloned()
                .collect();
            for (group, key) in groups {
                let response = app
                    .graphql(COUNTS, json!({ "w": w, "g": group, "open": only_open }))
                    .await;
                let rows = response.data()["alarmCounts"]
                    .as_array()
                    .expect("a list")
                    .clone();
                let mut got = BTreeMap::new();
                for row in &rows {
                    for other in ["severity", "status", "workshopId"] {
                        assert_eq!(
                            row[other].is_null(),
                            other != key,
                            "only the grouping key is set: {row}"
                        );
                    }
                    let count = row["count"].as_i64().expect("count");
                    assert!(count > 0, "no empty groups: {row}");
                    let name = row[key].as_str().expect("key").to_owned();
                    assert!(got.insert(name, count).is_none(), "one row per group");
                }
                let want = count_by(&counted, |a| {
                    a[key].as_str().expect("grouping value").to_owned()
                });
                assert_eq!(
                    got, want,
                    "groupBy {group}, onlyOpen {only_open}, workshop {w}"
                );
            }
        }
    }
}

#[tokio::test]
async fn alarm_counts_only_open_by_default() {
    let app = TestApp::seeded(ALARMS).await;
    let response = app
        .graphql(
            "{ alarmCounts(groupBy: WORKSHOP) { workshopId count } }",
            json!({}),
        )
        .await;
    let rows = response.data()["alarmCounts"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["count"] == json!(4)), "{rows:?}");
    let response = app
        .graphql(
            "{ alarmCounts(groupBy: STATUS, workshopId: \"x\") { count } }",
            json!({}),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn equipment_open_alarms_are_its_uncleared_alarms_most_severe_first() {
    let app = TestApp::seeded(ALARMS).await;
    let all = alarms(&app, "").await;
    let response = app
        .graphql(
            "{ equipment(first: 100) { nodes { id openAlarms { id severity startTs cleared \
             equipment { id } } } } }",
            json!({}),
        )
        .await;
    let machines = response.data()["equipment"]["nodes"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(machines.len(), 8);
    let mut total = 0;
    for m in &machines {
        let open = m["openAlarms"].as_array().expect("a list");
        total += open.len();
        let mut got = ids(open);
        got.sort_unstable();
        let mut want = expected(&all, |a| {
            a["equipment"]["id"] == m["id"] && a["cleared"] == json!(false)
        });
        want.sort_unstable();
        assert_eq!(got, want, "open alarms of machine {}", m["id"]);
        for a in open {
            assert_eq!(a["equipment"]["id"], m["id"]);
            assert_eq!(a["cleared"], json!(false));
        }
        for pair in open.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                rank(&a["severity"]) > rank(&b["severity"])
                    || (a["severity"] == b["severity"]
                        && time(&a["startTs"]) >= time(&b["startTs"])),
                "most severe, then newest, first: {a} then {b}"
            );
        }
    }
    assert_eq!(total, 8, "every open alarm belongs to one machine");
}

#[tokio::test]
async fn alarms_filter_by_an_empty_status_list_matches_nothing() {
    let app = TestApp::seeded(ALARMS).await;
    let got = alarms(&app, "filter: {status: []}").await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn alarms_filter_type_with_a_nul_character_is_bad_input() {
    let app = TestApp::seeded(ALARMS).await;
    assert_eq!(
        alarms_error(&app, "{type: \"SEED\\u0000_1\"}").await,
        "BAD_USER_INPUT"
    );
}
