//! GraphiQL at `GET /graphiql`, with every file it loads compiled into the binary and served
//! from `GET /graphiql/assets/{file}`: it works on a plant network without internet access,
//! and under a strict Content-Security-Policy (`script-src 'self'`, no inline script).
//!
//! The vendored packages (GraphiQL, React, ReactDOM, the graphql-ws client) are pinned in
//! `assets/graphiql/README.md`. Their file names carry the version and ours a content hash,
//! so the assets are cached for a year and an upgrade still reaches every browser; the page
//! itself is revalidated on every load.

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
const ASSET_PATH: &str = "/graphiql/assets";

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Asset names change with their content, so a browser may keep what it has.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The page names the current assets: always ask whether it changed.
const REVALIDATE: &str = "no-cache";

/// Only our own origin. Styles allow inline because GraphiQL's dialogs inject a `<style>`
/// (react-remove-scroll); fonts and icons come as `data:` URLs inside GraphiQL's stylesheet;
/// `connect-src 'self'` covers `/graphql` and, in CSP 3 browsers, the same-origin WebSocket.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How the page loads a file.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Script,
    Stylesheet,
}

impl Kind {
    fn content_type(self) -> &'static str {
        match self {
            Kind::Script => JAVASCRIPT,
            Kind::Stylesheet => CSS,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Script => "js",
            Kind::Stylesheet => "css",
        }
    }
}

/// How an embedded file is named under [`ASSET_PATH`].
enum Name {
    /// A vendored file: the name carries the pinned version.
    Pinned(&'static str),
    /// One of ours: `stem-<content hash>.js` (or `.css`).
    Hashed(&'static str),
}

/// A file embedded in the binary.
struct Embedded {
    name: Name,
    kind: Kind,
    bytes: &'static [u8],
}

/// Everything the page loads, in load order: stylesheets first, then the scripts, each
/// depending on the ones before it (React, ReactDOM, GraphiQL, graphql-ws, our start-up).
const FILES: [Embedded; 7] = [
    Embedded {
        name: Name::Pinned("graphiql-3.9.0.min.css"),
        kind: Kind::Stylesheet,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.9.0/graphiql.min.css"),
    },
    Embedded {
        name: Name::Hashed("page"),
        kind: Kind::Stylesheet,
        bytes: include_bytes!("../../assets/graphiql/page.css"),
    },
    Embedded {
        name: Name::Pinned("react-18.3.1.production.min.js"),
        kind: Kind::Script,
        bytes: include_bytes!("../../assets/graphiql/react-18.3.1/react.production.min.js"),
    },
    Embedded {
        name: Name::Pinned("react-dom-18.3.1.production.min.js"),
        kind: Kind::Script,
        bytes: include_bytes!("../../assets/graphiql/react-dom-18.3.1/react-dom.production.min.js"),
    },
    Embedded {
        name: Name::Pinned("graphiql-3.9.0.min.js"),
        kind: Kind::Script,
        bytes: include_bytes!("../../assets/graphiql/graphiql-3.9.0/graphiql.min.js"),
    },
    Embedded {
        name: Name::Pinned("graphql-ws-6.4.2.min.js"),
        kind: Kind::Script,
        bytes: include_bytes!("../../assets/graphiql/graphql-ws-6.4.2/graphql-ws.min.js"),
    },
    Embedded {
        name: Name::Hashed("init"),
        kind: Kind::Script,
        bytes: include_bytes!("../../assets/graphiql/init.js"),
    },
];

/// A servable asset: its final file name, type and bytes.
struct Asset {
    name: String,
    kind: Kind,
    bytes: &'static [u8],
}

/// The page and its assets, named once when the router is built.
struct Catalog {
    page: Bytes,
    assets: Vec<Asset>,
}

impl Catalog {
    fn build() -> Self {
        let assets: Vec<Asset> = FILES
            .iter()
            .map(|file| Asset {
                name: match file.name {
                    Name::Pinned(name) => name.to_owned(),
                    Name::Hashed(stem) => fingerprinted(stem, file.kind, file.bytes),
                },
                kind: file.kind,
                bytes: file.bytes,
            })
            .collect();
        let page = Bytes::from(page(&assets));
        Self { page, assets }
    }

    fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|asset| asset.name == name)
    }
}

/// `init-1a2b3c4d5e6f7a8b.js`: the stem and the first 8 bytes of the content's SHA-256.
fn fingerprinted(stem: &str, kind: Kind, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{stem}-{hash}.{}", kind.extension())
}

/// Our HTML: same-origin links only, scripts at the end of the body in dependency order.
fn page(assets: &[Asset]) -> String {
    let tags = |kind: Kind, tag: fn(&str) -> String| {
        assets
            .iter()
            .filter(|asset| asset.kind == kind)
            .map(|asset| tag(&format!("{ASSET_PATH}/{}", asset.name)))
            .collect::<Vec<_>>()
            .join("\n    ")
    };
    let stylesheets = tags(Kind::Stylesheet, |href| {
        format!(r#"<link rel="stylesheet" href="{href}">"#)
    });
    let scripts = tags(Kind::Script, |src| {
        format!(r#"<script src="{src}"></script>"#)
    });
    format!(
        r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Smart Factory GraphQL</title>
    {stylesheets}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
    {scripts}
  </body>
</html>
"#
    )
}

/// `GET /graphiql` and `GET /graphiql/assets/{file}`, for any router state.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/graphiql", get(serve_page))
        .route(&format!("{ASSET_PATH}/{{file}}"), get(serve_asset))
        .with_state(Arc::new(Catalog::build()))
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
                (header::CONTENT_TYPE, asset.kind.content_type()),
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
    fn every_asset_has_its_own_name() {
        let catalog = Catalog::build();
        let mut names: Vec<&str> = catalog.assets.iter().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FILES.len());
    }

    #[test]
    fn a_changed_file_of_ours_gets_a_new_name() {
        let before = fingerprinted("init", Kind::Script, b"render(1)");
        let after = fingerprinted("init", Kind::Script, b"render(2)");
        assert!(
            before.starts_with("init-") && before.ends_with(".js"),
            "{before}"
        );
        assert_eq!(before.len(), "init-".len() + 16 + ".js".len(), "{before}");
        assert_ne!(before, after);
    }
}
