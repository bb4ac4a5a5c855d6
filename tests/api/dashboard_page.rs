//! `/dashboard` without a browser: an HTML page under a strict Content-Security-Policy that
//! links only files the binary serves itself, none of which names another host, and offers
//! the development admin only where the server has one.

use reqwest::{StatusCode, header::HeaderMap};

use crate::helpers::TestApp;

struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn fetch(app: &TestApp, path: &str) -> Fetched {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("request");
    Fetched {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// The page's `src` and `href` values, in order.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" src=\"", " href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            let end = value.find('"').expect("closing quote");
            found.push(value[..end].to_owned());
        }
    }
    found
}

/// Anything that would make the browser reach past our origin: a scheme-qualified or
/// protocol-relative URL, a CSS import or a web font.
fn external_reference(text: &str) -> Option<&'static str> {
    [
        "http://",
        "https://",
        "//cdn",
        "@import",
        "@font-face",
        "url(",
    ]
    .into_iter()
    .find(|needle| text.contains(needle))
}

#[tokio::test]
async fn the_dashboard_is_a_page_under_a_strict_policy_that_links_only_its_own_assets() {
    let app = TestApp::spawn().await;
    let page = fetch(&app, "/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{}",
        page.header("content-type")
    );
    assert_eq!(page.header("cache-control"), "no-cache");
    let policy = page.header("content-security-policy");
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&expected), "{expected} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");

    let html = &page.body;
    assert_eq!(external_reference(html), None, "{html}");
    // No inline script or style: every script has a `src`, no element a `style` attribute.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"").count(),
        "{html}"
    );
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "{html}"
    );
    for id in [
        "login-form",
        "login-username",
        "login-password",
        "alarm-list",
        "tiles",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} in {html}");
    }

    let links = references(html);
    assert_eq!(links.len(), 6, "one stylesheet and five scripts: {links:?}");
    for link in &links {
        assert!(link.starts_with("/dashboard/assets/"), "{link}");
        let asset = fetch(&app, link).await;
        assert_eq!(asset.status, StatusCode::OK, "{link}");
        let expected = if link.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(asset.header("content-type").starts_with(expected), "{link}");
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{link}"
        );
        assert!(asset.body.len() > 1_000, "{link} is implausibly small");
        assert_eq!(
            external_reference(&asset.body),
            None,
            "{link} reaches past the origin"
        );
    }
    assert_eq!(
        fetch(&app, "/dashboard/assets/dashboard-0000000000000000.js")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_development_admin_is_offered_only_where_the_server_has_one() {
    let production_like = TestApp::spawn_with(None, |c| c.auth.dev_admin_fallback = false).await;
    let off = fetch(&production_like, "/dashboard").await.body;
    assert!(off.contains(r#"data-dev-admin="false""#), "{off}");

    let dev = TestApp::spawn_with(None, |c| c.auth.dev_admin_fallback = true).await;
    let on = fetch(&dev, "/dashboard").await.body;
    assert!(on.contains(r#"data-dev-admin="true""#), "{on}");
}
