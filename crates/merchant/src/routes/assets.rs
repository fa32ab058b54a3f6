//! The widget's files under `/widget/`, served for a phone on a slow link (on 3G each round trip
//! costs ~0.4 s and each kilobyte ~20 ms):
//!
//! - compressed as the build left them (`cargo xtask build-widget` writes a `.br` and a `.gz`
//!   beside every file), chosen by the request's `Accept-Encoding`, with `Vary:
//!   Accept-Encoding` so that caches keep one copy per encoding;
//! - content types from the file's extension, `application/wasm` included (streaming
//!   compilation needs it);
//! - cached: a content-hashed name (`mobilepay_checkout_bg.<16 hex>.wasm`) never changes
//!   content, so it is `immutable` for a year and a repeat visit asks nothing; every other name
//!   (the stable `mobilepay-checkout.js` that merchants' `<script>` tags name) for five minutes,
//!   then revalidated by `Last-Modified`, so a release reaches every shopper soon.
//!
//! [`head_tags`] writes the `<head>` markup that loads the widget with no chain of round trips:
//! the bundle and the wasm requested at once, by their hashed names from the build's manifest.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Where the widget's files are mounted.
pub const WIDGET_PATH: &str = "/widget";

/// The build's `manifest.json`: the hashed names a page loads the widget by.
const MANIFEST: &str = "manifest.json";

/// For content-hashed names.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For every other name: short, so that a new release is picked up within minutes.
pub const SHORT_LIVED: &str = "public, max-age=300";

/// The files of the built widget in `dir`, compressed and cached as the module doc says; a
/// missing file is the JSON `NOT_FOUND` error, as everywhere else.
pub fn router(dir: &Path) -> Router {
    let files = tower_http::services::ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .not_found_service(axum::routing::any(|| async {
            crate::error::Error::NotFound
        }));
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(cache_headers))
}

/// `Cache-Control` by name, and `Vary: Accept-Encoding`, on every file served.
async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(|name| hash_in(name).is_some());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed { IMMUTABLE } else { SHORT_LIVED }),
        );
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response.into_response()
}

/// The content hash in a file name the widget's build made (`name.<16 hex digits>.ext`).
pub fn hash_in(name: &str) -> Option<&str> {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next()?, parts.next()?);
    (parts.next().is_some() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(hash)
}

/// The hashed names of one build of the widget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Manifest {
    /// The bundled entry module: the element, its JS API and wasm-bindgen's glue in one file.
    pub entry: String,
    /// The wasm the entry fetches.
    pub wasm: String,
}

impl Manifest {
    /// The manifest of the widget built into `dir`, if there is a readable one naming plain
    /// file names (they are written into pages as they are).
    pub async fn read(dir: &Path) -> Option<Manifest> {
        let bytes = tokio::fs::read(dir.join(MANIFEST)).await.ok()?;
        let manifest: Manifest = serde_json::from_slice(&bytes).ok()?;
        let plain = |name: &str| {
            !name.is_empty()
                && !name.starts_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        (plain(&manifest.entry) && plain(&manifest.wasm)).then_some(manifest)
    }
}

/// What a page's `<head>` needs to show the widget soonest: the wasm preloaded (it would
/// otherwise be asked for only once the script ran, a round trip later), the bundle preloaded
/// and loaded as a module. With no manifest (an older build), the stable entry alone.
///
/// The wasm's `preload` is `as="fetch"` with `crossorigin`, as the script's own `fetch` of it
/// is (CORS mode, same-origin credentials): otherwise the browser would not reuse it.
pub fn head_tags(manifest: Option<&Manifest>) -> String {
    match manifest {
        Some(Manifest { entry, wasm }) => format!(
            "<link rel=\"modulepreload\" href=\"{WIDGET_PATH}/{entry}\">\n\
             <link rel=\"preload\" href=\"{WIDGET_PATH}/{wasm}\" as=\"fetch\" type=\"application/wasm\" crossorigin>\n\
             <script type=\"module\" src=\"{WIDGET_PATH}/{entry}\"></script>"
        ),
        None => {
            format!("<script type=\"module\" src=\"{WIDGET_PATH}/mobilepay-checkout.js\"></script>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sixteen_hex_digits_before_the_extension_make_a_hashed_name() {
        assert_eq!(
            hash_in("mobilepay_checkout_bg.0123456789abcdef.wasm"),
            Some("0123456789abcdef")
        );
        assert_eq!(hash_in("mobilepay-checkout.js"), None);
        assert_eq!(hash_in("0123456789abcdef.wasm"), None);
        assert_eq!(hash_in("a.0123456789abcdeg.js"), None);
        assert_eq!(hash_in("a.0123456789abcde.js"), None);
    }

    #[test]
    fn the_head_tags_preload_the_hashed_wasm_and_load_the_hashed_bundle() {
        let manifest = Manifest {
            entry: "mobilepay-checkout.0123456789abcdef.js".into(),
            wasm: "mobilepay_checkout_bg.fedcba9876543210.wasm".into(),
        };
        let tags = head_tags(Some(&manifest));
        assert!(tags.contains(
            r#"<link rel="modulepreload" href="/widget/mobilepay-checkout.0123456789abcdef.js">"#
        ));
        assert!(tags.contains(r#"<link rel="preload" href="/widget/mobilepay_checkout_bg.fedcba9876543210.wasm" as="fetch" type="application/wasm" crossorigin>"#));
        assert!(tags.contains(r#"<script type="module" src="/widget/mobilepay-checkout.0123456789abcdef.js"></script>"#));
        assert_eq!(
            head_tags(None),
            r#"<script type="module" src="/widget/mobilepay-checkout.js"></script>"#
        );
    }
}
