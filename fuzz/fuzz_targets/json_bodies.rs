//! The JSON bodies that arrive from outside — the merchant API's request bodies, the widget's
//! session request, MOBILE-PAY's webhooks and answers — through their wire types: never a
//! panic, and whatever parses serializes to JSON that parses back to the same value (floats
//! to within serde_json's parsing precision: [`mobilepay_fuzz::same_json`]).

use serde::Serialize;
use serde::de::DeserializeOwned;

use mobilepay_wire::{api, checkout, merchant, webhook};

fn round_trip<T: DeserializeOwned + Serialize>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&value).expect("serializable");
        let again: T = serde_json::from_slice(&json).expect("its own JSON parses");
        let (before, after) = (
            serde_json::to_value(&value).expect("serializable"),
            serde_json::to_value(&again).expect("serializable"),
        );
        assert!(
            mobilepay_fuzz::same_json(&before, &after),
            "{before} read back as {after}"
        );
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        round_trip::<merchant::CreateCheckout>(data);
        round_trip::<merchant::CreateRefund>(data);
        round_trip::<merchant::Checkout>(data);
        round_trip::<checkout::CreateSession>(data);
        round_trip::<checkout::StatusEvent>(data);
        round_trip::<webhook::WebhookEvent>(data);
        round_trip::<api::QrPayment>(data);
        round_trip::<api::SimulatePayment>(data);
    });
}
