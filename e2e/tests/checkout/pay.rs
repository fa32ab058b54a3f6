//! The hosted pay page (`pay_url`): what a shopper opens from a link sent by WhatsApp or SMS,
//! on a 360 px phone — the merchant's checkout created through `/v1`, the widget for it, and
//! once paid the way back to the shop; axe-core clean before and after, and for an unknown link.

use serde_json::json;

use super::a11y::axe_violations;
use super::{
    attribute, create_checkout, js, phone, screenshot, simulate_payment, stack, wait_for_js,
    wait_for_status,
};

#[tokio::test]
async fn a_shopper_pays_a_payment_link_on_a_phone_and_is_led_back_to_the_shop() {
    let stack = stack().await;
    // The shop's server creates the checkout, and sends its pay_url to the shopper.
    let checkout = create_checkout(
        &stack,
        &json!({
            "amount": 15_000,
            "description": "Commande WhatsApp n° 12 — 2 pagnes",
            "reference": "wa-12",
            "return_url": "https://shop.example/merci",
        }),
    )
    .await;
    let pay_url = checkout["pay_url"].as_str().expect("a pay_url");
    let browser = phone().await;
    let client = &browser.client;

    client.goto(pay_url).await.expect("the pay page opens");
    wait_for_status(client, "awaiting_payment").await;

    assert_eq!(
        js(client, "return document.documentElement.lang").await,
        "fr"
    );
    let heading = js(client, "return document.querySelector('h1').textContent").await;
    assert_eq!(heading, "Commande WhatsApp n° 12 — 2 pagnes");
    let width = js(client, "return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 360),
        "no sideways scroll at 360 px: {width}"
    );
    assert_eq!(
        js(client, "return document.getElementById('return').hidden").await,
        true
    );
    let violations = axe_violations(client).await;
    assert!(violations.is_empty(), "{violations:#?}");
    screenshot(client, "pay-page-awaiting-payment.png").await;

    let payment = attribute(client, "payment-id").await.expect("a payment id");
    simulate_payment(&stack, &payment, "success").await;
    wait_for_status(client, "paid").await;

    // The way back appears.
    wait_for_js(
        client,
        "document.getElementById('return').hidden",
        json!(false),
    )
    .await;
    let back = js(client, "return document.querySelector('#return a').href").await;
    assert_eq!(back, "https://shop.example/merci");
    let violations = axe_violations(client).await;
    assert!(violations.is_empty(), "{violations:#?}");
    screenshot(client, "pay-page-paid.png").await;

    // In English on request; and an unknown link is a page of its own, not an error body.
    client
        .goto(&format!("{pay_url}?locale=en"))
        .await
        .expect("the page opens");
    wait_for_status(client, "paid").await;
    assert_eq!(
        js(client, "return document.documentElement.lang").await,
        "en"
    );
    client
        .goto(&format!(
            "{}/pay/chk_000000000000000000000000",
            stack.store_url
        ))
        .await
        .expect("the page opens");
    let heading = js(client, "return document.querySelector('h1').textContent").await;
    assert_eq!(heading, "Lien de paiement introuvable");
    let violations = axe_violations(client).await;
    assert!(violations.is_empty(), "{violations:#?}");
    client.clone().close().await.expect("browser closes");
}
