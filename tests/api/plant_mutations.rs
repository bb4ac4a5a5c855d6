//! Plant structure written through the API: create, update and delete round trips of
//! workshops, lines, equipment and sensors, each read back.

use serde_json::{Value, json};

use crate::{
    bad_input::{id_of, mutate, strings, with},
    helpers::{SMALL, TestApp},
    plant_ops::{
        EQUIPMENT_BY_ID, LINE_BY_ID, SENSOR_BY_ID, WORKSHOP_BY_ID, WORKSHOPS, by_id, codes,
        create_equipment, create_line, create_sensor, create_workshop, delete, equipment_input,
        sensor_input, small_ids, update_equipment, update_line, update_sensor, update_workshop,
    },
};

#[tokio::test]
async fn workshop_create_update_delete_round_trip() {
    let app = TestApp::seeded(SMALL).await;
    let before = app.count("workshops").await;

    // The site may be omitted while there is one; the name is trimmed.
    let created = mutate(
        &app,
        &create_workshop(),
        json!({ "code": " WS-NEW ", "name": "  Paint shop  ", "description": "Line 1\nLine 2" }),
    )
    .await["workshop"]
        .clone();
    assert_eq!(created["code"], "WS-NEW");
    assert_eq!(created["name"], "Paint shop");
    assert_eq!(created["description"], "Line 1\nLine 2");
    assert_eq!(created["site"]["code"], "PLANT-1");
    let id = id_of(&created);
    assert_eq!(app.count("workshops").await, before + 1);
    let read = by_id(&app, WORKSHOP_BY_ID, &id).await;
    assert_eq!(read["code"], "WS-NEW");
    assert_eq!(read["description"], "Line 1\nLine 2");
    assert_eq!(read["lines"], json!([]));
    assert_eq!(
        codes(&app, WORKSHOPS, json!({}), "code").await,
        ["WS-01", "WS-NEW"]
    );

    // With an explicit site.
    let site = app.graphql("{ sites { id } }", json!({})).await.data()["sites"][0]["id"].clone();
    let other = mutate(
        &app,
        &create_workshop(),
        json!({ "siteId": site, "code": "WS-SITE", "name": "Sited" }),
    )
    .await["workshop"]
        .clone();
    assert_eq!(other["site"]["code"], "PLANT-1");
    assert_eq!(other["description"], Value::Null);

    // Omitting a field leaves it.
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "name": "Paint" }),
    )
    .await;
    assert_eq!(updated["workshop"]["name"], "Paint");
    assert_eq!(updated["workshop"]["code"], "WS-NEW");
    assert_eq!(updated["workshop"]["description"], "Line 1\nLine 2");
    assert_eq!(by_id(&app, WORKSHOP_BY_ID, &id).await["name"], "Paint");

    // A value sets it, `null` clears it.
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "code": "WS-PAINT", "description": "New" }),
    )
    .await;
    assert_eq!(updated["workshop"]["code"], "WS-PAINT");
    assert_eq!(updated["workshop"]["description"], "New");
    let updated = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "description": null }),
    )
    .await;
    assert_eq!(updated["workshop"]["description"], Value::Null);
    assert_eq!(updated["workshop"]["name"], "Paint");
    let read = by_id(&app, WORKSHOP_BY_ID, &id).await;
    assert_eq!(read["description"], Value::Null);
    assert_eq!(read["code"], "WS-PAINT");

    // Keeping its own code is no conflict.
    let same = mutate(
        &app,
        &update_workshop(),
        json!({ "id": id, "code": "WS-PAINT" }),
    )
    .await;
    assert_eq!(same["workshop"]["code"], "WS-PAINT");

    let deleted = mutate(&app, &delete("deleteWorkshop"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    let gone = app.graphql(WORKSHOP_BY_ID, json!({ "id": id })).await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    assert_eq!(
        app.count("workshops").await,
        before + 1,
        "only the sited one left"
    );
    let again = app
        .graphql(&delete("deleteWorkshop"), json!({ "input": { "id": id } }))
        .await;
    assert_eq!(again.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn line_create_update_delete_round_trip_with_bottleneck() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("production_lines").await;

    let created = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": ids.workshop, "code": "WS-01-L9", "name": "Packing" }),
    )
    .await["line"]
        .clone();
    assert_eq!(created["code"], "WS-01-L9");
    assert_eq!(created["name"], "Packing");
    assert_eq!(created["status"], "IDLE", "default state");
    assert_eq!(created["bottleneckEquipmentId"], Value::Null);
    assert_eq!(created["workshop"]["id"], ids.workshop.as_str());
    let id = id_of(&created);
    assert_eq!(app.count("production_lines").await, before + 1);
    let read = by_id(&app, WORKSHOP_BY_ID, &ids.workshop).await;
    assert_eq!(
        strings(read["lines"].as_array().expect("lines"), "code"),
        ["WS-01-L1", "WS-01-L9"]
    );

    let with_status = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": ids.workshop, "code": "WS-01-L8", "name": "Off", "status": "OFFLINE" }),
    )
    .await;
    assert_eq!(with_status["line"]["status"], "OFFLINE");

    let updated = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "name": "Packing 2", "status": "DOWN" }),
    )
    .await["line"]
        .clone();
    assert_eq!(updated["name"], "Packing 2");
    assert_eq!(updated["status"], "DOWN");
    assert_eq!(updated["code"], "WS-01-L9");
    let read = by_id(&app, LINE_BY_ID, &id).await;
    assert_eq!(read["status"], "DOWN");
    assert_eq!(read["name"], "Packing 2");

    // The bottleneck: a machine of this line; `null` clears it, omitting leaves it.
    let machine = mutate(&app, &create_equipment(), equipment_input(&id, "PK-1")).await;
    let machine = id_of(&machine["equipment"]);
    let set = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "bottleneckEquipmentId": machine }),
    )
    .await;
    assert_eq!(set["line"]["bottleneckEquipmentId"], machine.as_str());
    let kept = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "code": "WS-01-L7" }),
    )
    .await;
    assert_eq!(kept["line"]["bottleneckEquipmentId"], machine.as_str());
    assert_eq!(kept["line"]["code"], "WS-01-L7");
    assert_eq!(
        by_id(&app, LINE_BY_ID, &id).await["bottleneckEquipmentId"],
        machine.as_str()
    );
    let cleared = mutate(
        &app,
        &update_line(),
        json!({ "id": id, "bottleneckEquipmentId": null }),
    )
    .await;
    assert_eq!(cleared["line"]["bottleneckEquipmentId"], Value::Null);
    assert_eq!(
        by_id(&app, LINE_BY_ID, &id).await["bottleneckEquipmentId"],
        Value::Null
    );

    // A line's code is unique within its workshop only.
    let ws2 = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "WS-02", "name": "Second" }),
    )
    .await;
    let twin = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": id_of(&ws2["workshop"]), "code": "WS-01-L1", "name": "Twin" }),
    )
    .await;
    assert_eq!(twin["line"]["code"], "WS-01-L1");
    assert_eq!(twin["line"]["workshop"]["code"], "WS-02");

    mutate(&app, &delete("deleteEquipment"), json!({ "id": machine })).await;
    let deleted = mutate(&app, &delete("deleteLine"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(LINE_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("production_lines").await, before + 2);
}

#[tokio::test]
async fn deleting_the_bottleneck_machine_clears_the_line_reference() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let machine = mutate(
        &app,
        &create_equipment(),
        equipment_input(&ids.line, "BN-1"),
    )
    .await;
    let machine = id_of(&machine["equipment"]);
    mutate(
        &app,
        &update_line(),
        json!({ "id": ids.line, "bottleneckEquipmentId": machine }),
    )
    .await;
    mutate(&app, &delete("deleteEquipment"), json!({ "id": machine })).await;
    let line = by_id(&app, LINE_BY_ID, &ids.line).await;
    assert_eq!(
        line["bottleneckEquipmentId"],
        Value::Null,
        "a line must not name a deleted machine as its bottleneck"
    );
}

#[tokio::test]
async fn equipment_create_update_delete_round_trip() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("equipment").await;

    let created = mutate(
        &app,
        &create_equipment(),
        json!({ "lineId": ids.line, "code": "WS-01-L1-M03", "name": "Welder 3", "kind": "WELDER",
                "model": "W-9", "serialNo": "SN-42", "idealCycleTimeS": 12.5,
                "attributes": { "vendor": "Kuka", "axes": 6, "tags": ["a", "b"], "nested": { "x": null } } }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(created["code"], "WS-01-L1-M03");
    assert_eq!(created["name"], "Welder 3");
    assert_eq!(created["kind"], "WELDER");
    assert_eq!(created["model"], "W-9");
    assert_eq!(created["serialNo"], "SN-42");
    assert_eq!(created["idealCycleTimeS"], 12.5);
    assert_eq!(created["status"], "OFFLINE", "new machines start offline");
    assert_eq!(
        created["attributes"],
        json!({ "vendor": "Kuka", "axes": 6, "tags": ["a", "b"], "nested": { "x": null } })
    );
    assert_eq!(created["lineId"], ids.line.as_str());
    assert_eq!(created["workshopId"], ids.workshop.as_str());
    assert_eq!(created["line"]["code"], "WS-01-L1");
    assert_eq!(created["workshop"]["code"], "WS-01");
    let id = id_of(&created);
    assert_eq!(app.count("equipment").await, before + 1);
    let read = by_id(&app, EQUIPMENT_BY_ID, &id).await;
    for field in [
        "code",
        "name",
        "kind",
        "model",
        "serialNo",
        "idealCycleTimeS",
        "attributes",
        "statusSince",
    ] {
        assert_eq!(read[field], created[field], "{field}");
    }
    assert_eq!(
        strings(
            by_id(&app, LINE_BY_ID, &ids.line).await["equipment"]
                .as_array()
                .expect("list"),
            "code"
        ),
        ["WS-01-L1-M01", "WS-01-L1-M02", "WS-01-L1-M03"]
    );

    // Minimal input: optional fields absent, attributes an empty object.
    let minimal = mutate(
        &app,
        &create_equipment(),
        equipment_input(&ids.line, "MIN-1"),
    )
    .await;
    let minimal = &minimal["equipment"];
    assert_eq!(minimal["model"], Value::Null);
    assert_eq!(minimal["serialNo"], Value::Null);
    assert_eq!(minimal["idealCycleTimeS"], Value::Null);
    assert_eq!(minimal["attributes"], json!({}));

    // Omitting leaves, a value sets, `null` clears.
    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "name": "Welder three", "kind": "ROBOT", "idealCycleTimeS": 30 }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["name"], "Welder three");
    assert_eq!(updated["kind"], "ROBOT");
    assert_eq!(updated["idealCycleTimeS"], 30.0);
    assert_eq!(updated["model"], "W-9");
    assert_eq!(updated["serialNo"], "SN-42");
    assert_eq!(updated["code"], "WS-01-L1-M03");
    assert_eq!(updated["attributes"], created["attributes"]);

    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "model": null, "idealCycleTimeS": null, "attributes": { "v": 2 } }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["model"], Value::Null);
    assert_eq!(updated["idealCycleTimeS"], Value::Null);
    assert_eq!(updated["serialNo"], "SN-42", "omitted: kept");
    assert_eq!(
        updated["attributes"],
        json!({ "v": 2 }),
        "replaced, not merged"
    );
    let read = by_id(&app, EQUIPMENT_BY_ID, &id).await;
    assert_eq!(read["model"], Value::Null);
    assert_eq!(read["serialNo"], "SN-42");
    assert_eq!(read["idealCycleTimeS"], Value::Null);
    assert_eq!(read["attributes"], json!({ "v": 2 }));

    let updated = mutate(
        &app,
        &update_equipment(),
        json!({ "id": id, "serialNo": null, "model": "W-10", "code": "WS-01-L1-M09" }),
    )
    .await["equipment"]
        .clone();
    assert_eq!(updated["serialNo"], Value::Null);
    assert_eq!(updated["model"], "W-10");
    assert_eq!(updated["code"], "WS-01-L1-M09");

    // The same code in another workshop is no conflict.
    let ws2 = mutate(
        &app,
        &create_workshop(),
        json!({ "code": "WS-02", "name": "Second" }),
    )
    .await;
    let line2 = mutate(
        &app,
        &create_line(),
        json!({ "workshopId": id_of(&ws2["workshop"]), "code": "L1", "name": "L" }),
    )
    .await;
    let twin = mutate(
        &app,
        &create_equipment(),
        equipment_input(&id_of(&line2["line"]), "WS-01-L1-M09"),
    )
    .await;
    assert_eq!(twin["equipment"]["workshop"]["code"], "WS-02");

    let deleted = mutate(&app, &delete("deleteEquipment"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(EQUIPMENT_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("equipment").await, before + 2);
}

#[tokio::test]
async fn sensor_create_update_delete_round_trip_with_thresholds() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let before = app.count("sensors").await;

    let created = mutate(
        &app,
        &create_sensor(),
        json!({ "equipmentId": ids.machines[1], "tag": "WS-01-L1-M02.PRESSURE", "name": "Press pressure",
                "metric": "PRESSURE", "unit": "bar", "sampleIntervalMs": 500,
                "thresholds": { "loLo": 1.0, "lo": 2.5, "hi": 8.0, "hiHi": 9.5, "deadband": 0.1 } }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(created["tag"], "WS-01-L1-M02.PRESSURE");
    assert_eq!(created["name"], "Press pressure");
    assert_eq!(created["metric"], "PRESSURE");
    assert_eq!(created["unit"], "bar");
    assert_eq!(created["sampleIntervalMs"], 500);
    assert_eq!(
        [
            &created["loLo"],
            &created["lo"],
            &created["hi"],
            &created["hiHi"],
            &created["deadband"]
        ],
        [
            &json!(1.0),
            &json!(2.5),
            &json!(8.0),
            &json!(9.5),
            &json!(0.1)
        ]
    );
    assert_eq!(created["active"], true);
    assert_eq!(created["equipmentId"], ids.machines[1].as_str());
    assert_eq!(created["equipment"]["code"], "WS-01-L1-M02");
    let id = id_of(&created);
    assert_eq!(app.count("sensors").await, before + 1);
    let read = by_id(&app, SENSOR_BY_ID, &id).await;
    for field in [
        "tag",
        "unit",
        "loLo",
        "lo",
        "hi",
        "hiHi",
        "deadband",
        "sampleIntervalMs",
    ] {
        assert_eq!(read[field], created[field], "{field}");
    }
    let machine = by_id(&app, EQUIPMENT_BY_ID, &ids.machines[1]).await;
    assert_eq!(
        strings(machine["sensors"].as_array().expect("list"), "tag"),
        [
            "WS-01-L1-M02.PRESSURE",
            "WS-01-L1-M02.TEMPERATURE",
            "WS-01-L1-M02.VIBRATION_RMS"
        ]
    );

    // Boundaries of the sampling interval; thresholds may be equal; no thresholds at all.
    for (tag, interval) in [("B-10", 10), ("B-DAY", 86_400_000)] {
        let s = mutate(
            &app,
            &create_sensor(),
            with(
                &sensor_input(&ids.machines[0], tag),
                json!({ "sampleIntervalMs": interval, "thresholds": { "lo": 3, "hi": 3 } }),
            ),
        )
        .await;
        assert_eq!(s["sensor"]["sampleIntervalMs"], interval);
        assert_eq!(s["sensor"]["loLo"], Value::Null);
        assert_eq!(s["sensor"]["lo"], 3.0);
        assert_eq!(s["sensor"]["hi"], 3.0);
    }

    // Omitted fields stay; thresholds, when given, replace all five.
    let updated = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "name": "Pressure", "unit": "kPa", "sampleIntervalMs": 2000,
                "metric": "LEVEL", "active": false, "thresholds": { "hi": 800, "hiHi": 950 } }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(updated["name"], "Pressure");
    assert_eq!(updated["unit"], "kPa");
    assert_eq!(updated["metric"], "LEVEL");
    assert_eq!(updated["sampleIntervalMs"], 2000);
    assert_eq!(updated["active"], false);
    assert_eq!(updated["tag"], "WS-01-L1-M02.PRESSURE");
    assert_eq!(updated["loLo"], Value::Null);
    assert_eq!(updated["lo"], Value::Null);
    assert_eq!(updated["hi"], 800.0);
    assert_eq!(updated["hiHi"], 950.0);
    assert_eq!(updated["deadband"], Value::Null);
    let read = by_id(&app, SENSOR_BY_ID, &id).await;
    assert_eq!(read["hi"], 800.0);
    assert_eq!(read["lo"], Value::Null);
    assert_eq!(read["active"], false);

    let kept = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "tag": "P-1", "active": true }),
    )
    .await["sensor"]
        .clone();
    assert_eq!(kept["tag"], "P-1");
    assert_eq!(kept["hi"], 800.0, "thresholds omitted: kept");
    assert_eq!(kept["hiHi"], 950.0);
    assert_eq!(kept["unit"], "kPa");
    assert_eq!(kept["active"], true);

    let cleared = mutate(
        &app,
        &update_sensor(),
        json!({ "id": id, "thresholds": {} }),
    )
    .await["sensor"]
        .clone();
    for field in ["loLo", "lo", "hi", "hiHi", "deadband"] {
        assert_eq!(cleared[field], Value::Null, "{field}");
    }

    let deleted = mutate(&app, &delete("deleteSensor"), json!({ "id": id })).await;
    assert_eq!(deleted["deletedId"], id.as_str());
    assert_eq!(
        app.graphql(SENSOR_BY_ID, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.count("sensors").await, before + 2);
    // A seeded sensor with readings and a latest value may be deleted too.
    let seeded = mutate(&app, &delete("deleteSensor"), json!({ "id": ids.sensor })).await;
    assert_eq!(seeded["deletedId"], ids.sensor.as_str());
    assert_eq!(app.count("sensors").await, before + 1);
}
