//! Hostile text in every plant text field: stored and read back verbatim, and searched
//! literally (no SQL, no wildcards).

use serde_json::json;

use crate::{
    bad_input::{id_of, mutate, with},
    helpers::{HOSTILE_STRINGS, SMALL, TestApp, hostile_index},
    plant_ops::{
        EQUIPMENT_BY_ID, EQUIPMENT_LIST, LINE_BY_ID, LINES, SENSOR_BY_ID, SENSORS, WORKSHOP_BY_ID,
        WORKSHOPS, by_id, codes, create_equipment, create_line, create_sensor, create_workshop,
        sensor_input, small_ids, update_equipment, update_line, update_sensor, update_workshop,
    },
};

#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_searched_literally() {
    let app = TestApp::seeded(SMALL).await;
    let ids = small_ids(&app).await;
    let n = HOSTILE_STRINGS.len();
    let unit = |s: &str| s.chars().take(16).collect::<String>();
    let mut made = Vec::new();
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let code = format!("H-{i}");
        let w = mutate(
            &app,
            &create_workshop(),
            json!({ "code": code, "name": h, "description": h }),
        )
        .await["workshop"]
            .clone();
        assert_eq!(
            (&w["name"], &w["description"]),
            (&json!(h), &json!(h)),
            "{h}"
        );
        let l = mutate(
            &app,
            &create_line(),
            json!({ "workshopId": ids.workshop, "code": code, "name": h }),
        )
        .await["line"]
            .clone();
        assert_eq!(l["name"], *h);
        let e = mutate(
            &app,
            &create_equipment(),
            json!({ "lineId": id_of(&l), "code": code, "name": h, "kind": "OTHER",
                    "model": h, "serialNo": h, "attributes": { "note": h } }),
        )
        .await["equipment"]
            .clone();
        assert_eq!(
            (
                &e["name"],
                &e["model"],
                &e["serialNo"],
                &e["attributes"]["note"]
            ),
            (&json!(h), &json!(h), &json!(h), &json!(h))
        );
        let s = mutate(
            &app,
            &create_sensor(),
            with(
                &sensor_input(&id_of(&e), &code),
                json!({ "name": h, "unit": unit(h) }),
            ),
        )
        .await["sensor"]
            .clone();
        assert_eq!((&s["name"], &s["unit"]), (&json!(h), &json!(unit(h))));
        made.push((id_of(&w), id_of(&l), id_of(&e), id_of(&s)));
    }

    // Read back exactly.
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let (w, l, e, s) = &made[i];
        let w = by_id(&app, WORKSHOP_BY_ID, w).await;
        assert_eq!((&w["name"], &w["description"]), (&json!(h), &json!(h)));
        assert_eq!(by_id(&app, LINE_BY_ID, l).await["name"], *h);
        let e = by_id(&app, EQUIPMENT_BY_ID, e).await;
        assert_eq!(
            (&e["name"], &e["model"], &e["serialNo"], &e["attributes"]),
            (&json!(h), &json!(h), &json!(h), &json!({ "note": h }))
        );
        let s = by_id(&app, SENSOR_BY_ID, s).await;
        assert_eq!((&s["name"], &s["unit"]), (&json!(h), &json!(unit(h))));
    }

    // Search for each string finds exactly the row holding it, in every list.
    for (i, h) in HOSTILE_STRINGS.iter().enumerate() {
        let code = format!("H-{i}");
        for (query, field) in [
            (WORKSHOPS, "code"),
            (LINES, "code"),
            (EQUIPMENT_LIST, "code"),
            (SENSORS, "tag"),
        ] {
            let found = codes(&app, query, json!({ "search": h }), field).await;
            assert_eq!(found, [code.as_str()], "search {h:?} in {query}");
        }
    }
    // Fragments that are wildcards or quotes elsewhere match only literally.
    let wild = hostile_index("%");
    let quote = hostile_index("'1'='1");
    for (needle, index) in [
        ("%", wild),
        ("_", wild),
        ("\\", wild),
        ("'1'='1", quote),
        ("%_", wild),
    ] {
        for query in [WORKSHOPS, LINES, EQUIPMENT_LIST] {
            let found = codes(&app, query, json!({ "search": needle }), "code").await;
            assert_eq!(
                found,
                [format!("H-{index}")],
                "search {needle:?} in {query}"
            );
        }
    }
    let found = codes(&app, SENSORS, json!({ "search": "'1'='1" }), "tag").await;
    assert_eq!(found, [format!("H-{quote}")]);
    let found = codes(&app, SENSORS, json!({ "search": "%" }), "tag").await;
    assert_eq!(found, [format!("H-{wild}")]);

    // Updates store them verbatim too (each row gets the next string).
    for (i, (w, l, e, s)) in made.iter().enumerate() {
        let h = HOSTILE_STRINGS[(i + 1) % n];
        let got = mutate(
            &app,
            &update_workshop(),
            json!({ "id": w, "name": h, "description": h }),
        )
        .await;
        assert_eq!(got["workshop"]["name"], h);
        assert_eq!(by_id(&app, WORKSHOP_BY_ID, w).await["description"], h);
        mutate(&app, &update_line(), json!({ "id": l, "name": h })).await;
        assert_eq!(by_id(&app, LINE_BY_ID, l).await["name"], h);
        mutate(
            &app,
            &update_equipment(),
            json!({ "id": e, "name": h, "model": h, "serialNo": h }),
        )
        .await;
        let read = by_id(&app, EQUIPMENT_BY_ID, e).await;
        assert_eq!(
            (&read["name"], &read["model"], &read["serialNo"]),
            (&json!(h), &json!(h), &json!(h))
        );
        mutate(
            &app,
            &update_sensor(),
            json!({ "id": s, "name": h, "unit": unit(h) }),
        )
        .await;
        let read = by_id(&app, SENSOR_BY_ID, s).await;
        assert_eq!((&read["name"], &read["unit"]), (&json!(h), &json!(unit(h))));
    }
    // The tables are all still there.
    assert_eq!(app.count("equipment").await, 2 + n as i64);
}
