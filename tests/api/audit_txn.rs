//! A mutation's audit row commits in the mutation's own transaction: a successful call leaves
//! exactly one `ok` row naming the row it changed, a refused one exactly one error row
//! (`entity = "error:<CODE>"`, written after execution) and never an `ok` row too; a change that
//! fails in its transaction leaves no `ok` row and no change; and mutations sent over the
//! WebSocket transport are audited like HTTP ones.

use entity::{audit_log, enums::Role};
use futures::{SinkExt as _, StreamExt as _};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    SMALL, TestApp, WsStream, insert_user_with_password, on_postgres, ws_connect,
};

const PASSWORD: &str = "audited in its transaction";

/// The newest audit row's id (0 for none): the rows after it are what the next call wrote.
async fn mark(app: &TestApp) -> i64 {
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .one(&app.state.db.write)
        .await
        .expect("audit query")
        .map_or(0, |row| row.id)
}

/// The audit rows written after `mark`, oldest first.
async fn since(app: &TestApp, mark: i64) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Id.gt(mark))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.state.db.write)
        .await
        .expect("audit query")
}

/// Checks `row` is the success of `action` on `entity_id`.
fn assert_ok(row: &audit_log::Model, action: &str, entity_id: &str) {
    assert_eq!(row.action, action, "{row:?}");
    assert_eq!(row.entity, None, "{row:?}");
    assert_eq!(row.entity_id.as_deref(), Some(entity_id), "{row:?}");
    let payload = row.payload.as_ref().expect("payload");
    assert_eq!(payload["ok"], true, "{row:?}");
    assert_eq!(payload["error"], Value::Null, "{row:?}");
}

/// Checks `row` is the refusal of `action` with `code`.
fn assert_error(row: &audit_log::Model, action: &str, code: &str) {
    assert_eq!(row.action, action, "{row:?}");
    assert_eq!(
        row.entity.as_deref(),
        Some(format!("error:{code}").as_str())
    );
    let payload = row.payload.as_ref().expect("payload");
    assert_eq!(payload["ok"], false, "{row:?}");
    assert_eq!(payload["error"], code, "{row:?}");
}

/// The one row written after `mark`: the success of `action` on `entity_id`.
async fn one_ok(
    app: &TestApp,
    mark: i64,
    action: &str,
    entity_id: impl ToString,
) -> audit_log::Model {
    let mut rows = since(app, mark).await;
    assert_eq!(
        rows.len(),
        1,
        "exactly one audit row for {action}: {rows:#?}"
    );
    let row = rows.remove(0);
    assert_ok(&row, action, &entity_id.to_string());
    row
}

/// The one row written after `mark`: the refusal of `action` with `code`.
async fn one_error(app: &TestApp, mark: i64, action: &str, code: &str) -> audit_log::Model {
    let mut rows = since(app, mark).await;
    assert_eq!(
        rows.len(),
        1,
        "exactly one audit row for {action}: {rows:#?}"
    );
    let row = rows.remove(0);
    assert_error(&row, action, code);
    row
}

/// A seeded plant, the admin's token and id, and an operator of WS-01 with `PASSWORD`.
struct Plant {
    app: TestApp,
    admin: String,
    admin_id: i64,
    operator_id: i64,
}

async fn plant() -> Plant {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let me = app.graphql_as(&admin, "{ me { id } }", json!({})).await;
    let admin_id = me.data()["me"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("admin id");
    let operator_id = insert_user_with_password(&app, "olga", Role::Operator, PASSWORD).await;
    Plant {
        app,
        admin,
        admin_id,
        operator_id,
    }
}

/// Runs `document` as `token`, failing on errors; the value at `pointer` of its data (an id
/// as a string, or the JSON text of anything else).
async fn run(
    app: &TestApp,
    token: &str,
    document: &str,
    variables: Value,
    pointer: &str,
) -> String {
    let response = app.graphql_as(token, document, variables).await;
    let value = response
        .data()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in {}", response.body));
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Runs `document` as `token`, expecting it refused with `code`.
async fn refused(app: &TestApp, token: &str, document: &str, variables: Value, code: &str) {
    let response = app.graphql_as(token, document, variables).await;
    assert_eq!(response.error_code(), code, "{}", response.body);
}

const CREATE_WORKSHOP: &str =
    "mutation($i: CreateWorkshopInput!) { createWorkshop(input: $i) { workshop { id } } }";
const UPDATE_WORKSHOP: &str =
    "mutation($i: UpdateWorkshopInput!) { updateWorkshop(input: $i) { workshop { id name } } }";
const DELETE_WORKSHOP: &str =
    "mutation($i: DeleteInput!) { deleteWorkshop(input: $i) { deletedId } }";
const CREATE_LINE: &str =
    "mutation($i: CreateLineInput!) { createLine(input: $i) { line { id } } }";
const UPDATE_LINE: &str =
    "mutation($i: UpdateLineInput!) { updateLine(input: $i) { line { id } } }";
const DELETE_LINE: &str = "mutation($i: DeleteInput!) { deleteLine(input: $i) { deletedId } }";
const CREATE_EQUIPMENT: &str =
    "mutation($i: CreateEquipmentInput!) { createEquipment(input: $i) { equipment { id } } }";
const UPDATE_EQUIPMENT: &str =
    "mutation($i: UpdateEquipmentInput!) { updateEquipment(input: $i) { equipment { id } } }";
const DELETE_EQUIPMENT: &str =
    "mutation($i: DeleteInput!) { deleteEquipment(input: $i) { deletedId } }";
const CREATE_SENSOR: &str =
    "mutation($i: CreateSensorInput!) { createSensor(input: $i) { sensor { id } } }";
const UPDATE_SENSOR: &str =
    "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { sensor { id tag } } }";
const DELETE_SENSOR: &str = "mutation($i: DeleteInput!) { deleteSensor(input: $i) { deletedId } }";
const CREATE_PRODUCT: &str =
    "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } } }";
const UPDATE_PRODUCT: &str =
    "mutation($i: UpdateProductInput!) { updateProduct(input: $i) { product { id } } }";
const DELETE_PRODUCT: &str =
    "mutation($i: DeleteInput!) { deleteProduct(input: $i) { deletedId } }";

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) \
    { accessToken refreshToken user { id } } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { accessToken refreshToken } }";
const CREATE_USER: &str =
    "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }";
const UPDATE_USER: &str =
    "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } } }";
const SET_WORKSHOPS: &str =
    "mutation($i: SetUserWorkshopsInput!) { setUserWorkshops(input: $i) { user { id } } }";
const DEACTIVATE_USER: &str =
    "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { id } } }";
const DELETE_USER: &str = "mutation($i: DeleteInput!) { deleteUser(input: $i) { deletedId } }";
const CHANGE_PASSWORD: &str =
    "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { otherSessionsEnded } }";
const CREATE_TOKEN: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) \
    { token apiToken { id } } }";
const REVOKE_TOKEN: &str =
    "mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) { revoked } }";
const REVOKE_SESSION: &str =
    "mutation($i: RevokeSessionInput!) { revokeSession(input: $i) { revoked } }";
const LOGOUT: &str = "mutation { logout { loggedOut } }";
const LOGOUT_ALL: &str = "mutation { logoutAll { sessionsEnded } }";

#[tokio::test]
async fn plant_and_product_writes_leave_one_ok_row_each_and_refusals_one_error_row() {
    let Plant {
        app,
        admin,
        admin_id,
        ..
    } = plant().await;
    let operator = app.login("olga", PASSWORD).await;

    // Workshop: the created id, who, from where, with what.
    let m = mark(&app).await;
    let workshop = run(
        &app,
        &admin,
        CREATE_WORKSHOP,
        json!({ "i": { "code": "W-AUD", "name": "Audited" } }),
        "/createWorkshop/workshop/id",
    )
    .await;
    let row = one_ok(&app, m, "createWorkshop", &workshop).await;
    assert_eq!(row.user_id, Some(admin_id));
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"));
    let payload = row.payload.expect("payload");
    assert_eq!(payload["role"], "admin");
    // The arguments by name, the variable filled in.
    assert_eq!(payload["arguments"]["input"]["code"], "W-AUD");

    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        CREATE_WORKSHOP,
        json!({ "i": { "code": "W-NO", "name": "Refused" } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "createWorkshop", "FORBIDDEN").await;

    let m = mark(&app).await;
    run(
        &app,
        &admin,
        UPDATE_WORKSHOP,
        json!({ "i": { "id": workshop, "name": "Audited twice" } }),
        "/updateWorkshop/workshop/id",
    )
    .await;
    one_ok(&app, m, "updateWorkshop", &workshop).await;

    // Line.
    let m = mark(&app).await;
    let line = run(
        &app,
        &admin,
        CREATE_LINE,
        json!({ "i": { "workshopId": workshop, "code": "L-AUD", "name": "Line" } }),
        "/createLine/line/id",
    )
    .await;
    one_ok(&app, m, "createLine", &line).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        UPDATE_LINE,
        json!({ "i": { "id": line, "name": "Nope" } }),
        "FORBIDDEN",
    )
    .await;
    let row = one_error(&app, m, "updateLine", "FORBIDDEN").await;
    assert_eq!(row.entity_id.as_deref(), Some(line.as_str()));

    // Equipment.
    let m = mark(&app).await;
    let equipment = run(
        &app,
        &admin,
        CREATE_EQUIPMENT,
        json!({ "i": { "lineId": line, "code": "M-AUD", "name": "Machine", "kind": "CNC" } }),
        "/createEquipment/equipment/id",
    )
    .await;
    one_ok(&app, m, "createEquipment", &equipment).await;
    let m = mark(&app).await;
    run(
        &app,
        &admin,
        UPDATE_EQUIPMENT,
        json!({ "i": { "id": equipment, "name": "Machine 2" } }),
        "/updateEquipment/equipment/id",
    )
    .await;
    one_ok(&app, m, "updateEquipment", &equipment).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        UPDATE_EQUIPMENT,
        json!({ "i": { "id": equipment, "name": "Nope" } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "updateEquipment", "FORBIDDEN").await;

    // Sensor.
    let m = mark(&app).await;
    let sensor = run(
        &app,
        &admin,
        CREATE_SENSOR,
        json!({ "i": { "equipmentId": equipment, "tag": "T-AUD", "name": "Temp",
                       "metric": "TEMPERATURE", "unit": "C", "sampleIntervalMs": 1000 } }),
        "/createSensor/sensor/id",
    )
    .await;
    one_ok(&app, m, "createSensor", &sensor).await;
    let m = mark(&app).await;
    run(
        &app,
        &admin,
        UPDATE_SENSOR,
        json!({ "i": { "id": sensor, "name": "Oil temp" } }),
        "/updateSensor/sensor/id",
    )
    .await;
    one_ok(&app, m, "updateSensor", &sensor).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        DELETE_SENSOR,
        json!({ "i": { "id": sensor } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "deleteSensor", "FORBIDDEN").await;

    // The deletes, innermost first.
    for (document, action, id) in [
        (DELETE_SENSOR, "deleteSensor", &sensor),
        (DELETE_EQUIPMENT, "deleteEquipment", &equipment),
        (DELETE_LINE, "deleteLine", &line),
        (DELETE_WORKSHOP, "deleteWorkshop", &workshop),
    ] {
        let m = mark(&app).await;
        let pointer = format!("/{action}/deletedId");
        let deleted = run(
            &app,
            &admin,
            document,
            json!({ "i": { "id": id } }),
            &pointer,
        )
        .await;
        assert_eq!(&deleted, id);
        one_ok(&app, m, action, id).await;
    }
    // A missing row: refused after the role check, one error row naming the id asked for.
    let m = mark(&app).await;
    refused(
        &app,
        &admin,
        DELETE_WORKSHOP,
        json!({ "i": { "id": workshop } }),
        "NOT_FOUND",
    )
    .await;
    let row = one_error(&app, m, "deleteWorkshop", "NOT_FOUND").await;
    assert_eq!(row.entity_id.as_deref(), Some(workshop.as_str()));

    // Product.
    let m = mark(&app).await;
    let product = run(
        &app,
        &admin,
        CREATE_PRODUCT,
        json!({ "i": { "sku": "SKU-AUD", "name": "Bracket", "idealCycleTimeS": 30.0 } }),
        "/createProduct/product/id",
    )
    .await;
    one_ok(&app, m, "createProduct", &product).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        UPDATE_PRODUCT,
        json!({ "i": { "id": product, "name": "Nope" } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "updateProduct", "FORBIDDEN").await;
    let m = mark(&app).await;
    run(
        &app,
        &admin,
        UPDATE_PRODUCT,
        json!({ "i": { "id": product, "name": "Bracket 2" } }),
        "/updateProduct/product/id",
    )
    .await;
    one_ok(&app, m, "updateProduct", &product).await;
    let m = mark(&app).await;
    run(
        &app,
        &admin,
        DELETE_PRODUCT,
        json!({ "i": { "id": product } }),
        "/deleteProduct/deletedId",
    )
    .await;
    one_ok(&app, m, "deleteProduct", &product).await;
}

/// The session id of a refresh token (`<sid>.<secret>`).
fn sid_of(refresh_token: &str) -> String {
    refresh_token
        .split_once('.')
        .expect("sid.secret")
        .0
        .to_owned()
}

/// Logs `username` in with `password`: (access token, refresh token).
async fn login(app: &TestApp, username: &str, password: &str) -> (String, String) {
    let response = app
        .graphql(LOGIN, json!({ "u": username, "p": password }))
        .await;
    let data = &response.data()["login"];
    (
        data["accessToken"].as_str().expect("access").to_owned(),
        data["refreshToken"].as_str().expect("refresh").to_owned(),
    )
}

#[tokio::test]
async fn sessions_users_and_tokens_leave_one_ok_row_each_without_secrets() {
    let Plant {
        app,
        admin,
        operator_id,
        ..
    } = plant().await;

    // Login: the user it opened a session for; the caller is anonymous; no password.
    let m = mark(&app).await;
    let (_, refresh) = login(&app, "olga", PASSWORD).await;
    let row = one_ok(&app, m, "login", operator_id).await;
    assert_eq!(row.user_id, None);
    let payload = row.payload.expect("payload");
    assert_eq!(payload["arguments"]["input"]["password"], "***");
    assert_eq!(payload["arguments"]["input"]["username"], "olga");
    assert!(!payload.to_string().contains(PASSWORD));
    let m = mark(&app).await;
    refused(
        &app,
        "",
        LOGIN,
        json!({ "u": "olga", "p": "not the password at all" }),
        "UNAUTHENTICATED",
    )
    .await;
    let row = one_error(&app, m, "login", "UNAUTHENTICATED").await;
    assert!(
        !row.payload
            .expect("payload")
            .to_string()
            .contains("not the password")
    );

    // Refresh: the session it rotated; neither refresh token reaches the row.
    let m = mark(&app).await;
    let response = app.graphql(REFRESH, json!({ "t": refresh })).await;
    let rotated = response.data()["refreshToken"]["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let row = one_ok(&app, m, "refreshToken", sid_of(&refresh)).await;
    let text = serde_json::to_string(&row).expect("json");
    for secret in [&refresh, &rotated] {
        let (_, secret) = secret.split_once('.').expect("sid.secret");
        assert!(!text.contains(secret), "a refresh secret in {text}");
    }
    // Presenting the used one again ends the session: refused, one error row, no ok row.
    let m = mark(&app).await;
    refused(
        &app,
        "",
        REFRESH,
        json!({ "t": refresh }),
        "UNAUTHENTICATED",
    )
    .await;
    one_error(&app, m, "refreshToken", "UNAUTHENTICATED").await;

    // Users: the user changed.
    let m = mark(&app).await;
    let user = run(
        &app,
        &admin,
        CREATE_USER,
        json!({ "i": { "username": "ada", "password": PASSWORD, "role": "VIEWER" } }),
        "/createUser/user/id",
    )
    .await;
    let row = one_ok(&app, m, "createUser", &user).await;
    assert!(
        !serde_json::to_string(&row)
            .expect("json")
            .contains(PASSWORD)
    );
    let (operator, _) = login(&app, "olga", PASSWORD).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        CREATE_USER,
        json!({ "i": { "username": "eve", "password": PASSWORD, "role": "ADMIN" } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "createUser", "FORBIDDEN").await;
    let workshop = app.first_id("workshops").await;
    for (document, action, input, pointer) in [
        (
            UPDATE_USER,
            "updateUser",
            json!({ "id": user, "displayName": "Ada", "password": "a brand new password" }),
            "/updateUser/user/id",
        ),
        (
            SET_WORKSHOPS,
            "setUserWorkshops",
            json!({ "userId": user, "workshopIds": [workshop] }),
            "/setUserWorkshops/user/id",
        ),
        (
            DEACTIVATE_USER,
            "deactivateUser",
            json!({ "id": user }),
            "/deactivateUser/user/id",
        ),
        (
            DELETE_USER,
            "deleteUser",
            json!({ "id": user }),
            "/deleteUser/deletedId",
        ),
    ] {
        let m = mark(&app).await;
        run(&app, &admin, document, json!({ "i": input }), pointer).await;
        let row = one_ok(&app, m, action, &user).await;
        assert!(
            !serde_json::to_string(&row)
                .expect("json")
                .contains("a brand new password")
        );
    }

    // The caller's own password: the user; neither password in the row.
    let new_password = "olga's second password";
    let m = mark(&app).await;
    run(
        &app,
        &operator,
        CHANGE_PASSWORD,
        json!({ "i": { "oldPassword": PASSWORD, "newPassword": new_password } }),
        "/changePassword/otherSessionsEnded",
    )
    .await;
    let row = one_ok(&app, m, "changePassword", operator_id).await;
    let text = serde_json::to_string(&row).expect("json");
    assert!(
        !text.contains(PASSWORD) && !text.contains(new_password),
        "{text}"
    );
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        CHANGE_PASSWORD,
        json!({ "i": { "oldPassword": "wrong old password", "newPassword": "yet another password" } }),
        "BAD_USER_INPUT",
    )
    .await;
    one_error(&app, m, "changePassword", "BAD_USER_INPUT").await;

    // Sessions: revoked by an admin (the session), logout (the session), logoutAll (the user).
    let (_, other_refresh) = login(&app, "olga", new_password).await;
    let other = sid_of(&other_refresh);
    let m = mark(&app).await;
    let revoked = run(
        &app,
        &admin,
        REVOKE_SESSION,
        json!({ "i": { "id": other } }),
        "/revokeSession/revoked",
    )
    .await;
    assert_eq!(revoked, "true");
    one_ok(&app, m, "revokeSession", &other).await;
    let (access, refresh) = login(&app, "olga", new_password).await;
    let m = mark(&app).await;
    let response = app.graphql_as(&access, LOGOUT, json!({})).await;
    assert_eq!(response.data()["logout"]["loggedOut"], true);
    one_ok(&app, m, "logout", sid_of(&refresh)).await;
    let m = mark(&app).await;
    refused(&app, &access, LOGOUT, json!({}), "UNAUTHENTICATED").await;
    one_error(&app, m, "logout", "UNAUTHENTICATED").await;
    let (access, _) = login(&app, "olga", new_password).await;
    let m = mark(&app).await;
    let response = app.graphql_as(&access, LOGOUT_ALL, json!({})).await;
    // This one and the one `changePassword` kept.
    assert_eq!(response.data()["logoutAll"]["sessionsEnded"], 2);
    one_ok(&app, m, "logoutAll", operator_id).await;

    // API tokens: the token's id; the secret it returns is in no audit row.
    let gateway = insert_user_with_password(&app, "gw-1", Role::Gateway, PASSWORD).await;
    let m = mark(&app).await;
    let response = app
        .graphql_as(
            &admin,
            CREATE_TOKEN,
            json!({ "i": { "userId": gateway.to_string(), "name": "gw host", "workshopId": workshop } }),
        )
        .await;
    let created = &response.data()["createApiToken"];
    let secret = created["token"].as_str().expect("token").to_owned();
    let token_id = created["apiToken"]["id"].as_str().expect("id").to_owned();
    one_ok(&app, m, "createApiToken", &token_id).await;
    let everything = serde_json::to_string(&since(&app, 0).await).expect("json");
    assert!(
        !everything.contains(&secret),
        "the API token reached the audit log"
    );
    let (operator, _) = login(&app, "olga", new_password).await;
    let m = mark(&app).await;
    refused(
        &app,
        &operator,
        CREATE_TOKEN,
        json!({ "i": { "userId": gateway.to_string(), "name": "x", "workshopId": workshop } }),
        "FORBIDDEN",
    )
    .await;
    one_error(&app, m, "createApiToken", "FORBIDDEN").await;
    let m = mark(&app).await;
    let response = app
        .graphql_as(&admin, REVOKE_TOKEN, json!({ "i": { "id": token_id } }))
        .await;
    assert_eq!(response.data()["revokeApiToken"]["revoked"], true);
    one_ok(&app, m, "revokeApiToken", &token_id).await;
}

/// Installs a trigger that makes the `ok` audit row of `action` fail to insert, as a disk
/// error or a constraint would: the change written before it in the same transaction must go
/// too.
async fn refuse_ok_rows_of(app: &TestApp, action: &str) {
    let db = &app.state.db.write;
    let statements = if on_postgres() {
        vec![
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW \
                 WHEN (NEW.entity IS NULL AND NEW.action = '{action}') \
                 EXECUTE FUNCTION refuse_audit()"
            ),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             WHEN NEW.entity IS NULL AND NEW.action = '{action}' \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
        )]
    };
    for sql in statements {
        db.execute_unprepared(&sql).await.expect("install trigger");
    }
}

/// The code and name of the workshop with this id, read from the database.
async fn workshop_row(app: &TestApp, id: &str) -> (String, String) {
    let id: i64 = id.parse().expect("numeric id");
    let w = entity::workshop::Entity::find_by_id(id)
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("workshop");
    (w.code, w.name)
}

#[tokio::test]
async fn a_change_that_fails_in_its_transaction_leaves_no_ok_row_and_no_change() {
    let Plant { app, admin, .. } = plant().await;

    // A taken workshop code: the insert fails, nothing is stored, one CONFLICT row.
    let workshops = app.count("workshops").await;
    let m = mark(&app).await;
    refused(
        &app,
        &admin,
        CREATE_WORKSHOP,
        json!({ "i": { "code": "WS-01", "name": "Twin" } }),
        "CONFLICT",
    )
    .await;
    one_error(&app, m, "createWorkshop", "CONFLICT").await;
    assert_eq!(app.count("workshops").await, workshops);

    // A taken sensor tag on update: the update fails, the tag stays.
    let sensors = app
        .graphql_as(
            &admin,
            "{ sensors(first: 2) { edges { node { id tag } } } }",
            json!({}),
        )
        .await;
    let edges = sensors.data()["sensors"]["edges"].clone();
    let (first, tag) = (
        edges[0]["node"]["id"].as_str().expect("id").to_owned(),
        edges[0]["node"]["tag"].as_str().expect("tag").to_owned(),
    );
    let taken = edges[1]["node"]["tag"].as_str().expect("tag").to_owned();
    let m = mark(&app).await;
    refused(
        &app,
        &admin,
        UPDATE_SENSOR,
        json!({ "i": { "id": first, "tag": taken } }),
        "CONFLICT",
    )
    .await;
    let row = one_error(&app, m, "updateSensor", "CONFLICT").await;
    assert_eq!(row.entity_id.as_deref(), Some(first.as_str()));
    let now = app
        .graphql_as(
            &admin,
            "query($id: ID!) { sensorById(id: $id) { tag } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(now.data()["sensorById"]["tag"], tag.as_str());

    // A taken username: no user, one CONFLICT row.
    let users = app.count("users").await;
    let m = mark(&app).await;
    refused(
        &app,
        &admin,
        CREATE_USER,
        json!({ "i": { "username": "olga", "password": PASSWORD, "role": "VIEWER" } }),
        "CONFLICT",
    )
    .await;
    one_error(&app, m, "createUser", "CONFLICT").await;
    assert_eq!(app.count("users").await, users);

    // Two mutations in one document, the second failing: one ok row for the first (its
    // transaction committed), one error row for the second, nothing else.
    let m = mark(&app).await;
    let both = app
        .graphql_as(
            &admin,
            "mutation { a: createProduct(input: {sku: \"SKU-TWIN\", name: \"A\", \
             idealCycleTimeS: 10}) { product { id } } b: createProduct(input: {sku: \
             \"SKU-TWIN\", name: \"B\", idealCycleTimeS: 10}) { product { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(both.error_code(), "CONFLICT");
    let product = both.body["data"]["a"]["product"]["id"]
        .as_str()
        .expect("the first product")
        .to_owned();
    let rows = since(&app, m).await;
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_ok(&rows[0], "createProduct", &product);
    assert_error(&rows[1], "createProduct", "CONFLICT");

    // The audit row itself failing, after the change was written in the same transaction:
    // the change rolls back with it, and the call is recorded as failed, once.
    let workshop = app.first_id("workshops").await;
    let before = workshop_row(&app, &workshop).await;
    refuse_ok_rows_of(&app, "updateWorkshop").await;
    let m = mark(&app).await;
    refused(
        &app,
        &admin,
        UPDATE_WORKSHOP,
        json!({ "i": { "id": workshop, "code": "WS-RENAMED", "name": "Renamed" } }),
        "INTERNAL",
    )
    .await;
    let row = one_error(&app, m, "updateWorkshop", "INTERNAL").await;
    assert_eq!(row.entity_id.as_deref(), Some(workshop.as_str()));
    assert_eq!(workshop_row(&app, &workshop).await, before);
}

/// The next message of `socket` whose `type` is one of `types` (keep-alives skipped).
async fn next_of(socket: &mut WsStream, types: &[&str]) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("socket open")
            .expect("message");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("JSON message");
            if types.iter().any(|t| value["type"] == *t) {
                return value;
            }
        }
    }
}

/// Runs `document` over `/graphql/ws` in `protocol` as `token`; the result's payload.
async fn over_socket(app: &TestApp, protocol: &'static str, token: &str, document: &str) -> Value {
    let mut socket = ws_connect(&app.address, protocol).await;
    let init = json!({
        "type": "connection_init",
        "payload": { "Authorization": format!("Bearer {token}") },
    });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("send init");
    next_of(&mut socket, &["connection_ack"]).await;
    let (start, data) = if protocol == "graphql-ws" {
        ("start", "data")
    } else {
        ("subscribe", "next")
    };
    let run = json!({ "id": "1", "type": start, "payload": { "query": document } });
    socket
        .send(Message::text(run.to_string()))
        .await
        .expect("send");
    let result = next_of(&mut socket, &[data, "error"]).await;
    assert_eq!(result["type"], data, "{result}");
    next_of(&mut socket, &["complete"]).await;
    result["payload"].clone()
}

#[tokio::test]
async fn mutations_over_the_socket_are_audited_in_their_transaction_too() {
    let Plant {
        app,
        admin,
        admin_id,
        ..
    } = plant().await;
    for (protocol, code) in [("graphql-transport-ws", "W-WS1"), ("graphql-ws", "W-WS2")] {
        let m = mark(&app).await;
        let document = format!(
            "mutation {{ createWorkshop(input: {{code: \"{code}\", name: \"Socket\"}}) \
             {{ workshop {{ id }} }} }}"
        );
        let payload = over_socket(&app, protocol, &admin, &document).await;
        assert!(payload.get("errors").is_none(), "{payload}");
        let id = payload["data"]["createWorkshop"]["workshop"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let row = one_ok(&app, m, "createWorkshop", &id).await;
        assert_eq!(row.user_id, Some(admin_id), "{protocol}");
        assert_eq!(row.ip.as_deref(), Some("127.0.0.1"), "{protocol}");
        let payload = row.payload.expect("payload");
        assert_eq!(payload["role"], "admin");
        assert_eq!(payload["arguments"]["input"]["code"], code);
    }
}
