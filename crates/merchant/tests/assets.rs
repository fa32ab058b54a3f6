//! The widget's files as the merchant backend serves them under `/widget/`: the build's brotli
//! and gzip siblings chosen by `Accept-Encoding`, content types, and cache headers by name
//! (content-hashed names immutable, the stable entry short-lived and revalidated), and the
//! hosted pay page's `<head>` naming the hashed files. The backend runs on `127.0.0.1:0` over a
//! folder laid out as `cargo xtask build-widget` lays it out, each variant with its own bytes.

use std::path::Path;

use axum::http::{StatusCode, header};
use mobilepay_merchant::routes::assets::{IMMUTABLE, SHORT_LIVED};
use serde_json::Value;

mod common;
use common::TestApp;

const WASM: &str = "mobilepay_checkout_bg.0123456789abcdef.wasm";
const ENTRY: &str = "mobilepay-checkout.fedcba9876543210.js";

/// A running backend serving `widget` (kept alive with it) and a client that never
/// decompresses by itself, so that tests see the bytes as sent.
struct Served {
    app: TestApp,
    _widget: tempfile::TempDir,
}

fn write(dir: &Path, name: &str, bytes: &str) {
    std::fs::write(dir.join(name), bytes).expect("a widget file is written");
}

async fn serve() -> Served {
    let widget = tempfile::tempdir().expect("a temporary folder");
    for name in [WASM, ENTRY, "mobilepay-checkout.js"] {
        write(widget.path(), name, &format!("identity of {name}"));
        write(
            widget.path(),
            &format!("{name}.br"),
            &format!("brotli of {name}"),
        );
        write(
            widget.path(),
            &format!("{name}.gz"),
            &format!("gzip of {name}"),
        );
    }
    write(
        widget.path(),
        "manifest.json",
        &format!(r#"{{"entry": "{ENTRY}", "wasm": "{WASM}"}}"#),
    );
    let app = TestApp::with(|config| config.widget_dir = Some(widget.path().to_path_buf())).await;
    Served {
        app,
        _widget: widget,
    }
}

impl Served {
    async fn get(&self, name: &str, accept_encoding: Option<&str>) -> reqwest::Response {
        let mut request = self.app.http.get(self.app.url(&format!("/widget/{name}")));
        if let Some(encodings) = accept_encoding {
            request = request.header(header::ACCEPT_ENCODING, encodings);
        }
        request.send().await.expect("the backend answers")
    }
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn brotli_goes_to_browsers_that_accept_it_gzip_to_those_that_only_take_gzip_identity_to_the_rest()
 {
    let served = serve().await;
    for (accepted, encoding, body) in [
        (
            Some("gzip, deflate, br, zstd"),
            "br",
            format!("brotli of {WASM}"),
        ),
        (Some("gzip, deflate"), "gzip", format!("gzip of {WASM}")),
        (None, "", format!("identity of {WASM}")),
    ] {
        let response = served.get(WASM, accepted).await;
        assert_eq!(response.status(), StatusCode::OK, "{accepted:?}");
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), encoding);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "application/wasm"
        );
        assert!(
            header_of(&response, header::VARY)
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "caches must keep one copy per encoding: {:?}",
            response.headers()
        );
        assert_eq!(response.text().await.expect("a body"), body);
    }
}

#[tokio::test]
async fn the_bundle_is_javascript_and_compressed_too() {
    let served = serve().await;
    for name in [ENTRY, "mobilepay-checkout.js"] {
        let response = served.get(name, Some("br")).await;
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), "br");
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/javascript"
        );
        assert_eq!(
            response.text().await.expect("a body"),
            format!("brotli of {name}")
        );
    }
}

#[tokio::test]
async fn hashed_names_are_immutable_for_a_year_and_the_stable_entry_is_short_lived() {
    let served = serve().await;
    for (name, cache) in [
        (WASM, IMMUTABLE),
        (ENTRY, IMMUTABLE),
        ("mobilepay-checkout.js", SHORT_LIVED),
        ("manifest.json", SHORT_LIVED),
    ] {
        let response = served.get(name, Some("br, gzip")).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), cache, "{name}");
    }
    assert_eq!(IMMUTABLE, "public, max-age=31536000, immutable");
}

#[tokio::test]
async fn the_stable_entry_once_stale_is_revalidated_with_a_304_and_no_body() {
    let served = serve().await;
    let first = served.get("mobilepay-checkout.js", Some("br")).await;
    let modified = header_of(&first, header::LAST_MODIFIED);
    assert!(!modified.is_empty(), "{:?}", first.headers());
    let again = served
        .app
        .http
        .get(served.app.url("/widget/mobilepay-checkout.js"))
        .header(header::ACCEPT_ENCODING, "br")
        .header(header::IF_MODIFIED_SINCE, &modified)
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&again, header::CACHE_CONTROL), SHORT_LIVED);
    assert_eq!(again.bytes().await.expect("a body").len(), 0);
}

#[tokio::test]
async fn a_missing_widget_file_is_the_json_not_found_error_and_is_not_cached() {
    let served = serve().await;
    let response = served
        .get("mobilepay_checkout_bg.aaaaaaaaaaaaaaaa.wasm", Some("br"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&response, header::CACHE_CONTROL), "");
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["error_code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_hosted_pay_page_preloads_the_hashed_wasm_and_loads_the_hashed_bundle_in_its_head() {
    let served = serve().await;
    let checkout = served
        .app
        .create_checkout(
            &serde_json::json!({"amount": 25000, "description": "Pagne", "reference": "order-1"}),
        )
        .await;
    let pay_url = checkout["pay_url"].as_str().expect("a pay_url");
    let page = served
        .app
        .fetch(pay_url)
        .await
        .text()
        .await
        .expect("a page");
    let head = page.split("</head>").next().expect("a head");
    assert!(head.contains(&format!(r#"<link rel="preload" href="/widget/{WASM}" as="fetch" type="application/wasm" crossorigin>"#)), "{head}");
    assert!(
        head.contains(&format!(
            r#"<link rel="modulepreload" href="/widget/{ENTRY}">"#
        )),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            r#"<script type="module" src="/widget/{ENTRY}"></script>"#
        )),
        "{head}"
    );
}
