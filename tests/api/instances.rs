//! Several instances on one database and one Redis: a revocation on one is honoured by the
//! others at once (through Redis pub/sub), not only when their session cache expires.

use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::helpers::{GqlResponse, SMALL, TestApp, shared_or_own_redis, unique_redis_prefix};

const PASSWORD: &str = "instances password 1";

/// Two instances sharing a database and a Redis prefix, and a third on the same database
/// without Redis (the control: it only learns when its cache entry expires).
async fn cluster(url: &str) -> (TestApp, TestApp, TestApp) {
    let prefix = unique_redis_prefix();
    let a = TestApp::spawn_with(Some(SMALL), |c| {
        c.redis.url = Some(url.to_owned().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    let shared_db = a.state.config.database.url.expose_secret().to_owned();
    let b = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = Some(url.to_owned().into());
        c.redis.prefix = prefix.clone();
    })
    .await;
    let lone = TestApp::spawn_with(None, |c| {
        c.database.url = shared_db.clone().into();
        c.redis.url = None;
    })
    .await;
    (a, b, lone)
}

/// Asks `me` on `app` until it is refused, for at most 5 s (propagation, not performance).
async fn refused_soon(app: &TestApp, token: &str) -> GqlResponse {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = app
            .graphql_as(token, "{ me { username } }", json!({}))
            .await;
        if r.body.get("errors").is_some() || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_logout_on_one_instance_stops_the_token_on_the_others_at_once() {
    let (_own, url) = shared_or_own_redis().await;
    let (a, b, lone) = cluster(&url).await;
    let admin = a.admin_token().await;
    a.graphql_as(
        &admin,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
        json!({ "i": { "username": "roamer", "password": PASSWORD, "role": "VIEWER" } }),
    )
    .await
    .data();
    let token = a.login("roamer", PASSWORD).await;
    // Every instance has the session cached now.
    for app in [&a, &b, &lone] {
        app.graphql_as(&token, "{ me { username } }", json!({}))
            .await
            .data();
    }
    let out = a
        .graphql_as(&token, "mutation { logout { loggedOut } }", json!({}))
        .await;
    assert_eq!(out.data()["logout"]["loggedOut"], true);
    assert_eq!(
        refused_soon(&b, &token).await.error_code(),
        "UNAUTHENTICATED"
    );
    // The control: without Redis the revocation waits for the cache entry to expire.
    lone.graphql_as(&token, "{ me { username } }", json!({}))
        .await
        .data();
}

#[tokio::test]
async fn revoking_a_gateway_token_on_one_instance_stops_it_on_the_others() {
    let (_own, url) = shared_or_own_redis().await;
    let (a, b, _lone) = cluster(&url).await;
    let admin = a.admin_token().await;
    let gw = a
        .graphql_as(
            &admin,
            "mutation { createUser(input: {username: \"gw\", role: GATEWAY}) { user { id } } }",
            json!({}),
        )
        .await;
    let gw_id = gw.data()["createUser"]["user"]["id"].clone();
    let workshop = a.first_id("workshops").await;
    let created = a
        .graphql_as(
            &admin,
            "mutation($u: ID!, $w: ID!) { createApiToken(input: {userId: $u, name: \"g\", workshopId: $w}) \
             { token apiToken { id } } }",
            json!({ "u": gw_id, "w": workshop }),
        )
        .await;
    let token = created.data()["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = created.data()["createApiToken"]["apiToken"]["id"].clone();
    b.graphql_as(&token, "{ me { username } }", json!({}))
        .await
        .data();
    a.graphql_as(
        &admin,
        "mutation($i: ID!) { revokeApiToken(input: {id: $i}) { revoked } }",
        json!({ "i": id }),
    )
    .await
    .data();
    assert_eq!(
        refused_soon(&b, &token).await.error_code(),
        "UNAUTHENTICATED"
    );
}
