//! GraphiQL without internet access: the page links only files the binary serves itself, each
//! with its type and a long cache life, and a CDN URL appears nowhere.

use std::path::{Path, PathBuf};

use reqwest::{StatusCode, header::HeaderMap};

use crate::helpers::TestApp;

/// Hosts the old page loaded GraphiQL and React from.
const CDNS: [&str; 4] = ["unpkg.com", "cdn.jsdelivr", "esm.sh", "<script src=\"http"];

struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
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
        body: response.bytes().await.expect("body").to_vec(),
    }
}

/// The page's `src`/`href` values, in order, each with whether it is a script.
fn references(html: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for (attribute, is_script) in [(" src=\"", true), (" href=\"", false)] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            let end = value.find('"').expect("closing quote");
            found.push((value[..end].to_owned(), is_script));
        }
    }
    found
}

/// Every file under `assets/graphiql/`, by path.
fn vendored_files() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, into: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("assets folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, into);
            } else {
                let bytes = std::fs::read(&path).expect("asset");
                into.push((path, bytes));
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/graphiql"),
        &mut files,
    );
    files
}

#[tokio::test]
async fn the_page_is_html_that_links_only_same_origin_paths() {
    let app = TestApp::spawn().await;
    let page = fetch(&app, "/graphiql").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{}",
        page.header("content-type")
    );
    let html = page.text();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for cdn in CDNS {
        assert!(!html.contains(cdn), "{cdn} in {html}");
    }
    let links = references(&html);
    assert!(links.len() >= 5, "{links:?}");
    for (link, _) in &links {
        assert!(
            link.starts_with("/graphiql/assets/") && !link.starts_with("//"),
            "{link}"
        );
    }
    // No inline script, so `script-src 'self'` suffices: every script tag has a `src`.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"").count(),
        "{html}"
    );
}

#[tokio::test]
async fn the_page_runs_under_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    let page = fetch(&app, "/graphiql").await;
    let policy = page.header("content-security-policy");
    let script_src = policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src"))
        .unwrap_or_else(|| panic!("no script-src in {policy:?}"));
    assert_eq!(script_src, "script-src 'self'");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    // The page names the current assets, so it is revalidated on every load.
    assert_eq!(page.header("cache-control"), "no-cache");
}

#[tokio::test]
async fn every_linked_file_is_served_from_the_binary_with_its_type() {
    let app = TestApp::spawn().await;
    let html = fetch(&app, "/graphiql").await.text();
    let on_disk = vendored_files();
    let mut served = Vec::new();
    for (link, is_script) in references(&html) {
        let asset = fetch(&app, &link).await;
        assert_eq!(asset.status, StatusCode::OK, "{link}");
        let expected_type = if is_script {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            asset.header("content-type").starts_with(expected_type),
            "{link}: {}",
            asset.header("content-type")
        );
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{link}"
        );
        // Byte for byte one of the files in assets/graphiql: not truncated, not a stand-in.
        let source = on_disk
            .iter()
            .find(|(_, bytes)| *bytes == asset.body)
            .unwrap_or_else(|| {
                panic!(
                    "{link} ({} bytes) is no file in assets/graphiql",
                    asset.body.len()
                )
            });
        served.push(source.0.clone());
    }
    // Every vendored build is linked: React, ReactDOM, GraphiQL (script and styles), graphql-ws.
    for (path, bytes) in &on_disk {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".min.js") || name.ends_with(".min.css") {
            assert!(served.contains(path), "{} is not linked", path.display());
            assert!(
                bytes.len() > 5_000,
                "{} is implausibly small",
                path.display()
            );
        }
    }
    let graphiql = on_disk
        .iter()
        .find(|(path, _)| path.ends_with("graphiql.min.js"))
        .expect("GraphiQL bundle");
    assert!(graphiql.1.len() > 500_000, "{} bytes", graphiql.1.len());
}

#[tokio::test]
async fn no_served_script_loads_from_a_cdn() {
    let app = TestApp::spawn().await;
    let html = fetch(&app, "/graphiql").await.text();
    let scripts: Vec<String> = references(&html)
        .into_iter()
        .filter(|(_, is_script)| *is_script)
        .map(|(link, _)| link)
        .collect();
    assert!(
        scripts.iter().any(|s| s.contains("/init-")),
        "our start-up script: {scripts:?}"
    );
    for link in &scripts {
        let script = fetch(&app, link).await.text();
        for cdn in CDNS {
            assert!(!script.contains(cdn), "{link} mentions {cdn}");
        }
        if link.contains("/init-") {
            assert!(
                !script.contains("http://") && !script.contains("https://"),
                "{script}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_asset_is_not_found() {
    let app = TestApp::spawn().await;
    for path in [
        "/graphiql/assets/nothing.js",
        // Another version than the one pinned.
        "/graphiql/assets/graphiql-3.0.0.min.js",
        // Our script under a stale content hash.
        "/graphiql/assets/init-0000000000000000.js",
        "/graphiql/assets/..%2F..%2FCargo.toml",
        "/graphiql/assets/",
    ] {
        assert_eq!(
            fetch(&app, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn with_graphiql_off_neither_page_nor_assets_are_served() {
    let on = TestApp::spawn().await;
    let links = references(&fetch(&on, "/graphiql").await.text());
    assert!(!links.is_empty());
    let off = TestApp::spawn_with(None, |c| c.server.graphiql = false).await;
    assert_eq!(fetch(&off, "/graphiql").await.status, StatusCode::NOT_FOUND);
    for (link, _) in links {
        assert_eq!(
            fetch(&off, &link).await.status,
            StatusCode::NOT_FOUND,
            "{link}"
        );
    }
}
