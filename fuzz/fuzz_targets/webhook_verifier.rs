//! The webhook verifier (`mobilepay_client::webhook::Verifier`) on arbitrary deliveries: never
//! a panic, and a body signed with the endpoint's secret at the current time is never refused
//! for its signature — only, at most, for not being a MOBILE-PAY webhook.
//!
//! Input: three header lines (`webhook-id`, `webhook-timestamp`, `webhook-signature`), then the
//! body. A line that is no valid header value leaves that header out.

use mobilepay_client::webhook::{Verifier, VerifyError};

const SECRET: &str = "whsec_ZGVtby13ZWJob29rLXNlY3JldC1ub3QtZm9yLXByb2R1Y3Rpb24=";

fn main() {
    let verifier = Verifier::new(&[SECRET]).expect("a valid secret");
    let signer = standardwebhooks::Webhook::new(SECRET).expect("a valid secret");
    afl::fuzz!(|data: &[u8]| {
        let mut parts = data.splitn(4, |&b| b == b'\n');
        let (id, timestamp, signature) = (parts.next(), parts.next(), parts.next());
        let body = parts.next().unwrap_or_default();
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ] {
            if let Some(value) = value.and_then(|v| http::HeaderValue::from_bytes(v).ok()) {
                headers.insert(name, value);
            }
        }
        // Arbitrary headers: any answer but a panic.
        let _ = verifier.verify(&headers, body);

        // The same body, signed as MOBILE-PAY signs it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let msg_id = "msg_FUZZ";
        let Ok(signature) = signer.sign(msg_id, now, body) else {
            return;
        };
        let mut signed = http::HeaderMap::new();
        signed.insert("webhook-id", http::HeaderValue::from_static(msg_id));
        signed.insert(
            "webhook-timestamp",
            http::HeaderValue::from_str(&now.to_string()).expect("digits"),
        );
        signed.insert(
            "webhook-signature",
            http::HeaderValue::from_str(&signature).expect("base64"),
        );
        match verifier.verify(&signed, body) {
            Ok(event) => {
                // What it parsed reads back the same from its own serialization.
                let again = serde_json::to_vec(&event).expect("serializable");
                let reparsed: mobilepay_wire::webhook::WebhookEvent =
                    serde_json::from_slice(&again).expect("its own JSON parses");
                let (before, after) = (
                    serde_json::to_value(&event).expect("serializable"),
                    serde_json::to_value(&reparsed).expect("serializable"),
                );
                assert!(
                    mobilepay_fuzz::same_json(&before, &after),
                    "{before} read back as {after}"
                );
            }
            Err(VerifyError::BadBody) => {}
            Err(other) => panic!("a correctly signed body was refused: {other:?}"),
        }
    });
}
