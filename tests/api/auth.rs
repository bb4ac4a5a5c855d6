//! Login, tokens, sessions, and what a logged-in user may see and do.

use chrono::Utc;
use entity::{enums::Role, session, user, user_workshop, workshop};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use smart_factory::config::DEV_JWT_SECRET;

use crate::helpers::{LARGE, SMALL, TestApp, insert_user_with_password, ws_connect};

const PASSWORD: &str = "correct horse battery staple";

const LOGIN: &str = "mutation L($u: String!, $p: String!) { login(input: {username: $u, \
    password: $p}) { accessToken refreshToken accessTokenExpiresAt sessionExpiresAt \
    user { id username role } } }";

const REFRESH: &str = "mutation R($t: String!) { refreshToken(input: {refreshToken: $t}) { \
    accessToken refreshToken } }";

/// Creates a user with `PASSWORD`, assigned to the workshops with these codes.
async fn create_user(app: &TestApp, username: &str, role: Role, workshops: &[&str]) -> i64 {
    let id = insert_user_with_password(app, username, role, PASSWORD).await;
    let db = &app.state.db.write;
    for code in workshops {
        let w = workshop::Entity::find()
            .filter(workshop::Column::Code.eq(*code))
            .one(db)
            .await
            .expect("query")
            .expect("workshop exists");
        user_workshop::ActiveModel {
            user_id: Set(id),
            workshop_id: Set(w.id),
        }
        .insert(db)
        .await
        .expect("assign workshop");
    }
    id
}

/// Logs in; returns (access token, refresh token).
async fn login(app: &TestApp, username: &str) -> (String, String) {
    let response = app
        .graphql(LOGIN, json!({ "u": username, "p": PASSWORD }))
        .await;
    let data = &response.data()["login"];
    (
        data["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned(),
        data["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    )
}

fn token(secret: &str, alg: Algorithm, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn login_gives_tokens_and_me_names_the_user() {
    let app = TestApp::seeded(SMALL).await;
    let id = create_user(&app, "olga", Role::Operator, &["WS-01"]).await;
    let (access, refresh) = login(&app, "olga").await;
    assert!(refresh.len() > 40);
    let me = app
        .graphql_as(&access, "{ me { id username role active } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["id"], id.to_string());
    assert_eq!(me.data()["me"]["role"], "OPERATOR");
    // The session is stored, with only a hash of the refresh token.
    let sessions = session::Entity::find()
        .all(&app.state.db.write)
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 1);
    assert!(!refresh.contains(&sessions[0].refresh_hash));
    assert_eq!(sessions[0].user_id, id);
}

#[tokio::test]
async fn bad_credentials_all_get_the_same_answer_and_open_no_session() {
    let app = TestApp::seeded(SMALL).await;
    let id = create_user(&app, "olga", Role::Operator, &[]).await;
    create_user(&app, "gone", Role::Operator, &[]).await;
    let mut gone: user::ActiveModel = user::Entity::find()
        .filter(user::Column::Username.eq("gone"))
        .one(&app.state.db.write)
        .await
        .expect("query")
        .expect("user")
        .into();
    gone.active = Set(false);
    gone.update(&app.state.db.write).await.expect("deactivate");
    let cases = [
        ("wrong password", "olga", "not the password"),
        ("unknown user", "nobody", PASSWORD),
        ("inactive user", "gone", PASSWORD),
        ("empty password", "olga", ""),
        ("injection", "olga' OR '1'='1", PASSWORD),
    ];
    let mut messages = Vec::new();
    for (name, username, password) in cases {
        let response = app
            .graphql(LOGIN, json!({ "u": username, "p": password }))
            .await;
        assert_eq!(
            response.error_code(),
            "UNAUTHENTICATED",
            "{name}: {}",
            response.body
        );
        messages.push(response.error_message());
    }
    messages.dedup();
    assert_eq!(messages, vec!["invalid username or password".to_owned()]);
    let open = session::Entity::find()
        .count(&app.state.db.write)
        .await
        .expect("count");
    assert_eq!(open, 0, "no session for failed logins (user {id})");
}

#[tokio::test]
async fn tokens_failing_any_check_are_unauthenticated_not_the_dev_admin() {
    let app = TestApp::seeded(SMALL).await;
    let id = create_user(&app, "olga", Role::Admin, &[]).await;
    let (good, _) = login(&app, "olga").await;
    let claims = jsonwebtoken::decode::<Value>(
        &good,
        &jsonwebtoken::DecodingKey::from_secret(DEV_JWT_SECRET.as_bytes()),
        &jsonwebtoken::Validation::new(Algorithm::HS256),
    )
    .expect("our own token decodes")
    .claims;
    let now = Utc::now().timestamp();
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let none_token = {
        use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{body}.")
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            token(
                DEV_JWT_SECRET,
                Algorithm::HS256,
                with(json!({ "exp": now - 60 })),
            ),
        ),
        (
            "issued in the future",
            token(
                DEV_JWT_SECRET,
                Algorithm::HS256,
                with(json!({ "iat": now + 3600 })),
            ),
        ),
        (
            "signed with another key",
            token(
                "another-secret-of-enough-length-000000",
                Algorithm::HS256,
                claims.clone(),
            ),
        ),
        (
            "HS512 instead of HS256",
            token(DEV_JWT_SECRET, Algorithm::HS512, claims.clone()),
        ),
        ("alg none", none_token),
        (
            "unknown session",
            token(
                DEV_JWT_SECRET,
                Algorithm::HS256,
                with(json!({ "sid": uuid::Uuid::new_v4().to_string() })),
            ),
        ),
        (
            "other user",
            token(
                DEV_JWT_SECRET,
                Algorithm::HS256,
                with(json!({ "sub": (id + 1).to_string() })),
            ),
        ),
        ("malformed", "not.a.jwt".to_owned()),
        ("garbage", "%%%".to_owned()),
        ("tampered payload", {
            let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
            parts[1] = parts[1].chars().rev().collect();
            parts.join(".")
        }),
    ];
    for (name, bad) in cases {
        let response = app
            .graphql_as(&bad, "{ workshops { totalCount } }", json!({}))
            .await;
        assert_eq!(
            response.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{name}: {}",
            response.body
        );
        assert!(response.body["data"].is_null(), "{name}: no data may leak");
    }
    let fine = app
        .graphql_as(&good, "{ workshops { totalCount } }", json!({}))
        .await;
    assert_eq!(fine.data()["workshops"]["totalCount"], 1);
    // A non-Bearer scheme, an empty header and non-text bytes are refused too, not ignored.
    let odd_headers = [
        reqwest::header::HeaderValue::from_static("Basic b2xnYTpwYXNz"),
        reqwest::header::HeaderValue::from_static(""),
        reqwest::header::HeaderValue::from_bytes(b"Bearer \xF0\x9F\x92\xA5").expect("obs-text"),
    ];
    for value in odd_headers {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", value.clone())
            .json(&json!({ "query": "{ workshops { totalCount } }" }))
            .send()
            .await
            .expect("request");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::seeded(SMALL).await;
    create_user(&app, "olga", Role::Viewer, &["WS-01"]).await;
    let (first_access, first_refresh) = login(&app, "olga").await;
    let rotated = app.graphql(REFRESH, json!({ "t": first_refresh })).await;
    let second_refresh = rotated.data()["refreshToken"]["refreshToken"]
        .as_str()
        .expect("new refresh token")
        .to_owned();
    let second_access = rotated.data()["refreshToken"]["accessToken"]
        .as_str()
        .expect("new access token")
        .to_owned();
    assert_ne!(second_refresh, first_refresh);
    app.graphql_as(&second_access, "{ me { username } }", json!({}))
        .await
        .data();
    // The used refresh token again: theft is assumed, the whole session ends.
    let reuse = app.graphql(REFRESH, json!({ "t": first_refresh })).await;
    assert_eq!(reuse.error_code(), "UNAUTHENTICATED");
    for token in [&first_access, &second_access] {
        let response = app
            .graphql_as(token, "{ me { username } }", json!({}))
            .await;
        assert_eq!(response.error_code(), "UNAUTHENTICATED", "revoked session");
    }
    let after = app.graphql(REFRESH, json!({ "t": second_refresh })).await;
    assert_eq!(
        after.error_code(),
        "UNAUTHENTICATED",
        "the newest refresh token died too"
    );
    let revoked = session::Entity::find()
        .one(&app.state.db.write)
        .await
        .expect("q")
        .expect("row");
    assert_eq!(
        revoked.revoked_reason.as_deref(),
        Some("refresh_token_reuse")
    );
    for bad in [
        "",
        "no-dot",
        "x.y",
        &format!("{}.{}", uuid::Uuid::new_v4(), "secret"),
    ] {
        let response = app.graphql(REFRESH, json!({ "t": bad })).await;
        assert_eq!(
            response.error_code(),
            "UNAUTHENTICATED",
            "refresh token {bad:?}"
        );
    }
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_all_every_one() {
    let app = TestApp::seeded(SMALL).await;
    create_user(&app, "olga", Role::Viewer, &["WS-01"]).await;
    let (a, _) = login(&app, "olga").await;
    let (b, _) = login(&app, "olga").await;
    let (c, _) = login(&app, "olga").await;
    let out = app
        .graphql_as(&a, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(out.data()["logout"]["loggedOut"], true);
    let gone = app.graphql_as(&a, "{ me { username } }", json!({})).await;
    assert_eq!(gone.error_code(), "UNAUTHENTICATED");
    app.graphql_as(&b, "{ me { username } }", json!({}))
        .await
        .data();
    let all = app
        .graphql_as(&b, "mutation { logoutAll { sessionsEnded } }", json!({}))
        .await;
    assert_eq!(all.data()["logoutAll"]["sessionsEnded"], 2);
    for token in [&b, &c] {
        let response = app
            .graphql_as(token, "{ me { username } }", json!({}))
            .await;
        assert_eq!(response.error_code(), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_viewer_sees_only_assigned_workshops_everywhere() {
    let app = TestApp::seeded(LARGE).await;
    create_user(&app, "vera", Role::Viewer, &["WS-01"]).await;
    let (token, _) = login(&app, "vera").await;
    let admin_view = app
        .graphql("{ workshops { edges { node { id code } } } }", json!({}))
        .await;
    let other_id = admin_view.data()["workshops"]["edges"][1]["node"]["id"].clone();
    assert_eq!(
        admin_view.data()["workshops"]["edges"][1]["node"]["code"],
        "WS-02"
    );
    let q = |query: &'static str| app.graphql_as(&token, query, json!({ "id": other_id }));
    let lists = q(
        "query Q { workshops { totalCount edges { node { code } } } \
        lines { totalCount } equipment(first: 100) { totalCount edges { node { workshopId } } } \
        sensors(first: 100) { totalCount } alarms(first: 500) { totalCount } \
        productionOrders(first: 500) { totalCount } maintenanceOrders(first: 500) { totalCount } \
        alarmCounts(groupBy: WORKSHOP, onlyOpen: false) { workshopId count } }",
    )
    .await;
    let data = lists.data();
    assert_eq!(data["workshops"]["totalCount"], 1);
    assert_eq!(data["workshops"]["edges"][0]["node"]["code"], "WS-01");
    assert_eq!(data["lines"]["totalCount"], 5, "5 lines per workshop");
    assert_eq!(data["equipment"]["totalCount"], 10);
    assert_eq!(data["sensors"]["totalCount"], 20);
    assert!(
        data["equipment"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .all(|e| e["node"]["workshopId"] != other_id)
    );
    let counts = data["alarmCounts"].as_array().expect("counts");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_ne!(counts[0]["workshopId"], other_id);
    let by_id = q("query Q($id: ID!) { workshopById(id: $id) { code } }").await;
    assert_eq!(by_id.error_code(), "NOT_FOUND");
    let filtered =
        q("query Q($id: ID!) { equipment(filter: {workshopId: $id}) { totalCount } }").await;
    assert_eq!(filtered.data()["equipment"]["totalCount"], 0);
    let nested =
        q("query Q($id: ID!) { sites { code } lines(filter: {workshopId: $id}) { totalCount } }")
            .await;
    assert_eq!(nested.data()["lines"]["totalCount"], 0);
}

#[tokio::test]
async fn roles_gate_mutations_and_scope_hides_other_workshops() {
    let app = TestApp::seeded(LARGE).await;
    create_user(&app, "vera", Role::Viewer, &["WS-01"]).await;
    create_user(&app, "emil", Role::Engineer, &["WS-01"]).await;
    let (viewer, _) = login(&app, "vera").await;
    let (engineer, _) = login(&app, "emil").await;
    let sensors = app
        .graphql(
            "{ sensors(first: 100) { edges { node { id equipment { workshop { code } } } } } }",
            json!({}),
        )
        .await;
    let find = |code: &str| {
        sensors.data()["sensors"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["node"]["equipment"]["workshop"]["code"] == code)
            .map(|e| e["node"]["id"].clone())
            .expect("a sensor there")
    };
    let (own, other) = (find("WS-01"), find("WS-02"));
    let update = "mutation U($id: ID!) { updateSensor(input: {id: $id, name: \"renamed\"}) { sensor { name } } }";
    let by_viewer = app.graphql_as(&viewer, update, json!({ "id": own })).await;
    assert_eq!(by_viewer.error_code(), "FORBIDDEN");
    let by_engineer = app
        .graphql_as(&engineer, update, json!({ "id": own }))
        .await;
    assert_eq!(
        by_engineer.data()["updateSensor"]["sensor"]["name"],
        "renamed"
    );
    let elsewhere = app
        .graphql_as(&engineer, update, json!({ "id": other }))
        .await;
    assert_eq!(
        elsewhere.error_code(),
        "NOT_FOUND",
        "other workshops' rows do not exist for them"
    );
    let admin_only = app
        .graphql_as(&engineer, "mutation { createWorkshop(input: {code: \"WS-09\", name: \"New\"}) { workshop { id } } }", json!({}))
        .await;
    assert_eq!(admin_only.error_code(), "FORBIDDEN");
    assert_eq!(app.count("workshops").await, 2);
}

#[tokio::test]
async fn without_the_development_admin_anonymous_callers_may_only_log_in() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    create_user(&app, "olga", Role::Viewer, &["WS-01"]).await;
    let anonymous = app.graphql("{ workshops { totalCount } }", json!({})).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    assert!(anonymous.error_message().contains("Bearer"));
    let mutation = app
        .graphql(
            "mutation { createWorkshop(input: {code: \"X\", name: \"X\"}) { workshop { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(mutation.error_code(), "UNAUTHENTICATED");
    let (token, _) = login(&app, "olga").await;
    let ok = app
        .graphql_as(&token, "{ workshops { totalCount } }", json!({}))
        .await;
    assert_eq!(ok.data()["workshops"]["totalCount"], 1);
}

#[tokio::test]
async fn websocket_connection_init_authenticates_with_the_same_rules() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.dev_admin_fallback = false).await;
    create_user(&app, "olga", Role::Viewer, &["WS-01"]).await;
    let (token, _) = login(&app, "olga").await;
    let connect = || ws_connect(&app.address, "graphql-transport-ws");
    async fn next<S>(socket: &mut S) -> Option<S::Item>
    where
        S: futures::Stream + Unpin,
    {
        tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
    }
    // A bad token: the server refuses the connection (async-graphql closes it; the realtime
    // work will make the code 4403 for revocations).
    let mut bad = connect().await;
    bad.send(Message::text(
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nope" } })
            .to_string(),
    ))
    .await
    .expect("send");
    match next(&mut bad).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert!(
                u16::from(frame.code) >= 1002,
                "an error close, got {frame:?}"
            );
        }
        other => panic!("expected the socket to be closed, got {other:?}"),
    }
    // A good token: acknowledged, and queries run as that user.
    let mut good = connect().await;
    good.send(Message::text(
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
            .to_string(),
    ))
    .await
    .expect("send");
    let ack = next(&mut good).await;
    assert!(
        matches!(&ack, Some(Ok(Message::Text(t))) if t.contains("connection_ack")),
        "{ack:?}"
    );
    good.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { username } }" } })
            .to_string(),
    ))
    .await
    .expect("send");
    let answer = next(&mut good).await;
    assert!(
        matches!(&answer, Some(Ok(Message::Text(t))) if t.contains("\"olga\"")),
        "{answer:?}"
    );
}

const EVENTS: &str = "query E($kind: String) { securityEvents(filter: {kind: $kind}) { \
    totalCount edges { node { kind username userId details } } } }";

#[tokio::test]
async fn repeated_failures_lock_the_account_until_the_period_ends() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.max_failures = 3;
    })
    .await;
    let id = create_user(&app, "olga", Role::Operator, &[]).await;
    for attempt in 1..=3 {
        let wrong = app
            .graphql(LOGIN, json!({ "u": "olga", "p": "wrong" }))
            .await;
        assert_eq!(
            wrong.error_message(),
            "invalid username or password",
            "attempt {attempt}"
        );
    }
    // Locked: even the right password is refused, with a message saying so.
    let locked = app
        .graphql(LOGIN, json!({ "u": "olga", "p": PASSWORD }))
        .await;
    assert_eq!(locked.error_code(), "UNAUTHENTICATED");
    assert!(locked.error_message().contains("locked"), "{}", locked.body);
    assert_eq!(
        session::Entity::find()
            .count(&app.state.db.write)
            .await
            .expect("n"),
        0
    );
    let events = app
        .graphql(EVENTS, json!({ "kind": "account_locked" }))
        .await;
    let events = &events.data()["securityEvents"];
    assert_eq!(events["totalCount"], 1);
    assert_eq!(events["edges"][0]["node"]["username"], "olga");
    assert_eq!(events["edges"][0]["node"]["userId"], id.to_string());
    assert_eq!(events["edges"][0]["node"]["details"]["failures"], 3);
    let while_locked = app
        .graphql(EVENTS, json!({ "kind": "login_while_locked" }))
        .await;
    assert_eq!(while_locked.data()["securityEvents"]["totalCount"], 1);
    // The lock period ends (moved into the past rather than waited for).
    let mut row: user::ActiveModel = user::Entity::find_by_id(id)
        .one(&app.state.db.write)
        .await
        .expect("q")
        .expect("user")
        .into();
    row.locked_until = Set(Some(Utc::now() - chrono::Duration::seconds(1)));
    row.update(&app.state.db.write).await.expect("unlock");
    login(&app, "olga").await;
    let after = user::Entity::find_by_id(id)
        .one(&app.state.db.write)
        .await
        .expect("q")
        .expect("u");
    assert_eq!(
        after.failed_logins, 0,
        "a successful login resets the count"
    );
    assert!(after.locked_until.is_none());
}

#[tokio::test]
async fn failures_outside_the_window_do_not_add_up() {
    let app = TestApp::spawn_with(Some(SMALL), |c| c.auth.max_failures = 2).await;
    let id = create_user(&app, "olga", Role::Operator, &[]).await;
    app.graphql(LOGIN, json!({ "u": "olga", "p": "wrong" }))
        .await;
    let mut row: user::ActiveModel = user::Entity::find_by_id(id)
        .one(&app.state.db.write)
        .await
        .expect("q")
        .expect("user")
        .into();
    row.last_failed_at = Set(Some(Utc::now() - chrono::Duration::hours(1)));
    row.update(&app.state.db.write)
        .await
        .expect("age the failure");
    app.graphql(LOGIN, json!({ "u": "olga", "p": "wrong" }))
        .await;
    login(&app, "olga").await;
}

#[tokio::test]
async fn reuse_and_client_changes_are_security_events_for_admins_only() {
    let app = TestApp::seeded(SMALL).await;
    create_user(&app, "olga", Role::Operator, &["WS-01"]).await;
    let (operator, refresh) = login(&app, "olga").await;
    // Refreshing from another user agent is recorded.
    let moved = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("user-agent", "another-browser/1.0")
        .json(&json!({ "query": REFRESH, "variables": { "t": refresh } }))
        .send()
        .await
        .expect("request");
    let moved: Value = moved.json().await.expect("json");
    assert!(moved["errors"].is_null(), "{moved}");
    app.graphql(REFRESH, json!({ "t": refresh })).await;
    let kinds = app.graphql(EVENTS, json!({ "kind": null })).await;
    let mut kinds: Vec<String> = kinds.data()["securityEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["kind"].as_str().expect("kind").to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["refresh_token_reuse", "session_new_client"]);
    let (operator_again, _) = login(&app, "olga").await;
    assert_ne!(operator_again, operator);
    let refused = app
        .graphql_as(&operator_again, EVENTS, json!({ "kind": null }))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn every_mutation_is_audited_with_who_what_and_outcome_but_no_secrets() {
    let app = TestApp::seeded(SMALL).await;
    let id = create_user(&app, "emil", Role::Engineer, &["WS-01"]).await;
    let (token, _) = login(&app, "emil").await;
    let sensor = app.first_id("sensors").await;
    let update = "mutation U($id: ID!) { updateSensor(input: {id: $id, name: \"Oil temp\"}) { sensor { name } } }";
    app.graphql_as(&token, update, json!({ "id": sensor }))
        .await
        .data();
    let forbidden = app
        .graphql_as(
            &token,
            "mutation { createWorkshop(input: {code: \"W9\", name: \"N\"}) { workshop { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(forbidden.error_code(), "FORBIDDEN");
    // Queries are not audited.
    app.graphql_as(&token, "{ me { username } }", json!({}))
        .await
        .data();
    let log = app
        .graphql(
            "{ auditLog { totalCount edges { node { action userId entityId ok ip payload } } } }",
            json!({}),
        )
        .await;
    let log = &log.data()["auditLog"];
    // login (anonymous), updateSensor, createWorkshop — newest first.
    assert_eq!(log["totalCount"], 3, "{log}");
    let entries: Vec<&Value> = log["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(entries[0]["action"], "createWorkshop");
    assert_eq!(entries[0]["ok"], false);
    assert_eq!(entries[0]["payload"]["error"], "FORBIDDEN");
    assert_eq!(entries[0]["userId"], id.to_string());
    assert_eq!(entries[1]["action"], "updateSensor");
    assert_eq!(entries[1]["ok"], true);
    assert_eq!(entries[1]["entityId"], sensor);
    assert_eq!(
        entries[1]["payload"]["arguments"]["input"]["name"],
        "Oil temp"
    );
    assert_eq!(entries[1]["ip"], "127.0.0.1");
    assert_eq!(entries[2]["action"], "login");
    assert_eq!(
        entries[2]["payload"]["arguments"]["input"]["password"],
        "***"
    );
    assert!(
        !log.to_string().contains(PASSWORD),
        "the password must never be logged"
    );
    let denied = app
        .graphql_as(&token, "{ auditLog { totalCount } }", json!({}))
        .await;
    assert_eq!(denied.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn admins_list_and_revoke_sessions_and_ended_ones_are_cleaned_up() {
    let app = TestApp::seeded(SMALL).await;
    let olga = create_user(&app, "olga", Role::Operator, &["WS-01"]).await;
    create_user(&app, "ada", Role::Admin, &[]).await;
    let (first, _) = login(&app, "olga").await;
    let (second, _) = login(&app, "olga").await;
    let (admin, _) = login(&app, "ada").await;
    let list = "query S($u: ID!) { sessions(userId: $u) { id userId revokedAt ip } }";
    let sessions = app
        .graphql_as(&admin, list, json!({ "u": olga.to_string() }))
        .await;
    let sessions = sessions.data()["sessions"]
        .as_array()
        .expect("sessions")
        .clone();
    assert_eq!(sessions.len(), 2);
    assert!(
        sessions
            .iter()
            .all(|s| s["revokedAt"].is_null() && s["ip"] == "127.0.0.1")
    );
    // Newest first: the second login's session.
    let newest = sessions[0]["id"].as_str().expect("id").to_owned();
    let revoke = "mutation R($id: ID!) { revokeSession(input: {id: $id}) { revoked } }";
    let by_operator = app
        .graphql_as(&first, revoke, json!({ "id": newest }))
        .await;
    assert_eq!(by_operator.error_code(), "FORBIDDEN");
    let done = app
        .graphql_as(&admin, revoke, json!({ "id": newest }))
        .await;
    assert_eq!(done.data()["revokeSession"]["revoked"], true);
    let again = app
        .graphql_as(&admin, revoke, json!({ "id": newest }))
        .await;
    assert_eq!(
        again.data()["revokeSession"]["revoked"],
        false,
        "already ended"
    );
    let unknown = app
        .graphql_as(
            &admin,
            revoke,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    // The revoked session's token stops at once; the other session goes on.
    let cut = app
        .graphql_as(&second, "{ me { username } }", json!({}))
        .await;
    assert_eq!(cut.error_code(), "UNAUTHENTICATED");
    app.graphql_as(&first, "{ me { username } }", json!({}))
        .await
        .data();
    let missing_user = app.graphql_as(&admin, list, json!({ "u": "999999" })).await;
    assert_eq!(missing_user.error_code(), "NOT_FOUND");
    // Cleanup removes sessions that ended long enough ago, and only those.
    let db = &app.state.db.write;
    let mut old: session::ActiveModel = session::Entity::find_by_id(newest.clone())
        .one(db)
        .await
        .expect("q")
        .expect("row")
        .into();
    old.revoked_at = Set(Some(Utc::now() - chrono::Duration::days(30)));
    old.update(db).await.expect("age it");
    let removed = smart_factory::service::session::cleanup_expired(db, chrono::Duration::days(7))
        .await
        .expect("cleanup");
    assert_eq!(removed, 1);
    assert_eq!(
        session::Entity::find().count(db).await.expect("count"),
        2,
        "olga's live one and ada's"
    );
}

/// Events of `kind` in the test's database.
async fn events(app: &TestApp, kind: &str) -> u64 {
    entity::security_event::Entity::find()
        .filter(entity::security_event::Column::Kind.eq(kind))
        .count(&app.state.db.write)
        .await
        .expect("count events")
}

#[tokio::test]
async fn failures_from_one_ip_across_usernames_raise_an_event_and_then_block_the_address() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.ip_max_failures = 6;
        c.auth.ip_max_usernames = 3;
        c.auth.max_failures = 100;
    })
    .await;
    create_user(&app, "real-user", Role::Viewer, &[]).await;
    let fail = |name: &'static str| {
        let app = &app;
        async move {
            let r = app
                .graphql(LOGIN, json!({ "u": name, "p": "wrong password" }))
                .await;
            assert_eq!(r.error_code(), "UNAUTHENTICATED");
        }
    };
    // Two usernames: below the stuffing threshold.
    fail("alice").await;
    fail("bob").await;
    fail("alice").await;
    assert_eq!(events(&app, "login_failed").await, 3);
    assert_eq!(events(&app, "many_usernames_from_ip").await, 0);
    // The third distinct username crosses it — once, however often they fail again.
    fail("carol").await;
    fail("carol").await;
    assert_eq!(events(&app, "many_usernames_from_ip").await, 1);
    assert_eq!(events(&app, "ip_blocked").await, 0);
    // The sixth failure blocks the address: even the right password is not checked now.
    fail("real-user").await;
    assert_eq!(events(&app, "ip_blocked").await, 1);
    let blocked = app
        .graphql(LOGIN, json!({ "u": "real-user", "p": PASSWORD }))
        .await;
    assert_eq!(blocked.error_code(), "UNAUTHENTICATED");
    assert!(
        blocked.error_message().contains("this address"),
        "{}",
        blocked.body
    );
    assert_eq!(
        events(&app, "login_failed").await,
        6,
        "blocked attempts are not counted"
    );
}

#[tokio::test]
async fn failures_age_out_of_the_window_and_the_address_may_log_in_again() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.ip_max_failures = 2;
        c.auth.failure_window = std::time::Duration::from_secs(2);
    })
    .await;
    create_user(&app, "patient", Role::Viewer, &[]).await;
    for _ in 0..2 {
        let r = app
            .graphql(LOGIN, json!({ "u": "patient", "p": "nope nope nope" }))
            .await;
        assert_eq!(r.error_code(), "UNAUTHENTICATED");
    }
    let blocked = app
        .graphql(LOGIN, json!({ "u": "patient", "p": PASSWORD }))
        .await;
    assert!(
        blocked.error_message().contains("this address"),
        "{}",
        blocked.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    login(&app, "patient").await;
}

#[tokio::test]
async fn forbidden_attempts_are_security_events_once_a_minute_and_counted_in_metrics() {
    let app = TestApp::seeded(SMALL).await;
    create_user(&app, "probe", Role::Viewer, &["WS-01"]).await;
    let (token, _) = login(&app, "probe").await;
    for _ in 0..3 {
        let r = app
            .graphql_as(
                &token,
                "mutation { createWorkshop(input: {code: \"X\", name: \"X\"}) { __typename } }",
                json!({}),
            )
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    let r = app
        .graphql_as(&token, "{ users { totalCount } }", json!({}))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let rows = entity::security_event::Entity::find()
        .filter(entity::security_event::Column::Kind.eq("forbidden"))
        .all(&app.state.db.write)
        .await
        .expect("events");
    let mut fields: Vec<String> = rows
        .iter()
        .map(|e| {
            e.details.as_ref().expect("details")["field"]
                .as_str()
                .expect("field")
                .to_owned()
        })
        .collect();
    fields.sort();
    assert_eq!(fields, ["createWorkshop", "users"]);
    assert!(rows.iter().all(|e| e.user_id.is_some() && e.ip.is_some()));
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let line = metrics
        .lines()
        .find(|l| l.starts_with("sf_security_events_total{kind=\"forbidden\"}"))
        .unwrap_or_else(|| panic!("no forbidden counter in {metrics}"));
    let n: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert!(n >= 2.0, "{line}");
}
