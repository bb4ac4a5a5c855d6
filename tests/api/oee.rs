//! `oee`, `downtimePareto` and `oeeUpdated` on plants built by hand, so every figure is
//! known: the domain's worked example, aggregation by summed inputs, the line's bottleneck,
//! the edge rules, the buckets of each granularity, the Pareto order, every bad input and
//! the role rule.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{
    downtime_reason,
    enums::{EquipmentKind, EquipmentStatus, LineStatus, ReasonCategory, StatusSource},
    equipment, equipment_status_event, production_line, production_report, shift, site, workshop,
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::{
    equipment_status::person,
    helpers::{TestApp, iso, list, time},
    live_client::{LiveClient, Transport},
};

const OEE: &str = "query($s: OeeScope!, $from: DateTime!, $to: DateTime!, $g: OeeGranularity!) \
    { oee(scope: $s, from: $from, to: $to, granularity: $g) { start end shiftId shiftName \
    availability performance quality oee plannedTimeS runTimeS stopTimeS totalCount goodCount \
    idealCycleTimeS performanceOverOne equipmentIds } }";

const PARETO: &str = "query($s: OeeScope!, $from: DateTime!, $to: DateTime!) \
    { downtimePareto(scope: $s, from: $from, to: $to) { reasonId code name category downtimeS \
    intervals share } }";

/// 2026-11-02 00:00 UTC, a day in the past.
fn day() -> DateTime<Utc> {
    DateTime::from_timestamp(1_793_577_600, 0).expect("a time")
}

/// `h:m` on the test day.
fn at(h: i64, m: i64) -> DateTime<Utc> {
    day() + Duration::hours(h) + Duration::minutes(m)
}

fn close(got: &Value, want: f64, places: i32) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("a number, got {got}"));
    let tol = 0.5 * 10f64.powi(-places);
    assert!(
        (got - want).abs() < tol,
        "{got} is not {want} to {places} places"
    );
}

/// An empty app and a workshop built row by row.
struct Plant {
    app: TestApp,
    workshop: i64,
    reasons: HashMap<&'static str, i64>,
}

impl Plant {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let db = &app.state.db.write;
        let now = Utc::now();
        let site = site::ActiveModel {
            code: Set("S".into()),
            name: Set("Site".into()),
            timezone: Set("UTC".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("site");
        let workshop = workshop::ActiveModel {
            site_id: Set(site.id),
            code: Set("W1".into()),
            name: Set("Workshop".into()),
            description: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("workshop")
        .id;
        let mut reasons = HashMap::new();
        for (code, category) in [
            ("BREAKDOWN", ReasonCategory::Unplanned),
            ("PLANNED-MAINT", ReasonCategory::Planned),
            ("NO-DEMAND", ReasonCategory::Planned),
            ("CHANGEOVER", ReasonCategory::Setup),
            ("JAM", ReasonCategory::MinorStop),
        ] {
            let r = downtime_reason::ActiveModel {
                code: Set(code.into()),
                name: Set(format!("{code} name")),
                category: Set(category),
                ..Default::default()
            }
            .insert(db)
            .await
            .expect("reason");
            reasons.insert(code, r.id);
        }
        Self {
            app,
            workshop,
            reasons,
        }
    }

    async fn line(&self, code: &str) -> i64 {
        let now = Utc::now();
        production_line::ActiveModel {
            workshop_id: Set(self.workshop),
            code: Set(code.into()),
            name: Set(code.into()),
            status: Set(LineStatus::Running),
            bottleneck_equipment_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.app.state.db.write)
        .await
        .expect("line")
        .id
    }

    async fn set_bottleneck(&self, line: i64, machine: Option<i64>) {
        let row = production_line::Entity::find_by_id(line)
            .one(&self.app.state.db.write)
            .await
            .expect("query")
            .expect("line");
        let mut active: production_line::ActiveModel = row.into();
        active.bottleneck_equipment_id = Set(machine);
        active
            .update(&self.app.state.db.write)
            .await
            .expect("bottleneck");
    }

    async fn machine(&self, line: i64, code: &str, ict: Option<f64>) -> i64 {
        let now = Utc::now();
        equipment::ActiveModel {
            line_id: Set(line),
            workshop_id: Set(self.workshop),
            code: Set(code.into()),
            name: Set(code.into()),
            kind: Set(EquipmentKind::Cnc),
            model: Set(None),
            serial_no: Set(None),
            ideal_cycle_time_s: Set(ict),
            status: Set(EquipmentStatus::Running),
            status_since: Set(now),
            attributes: Set(json!({})),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&self.app.state.db.write)
        .await
        .expect("machine")
        .id
    }

    async fn shift(&self, name: &str, start: DateTime<Utc>, end: DateTime<Utc>, break_s: i32) {
        shift::ActiveModel {
            workshop_id: Set(self.workshop),
            name: Set(name.into()),
            starts_at: Set(start),
            ends_at: Set(end),
            planned_break_s: Set(break_s),
            ..Default::default()
        }
        .insert(&self.app.state.db.write)
        .await
        .expect("shift");
    }

    /// Status intervals back to back from `start`: (status, reason code, minutes).
    async fn statuses(
        &self,
        machine: i64,
        start: DateTime<Utc>,
        runs: &[(EquipmentStatus, Option<&str>, i64)],
    ) {
        let mut t = start;
        for (status, reason, minutes) in runs {
            let end = t + Duration::minutes(*minutes);
            equipment_status_event::ActiveModel {
                equipment_id: Set(machine),
                workshop_id: Set(self.workshop),
                status: Set(*status),
                reason_id: Set(reason.map(|r| self.reasons[r])),
                started_at: Set(t),
                ended_at: Set(Some(end)),
                source: Set(StatusSource::Manual),
                user_id: Set(None),
                ..Default::default()
            }
            .insert(&self.app.state.db.write)
            .await
            .expect("status");
            t = end;
        }
    }

    async fn report(
        &self,
        machine: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        total: i32,
        good: i32,
    ) {
        production_report::ActiveModel {
            equipment_id: Set(machine),
            workshop_id: Set(self.workshop),
            order_id: Set(None),
            shift_id: Set(None),
            period_start: Set(start),
            period_end: Set(end),
            total_count: Set(total),
            good_count: Set(good),
            scrap_count: Set(total - good),
            scrap_reason: Set(None),
            reported_by: Set(None),
            created_at: Set(end),
            ..Default::default()
        }
        .insert(&self.app.state.db.write)
        .await
        .expect("report");
    }

    /// The worked example on a new machine of `line`: a 8.5 h shift with a 30 min break
    /// (480 min planned), 60 min unplanned DOWN, ICT 60 s, 400 made, 380 good.
    async fn worked_example(&self, line: i64, code: &str) -> i64 {
        let m = self.machine(line, code, Some(60.0)).await;
        use EquipmentStatus::*;
        self.statuses(
            m,
            at(6, 0),
            &[
                (Running, None, 240),
                (Down, Some("BREAKDOWN"), 60),
                (Running, None, 210),
            ],
        )
        .await;
        self.report(m, at(6, 0), at(10, 0), 200, 190).await;
        self.report(m, at(11, 0), at(14, 30), 200, 190).await;
        m
    }

    async fn oee(&self, scope: Value, from: DateTime<Utc>, to: DateTime<Utc>, g: &str) -> Value {
        let r = self
            .app
            .graphql(
                OEE,
                json!({ "s": scope, "from": iso(from), "to": iso(to), "g": g }),
            )
            .await;
        r.data()["oee"].clone()
    }

    async fn oee_error(
        &self,
        scope: Value,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        g: &str,
    ) -> String {
        self.app
            .graphql(
                OEE,
                json!({ "s": scope, "from": iso(from), "to": iso(to), "g": g }),
            )
            .await
            .error_code()
    }
}

fn machine_scope(id: i64) -> Value {
    json!({ "equipmentId": id.to_string() })
}

#[tokio::test]
async fn the_worked_example_through_the_api() {
    let p = Plant::new().await;
    p.shift("Early", at(6, 0), at(14, 30), 1_800).await;
    let line = p.line("L1").await;
    let m = p.worked_example(line, "M1").await;
    let buckets = p.oee(machine_scope(m), at(0, 0), at(23, 0), "SHIFT").await;
    let b = &list(&buckets)[0];
    assert_eq!(list(&buckets).len(), 1, "{buckets}");
    assert_eq!(b["shiftName"], "Early");
    close(&b["plannedTimeS"], 480.0 * 60.0, 6);
    close(&b["stopTimeS"], 3_600.0, 6);
    close(&b["runTimeS"], 420.0 * 60.0, 6);
    close(&b["totalCount"], 400.0, 9);
    close(&b["goodCount"], 380.0, 9);
    close(&b["idealCycleTimeS"], 60.0, 9);
    close(&b["availability"], 0.875, 3);
    close(&b["performance"], 0.952, 3);
    close(&b["quality"], 0.95, 3);
    close(&b["oee"], 0.792, 3);
    close(&b["oee"], 380.0 / 480.0, 9);
    assert_eq!(b["performanceOverOne"], false);
    assert_eq!(b["equipmentIds"], json!([m.to_string()]));
}

#[tokio::test]
async fn a_workshop_sums_inputs_instead_of_averaging_percentages() {
    use EquipmentStatus::*;
    let p = Plant::new().await;
    p.shift("Early", at(6, 0), at(14, 30), 1_800).await;
    let (l1, l2) = (p.line("L1").await, p.line("L2").await);
    let a = p.worked_example(l1, "A").await;
    // B: 120 min of planned maintenance (PPT 360 min), 60 min down, ICT 30 s, 400 made, 200 good.
    let b = p.machine(l2, "B", Some(30.0)).await;
    p.statuses(
        b,
        at(6, 0),
        &[
            (Maintenance, Some("PLANNED-MAINT"), 120),
            (Running, None, 120),
            (Down, Some("BREAKDOWN"), 60),
            (Running, None, 210),
        ],
    )
    .await;
    p.report(b, at(8, 0), at(14, 30), 400, 200).await;

    let one = |id: i64| {
        let p = &p;
        async move {
            list(
                &p.oee(machine_scope(id), at(6, 0), at(14, 30), "TOTAL")
                    .await,
            )[0]
            .clone()
        }
    };
    let (ba, bb) = (one(a).await, one(b).await);
    // Planned stops leave planned time: 480 − 120 minutes.
    close(&bb["plannedTimeS"], 360.0 * 60.0, 6);
    close(&bb["runTimeS"], 300.0 * 60.0, 6);
    close(&bb["oee"], 200.0 * 30.0 / (360.0 * 60.0), 9);

    let w = p
        .oee(
            json!({ "workshopId": p.workshop.to_string() }),
            at(6, 0),
            at(14, 30),
            "TOTAL",
        )
        .await;
    let w = &list(&w)[0];
    close(&w["plannedTimeS"], 840.0 * 60.0, 6);
    close(&w["runTimeS"], 720.0 * 60.0, 6);
    close(&w["totalCount"], 800.0, 9);
    close(&w["goodCount"], 580.0, 9);
    let summed = (380.0 * 60.0 + 200.0 * 30.0) / (840.0 * 60.0);
    close(&w["oee"], summed, 9);
    close(&w["availability"], 720.0 / 840.0, 9);
    close(
        &w["performance"],
        (400.0 * 60.0 + 400.0 * 30.0) / (720.0 * 60.0),
        9,
    );
    close(&w["quality"], 580.0 / 800.0, 9);
    let averaged = (ba["oee"].as_f64().expect("oee") + bb["oee"].as_f64().expect("oee")) / 2.0;
    assert!(
        (summed - averaged).abs() > 0.02,
        "the example must tell summing from averaging ({summed} vs {averaged})"
    );
    let mut ids: Vec<String> = list(&w["equipmentIds"])
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn a_line_is_measured_at_its_bottleneck() {
    use EquipmentStatus::*;
    let p = Plant::new().await;
    let line = p.line("L1").await;
    // The slow machine (ICT 60 s) is the bottleneck by rule; the fast one runs all along.
    let slow = p.worked_example(line, "SLOW").await;
    let fast = p.machine(line, "FAST", Some(20.0)).await;
    p.statuses(fast, at(6, 0), &[(Running, None, 510)]).await;
    p.report(fast, at(6, 0), at(14, 30), 1_000, 1_000).await;
    let scope = json!({ "lineId": line.to_string() });

    let b = &list(&p.oee(scope.clone(), at(6, 0), at(14, 30), "TOTAL").await)[0].clone();
    assert_eq!(b["equipmentIds"], json!([slow.to_string()]));
    // No shift: 510 minutes of planned time, 60 of them down.
    close(&b["plannedTimeS"], 510.0 * 60.0, 6);
    close(&b["oee"], 380.0 * 60.0 / (510.0 * 60.0), 9);

    p.set_bottleneck(line, Some(fast)).await;
    let b = &list(&p.oee(scope, at(6, 0), at(14, 30), "TOTAL").await)[0].clone();
    assert_eq!(b["equipmentIds"], json!([fast.to_string()]));
    close(&b["availability"], 1.0, 9);
    close(&b["oee"], 1_000.0 * 20.0 / (510.0 * 60.0), 9);
}

#[tokio::test]
async fn edge_rules_nulls_zero_performance_and_the_over_one_flag() {
    use EquipmentStatus::*;
    let p = Plant::new().await;
    let line = p.line("L1").await;
    let (from, to) = (at(6, 0), at(7, 0));

    // No demand for the whole hour: no planned time, every factor null.
    let none = p.machine(line, "NONE", Some(60.0)).await;
    p.statuses(none, from, &[(Idle, Some("NO-DEMAND"), 60)])
        .await;
    let b = &list(&p.oee(machine_scope(none), from, to, "TOTAL").await)[0].clone();
    assert_eq!(b["plannedTimeS"], 0.0);
    for f in ["availability", "performance", "quality", "oee"] {
        assert!(b[f].is_null(), "{f} of {b}");
    }

    // Running without a count: P 0, Q null.
    let empty = p.machine(line, "EMPTY", Some(60.0)).await;
    p.statuses(empty, from, &[(Running, None, 60)]).await;
    let b = &list(&p.oee(machine_scope(empty), from, to, "TOTAL").await)[0].clone();
    close(&b["runTimeS"], 3_600.0, 6);
    assert_eq!(b["performance"], 0.0);
    assert!(b["quality"].is_null(), "{b}");
    assert_eq!(b["oee"], 0.0);

    // 120 parts of an ideal 60 s in an hour: P 2, flagged and still returned.
    let wrong = p.machine(line, "WRONG", Some(60.0)).await;
    p.statuses(wrong, from, &[(Running, None, 60)]).await;
    p.report(wrong, from, to, 120, 120).await;
    let b = &list(&p.oee(machine_scope(wrong), from, to, "TOTAL").await)[0].clone();
    close(&b["performance"], 2.0, 9);
    assert_eq!(b["performanceOverOne"], true);

    // A minor stop is run time (its loss shows in performance); a reasonless IDLE a stop.
    let soft = p.machine(line, "SOFT", Some(60.0)).await;
    p.statuses(soft, from, &[(Down, Some("JAM"), 30), (Idle, None, 30)])
        .await;
    let b = &list(&p.oee(machine_scope(soft), from, to, "TOTAL").await)[0].clone();
    close(&b["stopTimeS"], 1_800.0, 6);
    close(&b["runTimeS"], 1_800.0, 6);
}

#[tokio::test]
async fn granularities_cut_the_range_into_their_buckets() {
    let p = Plant::new().await;
    p.shift("Early", at(6, 0), at(14, 30), 1_800).await;
    p.shift("Late", at(14, 30), at(23, 0), 1_800).await;
    let line = p.line("L1").await;
    let m = p.worked_example(line, "M1").await;
    let scope = machine_scope(m);

    let hours = p.oee(scope.clone(), at(6, 0), at(14, 30), "HOUR").await;
    let hours = list(&hours);
    assert_eq!(hours.len(), 9, "06:00 to 14:30 in UTC hours");
    assert_eq!(time(&hours[0]["start"]), at(6, 0));
    assert_eq!(time(&hours[0]["end"]), at(7, 0));
    assert_eq!(time(&hours[8]["start"]), at(14, 0));
    assert_eq!(time(&hours[8]["end"]), at(14, 30));
    // The break is prorated over the hours, so they add up to the shift.
    let planned: f64 = hours
        .iter()
        .map(|h| h["plannedTimeS"].as_f64().expect("number"))
        .sum();
    assert!((planned - 480.0 * 60.0).abs() < 1e-6, "{planned}");
    // 10:00–11:00 is all down.
    assert_eq!(hours[4]["availability"], 0.0);

    let shifts = p.oee(scope.clone(), at(0, 0), at(23, 0), "SHIFT").await;
    let names: Vec<&str> = list(&shifts)
        .iter()
        .map(|s| s["shiftName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Early", "Late"]);

    let days = p.oee(scope.clone(), at(6, 0), at(48 + 12, 0), "DAY").await;
    assert_eq!(list(&days).len(), 3);
    assert_eq!(time(&list(&days)[1]["start"]), at(24, 0));

    let total = p.oee(scope, at(6, 0), at(48 + 12, 0), "TOTAL").await;
    assert_eq!(list(&total).len(), 1);
    assert_eq!(time(&list(&total)[0]["end"]), at(60, 0));
}

#[tokio::test]
async fn the_pareto_is_by_time_with_shares_and_a_reasonless_row() {
    use EquipmentStatus::*;
    let p = Plant::new().await;
    let line = p.line("L1").await;
    let (a, b) = (
        p.machine(line, "A", Some(60.0)).await,
        p.machine(line, "B", Some(60.0)).await,
    );
    p.statuses(
        a,
        at(6, 0),
        &[
            (Down, Some("BREAKDOWN"), 60),
            (Running, None, 60),
            (Setup, Some("CHANGEOVER"), 20),
            (Idle, None, 30),
        ],
    )
    .await;
    p.statuses(
        b,
        at(6, 0),
        &[
            (Maintenance, Some("PLANNED-MAINT"), 120),
            (Setup, Some("CHANGEOVER"), 20),
        ],
    )
    .await;
    let r = p
        .app
        .graphql(
            PARETO,
            json!({ "s": { "lineId": line.to_string() }, "from": iso(at(0, 0)),
                "to": iso(at(23, 0)) }),
        )
        .await;
    let rows = list(&r.data()["downtimePareto"]).clone();
    let got: Vec<(Value, f64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["code"].clone(),
                r["downtimeS"].as_f64().expect("seconds"),
                r["intervals"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!("PLANNED-MAINT"), 7_200.0, 1),
            (json!("BREAKDOWN"), 3_600.0, 1),
            (json!("CHANGEOVER"), 2_400.0, 2),
            (Value::Null, 1_800.0, 1),
        ]
    );
    assert_eq!(rows[0]["category"], "PLANNED");
    assert_eq!(rows[2]["category"], "SETUP");
    assert!(rows[3]["reasonId"].is_null() && rows[3]["category"].is_null());
    close(&rows[0]["share"], 7_200.0 / 15_000.0, 9);
    let shares: f64 = rows
        .iter()
        .map(|r| r["share"].as_f64().expect("share"))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9);

    // A range cut through an interval counts only its part.
    let r = p
        .app
        .graphql(
            PARETO,
            json!({ "s": { "equipmentId": a.to_string() }, "from": iso(at(6, 30)),
                "to": iso(at(7, 0)) }),
        )
        .await;
    let rows = list(&r.data()["downtimePareto"]).clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["downtimeS"], 1_800.0);
    assert_eq!(rows[0]["share"], 1.0);
}

#[tokio::test]
async fn bad_input_is_refused_with_its_code_and_changes_nothing() {
    let p = Plant::new().await;
    let line = p.line("L1").await;
    let m = p.worked_example(line, "M1").await;
    let events = p.app.count("equipment_status_events").await;
    let s = machine_scope(m);
    let (from, to) = (at(6, 0), at(14, 0));
    for (scope, from, to, g, code) in [
        (s.clone(), to, from, "TOTAL", "BAD_USER_INPUT"),
        (s.clone(), from, from, "HOUR", "BAD_USER_INPUT"),
        (
            s.clone(),
            from,
            from + Duration::days(94),
            "HOUR",
            "BAD_USER_INPUT",
        ),
        (
            s.clone(),
            from,
            from + Duration::days(94),
            "SHIFT",
            "BAD_USER_INPUT",
        ),
        (
            s.clone(),
            from,
            from + Duration::days(367),
            "DAY",
            "BAD_USER_INPUT",
        ),
        (
            s.clone(),
            from,
            from + Duration::days(367),
            "TOTAL",
            "BAD_USER_INPUT",
        ),
        (json!({}), from, to, "TOTAL", "BAD_USER_INPUT"),
        (
            json!({ "equipmentId": m.to_string(), "lineId": line.to_string() }),
            from,
            to,
            "TOTAL",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "equipmentId": "abc" }),
            from,
            to,
            "TOTAL",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "equipmentId": "999999" }),
            from,
            to,
            "TOTAL",
            "NOT_FOUND",
        ),
        (
            json!({ "lineId": "999999" }),
            from,
            to,
            "TOTAL",
            "NOT_FOUND",
        ),
        (
            json!({ "workshopId": "999999" }),
            from,
            to,
            "TOTAL",
            "NOT_FOUND",
        ),
    ] {
        assert_eq!(
            p.oee_error(scope.clone(), from, to, g).await,
            code,
            "{scope} {from} {to} {g}"
        );
    }
    // The longest ranges allowed pass.
    p.oee(s.clone(), from, from + Duration::days(93), "HOUR")
        .await;
    p.oee(s.clone(), from, from + Duration::days(366), "DAY")
        .await;

    // More shifts than buckets allowed: 2,501 ten-minute shifts.
    let rows: Vec<shift::ActiveModel> = (0..2_501)
        .map(|n| shift::ActiveModel {
            workshop_id: Set(p.workshop),
            name: Set(format!("S{n}")),
            starts_at: Set(at(24, 0) + Duration::minutes(10 * n)),
            ends_at: Set(at(24, 0) + Duration::minutes(10 * n + 10)),
            planned_break_s: Set(0),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        shift::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&p.app.state.db.write)
            .await
            .expect("shifts");
    }
    assert_eq!(
        p.oee_error(
            s.clone(),
            at(24, 0),
            at(24, 0) + Duration::days(30),
            "SHIFT"
        )
        .await,
        "BAD_USER_INPUT"
    );

    // downtimePareto: the same rules.
    for (scope, from, to, code) in [
        (s.clone(), to, from, "BAD_USER_INPUT"),
        (
            s.clone(),
            from,
            from + Duration::days(367),
            "BAD_USER_INPUT",
        ),
        (json!({}), from, to, "BAD_USER_INPUT"),
        (json!({ "workshopId": "999999" }), from, to, "NOT_FOUND"),
    ] {
        let r = p
            .app
            .graphql(
                PARETO,
                json!({ "s": scope, "from": iso(from), "to": iso(to) }),
            )
            .await;
        assert_eq!(r.error_code(), code, "{scope}");
    }
    assert_eq!(p.app.count("equipment_status_events").await, events);
}

#[tokio::test]
async fn only_managers_and_admins_read_oee() {
    let p = Plant::new().await;
    let line = p.line("L1").await;
    let m = p.worked_example(line, "M1").await;
    let admin = p.app.admin_token().await;
    let vars = json!({ "s": { "workshopId": p.workshop.to_string() }, "from": iso(at(6, 0)),
        "to": iso(at(14, 0)), "g": "TOTAL" });
    let pareto = json!({ "s": { "equipmentId": m.to_string() }, "from": iso(at(6, 0)),
        "to": iso(at(14, 0)) });
    for role in ["VIEWER", "OPERATOR", "ENGINEER", "MANAGER"] {
        let name = format!("oee-{}", role.to_lowercase());
        let (_, token) = person(&p.app, &admin, &name, role, p.workshop).await;
        let r = p.app.graphql_as(&token, OEE, vars.clone()).await;
        let q = p.app.graphql_as(&token, PARETO, pareto.clone()).await;
        if role == "MANAGER" {
            close(&list(&r.data()["oee"])[0]["availability"], 420.0 / 480.0, 1);
            assert!(!list(&q.data()["downtimePareto"]).is_empty());
        } else {
            assert_eq!(r.error_code(), "FORBIDDEN", "{role}: {}", r.body);
            assert_eq!(q.error_code(), "FORBIDDEN", "{role}: {}", q.body);
        }
    }
}

#[tokio::test]
async fn statements_do_not_grow_with_machines_or_buckets() {
    let mut counts = Vec::new();
    for lines in [1, 4] {
        let p = Plant::new().await;
        p.shift("Early", at(6, 0), at(14, 30), 1_800).await;
        for n in 0..lines {
            let line = p.line(&format!("L{n}")).await;
            p.worked_example(line, &format!("A{n}")).await;
            p.worked_example(line, &format!("B{n}")).await;
        }
        let scope = json!({ "workshopId": p.workshop.to_string() });
        for g in ["HOUR", "TOTAL"] {
            let r = p
                .app
                .graphql(
                    OEE,
                    json!({ "s": scope, "from": iso(at(0, 0)), "to": iso(at(23, 0)), "g": g }),
                )
                .await;
            assert_eq!(
                list(&r.data()["oee"])[0]["equipmentIds"]
                    .as_array()
                    .map(Vec::len),
                Some(lines)
            );
            counts.push(r.sql_statements());
        }
    }
    // workshop, lines, machines, shifts, status intervals with reasons, reports with products.
    assert_eq!(counts, [6, 6, 6, 6]);
}

#[tokio::test]
async fn oee_updated_sends_the_current_shift_at_once() {
    use EquipmentStatus::*;
    let p = Plant::new().await;
    let now = Utc::now();
    p.shift("Now", now - Duration::hours(1), now + Duration::hours(1), 0)
        .await;
    let line = p.line("L1").await;
    let m = p.machine(line, "M1", Some(60.0)).await;
    p.statuses(
        m,
        now - Duration::hours(1),
        &[(Running, None, 30), (Down, Some("BREAKDOWN"), 30)],
    )
    .await;
    let admin = p.app.admin_token().await;
    let (_, viewer) = person(&p.app, &admin, "oee-viewer", "VIEWER", p.workshop).await;
    let query = "subscription($s: OeeScope!) { oeeUpdated(scope: $s) { shiftName \
        availability plannedTimeS equipmentIds } }";
    let mut client = LiveClient::open(&p.app, Transport::GraphqlTransportWs, &admin).await;
    client
        .subscribe("1", query, json!({ "s": { "lineId": line.to_string() } }))
        .await;
    let first = client.next("1").await;
    let b = &first["data"]["oeeUpdated"];
    assert_eq!(b["shiftName"], "Now", "{first}");
    assert_eq!(b["equipmentIds"], json!([m.to_string()]));
    let planned = b["plannedTimeS"].as_f64().expect("seconds");
    assert!((3_600.0..3_700.0).contains(&planned), "{planned}");
    // Half an hour down of the hour so far.
    close(&b["availability"], 0.5, 1);

    let mut refused = LiveClient::open(&p.app, Transport::GraphqlTransportWs, &viewer).await;
    refused
        .subscribe("1", query, json!({ "s": { "lineId": line.to_string() } }))
        .await;
    assert_eq!(refused.error_code("1").await, "FORBIDDEN");
}
