//! Subscriptions and who may hold them, over both socket protocols: a viewer of one workshop
//! never receives another's events, naming what the caller may not see is refused before
//! the stream starts, and bad arguments are `BAD_USER_INPUT`.

use serde_json::{Value, json};

use crate::{
    equipment_status::{call, gateway, ok, person, set_status},
    live_client::{LiveClient, Transport},
    subscriptions::{hub_holds, number, site},
};

/// Raises a MAJOR alarm of type `kind` on `machine` as `token`; its id.
async fn raise(app: &crate::helpers::TestApp, token: &str, machine: i64, kind: &str) -> String {
    let input = json!({ "equipmentId": machine.to_string(), "type": kind, "severity": "MAJOR",
        "message": "scope test" });
    let r = call(
        app,
        token,
        "raiseAlarm",
        "RaiseAlarmInput",
        "alarm { id }",
        input,
    )
    .await;
    ok(&r, "raiseAlarm")["alarm"]["id"]
        .as_str()
        .expect("alarm id")
        .to_owned()
}

#[tokio::test]
async fn a_viewer_of_one_workshop_never_receives_another_workshops_events() {
    let site = site().await;
    let (app, admin) = (&site.app, &site.plant.admin);
    let mine = site.plant.in_workshop(0)[0];
    let theirs = site.plant.in_workshop(1)[0];
    let (_, viewer) = person(app, admin, "viewer", "VIEWER", mine.workshop).await;
    let status = |machine: i64, status: &str| {
        let mut input = json!({ "equipmentId": machine.to_string(), "status": status });
        if status == "DOWN" {
            input["reasonCode"] = json!("BREAKDOWN");
        }
        input
    };
    for (round, transport) in Transport::ALL.into_iter().enumerate() {
        for machine in [mine.id, theirs.id] {
            set_status(app, admin, status(machine, "RUNNING")).await;
        }
        let mut client = LiveClient::open(app, transport, &viewer).await;
        let every = [
            (
                "status",
                "subscription { equipmentStatusChanged { equipmentId } }",
            ),
            ("alarms", "subscription { alarmChanged { alarmId } }"),
            (
                "counts",
                "subscription { alarmCountsChanged { severity count } }",
            ),
        ];
        for (id, document) in every {
            client.subscribe(id, document, json!({})).await;
        }
        hub_holds(app, every.len()).await;
        // Theirs first, then mine: the first message is about mine, so theirs never came.
        set_status(app, admin, status(theirs.id, "DOWN")).await;
        set_status(app, admin, status(mine.id, "DOWN")).await;
        let got = client.next("status").await;
        assert_eq!(
            number(&got["data"]["equipmentStatusChanged"]["equipmentId"]),
            mine.id,
            "{transport:?}: {got}"
        );
        raise(app, admin, theirs.id, &format!("SCOPE_{round}")).await;
        let my_alarm = raise(app, admin, mine.id, &format!("SCOPE_{round}")).await;
        let got = client.next("alarms").await;
        assert_eq!(
            got["data"]["alarmChanged"]["alarmId"],
            my_alarm.as_str(),
            "{transport:?}"
        );
        // Counts over the viewer's workshops only: what `alarmCounts` answers the viewer.
        let expected = app
            .graphql_as(
                &viewer,
                "{ alarmCounts(groupBy: SEVERITY) { severity count } }",
                json!({}),
            )
            .await;
        let got = client.next("counts").await;
        assert_eq!(
            got["data"]["alarmCountsChanged"],
            expected.data()["alarmCounts"],
            "{transport:?}"
        );
        drop(client);
        hub_holds(app, 0).await;
    }
}

/// A subscription document and its variables, the caller's token, the expected code.
struct Refused {
    document: String,
    variables: Value,
    token: String,
    code: &'static str,
}

fn refused(document: &str, variables: Value, token: &str, code: &'static str) -> Refused {
    Refused {
        document: document.to_owned(),
        variables,
        token: token.to_owned(),
        code,
    }
}

const STATUS_OF: &str = "subscription($w: ID, $l: ID, $m: ID) { \
    equipmentStatusChanged(workshopId: $w, lineId: $l, equipmentId: $m) { id } }";
const ALARMS_OF: &str = "subscription($w: ID, $m: ID) { \
    alarmChanged(workshopId: $w, equipmentId: $m) { id } }";
const READINGS_OF: &str = "subscription($s: [ID!], $m: ID, $l: ID, $t: Int! = 1000) { \
    readingsUpdated(sensorIds: $s, equipmentId: $m, lineId: $l, throttleMs: $t) { sensorId } }";
const COUNTS_OF: &str = "subscription($w: ID) { alarmCountsChanged(workshopId: $w) { count } }";
const ORDERS_OF: &str = "subscription($l: ID, $o: ID) { \
    productionOrderProgress(lineId: $l, orderId: $o) { orderId } }";
const MAINTENANCE_OF: &str =
    "subscription($w: ID) { maintenanceOrderChanged(workshopId: $w) { id } }";

/// Subscribes each case on a socket of its caller; each must answer its code and leave
/// nothing in the hub.
async fn expect_refused(site: &crate::subscriptions::Site, cases: &[Refused]) {
    let app = &site.app;
    for transport in Transport::ALL {
        for (i, case) in cases.iter().enumerate() {
            let mut client = LiveClient::open(app, transport, &case.token).await;
            let id = format!("case-{i}");
            client
                .subscribe(&id, &case.document, case.variables.clone())
                .await;
            assert_eq!(
                client.error_code(&id).await,
                case.code,
                "{transport:?}: {} {}",
                case.document,
                case.variables
            );
        }
        hub_holds(app, 0).await;
    }
}

#[tokio::test]
async fn naming_what_the_caller_may_not_see_is_refused_before_the_stream_starts() {
    let site = site().await;
    let (app, admin) = (&site.app, site.plant.admin.clone());
    let mine = site.plant.in_workshop(0)[0];
    let theirs = site.plant.in_workshop(1)[0];
    let (_, viewer) = person(app, &admin, "viewer", "VIEWER", mine.workshop).await;
    let gateway = gateway(app, &admin, "gw", mine.workshop).await;
    let (w, l, m) = (
        theirs.workshop.to_string(),
        theirs.line.to_string(),
        theirs.id.to_string(),
    );
    let their_sensor = site.sensors_of(theirs.id)[0].to_string();
    let my_sensor = site.sensors_of(mine.id)[0].to_string();
    let v = viewer.as_str();
    let cases = vec![
        refused(STATUS_OF, json!({ "w": w }), v, "FORBIDDEN"),
        refused(STATUS_OF, json!({ "l": l }), v, "FORBIDDEN"),
        refused(STATUS_OF, json!({ "m": m }), v, "FORBIDDEN"),
        refused(ALARMS_OF, json!({ "w": w }), v, "FORBIDDEN"),
        refused(ALARMS_OF, json!({ "m": m }), v, "FORBIDDEN"),
        refused(
            READINGS_OF,
            json!({ "s": [my_sensor, their_sensor] }),
            v,
            "FORBIDDEN",
        ),
        refused(READINGS_OF, json!({ "m": m }), v, "FORBIDDEN"),
        refused(READINGS_OF, json!({ "l": l }), v, "FORBIDDEN"),
        refused(COUNTS_OF, json!({ "w": w }), v, "FORBIDDEN"),
        refused(ORDERS_OF, json!({ "l": l }), v, "FORBIDDEN"),
        refused(MAINTENANCE_OF, json!({ "w": w }), v, "FORBIDDEN"),
        // An id that does not exist looks like one of another workshop…
        refused(STATUS_OF, json!({ "m": "999999" }), v, "FORBIDDEN"),
        refused(ORDERS_OF, json!({ "o": "999999" }), v, "FORBIDDEN"),
        // …except to a caller who sees every workshop.
        refused(STATUS_OF, json!({ "m": "999999" }), &admin, "NOT_FOUND"),
        refused(READINGS_OF, json!({ "s": ["999999"] }), &admin, "NOT_FOUND"),
        // Gateways write, dashboards read; no token, no subscription.
        refused(STATUS_OF, json!({}), &gateway, "FORBIDDEN"),
        refused(STATUS_OF, json!({}), "", "UNAUTHENTICATED"),
        refused(READINGS_OF, json!({ "l": l }), "", "UNAUTHENTICATED"),
    ];
    expect_refused(&site, &cases).await;
}

#[tokio::test]
async fn bad_arguments_are_bad_user_input() {
    let site = site().await;
    let admin = site.plant.admin.as_str();
    let machine = site.plant.in_workshop(0)[0];
    let (w, l, m) = (
        machine.workshop.to_string(),
        machine.line.to_string(),
        machine.id.to_string(),
    );
    let sensor = site.sensors_of(machine.id)[0].to_string();
    let too_many: Vec<String> = (1..=1_001).map(|i| i.to_string()).collect();
    let bad = "BAD_USER_INPUT";
    let cases = vec![
        refused(READINGS_OF, json!({ "s": [sensor], "l": l }), admin, bad),
        refused(READINGS_OF, json!({ "m": m, "l": l }), admin, bad),
        refused(READINGS_OF, json!({}), admin, bad),
        refused(READINGS_OF, json!({ "l": l, "t": 50 }), admin, bad),
        refused(READINGS_OF, json!({ "l": l, "t": 99 }), admin, bad),
        refused(READINGS_OF, json!({ "l": l, "t": 60_001 }), admin, bad),
        refused(READINGS_OF, json!({ "s": too_many }), admin, bad),
        refused(READINGS_OF, json!({ "s": [] }), admin, bad),
        refused(READINGS_OF, json!({ "l": "line-3" }), admin, bad),
        refused(STATUS_OF, json!({ "w": w, "m": m }), admin, bad),
        refused(STATUS_OF, json!({ "w": w, "l": l, "m": m }), admin, bad),
        refused(ALARMS_OF, json!({ "w": w, "m": m }), admin, bad),
        refused(ORDERS_OF, json!({ "l": l, "o": "1" }), admin, bad),
    ];
    expect_refused(&site, &cases).await;
}
