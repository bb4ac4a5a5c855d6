//! Browser-facing headers: CORS only for configured origins, HSTS only over HTTPS.

use reqwest::Method;

use crate::helpers::TestApp;

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("preflight")
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::spawn_with(None, |c| {
        c.server.cors_origins = vec!["https://dash.plant.example".into()];
    })
    .await;
    let allowed = preflight(&app, "https://dash.plant.example").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dash.plant.example"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let other = preflight(&app, "https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;
    let response = preflight(&app, "https://dash.plant.example").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn hsts_is_sent_only_on_requests_that_came_over_https() {
    let app = TestApp::spawn_with(None, |c| c.server.hsts_max_age = 600).await;
    let over_tls = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("request");
    assert_eq!(
        over_tls.headers()["strict-transport-security"],
        "max-age=600; includeSubDomains"
    );
    let plain = app
        .client
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .expect("request");
    assert!(plain.headers().get("strict-transport-security").is_none());
    assert_eq!(plain.headers()["x-content-type-options"], "nosniff");
}
