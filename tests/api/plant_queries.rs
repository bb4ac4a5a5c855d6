//! Plant structure read through the API: sites, workshops, lines, equipment and sensors;
//! their lists, filters, orderings, point queries and relations.

use serde_json::{Value, json};

use crate::{
    bad_input::{id_of, mutate, nodes, strings},
    helpers::{LARGE, SMALL, TestApp},
    plant_ops::{
        EQUIPMENT_BY_ID, EQUIPMENT_LIST, LINE_BY_ID, LINES, SENSOR_BY_ID, SENSORS, WORKSHOP_BY_ID,
        WORKSHOPS, by_id, codes, create_equipment, list, small_ids, update_line, update_sensor,
    },
};

#[tokio::test]
async fn sites_lists_the_one_seeded_site() {
    let app = TestApp::seeded(SMALL).await;
    let response = app
        .graphql("{ sites { id code name timezone } }", json!({}))
        .await;
    let sites = response.data()["sites"].as_array().expect("list").clone();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0]["code"], "PLANT-1");
    assert_eq!(sites[0]["name"], "Demo plant");
    assert_eq!(sites[0]["timezone"], "UTC");
    let empty = TestApp::spawn().await;
    let response = empty.graphql("{ sites { id } }", json!({})).await;
    assert_eq!(response.data()["sites"], json!([]));
}

#[tokio::test]
async fn workshops_list_their_site_and_lines_and_filter_by_site_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(WORKSHOPS, json!({})).await;
    let data = response.data();
    assert_eq!(data["workshops"]["totalCount"], 2);
    let all = nodes(&data["workshops"]);
    assert_eq!(strings(&all, "code"), ["WS-01", "WS-02"]);
    assert_eq!(strings(&all, "name"), ["Workshop 1", "Workshop 2"]);
    assert_eq!(all[1]["description"], "Assembly hall 2");
    assert_eq!(all[0]["site"]["code"], "PLANT-1");
    let lines: Vec<String> = (1..=5).map(|l| format!("WS-02-L{l}")).collect();
    assert_eq!(
        strings(all[1]["lines"].as_array().expect("lines"), "code"),
        lines
    );

    let site = app.graphql("{ sites { id } }", json!({})).await.data()["sites"][0]["id"].clone();
    let cases = [
        (json!({ "siteId": site }), vec!["WS-01", "WS-02"]),
        (json!({ "siteId": "999999" }), vec![]),
        (json!({ "search": "ws-02" }), vec!["WS-02"]),
        (json!({ "search": "WORKSHOP 1" }), vec!["WS-01"]),
        (json!({ "search": "workshop" }), vec!["WS-01", "WS-02"]),
        // The description is not searched.
        (json!({ "search": "Assembly" }), vec![]),
        // Blank means no search.
        (json!({ "search": "   " }), vec!["WS-01", "WS-02"]),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, WORKSHOPS, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn workshop_by_id_returns_the_workshop_with_site_lines_and_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let w = by_id(&app, WORKSHOP_BY_ID, &ids.workshop).await;
    assert_eq!(w["id"], ids.workshop.as_str());
    assert_eq!(w["code"], "WS-01");
    assert_eq!(w["name"], "Workshop 1");
    assert_eq!(w["description"], "Assembly hall 1");
    assert!(w["createdAt"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(w["site"]["code"], "PLANT-1");
    assert_eq!(w["site"]["timezone"], "UTC");
    assert_eq!(w["lines"][0]["id"], ids.line.as_str());
    assert_eq!(w["lines"][0]["code"], "WS-01-L1");
    assert_eq!(
        w["lines"][0]["equipment"],
        json!([{ "code": "WS-01-L1-M01" }, { "code": "WS-01-L1-M02" }])
    );
}

#[tokio::test]
async fn lines_list_their_workshop_and_equipment_and_filter_by_workshop_status_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(LINES, json!({})).await;
    assert_eq!(response.data()["lines"]["totalCount"], 10);
    let all = nodes(&response.data()["lines"]);
    let expected: Vec<String> = (1..=2)
        .flat_map(|w| (1..=5).map(move |l| format!("WS-0{w}-L{l}")))
        .collect();
    assert_eq!(strings(&all, "code"), expected, "by code");
    assert!(all.iter().all(|l| l["status"] == "RUNNING"));
    assert_eq!(all[7]["name"], "Workshop 2 line 3");
    assert_eq!(all[7]["workshop"]["code"], "WS-02");
    assert_eq!(
        all[7]["equipment"],
        json!([{ "code": "WS-02-L3-M01" }, { "code": "WS-02-L3-M02" }])
    );

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let down = id_of(&all[3]);
    mutate(
        &app,
        &update_line(),
        json!({ "id": down, "status": "DOWN" }),
    )
    .await;

    let cases = [
        (json!({ "workshopId": ws2 }), expected[5..].to_vec()),
        (json!({ "workshopId": "999999" }), vec![]),
        (json!({ "status": ["DOWN"] }), vec!["WS-01-L4".to_owned()]),
        (
            json!({ "status": ["RUNNING"] }),
            expected
                .iter()
                .filter(|c| *c != "WS-01-L4")
                .cloned()
                .collect(),
        ),
        (json!({ "status": ["RUNNING", "DOWN"] }), expected.clone()),
        (json!({ "status": ["IDLE", "OFFLINE"] }), vec![]),
        (
            json!({ "search": "l3" }),
            vec!["WS-01-L3".to_owned(), "WS-02-L3".to_owned()],
        ),
        (
            json!({ "search": "workshop 2 LINE 4" }),
            vec!["WS-02-L4".to_owned()],
        ),
        (json!({ "workshopId": ws2, "status": ["DOWN"] }), vec![]),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, LINES, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn line_by_id_returns_the_line_with_workshop_and_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let line = by_id(&app, LINE_BY_ID, &ids.line).await;
    assert_eq!(line["id"], ids.line.as_str());
    assert_eq!(line["code"], "WS-01-L1");
    assert_eq!(line["name"], "Workshop 1 line 1");
    assert_eq!(line["status"], "RUNNING");
    assert_eq!(line["bottleneckEquipmentId"], Value::Null);
    assert_eq!(line["workshop"]["id"], ids.workshop.as_str());
    assert_eq!(line["workshop"]["code"], "WS-01");
    assert_eq!(
        strings(line["equipment"].as_array().expect("list"), "id"),
        ids.machines
    );
}

#[tokio::test]
async fn equipment_filters_by_workshop_line_kind_status_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(EQUIPMENT_LIST, json!({})).await;
    assert_eq!(response.data()["equipment"]["totalCount"], 20);
    let all = nodes(&response.data()["equipment"]);
    let seeded: Vec<String> = (1..=2)
        .flat_map(|w| {
            (1..=5).flat_map(move |l| (1..=2).map(move |m| format!("WS-0{w}-L{l}-M0{m}")))
        })
        .collect();
    assert_eq!(strings(&all, "code"), seeded, "by code");
    let ending = |suffix: &str| -> Vec<String> {
        seeded
            .iter()
            .filter(|c| c.ends_with(suffix))
            .cloned()
            .collect()
    };
    assert!(all.iter().all(|e| {
        e["line"]["code"]
            .as_str()
            .is_some_and(|l| e["code"].as_str().is_some_and(|c| c.starts_with(l)))
    }));

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let line = app
        .graphql(LINES, json!({ "filter": { "search": "WS-01-L2" } }))
        .await
        .data()["lines"]["edges"][0]["node"]["id"]
        .clone();

    // A machine in a state no seeded machine is in, so that the status filter must choose.
    let created = mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": line, "code": "WS-01-L2-M03", "name": "Spare", "kind": "OTHER" }),
    )
    .await;
    assert_eq!(created["equipment"]["status"], "OFFLINE");
    let mut every = seeded.clone();
    every.insert(4, "WS-01-L2-M03".to_owned());
    let response = app.graphql(EQUIPMENT_LIST, json!({})).await;
    let all = nodes(&response.data()["equipment"]);
    assert_eq!(strings(&all, "code"), every);

    let cases = [
        (json!({ "workshopId": ws2 }), every[11..].to_vec()),
        (json!({ "workshopId": "999999" }), vec![]),
        (
            json!({ "lineId": line }),
            vec!["WS-01-L2-M01", "WS-01-L2-M02", "WS-01-L2-M03"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        (json!({ "kind": "CNC" }), ending("M01")),
        (json!({ "kind": "PRESS" }), ending("M02")),
        (json!({ "kind": "OTHER" }), vec!["WS-01-L2-M03".to_owned()]),
        (json!({ "kind": "WELDER" }), vec![]),
        (
            json!({ "kind": "CNC", "workshopId": ws2 }),
            every[11..]
                .iter()
                .filter(|c| c.ends_with("M01"))
                .cloned()
                .collect(),
        ),
        (
            json!({ "kind": "CNC", "lineId": line }),
            vec!["WS-01-L2-M01".to_owned()],
        ),
        // The model (X-110 on every second machine), case-insensitive.
        (json!({ "search": "x-110" }), ending("M02")),
        // The name.
        (json!({ "search": "press" }), ending("M02")),
        (
            json!({ "search": "spare" }),
            vec!["WS-01-L2-M03".to_owned()],
        ),
        // The code.
        (
            json!({ "search": "ws-02-l5-m01" }),
            vec!["WS-02-L5-M01".to_owned()],
        ),
        (json!({ "search": "%" }), vec![]),
        (json!({ "search": "_" }), vec![]),
        (json!({ "search": "\\" }), vec![]),
        (json!({ "status": [] }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            codes(&app, EQUIPMENT_LIST, filter.clone(), "code").await,
            expected,
            "filter {filter}"
        );
    }

    // Status: each state the machines are in selects exactly them, and lists combine.
    let statuses = ["RUNNING", "IDLE", "SETUP", "DOWN", "MAINTENANCE", "OFFLINE"];
    let in_state = |states: &[&str]| -> Vec<String> {
        all.iter()
            .filter(|e| states.iter().any(|s| e["status"] == *s))
            .map(|e| e["code"].as_str().expect("code").to_owned())
            .collect()
    };
    for status in statuses {
        let got = codes(&app, EQUIPMENT_LIST, json!({ "status": [status] }), "code").await;
        assert_eq!(got, in_state(&[status]), "status {status}");
    }
    let pair = ["OFFLINE", all[0]["status"].as_str().expect("status")];
    let got = codes(&app, EQUIPMENT_LIST, json!({ "status": pair }), "code").await;
    assert_eq!(got, in_state(&pair), "status {pair:?}");
    assert!(got.len() >= 2 && got.len() <= every.len());
    let got = codes(&app, EQUIPMENT_LIST, json!({ "status": statuses }), "code").await;
    assert_eq!(got, every, "every status");
}

#[tokio::test]
async fn equipment_order_by_code_name_and_status_since() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    // Last by code, first by name, newest status.
    mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": ids.line, "code": "ZZZ-9", "name": "AAA", "kind": "CNC" }),
    )
    .await;
    let order = |order: &'static str| {
        let app = &app;
        async move { list(app, EQUIPMENT_LIST, json!({ "order": order })).await }
    };

    let default = order("CODE_ASC").await;
    assert_eq!(
        strings(&default, "code"),
        ["WS-01-L1-M01", "WS-01-L1-M02", "ZZZ-9"]
    );
    let unordered = list(&app, EQUIPMENT_LIST, json!({})).await;
    assert_eq!(unordered, default, "CODE_ASC is the default");

    let by_name = order("NAME_ASC").await;
    assert_eq!(strings(&by_name, "name"), ["AAA", "CNC 1", "PRESS 2"]);
    assert_eq!(
        strings(&by_name, "code"),
        ["ZZZ-9", "WS-01-L1-M01", "WS-01-L1-M02"]
    );

    let by_since = order("STATUS_SINCE_DESC").await;
    assert_eq!(
        by_since[0]["code"], "ZZZ-9",
        "the new machine changed state last"
    );
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = strings(&by_since, "statusSince")
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(
        sorted(strings(&by_since, "code")),
        sorted(strings(&default, "code"))
    );
}

#[tokio::test]
async fn equipment_by_id_returns_every_field_line_workshop_and_sensors() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let cases = [
        (
            &ids.machines[0],
            "WS-01-L1-M01",
            "CNC 1",
            "CNC",
            "X-100",
            20.0,
            2020,
            0,
        ),
        (
            &ids.machines[1],
            "WS-01-L1-M02",
            "PRESS 2",
            "PRESS",
            "X-110",
            25.0,
            2021,
            1,
        ),
    ];
    for (id, code, name, kind, model, cycle, year, m) in cases {
        let e = by_id(&app, EQUIPMENT_BY_ID, id).await;
        assert_eq!(e["id"], id.as_str());
        assert_eq!(e["code"], code);
        assert_eq!(e["name"], name);
        assert_eq!(e["kind"], kind);
        assert_eq!(e["model"], model);
        let line_id: i64 = ids.line.parse().expect("numeric id");
        assert_eq!(e["serialNo"], format!("SN{:06}", line_id * 100 + m));
        assert_eq!(e["idealCycleTimeS"], cycle);
        assert_eq!(e["attributes"], json!({ "vendor": "Acme", "year": year }));
        assert!(e["status"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(e["lineId"], ids.line.as_str());
        assert_eq!(e["workshopId"], ids.workshop.as_str());
        assert_eq!(e["line"], json!({ "id": ids.line, "code": "WS-01-L1" }));
        assert_eq!(
            e["workshop"],
            json!({ "id": ids.workshop, "code": "WS-01" })
        );
        let tags = strings(e["sensors"].as_array().expect("sensors"), "tag");
        assert_eq!(
            tags,
            [
                format!("{code}.TEMPERATURE"),
                format!("{code}.VIBRATION_RMS")
            ]
        );
    }
}

#[tokio::test]
async fn sensors_filter_by_workshop_line_equipment_metric_active_and_search() {
    let app = TestApp::seeded(LARGE).await;
    let response = app.graphql(SENSORS, json!({})).await;
    assert_eq!(response.data()["sensors"]["totalCount"], 40);
    let all = nodes(&response.data()["sensors"]);
    let tags = strings(&all, "tag");
    assert_eq!(tags, sorted(tags.clone()), "by tag");
    assert!(all.iter().all(|s| s["active"] == true));
    assert!(all.iter().all(|s| s["tag"].as_str().is_some_and(|t| {
        s["equipment"]["code"]
            .as_str()
            .is_some_and(|c| t.starts_with(c))
    })));
    let with = |f: &dyn Fn(&str) -> bool| -> Vec<String> {
        tags.iter().filter(|t| f(t)).cloned().collect()
    };

    let ws2 = app
        .graphql(WORKSHOPS, json!({ "filter": { "search": "WS-02" } }))
        .await
        .data()["workshops"]["edges"][0]["node"]["id"]
        .clone();
    let line = app
        .graphql(LINES, json!({ "filter": { "search": "WS-02-L3" } }))
        .await
        .data()["lines"]["edges"][0]["node"]["id"]
        .clone();
    let machine = app
        .graphql(
            EQUIPMENT_LIST,
            json!({ "filter": { "search": "WS-01-L5-M02" } }),
        )
        .await
        .data()["equipment"]["edges"][0]["node"]["id"]
        .clone();

    let off = with(&|t| t == "WS-01-L1-M02.TEMPERATURE")[0].clone();
    let off_id = all
        .iter()
        .find(|s| s["tag"] == off.as_str())
        .map(id_of)
        .expect("sensor");
    mutate(
        &app,
        &update_sensor(),
        json!({ "id": off_id, "active": false }),
    )
    .await;

    let cases = [
        (
            json!({ "workshopId": ws2 }),
            with(&|t| t.starts_with("WS-02")),
        ),
        (json!({ "workshopId": "999999" }), vec![]),
        (
            json!({ "lineId": line }),
            with(&|t| t.starts_with("WS-02-L3-")),
        ),
        (json!({ "lineId": "999999" }), vec![]),
        (
            json!({ "equipmentId": machine }),
            with(&|t| t.starts_with("WS-01-L5-M02.")),
        ),
        (
            json!({ "metric": "TEMPERATURE" }),
            with(&|t| t.ends_with(".TEMPERATURE")),
        ),
        (
            json!({ "metric": "VIBRATION_RMS" }),
            with(&|t| t.ends_with(".VIBRATION_RMS")),
        ),
        (json!({ "metric": "PRESSURE" }), vec![]),
        (json!({ "active": false }), vec![off.clone()]),
        (json!({ "active": true }), with(&|t| *t != off)),
        (
            json!({ "lineId": line, "metric": "TEMPERATURE" }),
            with(&|t| t.starts_with("WS-02-L3-") && t.ends_with(".TEMPERATURE")),
        ),
        (json!({ "workshopId": ws2, "active": false }), vec![]),
        // `_` is a literal underscore: only VIBRATION_RMS tags hold one.
        (json!({ "search": "_" }), with(&|t| t.contains('_'))),
        (json!({ "search": "%" }), vec![]),
        (
            json!({ "search": "vibration_rms" }),
            with(&|t| t.ends_with(".VIBRATION_RMS")),
        ),
        // The name: "CNC 1 temperature".
        (
            json!({ "search": "CNC 1 TEMP" }),
            with(&|t| t.ends_with("-M01.TEMPERATURE")),
        ),
        (
            json!({ "search": "ws-01-l2-m01." }),
            with(&|t| t.starts_with("WS-01-L2-M01.")),
        ),
    ];
    for (filter, expected) in cases {
        assert!(!tags.is_empty());
        assert_eq!(
            codes(&app, SENSORS, filter.clone(), "tag").await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn sensor_by_id_returns_thresholds_and_its_equipment() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let s = by_id(&app, SENSOR_BY_ID, &ids.sensor).await;
    assert_eq!(s["id"], ids.sensor.as_str());
    assert_eq!(s["tag"], "WS-01-L1-M01.TEMPERATURE");
    assert_eq!(s["name"], "CNC 1 temperature");
    assert_eq!(s["metric"], "TEMPERATURE");
    assert_eq!(s["unit"], "°C");
    assert_eq!(s["sampleIntervalMs"], 10_000);
    assert_eq!(s["loLo"], 5.0);
    assert_eq!(s["lo"], 15.0);
    assert_eq!(s["hi"], 75.0);
    assert_eq!(s["hiHi"], 90.0);
    assert_eq!(s["deadband"], (75.0_f64 - 15.0) * 0.02);
    assert_eq!(s["active"], true);
    assert_eq!(s["equipmentId"], ids.machines[0].as_str());
    assert_eq!(s["equipment"]["id"], ids.machines[0].as_str());
    assert_eq!(s["equipment"]["code"], "WS-01-L1-M01");
    assert_eq!(s["equipment"]["line"]["code"], "WS-01-L1");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
