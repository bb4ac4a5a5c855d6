//! Each subscription delivers the event of its mutation, over both socket protocols, with
//! nested objects as they are at that event: machine status, alarms (and their shelving),
//! alarm counts, production progress, maintenance orders.

use chrono::Utc;
use serde_json::{Value, json};

use crate::{
    equipment_status::{Plant, call, ok, set_status, whole_seconds},
    helpers::{TestApp, iso},
    live_client::{LiveClient, Transport},
    subscriptions::{hub_holds, site},
};

/// The `data.<field>` of a subscription message, failing the test on errors.
fn event(payload: &Value, field: &str) -> Value {
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"][field].clone()
}

const SUBSCRIPTIONS: [(&str, &str); 4] = [
    (
        "status",
        "subscription($m: ID!) { equipmentStatusChanged(equipmentId: $m) \
         { equipmentId status reasonCode reasonName source endedAt } }",
    ),
    (
        "alarms",
        "subscription($m: ID!) { alarmChanged(equipmentId: $m, minSeverity: MAJOR) \
         { action alarmId note alarm { id acknowledged shelved } } }",
    ),
    (
        "counts",
        "subscription($w: ID!) { alarmCountsChanged(workshopId: $w) { severity count } }",
    ),
    (
        "orders",
        "subscription($l: ID!) { productionOrderProgress(lineId: $l) \
         { orderId lineId status qtyPlanned qtyGood percent eta } }",
    ),
];

const MAINTENANCE: &str = "subscription($w: ID!) { maintenanceOrderChanged(workshopId: $w) \
    { id status title equipment { id status } } }";

#[tokio::test]
async fn every_subscription_delivers_the_event_of_its_mutation() {
    let site = site().await;
    let (app, admin) = (&site.app, &site.plant.admin);
    let machine = site.plant.in_workshop(0)[0];
    let (m, w, l) = (
        machine.id.to_string(),
        machine.workshop.to_string(),
        machine.line.to_string(),
    );
    let vars = json!({ "m": m, "w": w, "l": l });
    for (round, transport) in Transport::ALL.into_iter().enumerate() {
        set_status(app, admin, json!({ "equipmentId": m, "status": "RUNNING" })).await;
        let mut client = LiveClient::open(app, transport, admin).await;
        for (id, document) in SUBSCRIPTIONS {
            client.subscribe(id, document, vars.clone()).await;
        }
        client
            .subscribe("maintenance", MAINTENANCE, vars.clone())
            .await;
        hub_holds(app, 5).await;

        let down = json!({ "equipmentId": m, "status": "DOWN", "reasonCode": "BREAKDOWN" });
        set_status(app, admin, down).await;
        let status = event(&client.next("status").await, "equipmentStatusChanged");
        assert_eq!(status["equipmentId"], m.as_str());
        assert_eq!(
            (&status["status"], &status["reasonCode"], &status["source"]),
            (&json!("DOWN"), &json!("BREAKDOWN"), &json!("MANUAL"))
        );
        assert!(
            status["reasonName"].is_string() && status["endedAt"].is_null(),
            "{status}"
        );

        let alarm = raise_alarm(app, admin, &m, &format!("SUB_{round}")).await;
        let raised = event(&client.next("alarms").await, "alarmChanged");
        assert_eq!(raised["action"], "RAISED", "{transport:?}: {raised}");
        assert_eq!(raised["alarm"]["id"], alarm.as_str());
        let counts = event(&client.next("counts").await, "alarmCountsChanged");
        assert!(
            counts
                .as_array()
                .expect("counts")
                .iter()
                .any(|c| c["severity"] == "MAJOR"),
            "{counts}"
        );
        alarm_call(
            app,
            admin,
            "acknowledgeAlarm",
            json!({ "id": alarm, "note": "seen" }),
        )
        .await;
        let acked = event(&client.next("alarms").await, "alarmChanged");
        assert_eq!(
            (&acked["action"], &acked["note"]),
            (&json!("ACKNOWLEDGED"), &json!("seen"))
        );
        assert_eq!(
            acked["alarm"]["acknowledged"], true,
            "the alarm as it is now: {acked}"
        );
        // Shelved (ISA-18.2): its shelving notifies, what happens to it meanwhile does not.
        let until = iso(Utc::now() + chrono::Duration::hours(1));
        let shelve = json!({ "id": alarm, "until": until, "reason": "sensor swap" });
        alarm_call(app, admin, "shelveAlarm", shelve).await;
        let shelved = event(&client.next("alarms").await, "alarmChanged");
        assert_eq!(
            (&shelved["action"], &shelved["alarm"]["shelved"]),
            (&json!("SHELVED"), &json!(true))
        );
        let comment = json!({ "id": alarm, "text": "still shelved" });
        call(
            app,
            admin,
            "commentAlarm",
            "CommentAlarmInput",
            "event { id }",
            comment,
        )
        .await;
        alarm_call(app, admin, "unshelveAlarm", json!({ "id": alarm })).await;
        let unshelved = event(&client.next("alarms").await, "alarmChanged");
        assert_eq!(
            unshelved["action"], "UNSHELVED",
            "the comment while shelved was not sent"
        );

        let order = production_order(app, &site.plant, machine.line, &format!("SUB-{round}")).await;
        let drafted = event(&client.next("orders").await, "productionOrderProgress");
        assert_eq!(
            (&drafted["orderId"], &drafted["status"]),
            (&json!(order), &json!("DRAFT"))
        );
        assert_eq!(
            (&drafted["qtyPlanned"], &drafted["percent"]),
            (&json!(100), &json!(0.0))
        );
        let released = json!({ "id": order, "to": "RELEASED" });
        call(
            app,
            admin,
            "transitionProductionOrder",
            "TransitionProductionOrderInput",
            "order { id }",
            released,
        )
        .await;
        let progress = event(&client.next("orders").await, "productionOrderProgress");
        assert_eq!(
            (&progress["status"], &progress["lineId"]),
            (&json!("RELEASED"), &json!(l))
        );

        let scheduled = iso(Utc::now() + chrono::Duration::hours(1));
        let input = json!({ "equipmentId": m, "kind": "PREVENTIVE", "title": "Check spindle",
            "scheduledFor": scheduled });
        let r = call(
            app,
            admin,
            "createMaintenanceOrder",
            "CreateMaintenanceOrderInput",
            "order { id }",
            input,
        )
        .await;
        let mo = ok(&r, "createMaintenanceOrder")["order"]["id"].clone();
        let created = event(&client.next("maintenance").await, "maintenanceOrderChanged");
        assert_eq!(
            (&created["id"], &created["status"]),
            (&mo, &json!("SCHEDULED"))
        );
        assert_eq!(created["equipment"]["status"], "DOWN");
        let start = json!({ "id": mo, "to": "IN_PROGRESS" });
        call(
            app,
            admin,
            "transitionMaintenanceOrder",
            "TransitionMaintenanceOrderInput",
            "order { id }",
            start,
        )
        .await;
        let started = event(&client.next("maintenance").await, "maintenanceOrderChanged");
        assert_eq!(started["status"], "IN_PROGRESS");
        assert_eq!(
            started["equipment"]["status"], "MAINTENANCE",
            "{transport:?}: the machine as it is at this event, not as first loaded"
        );
        let finish = json!({ "id": mo, "to": "DONE" });
        call(
            app,
            admin,
            "transitionMaintenanceOrder",
            "TransitionMaintenanceOrderInput",
            "order { id }",
            finish,
        )
        .await;
        drop(client);
        hub_holds(app, 0).await;
    }
}

/// Raises a MAJOR alarm of type `kind` on `machine`; its id.
async fn raise_alarm(app: &TestApp, token: &str, machine: &str, kind: &str) -> String {
    let input = json!({ "equipmentId": machine, "type": kind, "severity": "MAJOR",
        "message": "raised for a subscriber" });
    let alarm = alarm_call(app, token, "raiseAlarm", input).await;
    alarm["id"].as_str().expect("alarm id").to_owned()
}

/// Runs alarm mutation `field` (input type `<Field>Input`); the alarm it answers with.
async fn alarm_call(app: &TestApp, token: &str, field: &str, input: Value) -> Value {
    let mut input_type = field.to_owned();
    input_type[..1].make_ascii_uppercase();
    input_type.push_str("Input");
    let r = call(app, token, field, &input_type, "alarm { id }", input).await;
    ok(&r, field)["alarm"].clone()
}

/// Creates a DRAFT production order of 100 on `line`; its id.
async fn production_order(app: &TestApp, plant: &Plant, line: i64, number: &str) -> String {
    let start = whole_seconds(Utc::now() + chrono::Duration::hours(1));
    let input = json!({ "number": number, "productId": plant.products[0].to_string(),
        "lineId": line.to_string(), "qtyPlanned": 100, "plannedStart": iso(start),
        "plannedEnd": iso(start + chrono::Duration::hours(8)) });
    let r = call(
        app,
        &plant.admin,
        "createProductionOrder",
        "CreateProductionOrderInput",
        "order { id }",
        input,
    )
    .await;
    ok(&r, "createProductionOrder")["order"]["id"]
        .as_str()
        .expect("order id")
        .to_owned()
}
