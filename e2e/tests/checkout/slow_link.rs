//! The store on the 3G phone (Chromium throttled through CDP): no chain of round trips.

use mobilepay_e2e::cdp;

use super::*;

#[tokio::test]
async fn on_a_throttled_link_the_session_request_leaves_while_the_wasm_downloads_and_only_once() {
    let stack = stack().await;
    let browser = phone().await;
    let client = &browser.client;
    cdp::emulate_network(client, Some(cdp::throttled_3g()))
        .await
        .expect("throttled");
    open_store(client, &stack, "/").await;
    wait_for_status(client, "awaiting_payment").await;
    let timings = js(
        client,
        "const all = performance.getEntriesByType('resource');
         const path = (e) => new URL(e.name).pathname;
         return {
           sessions: all.filter((e) => path(e) === '/checkout/sessions')
             .map((e) => [e.startTime, e.responseEnd]),
           wasm: all.filter((e) => path(e).endsWith('.wasm')).map((e) => [e.startTime, e.responseEnd]),
           bundle: all.filter((e) => path(e).startsWith('/widget/') && path(e).endsWith('.js'))
             .map((e) => [e.startTime, e.responseEnd]),
         };",
    )
    .await;
    let at = |key: &str| -> Vec<(f64, f64)> {
        timings[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t[0].as_f64()?, t[1].as_f64()?)))
            .collect()
    };
    let (sessions, wasm, bundle) = (at("sessions"), at("wasm"), at("bundle"));
    assert_eq!(sessions.len(), 1, "one session request: {timings}");
    assert_eq!(wasm.len(), 1, "one wasm download: {timings}");
    assert_eq!(bundle.len(), 1, "one script: {timings}");
    // The preload hint: the wasm is asked for with the script, not once the script has run.
    assert!(
        wasm[0].0 < bundle[0].1,
        "the wasm waited for the script: {timings}"
    );
    // The session request leaves before the wasm has arrived, not after.
    assert!(
        sessions[0].0 < wasm[0].1,
        "the session waited for the wasm: {timings}"
    );
    client.clone().close().await.expect("browser closes");
}
