//! Rate limits: quotas per class, 429 with `Retry-After` and `RateLimit-*`, complexity
//! charging, login limits, proxies, Redis sharing and the fallback when Redis dies.

use std::time::{Duration, Instant};

use entity::{enums::Role, security_event};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use smart_factory::config::Config;

use crate::helpers::{
    GqlResponse, RedisServer, SMALL, TestApp, insert_user_with_password, shared_or_own_redis,
    test_redis_url, unique_redis_prefix, ws_connect,
};

const PASSWORD: &str = "a long enough passphrase";

const LOGIN: &str = "mutation L($u: String!, $p: String!) { login(input: {username: $u, \
    password: $p}) { accessToken } }";

/// Costs 2 units: `me` and `id`.
const CHEAP: &str = "{ me { id } }";

/// Costs thousands: 50 workshops × 5 lines × 10 machines, whatever the data holds.
const EXPENSIVE: &str =
    "{ workshops(first: 50) { edges { node { code lines { code equipment { code } } } } } }";

/// A header's numeric value, failing the test when it is missing.
fn number(response: &GqlResponse, name: &str) -> u64 {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a numeric `{name}` header, got {:?}", response.headers))
}

fn remaining(response: &GqlResponse) -> u64 {
    number(response, "ratelimit-remaining")
}

fn quota(s: &str) -> smart_factory::security::ratelimit::Quota {
    s.parse().expect("quota")
}

/// An app where requests without a token are anonymous, with `anonymous` as their quota.
fn anonymous_quota(config: &mut Config, anonymous: &str) {
    config.auth.dev_admin_fallback = false;
    config.rate_limit.anonymous = quota(anonymous);
}

/// Creates a user with `PASSWORD` and logs in; returns the access token.
async fn user_token(app: &TestApp, username: &str, role: Role) -> String {
    insert_user_with_password(app, username, role, PASSWORD).await;
    app.login(username, PASSWORD).await
}

async fn trip_events(app: &TestApp) -> Vec<security_event::Model> {
    security_event::Entity::find()
        .filter(security_event::Column::Kind.eq("rate_limit_tripped"))
        .all(&app.state.db.write)
        .await
        .expect("events")
}

/// The value of one sample line of `/metrics`, 0 when absent.
async fn metric(app: &TestApp, sample: &str) -> u64 {
    let text = app.get("/metrics").await.body;
    let text = text.as_str().expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0)
}

fn assert_refused(response: &GqlResponse) {
    assert_eq!(
        response.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        response.body
    );
    assert_eq!(response.error_code(), "RATE_LIMITED");
}

#[tokio::test]
async fn anonymous_callers_past_their_quota_get_429_with_retry_after_and_rate_limit_headers() {
    let app = TestApp::spawn_with(None, |c| anonymous_quota(c, "5/h,5")).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let response = app.graphql("{ __typename }", json!({})).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert_eq!(number(&response, "ratelimit-limit"), 5);
        seen.push(remaining(&response));
    }
    assert_eq!(seen, [4, 3, 2, 1, 0], "each request spends one unit");
    let refused = app.graphql("{ __typename }", json!({})).await;
    assert_refused(&refused);
    let retry_after = number(&refused, "retry-after");
    // One unit of 5/h refills in 720 s; the whole bucket in an hour.
    assert_eq!(retry_after, 720);
    assert_eq!(refused.body["errors"][0]["extensions"]["retryAfter"], 720);
    assert_eq!(number(&refused, "ratelimit-limit"), 5);
    assert_eq!(remaining(&refused), 0);
    assert_eq!(number(&refused, "ratelimit-reset"), 3_600);
    assert_eq!(refused.body["data"], Value::Null);
    // A flood trips the metric every time but the event table once a minute.
    assert_refused(&app.graphql("{ __typename }", json!({})).await);
    let events = trip_events(&app).await;
    assert_eq!(events.len(), 1, "one event per key per minute");
    assert_eq!(events[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        events[0].details.as_ref().expect("details")["class"],
        "anonymous"
    );
    assert_eq!(
        metric(&app, "sf_rate_limit_trips_total{class=\"anonymous\"}").await,
        2
    );
    if test_redis_url().is_some() {
        // The suite's Redis answered, not the fallback.
        assert_eq!(metric(&app, "sf_rate_limit_redis_errors_total").await, 0);
        assert_eq!(app.get("/health/ready").await.body["redis"]["status"], "up");
    }
}

#[tokio::test]
async fn one_users_exhausted_budget_does_not_touch_another_users() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.dev_admin_fallback = false;
        c.rate_limit.user = quota("1/h,10");
    })
    .await;
    let ada = user_token(&app, "ada", Role::Viewer).await;
    let bob = user_token(&app, "bob", Role::Viewer).await;
    let mut served = 0;
    let refused = loop {
        let response = app.graphql_as(&ada, CHEAP, json!({})).await;
        if response.status != StatusCode::OK {
            break response;
        }
        served += 1;
        assert!(
            served <= 10,
            "a 10-unit budget cannot serve 2-unit queries forever"
        );
    };
    assert_refused(&refused);
    assert_eq!(served, 5);
    let other = app.graphql_as(&bob, CHEAP, json!({})).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert_eq!(
        other.data()["me"]["id"].as_str().map(str::is_empty),
        Some(false)
    );
    assert_eq!(remaining(&other), 8, "bob's own, full bucket");
    assert_refused(&app.graphql_as(&ada, CHEAP, json!({})).await);
}

#[tokio::test]
async fn users_are_charged_the_complexity_of_each_operation_not_a_unit_per_request() {
    let app = TestApp::spawn_with(Some(SMALL), |c| {
        c.auth.dev_admin_fallback = false;
        c.rate_limit.user = quota("1/h,5000");
    })
    .await;
    let token = user_token(&app, "ada", Role::Admin).await;
    let first = remaining(&app.graphql_as(&token, CHEAP, json!({})).await);
    let second = remaining(&app.graphql_as(&token, CHEAP, json!({})).await);
    let cheap = first - second;
    assert_eq!(cheap, 2);
    let expensive = app.graphql_as(&token, EXPENSIVE, json!({})).await;
    assert_eq!(expensive.status, StatusCode::OK, "{}", expensive.body);
    let dear = second - remaining(&expensive);
    assert!(
        dear > 100 * cheap,
        "the nested list should cost far more: {dear} vs {cheap}"
    );
    // What is left no longer covers the expensive query, but still covers a cheap one.
    assert!(remaining(&expensive) < dear);
    assert_refused(&app.graphql_as(&token, EXPENSIVE, json!({})).await);
    let cheap_again = app.graphql_as(&token, CHEAP, json!({})).await;
    assert_eq!(cheap_again.status, StatusCode::OK, "{}", cheap_again.body);
}

#[tokio::test]
async fn logins_are_limited_per_client_ip_across_usernames() {
    let app = TestApp::spawn_with(None, |c| {
        c.rate_limit.login_ip = quota("1/h,3");
        c.rate_limit.login_user = quota("1/h,50");
    })
    .await;
    for name in ["u1", "u2", "u3"] {
        let response = app.graphql(LOGIN, json!({ "u": name, "p": "guess" })).await;
        assert_eq!(
            response.error_code(),
            "UNAUTHENTICATED",
            "{}",
            response.body
        );
    }
    let refused = app.graphql(LOGIN, json!({ "u": "u4", "p": "guess" })).await;
    assert_refused(&refused);
    assert!(number(&refused, "retry-after") >= 1);
    let events = trip_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].details.as_ref().expect("details")["class"],
        "login_ip"
    );
}

#[tokio::test]
async fn logins_are_limited_per_username_even_with_the_right_password() {
    let app = TestApp::spawn_with(None, |c| {
        c.rate_limit.login_ip = quota("1/h,50");
        c.rate_limit.login_user = quota("1/h,2");
    })
    .await;
    user_token(&app, "olga", Role::Operator).await;
    user_token(&app, "vera", Role::Operator).await;
    let again = app
        .graphql(LOGIN, json!({ "u": "olga", "p": PASSWORD }))
        .await;
    assert!(again.data()["login"]["accessToken"].is_string());
    let refused = app
        .graphql(LOGIN, json!({ "u": "olga", "p": PASSWORD }))
        .await;
    assert_refused(&refused);
    let other = app
        .graphql(LOGIN, json!({ "u": "vera", "p": PASSWORD }))
        .await;
    assert!(other.data()["login"]["accessToken"].is_string());
    let events = trip_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].username.as_deref(), Some("olga"));
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let behind_proxy = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,2");
        c.server.trusted_proxies = "127.0.0.1".parse().expect("proxies");
    })
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for _ in 0..2 {
        let response = behind_proxy
            .graphql_with_headers(&from("203.0.113.1"), "{ __typename }", json!({}))
            .await;
        assert_eq!(response.status, StatusCode::OK);
    }
    // A forged entry before the real client's address changes nothing.
    let forged = behind_proxy
        .graphql_with_headers(
            &from("198.51.100.9, 203.0.113.1"),
            "{ __typename }",
            json!({}),
        )
        .await;
    assert_refused(&forged);
    let other_client = behind_proxy
        .graphql_with_headers(&from("203.0.113.2"), "{ __typename }", json!({}))
        .await;
    assert_eq!(other_client.status, StatusCode::OK, "{}", other_client.body);
    let events = trip_events(&behind_proxy).await;
    assert_eq!(events[0].ip.as_deref(), Some("203.0.113.1"));

    // Without a trusted proxy the header is the client's own claim: ignored.
    let direct = TestApp::spawn_with(None, |c| anonymous_quota(c, "1/h,2")).await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        let response = direct
            .graphql_with_headers(&from(ip), "{ __typename }", json!({}))
            .await;
        assert_eq!(response.status, StatusCode::OK);
    }
    let spoofed = direct
        .graphql_with_headers(&from("203.0.113.3"), "{ __typename }", json!({}))
        .await;
    assert_refused(&spoofed);
}

#[tokio::test]
async fn a_refused_operation_over_websocket_gets_rate_limited() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn_with(None, |c| anonymous_quota(c, "1/h,1")).await;
    let mut socket = ws_connect(&app.address, "graphql-transport-ws").await;
    let messages = [
        json!({ "type": "connection_init", "payload": {} }),
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
        json!({ "id": "2", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    ];
    let mut answers = Vec::new();
    for message in messages {
        socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
        // The first answer to each message (`complete` follows operations; skip it).
        loop {
            let answer = next_json(&mut socket).await;
            if answer["type"] != "complete" {
                answers.push(answer);
                break;
            }
        }
    }
    assert_eq!(answers[0]["type"], "connection_ack");
    assert_eq!(
        answers[1]["payload"]["data"]["__typename"], "QueryRoot",
        "{}",
        answers[1]
    );
    let refused = &answers[2];
    assert_eq!(refused["id"], "2");
    // `next` with errors or `error` with a list, depending on where the refusal happened.
    let errors = if refused["type"] == "error" {
        &refused["payload"]
    } else {
        &refused["payload"]["errors"]
    };
    assert_eq!(errors[0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("stream open")
            .expect("message");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON message");
        }
    }
}

#[tokio::test]
async fn with_rate_limits_off_nothing_is_refused_or_announced() {
    let app = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,1");
        c.rate_limit.enabled = false;
    })
    .await;
    for _ in 0..3 {
        let response = app.graphql("{ __typename }", json!({})).await;
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.headers.get("ratelimit-limit").is_none());
    }
}

fn use_redis(config: &mut Config, url: &str, prefix: &str) {
    config.redis.url = Some(url.to_owned().into());
    config.redis.prefix = prefix.to_owned();
}

#[tokio::test]
async fn instances_sharing_a_redis_prefix_share_one_bucket() {
    // The suite's Redis when there is one, else a server of our own.
    let (_own, url) = shared_or_own_redis().await;
    let prefix = unique_redis_prefix();
    let a = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,3");
        use_redis(c, &url, &prefix);
    })
    .await;
    let b = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,3");
        use_redis(c, &url, &prefix);
    })
    .await;
    let elsewhere = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,3");
        use_redis(c, &url, &unique_redis_prefix());
    })
    .await;
    assert_eq!(remaining(&a.graphql("{ __typename }", json!({})).await), 2);
    assert_eq!(remaining(&b.graphql("{ __typename }", json!({})).await), 1);
    assert_eq!(remaining(&a.graphql("{ __typename }", json!({})).await), 0);
    assert_refused(&b.graphql("{ __typename }", json!({})).await);
    assert_refused(&a.graphql("{ __typename }", json!({})).await);
    // Another prefix is another set of buckets.
    let other = elsewhere.graphql("{ __typename }", json!({})).await;
    assert_eq!(remaining(&other), 2);
    assert_eq!(metric(&a, "sf_rate_limit_redis_errors_total").await, 0);
}

#[tokio::test]
async fn when_redis_hangs_or_dies_the_in_process_limiter_answers_until_redis_is_back() {
    let mut redis = RedisServer::start().await;
    let port = redis.port;
    let url = redis.url();
    let app = TestApp::spawn_with(None, |c| {
        anonymous_quota(c, "1/h,4");
        use_redis(c, &url, &unique_redis_prefix());
    })
    .await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.body["redis"]["status"], "up", "{}", ready.body);
    assert_eq!(
        remaining(&app.graphql("{ __typename }", json!({})).await),
        3
    );
    assert_eq!(
        remaining(&app.graphql("{ __typename }", json!({})).await),
        2
    );

    // Every request still gets an answer, quickly: from the in-process bucket (fresh, so 4
    // more), which serves and then refuses. Never a 500, never a hang.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut statuses = Vec::new();
    let mut ask = async || {
        let response = client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("an answer within 5 s while Redis is out");
        statuses.push(response.status().as_u16());
    };
    // Hung: connected, but no reply within the command timeout.
    redis.freeze();
    for _ in 0..3 {
        ask().await;
    }
    // Dead: the connection is gone. Ask until a check has found it so (after the pause that
    // follows a failure, Redis is tried again and fails at once, as it is not connected).
    redis.kill();
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&app, "sf_rate_limit_redis_errors_total").await < 2 {
        assert!(
            Instant::now() < deadline,
            "no second Redis failure was counted"
        );
        ask().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ask().await;
    // All of it from the one in-process bucket: 4 served, then refused.
    assert!(statuses.len() >= 5, "{statuses:?}");
    assert_eq!(statuses[..4], [200, 200, 200, 200], "{statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == 429), "{statuses:?}");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "Redis is optional");
    assert_eq!(ready.body["redis"]["status"], "degraded", "{}", ready.body);

    // Back on the same port: the pool reconnects by itself, and the (empty) Redis bucket is
    // used again instead of the spent in-process one.
    let _restarted = RedisServer::start_on(port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.graphql("{ __typename }", json!({})).await;
        assert!(
            response.status == StatusCode::OK || response.status == StatusCode::TOO_MANY_REQUESTS,
            "{}",
            response.status
        );
        if response.status == StatusCode::OK {
            assert_eq!(remaining(&response), 3, "answered by the new Redis");
            break;
        }
        assert!(Instant::now() < deadline, "Redis was not used again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
