//! The role matrix: every mutation of the schema × every role, generated from one table of
//! who may call what. Allowed calls must not be refused for their role (most succeed outright;
//! deletes aim at missing rows, so they get past the role check to `NOT_FOUND`); refused calls
//! must answer `FORBIDDEN`. The table must name every mutation the schema has, so a new
//! mutation cannot land without its row.

use std::collections::BTreeSet;

use entity::enums::Role;
use serde_json::{Value, json};

use crate::helpers::{SMALL, TestApp};

const PASSWORD: &str = "role matrix password 1";

/// Who may call a mutation.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// Anyone, even without a token (never `FORBIDDEN`).
    Anyone,
    /// Any authenticated caller (never `FORBIDDEN`).
    AnyCaller,
    /// People with at least this role (gateways refused).
    AtLeast(Role),
    /// Gateways, and people with at least this role.
    GatewayOr(Role),
}

/// What an allowed call answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Data and no error.
    Succeeds,
    /// Gets past the role check; the row is missing (`NOT_FOUND`).
    NotFound,
    /// Role-independent failure (e.g. a bogus refresh token); only "not FORBIDDEN" is checked.
    AnyButForbidden,
}

/// Ids the calls refer to.
struct Fixture {
    workshop: i64,
    line: i64,
    equipment: i64,
    sensor: i64,
    product: i64,
    target_user: i64,
    gateway_user: i64,
}

struct Row {
    mutation: &'static str,
    who: Who,
    outcome: Outcome,
    document: &'static str,
    variables: fn(&Fixture, &str) -> Value,
}

const MISSING: &str = "987654321";

fn table() -> Vec<Row> {
    use Outcome::*;
    use Who::*;
    vec![
        Row {
            mutation: "login",
            who: Anyone,
            outcome: Succeeds,
            document: "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            variables: |_, _| json!({ "i": { "username": "matrix-login", "password": PASSWORD } }),
        },
        Row {
            mutation: "refreshToken",
            who: Anyone,
            outcome: AnyButForbidden,
            document: "mutation($i: RefreshTokenInput!) { refreshToken(input: $i) { accessToken } }",
            variables: |_, _| json!({ "i": { "refreshToken": "bogus.token" } }),
        },
        Row {
            mutation: "revokeSession",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: RevokeSessionInput!) { revokeSession(input: $i) { revoked } }",
            variables: |_, _| json!({ "i": { "id": "no-such-session" } }),
        },
        Row {
            mutation: "changePassword",
            who: AtLeast(Role::Viewer),
            outcome: AnyButForbidden,
            document: "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { otherSessionsEnded } }",
            // A wrong current password: allowed callers get BAD_USER_INPUT, nothing changes.
            variables: |_, _| json!({ "i": { "oldPassword": "not the password", "newPassword": "a brand new password" } }),
        },
        Row {
            mutation: "createUser",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            variables: |_, role| json!({ "i": { "username": format!("made-by-{role}"), "password": PASSWORD, "role": "VIEWER" } }),
        },
        Row {
            mutation: "updateUser",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }",
            variables: |f, role| json!({ "i": { "id": f.target_user.to_string(), "displayName": format!("renamed by {role}") } }),
        },
        Row {
            mutation: "setUserWorkshops",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: SetUserWorkshopsInput!) { setUserWorkshops(input: $i) { user { id } } }",
            variables: |f, _| json!({ "i": { "userId": f.target_user.to_string(), "workshopIds": [f.workshop.to_string()] } }),
        },
        Row {
            mutation: "deactivateUser",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "deleteUser",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteUser(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createApiToken",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            variables: |f, role| json!({ "i": { "userId": f.gateway_user.to_string(), "name": format!("by {role}"), "workshopId": f.workshop.to_string() } }),
        },
        Row {
            mutation: "revokeApiToken",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) { revoked } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createWorkshop",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: CreateWorkshopInput!) { createWorkshop(input: $i) { __typename } }",
            variables: |_, role| json!({ "i": { "code": format!("WS-{role}"), "name": "Matrix" } }),
        },
        Row {
            mutation: "updateWorkshop",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: UpdateWorkshopInput!) { updateWorkshop(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "id": f.workshop.to_string(), "description": role } }),
        },
        Row {
            mutation: "deleteWorkshop",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteWorkshop(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createLine",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: CreateLineInput!) { createLine(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "workshopId": f.workshop.to_string(), "code": format!("L-{role}"), "name": "Matrix" } }),
        },
        Row {
            mutation: "updateLine",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($i: UpdateLineInput!) { updateLine(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "id": f.line.to_string(), "name": format!("Line {role}") } }),
        },
        Row {
            mutation: "deleteLine",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteLine(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createEquipment",
            who: AtLeast(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "lineId": f.line.to_string(), "code": format!("EQ-{role}"), "name": "Matrix", "kind": "CNC" } }),
        },
        Row {
            mutation: "updateEquipment",
            who: AtLeast(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "id": f.equipment.to_string(), "name": format!("Machine {role}") } }),
        },
        Row {
            mutation: "deleteEquipment",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteEquipment(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createSensor",
            who: AtLeast(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: CreateSensorInput!) { createSensor(input: $i) { __typename } }",
            variables: |f, role| {
                json!({ "i": { "equipmentId": f.equipment.to_string(), "tag": format!("MATRIX.{role}"), "name": "Matrix",
                    "metric": "TEMPERATURE", "unit": "degC", "sampleIntervalMs": 1000 } })
            },
        },
        Row {
            mutation: "updateSensor",
            who: AtLeast(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "id": f.sensor.to_string(), "name": format!("Sensor {role}") } }),
        },
        Row {
            mutation: "deleteSensor",
            who: AtLeast(Role::Engineer),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteSensor(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createProduct",
            who: AtLeast(Role::Manager),
            outcome: Succeeds,
            document: "mutation($i: CreateProductInput!) { createProduct(input: $i) { __typename } }",
            variables: |_, role| json!({ "i": { "sku": format!("SKU-{role}"), "name": "Matrix", "idealCycleTimeS": 2.5 } }),
        },
        Row {
            mutation: "updateProduct",
            who: AtLeast(Role::Manager),
            outcome: Succeeds,
            document: "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { __typename } }",
            variables: |f, role| json!({ "i": { "id": f.product.to_string(), "name": format!("Product {role}") } }),
        },
        Row {
            mutation: "deleteProduct",
            who: AtLeast(Role::Manager),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteProduct(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "ingestReadings",
            who: GatewayOr(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { accepted rejected { index } } }",
            variables: |f, _| {
                json!({ "i": { "readings": [{ "sensorId": f.sensor.to_string(),
                    "ts": crate::helpers::iso(chrono::Utc::now()), "value": 1.5 }] } })
            },
        },
        Row {
            mutation: "setEquipmentStatus",
            who: GatewayOr(Role::Operator),
            outcome: Succeeds,
            document: "mutation($i: SetEquipmentStatusInput!) { setEquipmentStatus(input: $i) { changed } }",
            variables: |f, _| json!({ "i": { "equipmentId": f.equipment.to_string(), "status": "IDLE" } }),
        },
        Row {
            mutation: "createProductionOrder",
            who: AtLeast(Role::Manager),
            outcome: Succeeds,
            document: "mutation($i: CreateProductionOrderInput!) { createProductionOrder(input: $i) { __typename } }",
            variables: |f, role| {
                let start = chrono::Utc::now() + chrono::Duration::hours(1);
                json!({ "i": { "number": format!("PO-{role}"), "productId": f.product.to_string(),
                    "lineId": f.line.to_string(), "qtyPlanned": 10, "plannedStart": crate::helpers::iso(start),
                    "plannedEnd": crate::helpers::iso(start + chrono::Duration::hours(1)) } })
            },
        },
        Row {
            mutation: "updateProductionOrder",
            who: AtLeast(Role::Manager),
            outcome: NotFound,
            document: "mutation($i: UpdateProductionOrderInput!) { updateProductionOrder(input: $i) { __typename } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "priority": 1 } }),
        },
        Row {
            mutation: "transitionProductionOrder",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: TransitionProductionOrderInput!) { transitionProductionOrder(input: $i) { __typename } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "to": "IN_PROGRESS" } }),
        },
        Row {
            mutation: "reportProduction",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: ReportProductionInput!) { reportProduction(input: $i) { __typename } }",
            variables: |f, _| {
                let end = chrono::Utc::now() - chrono::Duration::hours(1);
                json!({ "i": { "equipmentId": f.equipment.to_string(), "orderId": MISSING,
                    "periodStart": crate::helpers::iso(end - chrono::Duration::minutes(15)),
                    "periodEnd": crate::helpers::iso(end), "totalCount": 1, "goodCount": 1, "scrapCount": 0 } })
            },
        },
        Row {
            mutation: "createShift",
            who: AtLeast(Role::Manager),
            outcome: Succeeds,
            document: "mutation($i: CreateShiftInput!) { createShift(input: $i) { __typename } }",
            // A day of its own per role, long after the seeded shifts: no overlaps.
            variables: |f, role| {
                let day = chrono::Utc::now() + chrono::Duration::days(100 + role.len() as i64);
                json!({ "i": { "workshopId": f.workshop.to_string(), "name": format!("Shift {role}"),
                    "startsAt": crate::helpers::iso(day), "endsAt": crate::helpers::iso(day + chrono::Duration::hours(8)) } })
            },
        },
        Row {
            mutation: "updateShift",
            who: AtLeast(Role::Manager),
            outcome: NotFound,
            document: "mutation($i: UpdateShiftInput!) { updateShift(input: $i) { __typename } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "name": "Late" } }),
        },
        Row {
            mutation: "deleteShift",
            who: AtLeast(Role::Manager),
            outcome: NotFound,
            document: "mutation($i: DeleteInput!) { deleteShift(input: $i) { deletedId } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "createMaintenanceOrder",
            who: AtLeast(Role::Operator),
            outcome: Succeeds,
            document: "mutation($i: CreateMaintenanceOrderInput!) { createMaintenanceOrder(input: $i) { __typename } }",
            variables: |f, role| {
                json!({ "i": { "equipmentId": f.equipment.to_string(), "kind": "CORRECTIVE",
                "title": format!("Requested by {role}") } })
            },
        },
        Row {
            mutation: "updateMaintenanceOrder",
            who: AtLeast(Role::Engineer),
            outcome: NotFound,
            document: "mutation($i: UpdateMaintenanceOrderInput!) { updateMaintenanceOrder(input: $i) { __typename } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "priority": 1 } }),
        },
        Row {
            mutation: "transitionMaintenanceOrder",
            who: AtLeast(Role::Engineer),
            outcome: NotFound,
            document: "mutation($i: TransitionMaintenanceOrderInput!) { transitionMaintenanceOrder(input: $i) { __typename } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "to": "SCHEDULED" } }),
        },
        Row {
            mutation: "raiseAlarm",
            who: GatewayOr(Role::Engineer),
            outcome: Succeeds,
            document: "mutation($i: RaiseAlarmInput!) { raiseAlarm(input: $i) { alarm { id } } }",
            variables: |f, _| {
                json!({ "i": { "equipmentId": f.equipment.to_string(), "type": "MATRIX",
                "severity": "MINOR", "message": "role matrix" } })
            },
        },
        Row {
            mutation: "acknowledgeAlarm",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: AcknowledgeAlarmInput!) { acknowledgeAlarm(input: $i) { alarm { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "acknowledgeAlarms",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: AcknowledgeAlarmsInput!) { acknowledgeAlarms(input: $i) { alarms { id } } }",
            variables: |_, _| json!({ "i": { "ids": [MISSING] } }),
        },
        Row {
            mutation: "clearAlarm",
            who: AtLeast(Role::Engineer),
            outcome: NotFound,
            document: "mutation($i: ClearAlarmInput!) { clearAlarm(input: $i) { alarm { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "assignAlarm",
            who: AtLeast(Role::Engineer),
            outcome: NotFound,
            document: "mutation($i: AssignAlarmInput!) { assignAlarm(input: $i) { alarm { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "userId": null } }),
        },
        Row {
            mutation: "commentAlarm",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: CommentAlarmInput!) { commentAlarm(input: $i) { alarmEvent { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING, "text": "matrix" } }),
        },
        Row {
            mutation: "shelveAlarm",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: ShelveAlarmInput!) { shelveAlarm(input: $i) { alarm { id } } }",
            variables: |_, _| {
                json!({ "i": { "id": MISSING, "reason": "matrix",
                    "until": crate::helpers::iso(chrono::Utc::now() + chrono::Duration::hours(1)) } })
            },
        },
        Row {
            mutation: "unshelveAlarm",
            who: AtLeast(Role::Operator),
            outcome: NotFound,
            document: "mutation($i: UnshelveAlarmInput!) { unshelveAlarm(input: $i) { alarm { id } } }",
            variables: |_, _| json!({ "i": { "id": MISSING } }),
        },
        Row {
            mutation: "invalidateCache",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation($t: [String!]) { invalidateCache(tags: $t) { invalidated } }",
            variables: |f, _| json!({ "t": [format!("equipment:{}", f.equipment)] }),
        },
        Row {
            mutation: "runMaintenance",
            who: AtLeast(Role::Admin),
            outcome: Succeeds,
            document: "mutation { runMaintenance(task: SESSIONS) { jobId } }",
            variables: |_, _| json!({}),
        },
        Row {
            mutation: "retryJob",
            who: AtLeast(Role::Admin),
            outcome: NotFound,
            document: "mutation { retryJob(id: \"01J0000000000000000000000\") { id } }",
            variables: |_, _| json!({}),
        },
        // Last: they end the sessions the other rows use (each has its own login).
        Row {
            mutation: "logout",
            who: AnyCaller,
            outcome: AnyButForbidden,
            document: "mutation { logout { loggedOut } }",
            variables: |_, _| json!({}),
        },
        Row {
            mutation: "logoutAll",
            who: AnyCaller,
            outcome: AnyButForbidden,
            document: "mutation { logoutAll { sessionsEnded } }",
            variables: |_, _| json!({}),
        },
    ]
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Gateway => 0,
        Role::Viewer => 1,
        Role::Operator => 2,
        Role::Engineer => 3,
        Role::Manager => 4,
        Role::Admin => 5,
    }
}

fn allowed(who: Who, role: Role) -> bool {
    match who {
        Who::Anyone | Who::AnyCaller => true,
        Who::AtLeast(min) => role != Role::Gateway && rank(role) >= rank(min),
        Who::GatewayOr(min) => role == Role::Gateway || rank(role) >= rank(min),
    }
}

/// The mutation fields the running schema has.
async fn schema_mutations(app: &TestApp) -> BTreeSet<String> {
    let response = app
        .graphql(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    response.data()["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("mutation fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_matrix_names_every_mutation_of_the_schema() {
    let app = TestApp::spawn().await;
    let in_table: BTreeSet<String> = table().iter().map(|r| r.mutation.to_owned()).collect();
    assert_eq!(in_table.len(), table().len(), "a mutation is listed twice");
    assert_eq!(in_table, schema_mutations(&app).await);
}

#[tokio::test]
async fn every_mutation_for_every_role_is_allowed_or_forbidden_as_the_table_says() {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let mut ids = Vec::new();
    for conn in ["workshops", "lines", "equipment", "sensors", "products"] {
        let query = format!("{{ {conn}(first: 1) {{ edges {{ node {{ id }} }} }} }}");
        let r = app.graphql_as(&admin, &query, json!({})).await;
        ids.push(crate::helpers::id_of(&r.data()[conn]["edges"][0]["node"]));
    }
    let create = |username: &str, role: &str, with_password: bool| {
        let mut input =
            json!({ "username": username, "role": role, "workshopIds": [ids[0].to_string()] });
        if with_password {
            input["password"] = json!(PASSWORD);
        }
        input
    };
    let mut user_ids = Vec::new();
    for (name, role, pw) in [
        ("matrix-login", "VIEWER", true),
        ("matrix-target", "VIEWER", true),
        ("matrix-gateway", "GATEWAY", false),
    ] {
        let r = app
            .graphql_as(
                &admin,
                "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                json!({ "i": create(name, role, pw) }),
            )
            .await;
        user_ids.push(crate::helpers::id_of(&r.data()["createUser"]["user"]));
    }
    let fixture = Fixture {
        workshop: ids[0],
        line: ids[1],
        equipment: ids[2],
        sensor: ids[3],
        product: ids[4],
        target_user: user_ids[1],
        gateway_user: user_ids[2],
    };

    // Callers: one person per role (two logins each: logout and logoutAll come last), and a
    // gateway token for the workshop.
    let mut callers: Vec<(Role, String, String)> = Vec::new();
    for role in [
        Role::Viewer,
        Role::Operator,
        Role::Engineer,
        Role::Manager,
        Role::Admin,
    ] {
        let name = format!("matrix-{}", role.as_str());
        let gql_role = role.as_str().to_uppercase();
        app.graphql_as(
            &admin,
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
            json!({ "i": create(&name, &gql_role, true) }),
        )
        .await
        .data();
        let a = app.login(&name, PASSWORD).await;
        let b = app.login(&name, PASSWORD).await;
        callers.push((role, a, b));
    }
    let token = app
        .graphql_as(
            &admin,
            "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }",
            json!({ "i": { "userId": fixture.gateway_user.to_string(), "name": "matrix",
                "workshopId": fixture.workshop.to_string() } }),
        )
        .await
        .data()["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    callers.push((Role::Gateway, token.clone(), token));

    let mut checked = 0;
    let mut failures = Vec::new();
    for row in table() {
        for (role, token, second) in &callers {
            let token = if row.mutation == "logout" {
                second
            } else {
                token
            };
            let response = app
                .graphql_as(
                    token,
                    row.document,
                    (row.variables)(&fixture, role.as_str()),
                )
                .await;
            let code = response.body["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_owned);
            let verdict = if allowed(row.who, *role) {
                match row.outcome {
                    Outcome::Succeeds
                        if code.is_none() && !response.data()[row.mutation].is_null() =>
                    {
                        None
                    }
                    Outcome::NotFound if code.as_deref() == Some("NOT_FOUND") => None,
                    Outcome::AnyButForbidden
                        if !matches!(code.as_deref(), Some("FORBIDDEN" | "INTERNAL")) =>
                    {
                        None
                    }
                    expected => Some(format!("expected {expected:?}, got {}", response.body)),
                }
            } else if code.as_deref() == Some("FORBIDDEN") {
                None
            } else {
                Some(format!("expected FORBIDDEN, got {}", response.body))
            };
            if let Some(why) = verdict {
                failures.push(format!("{} as {}: {why}", row.mutation, role.as_str()));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table().len() * 6);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
