//! Users through the API (admin), password change, deactivation, gateway API tokens and
//! ingest — and the bad inputs of each new mutation, which must change nothing.

use serde_json::{Value, json};

use crate::helpers::{HOSTILE_STRINGS, SMALL, TestApp, iso, list};

const PASSWORD: &str = "a perfectly fine password";

const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id username role active workshopIds } } }";
const UPDATE_USER: &str = "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id role active displayName email } } }";
const SET_WORKSHOPS: &str = "mutation($i: SetUserWorkshopsInput!) { setUserWorkshops(input: $i) { user { id workshopIds } } }";
const CHANGE_PASSWORD: &str =
    "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { otherSessionsEnded } }";
const CREATE_TOKEN: &str = "mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token apiToken { id workshopId } } }";
const INGEST: &str = "mutation($i: IngestReadingsInput!) { ingestReadings(input: $i) { accepted inserted \
    rejected { index code message } } }";
const WORKSHOPS: &str = "{ workshops(first: 50) { edges { node { id code } } } }";

/// An app with two workshops, an admin token, and the workshops' ids.
async fn plant() -> (TestApp, String, Vec<String>) {
    let app = TestApp::seeded(crate::helpers::LARGE).await;
    let admin = app.admin_token().await;
    let response = app.graphql_as(&admin, WORKSHOPS, json!({})).await;
    let ids = list(&response.data()["workshops"]["edges"])
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    (app, admin, ids)
}

async fn create_user(app: &TestApp, admin: &str, input: Value) -> String {
    let response = app
        .graphql_as(admin, CREATE_USER, json!({ "i": input }))
        .await;
    response.data()["createUser"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn workshop_codes(response: &crate::helpers::GqlResponse) -> Vec<String> {
    list(&response.data()["workshops"]["edges"])
        .iter()
        .map(|e| e["node"]["code"].as_str().expect("code").to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_creates_a_user_who_sees_only_the_assigned_workshop_until_reassigned() {
    let (app, admin, ws) = plant().await;
    let id = create_user(
        &app,
        &admin,
        json!({ "username": "ada", "password": PASSWORD, "role": "VIEWER", "workshopIds": [ws[0]] }),
    )
    .await;
    let ada = app.login("ada", PASSWORD).await;
    let before = app.graphql_as(&ada, WORKSHOPS, json!({})).await;
    assert_eq!(workshop_codes(&before).len(), 1);
    let me = app
        .graphql_as(&ada, "{ me { username role workshopIds } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["workshopIds"], json!([ws[0]]));

    // Reassigned: the same token sees the other workshop on its next request.
    let r = app
        .graphql_as(
            &admin,
            SET_WORKSHOPS,
            json!({ "i": { "userId": id, "workshopIds": [ws[1]] } }),
        )
        .await;
    assert_eq!(
        r.data()["setUserWorkshops"]["user"]["workshopIds"],
        json!([ws[1]])
    );
    let after = app.graphql_as(&ada, WORKSHOPS, json!({})).await;
    assert_eq!(workshop_codes(&after).len(), 1);
    assert_ne!(workshop_codes(&after), workshop_codes(&before));

    // Promoted to manager: every workshop, at once.
    app.graphql_as(
        &admin,
        UPDATE_USER,
        json!({ "i": { "id": id, "role": "MANAGER" } }),
    )
    .await
    .data();
    let managed = app.graphql_as(&ada, WORKSHOPS, json!({})).await;
    assert_eq!(workshop_codes(&managed).len(), ws.len());

    // The admin lists users, filtered.
    let users = app
        .graphql_as(
            &admin,
            "{ users(filter: {role: MANAGER}) { totalCount edges { node { username workshopIds } } } }",
            json!({}),
        )
        .await;
    assert_eq!(users.data()["users"]["totalCount"], 1);
    assert_eq!(users.data()["users"]["edges"][0]["node"]["username"], "ada");
    // A non-admin cannot list users.
    let refused = app
        .graphql_as(&ada, "{ users { totalCount } }", json!({}))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn deactivating_a_user_stops_their_token_at_once_and_login_is_refused() {
    let (app, admin, ws) = plant().await;
    let id = create_user(
        &app,
        &admin,
        json!({ "username": "bob", "password": PASSWORD, "role": "ENGINEER", "workshopIds": [ws[0]] }),
    )
    .await;
    let bob = app.login("bob", PASSWORD).await;
    app.graphql_as(&bob, "{ me { username } }", json!({}))
        .await
        .data();
    let r = app
        .graphql_as(
            &admin,
            "mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) { user { active } } }",
            json!({ "i": { "id": id } }),
        )
        .await;
    assert_eq!(r.data()["deactivateUser"]["user"]["active"], false);
    let after = app.graphql_as(&bob, "{ me { username } }", json!({})).await;
    assert_eq!(after.error_code(), "UNAUTHENTICATED");
    let login = app
        .graphql(
            "mutation { login(input: {username: \"bob\", password: \"a perfectly fine password\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(login.error_code(), "UNAUTHENTICATED");
    // Reactivated: can log in again (the old token stays dead: its session was revoked).
    app.graphql_as(
        &admin,
        UPDATE_USER,
        json!({ "i": { "id": id, "active": true } }),
    )
    .await
    .data();
    let again = app.login("bob", PASSWORD).await;
    app.graphql_as(&again, "{ me { username } }", json!({}))
        .await
        .data();
    let old = app.graphql_as(&bob, "{ me { username } }", json!({})).await;
    assert_eq!(old.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn changing_a_password_needs_the_old_one_and_ends_the_other_sessions() {
    let (app, admin, _) = plant().await;
    create_user(
        &app,
        &admin,
        json!({ "username": "cy", "password": PASSWORD, "role": "VIEWER" }),
    )
    .await;
    let here = app.login("cy", PASSWORD).await;
    let elsewhere = app.login("cy", PASSWORD).await;
    let wrong = app
        .graphql_as(
            &here,
            CHANGE_PASSWORD,
            json!({ "i": { "oldPassword": "not it at all", "newPassword": "the next password" } }),
        )
        .await;
    assert_eq!(wrong.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        wrong.body["errors"][0]["extensions"]["field"],
        "oldPassword"
    );
    let ok = app
        .graphql_as(
            &here,
            CHANGE_PASSWORD,
            json!({ "i": { "oldPassword": PASSWORD, "newPassword": "the next password" } }),
        )
        .await;
    assert_eq!(ok.data()["changePassword"]["otherSessionsEnded"], 1);
    app.graphql_as(&here, "{ me { username } }", json!({}))
        .await
        .data();
    let other = app
        .graphql_as(&elsewhere, "{ me { username } }", json!({}))
        .await;
    assert_eq!(other.error_code(), "UNAUTHENTICATED");
    app.login("cy", "the next password").await;
    let old = app
        .graphql(
            "mutation($p: String!) { login(input: {username: \"cy\", password: $p}) { accessToken } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_eq!(old.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_deactivated_or_deleted() {
    let app = TestApp::seeded(SMALL).await;
    let admin = app.admin_token().await;
    let me = app.graphql_as(&admin, "{ me { id } }", json!({})).await;
    let id = me.data()["me"]["id"].as_str().expect("id").to_owned();
    for (query, input) in [
        (UPDATE_USER, json!({ "id": id, "role": "VIEWER" })),
        (UPDATE_USER, json!({ "id": id, "active": false })),
        (
            "mutation($i: DeleteInput!) { deleteUser(input: $i) { deletedId } }",
            json!({ "id": id }),
        ),
    ] {
        let r = app.graphql_as(&admin, query, json!({ "i": input })).await;
        assert_eq!(r.error_code(), "CONFLICT", "{}", r.body);
    }
    // A second admin may demote the first, who then is not the last.
    create_user(
        &app,
        &admin,
        json!({ "username": "second-admin", "password": PASSWORD, "role": "ADMIN" }),
    )
    .await;
    let second = app.login("second-admin", PASSWORD).await;
    let r = app
        .graphql_as(
            &second,
            UPDATE_USER,
            json!({ "i": { "id": id, "role": "VIEWER" } }),
        )
        .await;
    assert_eq!(r.data()["updateUser"]["user"]["role"], "VIEWER");
    // The demoted admin's token now carries a viewer.
    let refused = app
        .graphql_as(&admin, "{ users { totalCount } }", json!({}))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn a_gateway_token_ingests_for_its_workshop_only_and_stops_when_revoked() {
    let (app, admin, ws) = plant().await;
    let gw = create_user(
        &app,
        &admin,
        json!({ "username": "gw-1", "role": "GATEWAY" }),
    )
    .await;
    let created = app
        .graphql_as(
            &admin,
            CREATE_TOKEN,
            json!({ "i": { "userId": gw, "name": "line gateway 1", "workshopId": ws[0] } }),
        )
        .await;
    let token = created.data()["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token_id = created.data()["createApiToken"]["apiToken"]["id"].clone();
    assert!(token.starts_with("sfgw_") && token.len() > 40);
    // Stored hashed: the secret appears nowhere in the table.
    let stored = app
        .graphql_as(
            &admin,
            "{ apiTokens { id name lastUsedAt revokedAt } }",
            json!({}),
        )
        .await;
    assert!(!stored.body.to_string().contains(&token[5..]));
    assert_eq!(list(&stored.data()["apiTokens"]).len(), 1);

    // Sensors of each workshop, as the admin sees them.
    let sensors = app
        .graphql_as(
            &admin,
            "{ sensors(first: 500) { edges { node { id equipment { workshopId } } } } }",
            json!({}),
        )
        .await;
    let of = |w: &str| -> String {
        list(&sensors.data()["sensors"]["edges"])
            .iter()
            .find(|e| e["node"]["equipment"]["workshopId"] == w)
            .and_then(|e| e["node"]["id"].as_str())
            .expect("a sensor")
            .to_owned()
    };
    let (mine, theirs) = (of(&ws[0]), of(&ws[1]));
    let now = chrono::Utc::now();
    let readings = json!([
        { "sensorId": mine, "ts": iso(now), "value": 20.5 },
        { "sensorId": theirs, "ts": iso(now), "value": 1.0 },
        { "sensorId": mine, "ts": iso(now + chrono::Duration::hours(1)), "value": 1.0 },
        { "sensorId": mine, "ts": iso(now - chrono::Duration::days(40)), "value": 1.0 },
        { "sensorId": mine, "ts": iso(now - chrono::Duration::seconds(1)), "value": 1.0, "quality": 999 },
        { "sensorId": "not-an-id", "ts": iso(now), "value": 1.0 },
        { "sensorId": mine, "ts": iso(now - chrono::Duration::seconds(2)), "value": 19.0, "quality": 0 },
    ]);
    let before = app.count("sensor_readings").await;
    let r = app
        .graphql_as(&token, INGEST, json!({ "i": { "readings": readings } }))
        .await;
    let payload = &r.data()["ingestReadings"];
    assert_eq!(payload["accepted"], 2);
    assert_eq!(payload["inserted"], 2);
    let rejected: Vec<(i64, String)> = list(&payload["rejected"])
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().expect("index"),
                r["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "FORBIDDEN".to_owned()),
            (2, "BAD_USER_INPUT".to_owned()),
            (3, "BAD_USER_INPUT".to_owned()),
            (4, "BAD_USER_INPUT".to_owned()),
            (5, "NOT_FOUND".to_owned()),
        ]
    );
    assert_eq!(app.count("sensor_readings").await, before + 2);
    // Idempotent: the same batch again stores nothing new.
    let again = app
        .graphql_as(&token, INGEST, json!({ "i": { "readings": readings } }))
        .await;
    assert_eq!(again.data()["ingestReadings"]["inserted"], 0);
    assert_eq!(app.count("sensor_readings").await, before + 2);
    // The latest value moved to the newest accepted reading.
    let latest = app
        .graphql_as(
            &admin,
            "query($s: ID!) { sensorById(id: $s) { latest { value } } }",
            json!({ "s": mine }),
        )
        .await;
    assert_eq!(latest.data()["sensorById"]["latest"]["value"], 20.5);

    // Nothing else: no plant edits, no login.
    let edit = app
        .graphql_as(
            &token,
            "mutation($i: UpdateSensorInput!) { updateSensor(input: $i) { __typename } }",
            json!({ "i": { "id": mine, "name": "hijacked" } }),
        )
        .await;
    assert_eq!(edit.error_code(), "FORBIDDEN");

    // Revoked: refused on the very next request.
    let revoked = app
        .graphql_as(
            &admin,
            "mutation($i: RevokeApiTokenInput!) { revokeApiToken(input: $i) { revoked } }",
            json!({ "i": { "id": token_id } }),
        )
        .await;
    assert_eq!(revoked.data()["revokeApiToken"]["revoked"], true);
    let after = app
        .graphql_as(&token, INGEST, json!({ "i": { "readings": [] } }))
        .await;
    assert_eq!(after.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_oversized_ingest_is_refused_whole() {
    let (app, admin, _) = plant().await;
    let sensor = app.first_id("sensors").await;
    let now = chrono::Utc::now();
    let readings: Vec<Value> = (0..5_001)
        .map(|i| json!({ "sensorId": sensor, "ts": iso(now - chrono::Duration::milliseconds(i)), "value": 1.0 }))
        .collect();
    let before = app.count("sensor_readings").await;
    let r = app
        .graphql_as(&admin, INGEST, json!({ "i": { "readings": readings } }))
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");
    assert_eq!(app.count("sensor_readings").await, before);
}

/// Every bad input of the new user and token mutations: a clear code, and no row changed.
#[tokio::test]
async fn bad_user_and_token_inputs_are_refused_and_change_nothing() {
    let (app, admin, ws) = plant().await;
    let viewer = create_user(
        &app,
        &admin,
        json!({ "username": "victim", "password": PASSWORD, "role": "VIEWER" }),
    )
    .await;
    let gw = create_user(
        &app,
        &admin,
        json!({ "username": "gw-x", "role": "GATEWAY" }),
    )
    .await;
    let long = "x".repeat(300);
    let mut cases: Vec<(&str, Value, &str)> = vec![
        (
            CREATE_USER,
            json!({ "username": "", "password": PASSWORD, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "a".repeat(65), "password": PASSWORD, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "has space", "password": PASSWORD, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "nul\u{0}", "password": PASSWORD, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "victim", "password": PASSWORD, "role": "VIEWER" }),
            "CONFLICT",
        ),
        (
            CREATE_USER,
            json!({ "username": "short-pw", "password": "short", "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "long-pw", "password": long, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "ctl-pw", "password": "twelve chars\u{7}x", "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "no-pw", "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "gw-pw", "password": PASSWORD, "role": "GATEWAY" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "mail", "password": PASSWORD, "role": "VIEWER", "email": "not-an-address" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "mail2", "password": PASSWORD, "role": "VIEWER", "email": "a b@c.de" }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "ws", "password": PASSWORD, "role": "VIEWER", "workshopIds": ["987654"] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "ws2", "password": PASSWORD, "role": "VIEWER", "workshopIds": ["abc"] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "ws3", "password": PASSWORD, "role": "VIEWER", "workshopIds": vec![ws[0].clone(); 201] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_USER,
            json!({ "username": "role", "password": PASSWORD, "role": "ROOT" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": "987654", "displayName": "x" }),
            "NOT_FOUND",
        ),
        (
            UPDATE_USER,
            json!({ "id": "-1", "displayName": "x" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": viewer, "role": "GATEWAY" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": gw, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": gw, "password": PASSWORD }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": viewer, "password": "short" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": viewer, "email": "@" }),
            "BAD_USER_INPUT",
        ),
        (
            UPDATE_USER,
            json!({ "id": viewer, "displayName": "y".repeat(201) }),
            "BAD_USER_INPUT",
        ),
        (
            SET_WORKSHOPS,
            json!({ "userId": viewer, "workshopIds": ["987654"] }),
            "BAD_USER_INPUT",
        ),
        (
            SET_WORKSHOPS,
            json!({ "userId": "987654", "workshopIds": [] }),
            "NOT_FOUND",
        ),
        (
            CREATE_TOKEN,
            json!({ "userId": viewer, "name": "n", "workshopId": ws[0] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_TOKEN,
            json!({ "userId": gw, "name": "", "workshopId": ws[0] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_TOKEN,
            json!({ "userId": gw, "name": "z".repeat(101), "workshopId": ws[0] }),
            "BAD_USER_INPUT",
        ),
        (
            CREATE_TOKEN,
            json!({ "userId": gw, "name": "n", "workshopId": "987654" }),
            "NOT_FOUND",
        ),
        (
            CREATE_TOKEN,
            json!({ "userId": "987654", "name": "n", "workshopId": ws[0] }),
            "NOT_FOUND",
        ),
    ];
    for hostile in HOSTILE_STRINGS {
        cases.push((
            CREATE_USER,
            json!({ "username": hostile, "password": PASSWORD, "role": "VIEWER" }),
            "BAD_USER_INPUT",
        ));
    }
    let tables = ["users", "user_workshops", "api_tokens", "sessions"];
    let mut counts = Vec::new();
    for t in tables {
        counts.push(app.count(t).await);
    }
    let victim = app
        .graphql_as(&admin, "{ users(filter: {search: \"victim\"}) { edges { node { role active displayName email workshopIds } } } }", json!({}))
        .await
        .body
        .clone();
    for (query, input, code) in &cases {
        let r = app.graphql_as(&admin, query, json!({ "i": input })).await;
        assert_eq!(&r.error_code(), code, "{input}: {}", r.body);
        assert!(
            r.status.is_client_error() || r.status.is_success(),
            "{}",
            r.status
        );
    }
    for (t, before) in tables.iter().zip(counts) {
        assert_eq!(app.count(t).await, before, "{t} changed");
    }
    let after = app
        .graphql_as(&admin, "{ users(filter: {search: \"victim\"}) { edges { node { role active displayName email workshopIds } } } }", json!({}))
        .await
        .body
        .clone();
    assert_eq!(after, victim);

    // changePassword's own bad inputs, as the user.
    let me = app.login("victim", PASSWORD).await;
    for (input, field) in [
        (
            json!({ "oldPassword": PASSWORD, "newPassword": "short" }),
            "newPassword",
        ),
        (
            json!({ "oldPassword": PASSWORD, "newPassword": PASSWORD }),
            "newPassword",
        ),
        (
            json!({ "oldPassword": "", "newPassword": "a long enough one" }),
            "oldPassword",
        ),
        (
            json!({ "oldPassword": "x".repeat(5000), "newPassword": "a long enough one" }),
            "oldPassword",
        ),
    ] {
        let r = app
            .graphql_as(&me, CHANGE_PASSWORD, json!({ "i": input }))
            .await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{}", r.body);
        assert_eq!(r.body["errors"][0]["extensions"]["field"], field);
    }
    app.login("victim", PASSWORD).await;
}

/// Injection strings in every free-text argument of the new mutations are stored and matched
/// literally; absurd numbers in ingest are refused before anything is stored.
#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_absurd_numbers_are_refused() {
    let (app, admin, ws) = plant().await;
    let gw = create_user(
        &app,
        &admin,
        json!({ "username": "gw-h", "role": "GATEWAY" }),
    )
    .await;
    for (i, hostile) in HOSTILE_STRINGS.iter().enumerate() {
        let id = create_user(
            &app,
            &admin,
            json!({ "username": format!("h-{i}"), "password": PASSWORD, "role": "VIEWER",
                "displayName": hostile }),
        )
        .await;
        let found = app
            .graphql_as(
                &admin,
                "query($s: String!) { users(filter: {search: $s}) { edges { node { id displayName } } } }",
                json!({ "s": hostile }),
            )
            .await;
        let nodes = list(&found.data()["users"]["edges"]);
        assert_eq!(nodes.len(), 1, "{hostile}: {}", found.body);
        assert_eq!(nodes[0]["node"]["id"], id.as_str());
        assert_eq!(nodes[0]["node"]["displayName"], *hostile);
        let token = app
            .graphql_as(
                &admin,
                CREATE_TOKEN,
                json!({ "i": { "userId": gw, "name": hostile, "workshopId": ws[0] } }),
            )
            .await;
        token.data();
    }
    let names = app
        .graphql_as(&admin, "{ apiTokens { name } }", json!({}))
        .await;
    let mut stored: Vec<String> = list(&names.data()["apiTokens"])
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect();
    let mut sent: Vec<String> = HOSTILE_STRINGS.iter().map(|h| (*h).to_owned()).collect();
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent);

    let sensor = app.first_id("sensors").await;
    let before = app.count("sensor_readings").await;
    let now = iso(chrono::Utc::now());
    // Raw JSON: `1e400` and `NaN` cannot be written with serde_json.
    for reading in [
        format!(r#"{{"sensorId": "{sensor}", "ts": "{now}", "value": 1e400}}"#),
        format!(r#"{{"sensorId": "{sensor}", "ts": "{now}", "value": -1e400}}"#),
        format!(r#"{{"sensorId": "{sensor}", "ts": "{now}", "value": "NaN"}}"#),
        format!(r#"{{"sensorId": "{sensor}", "ts": "{now}", "value": 1.0, "quality": 1e12}}"#),
        format!(r#"{{"sensorId": "{sensor}", "ts": "10000-01-01T00:00:00Z", "value": 1.0}}"#),
        format!(r#"{{"sensorId": "{sensor}", "ts": "yesterday", "value": 1.0}}"#),
    ] {
        let body = format!(
            r#"{{"query": {}, "variables": {{"i": {{"readings": [{reading}]}}}}}}"#,
            serde_json::to_string(INGEST).expect("query as JSON")
        );
        // Token-less: the development admin of the test server.
        let r = app
            .post_raw("application/json", None, body.into_bytes())
            .await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{reading}: {}", r.body);
    }
    assert_eq!(app.count("sensor_readings").await, before);
}
