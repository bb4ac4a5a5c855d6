//! The wall screen at `GET /dashboard`: one page whose stylesheet and scripts are compiled into
//! the binary and served from `GET /dashboard/assets/{file}`, so it works on a plant network
//! without internet access, under a strict Content-Security-Policy (`script-src 'self'`, no
//! inline script or style, `connect-src 'self'` for `/graphql` and `/graphql/ws`).
//!
//! Everything the page shows comes from the GraphQL API with the token its login form got, so
//! the page itself is public. The files are ours (plain JavaScript, no build step, charts drawn
//! on `<canvas>`): their names carry a content hash, so they are cached for a year and a new
//! binary still reaches every wall screen; the page is revalidated on every load.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

/// Where the page links its assets from; the route below serves this folder.
const ASSET_PATH: &str = "/dashboard/assets";

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Asset names change with their content, so a browser may keep what it has.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page names the current assets: always ask whether it changed.
const REVALIDATE: &str = "no-cache";

/// Only our own origin, and nothing inline: the page sets styles through the CSSOM (allowed
/// under `style-src 'self'`), draws on canvas, and talks only to `/graphql` and `/graphql/ws`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The HTML, with `{{stylesheet}}`, `{{scripts}}` and `{{dev_admin}}` filled in at start-up.
const TEMPLATE: &str = include_str!("../assets/dashboard/index.html");

/// A file of the page, embedded in the binary.
struct Embedded {
    stem: &'static str,
    extension: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The stylesheet, then the scripts in load order (each uses the ones before it).
const FILES: [Embedded; 6] = [
    Embedded {
        stem: "dashboard",
        extension: "css",
        content_type: CSS,
        bytes: include_bytes!("../assets/dashboard/dashboard.css"),
    },
    Embedded {
        stem: "api",
        extension: "js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/dashboard/api.js"),
    },
    Embedded {
        stem: "chart",
        extension: "js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/dashboard/chart.js"),
    },
    Embedded {
        stem: "metrics",
        extension: "js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/dashboard/metrics.js"),
    },
    Embedded {
        stem: "panels",
        extension: "js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/dashboard/panels.js"),
    },
    Embedded {
        stem: "dashboard",
        extension: "js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/dashboard/dashboard.js"),
    },
];

/// A servable asset: its final file name, type and bytes.
struct Asset {
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The page and its assets, named once when the router is built.
struct Catalog {
    page: Bytes,
    assets: Vec<Asset>,
}

impl Catalog {
    fn build(dev_admin: bool) -> Self {
        let assets: Vec<Asset> = FILES
            .iter()
            .map(|file| Asset {
                name: fingerprinted(file.stem, file.extension, file.bytes),
                content_type: file.content_type,
                bytes: file.bytes,
            })
            .collect();
        let page = Bytes::from(page(&assets, dev_admin));
        Self { page, assets }
    }

    fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|asset| asset.name == name)
    }
}

/// `panels-1a2b3c4d5e6f7a8b.js`: the stem and the first 8 bytes of the content's SHA-256.
fn fingerprinted(stem: &str, extension: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{hash}.{extension}")
}

/// The template with same-origin links to the assets. `dev_admin` tells the login form to
/// offer the development admin (requests without a token), which only a development server
/// with `SF_DEV_ADMIN` accepts anyway.
fn page(assets: &[Asset], dev_admin: bool) -> String {
    let href = |asset: &Asset| format!("{ASSET_PATH}/{}", asset.name);
    let stylesheet = assets
        .iter()
        .filter(|asset| asset.content_type == CSS)
        .map(|asset| format!(r#"<link rel="stylesheet" href="{}">"#, href(asset)))
        .collect::<Vec<_>>()
        .join("\n    ");
    let scripts = assets
        .iter()
        .filter(|asset| asset.content_type == JAVASCRIPT)
        .map(|asset| format!(r#"<script src="{}"></script>"#, href(asset)))
        .collect::<Vec<_>>()
        .join("\n    ");
    TEMPLATE
        .replace("{{stylesheet}}", &stylesheet)
        .replace("{{scripts}}", &scripts)
        .replace("{{dev_admin}}", if dev_admin { "true" } else { "false" })
}

/// `GET /dashboard` and `GET /dashboard/assets/{file}`, for any router state.
pub fn routes<S>(dev_admin: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/dashboard", get(serve_page))
        .route(&format!("{ASSET_PATH}/{{file}}"), get(serve_asset))
        .with_state(Arc::new(Catalog::build(dev_admin)))
}

async fn serve_page(State(catalog): State<Arc<Catalog>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HTML),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        catalog.page.clone(),
    )
        .into_response()
}

async fn serve_asset(State(catalog): State<Arc<Catalog>>, Path(file): Path<String>) -> Response {
    match catalog.asset(&file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
            asset.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_its_own_name_and_the_page_links_each() {
        let catalog = Catalog::build(false);
        let mut names: Vec<&str> = catalog.assets.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FILES.len());
        let page = String::from_utf8_lossy(&catalog.page).into_owned();
        for name in names {
            assert!(page.contains(&format!("{ASSET_PATH}/{name}")), "{name}");
        }
        assert!(!page.contains("{{"), "a placeholder left in the page");
    }

    #[test]
    fn the_page_says_whether_the_development_admin_is_offered() {
        let on = String::from_utf8_lossy(&Catalog::build(true).page).into_owned();
        let off = String::from_utf8_lossy(&Catalog::build(false).page).into_owned();
        assert!(on.contains(r#"data-dev-admin="true""#));
        assert!(off.contains(r#"data-dev-admin="false""#));
    }
}
