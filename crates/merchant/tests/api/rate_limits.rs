//! The limit on sessions asked for per address and minute (`sessions_per_minute`), and whose
//! address counts: each shopper's behind a trusted proxy, the connection's otherwise.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn one_address_asking_for_too_many_sessions_is_slowed_down() {
    let app = TestApp::with(|config| config.sessions_per_minute = 2).await;
    let order = app.place_order().await;
    for _ in 0..2 {
        let response = app.post_session(&json!({ "order_id": order.id })).await;
        assert!(response.status().is_success(), "{}", response.status());
    }

    let response = app.post_session(&json!({ "order_id": order.id })).await;

    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_shopper_has_a_limit_of_their_own() {
    // The tests connect from 127.0.0.1: here that is the proxy.
    let app = TestApp::with(|config| {
        config.sessions_per_minute = 2;
        config.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a network")];
    })
    .await;
    let order = app.place_order().await;
    let from = |shopper: &'static str| {
        app.http
            .post(format!("{}/checkout/sessions", app.address))
            .header("x-forwarded-for", shopper)
            .json(&json!({ "order_id": order.id }))
            .send()
    };
    for _ in 0..2 {
        let response = from("203.0.113.1").await.expect("the backend answers");
        assert!(response.status().is_success(), "{}", response.status());
    }
    let response = from("203.0.113.1").await.expect("the backend answers");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;

    // Another shopper behind the same proxy is not slowed down by the first.
    let response = from("203.0.113.2").await.expect("the backend answers");
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit() {
    let app = TestApp::with(|config| config.sessions_per_minute = 2).await;
    let order = app.place_order().await;
    for n in 0..3 {
        let response = app
            .http
            .post(format!("{}/checkout/sessions", app.address))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({ "order_id": order.id }))
            .send()
            .await
            .expect("the backend answers");
        if n < 2 {
            assert!(response.status().is_success(), "{}", response.status());
        } else {
            assert_error(response, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS").await;
        }
    }
}
