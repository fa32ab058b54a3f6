//! Properties of the webhook [`Verifier`], the one parser here that takes input from anyone who
//! can reach the merchant's endpoint: it never panics, it accepts exactly what the official
//! Standard Webhooks signer (the `standardwebhooks` crate, itself checked against the spec's
//! published vector) signs with one of its secrets, and refuses anything else.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default; `cargo xtask proptest-long` runs
//! 100,000).

use base64::Engine;
use http::{HeaderMap, HeaderValue};
use mobilepay_client::webhook::{Verifier, VerifyError};
use mobilepay_wire::strategies::webhook_event;
use mobilepay_wire::webhook::WebhookEvent;
use proptest::prelude::*;

/// The vector of the Standard Webhooks libraries' tests (`TestWebhookSign` in the Go library,
/// the same in the others).
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TIMESTAMP: i64 = 1614265330;
const SPEC_PAYLOAD: &str = r#"{"test": 2432232314}"#;
const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .try_into()
        .expect("a time in range")
}

fn secret_of(bytes: &[u8]) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("webhook-id", id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("a header-safe value"),
        );
    }
    headers
}

/// Signs as MOBILE-PAY (and every official library) does.
fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    standardwebhooks::Webhook::new(secret)
        .expect("a whsec_ secret")
        .sign(id, timestamp, body)
        .expect("a UTF-8 body")
}

fn text() -> impl Strategy<Value = String> {
    "[ -~àéèçôû€]{0,40}"
}

fn event() -> impl Strategy<Value = WebhookEvent> {
    webhook_event(text)
}

fn message_id() -> impl Strategy<Value = String> {
    "msg_[A-Za-z0-9]{1,32}"
}

/// A timestamp the 5-minute tolerance accepts, with a margin for the test's own run time.
fn fresh_offset() -> impl Strategy<Value = i64> {
    -280i64..280
}

proptest! {
    #[test]
    fn a_delivery_signed_by_the_official_signer_with_any_of_the_secrets_is_accepted(
        keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 16..48), 1..4),
        signer in any::<prop::sample::Index>(),
        id in message_id(),
        offset in fresh_offset(),
        event in event(),
    ) {
        let secrets: Vec<String> = keys.iter().map(|k| secret_of(k)).collect();
        let verifier = Verifier::new(&secrets).expect("valid secrets");
        let body = serde_json::to_vec(&event).expect("serializable");
        let timestamp = now() + offset;
        let chosen: &String = signer.get(&secrets);
        let signature = sign(chosen, &id, timestamp, &body);

        let verified = verifier.verify(&headers(&id, &timestamp.to_string(), &signature), &body);

        prop_assert_eq!(verified, Ok(event));
    }

    #[test]
    fn a_signed_body_that_is_no_mobile_pay_webhook_passes_the_signature_and_is_refused_as_a_body(
        key in proptest::collection::vec(any::<u8>(), 16..48),
        id in message_id(),
        body in "\\PC{0,200}",
    ) {
        prop_assume!(serde_json::from_str::<WebhookEvent>(&body).is_err());
        let secret = secret_of(&key);
        let verifier = Verifier::new(&[&secret]).expect("a valid secret");
        let timestamp = now();
        let signature = sign(&secret, &id, timestamp, body.as_bytes());

        let verified = verifier.verify(&headers(&id, &timestamp.to_string(), &signature), body.as_bytes());

        prop_assert_eq!(verified, Err(VerifyError::BadBody));
    }

    #[test]
    fn any_change_to_the_body_the_id_or_the_timestamp_is_refused(
        key in proptest::collection::vec(any::<u8>(), 16..48),
        id in message_id(),
        event in event(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        what in 0u8..3,
    ) {
        let secret = secret_of(&key);
        let verifier = Verifier::new(&[&secret]).expect("a valid secret");
        let mut body = serde_json::to_vec(&event).expect("serializable");
        let timestamp = now();
        let signature = sign(&secret, &id, timestamp, &body);
        let mut id = id;
        let mut sent_timestamp = timestamp;
        match what {
            0 => {
                let i = flip.index(body.len());
                body[i] ^= 1 << bit;
            }
            1 => id.push('x'),
            _ => sent_timestamp += 1 + i64::from(bit),
        }

        let verified = verifier.verify(&headers(&id, &sent_timestamp.to_string(), &signature), &body);

        prop_assert!(verified.is_err(), "{verified:?}");
        prop_assert_ne!(verified, Err(VerifyError::BadBody));
    }

    #[test]
    fn a_delivery_signed_with_another_secret_is_refused(
        key in proptest::collection::vec(any::<u8>(), 16..48),
        other in proptest::collection::vec(any::<u8>(), 16..48),
        id in message_id(),
        event in event(),
    ) {
        prop_assume!(key != other);
        let verifier = Verifier::new(&[secret_of(&key)]).expect("a valid secret");
        let body = serde_json::to_vec(&event).expect("serializable");
        let timestamp = now();
        let signature = sign(&secret_of(&other), &id, timestamp, &body);

        let verified = verifier.verify(&headers(&id, &timestamp.to_string(), &signature), &body);

        prop_assert_eq!(verified, Err(VerifyError::BadSignature));
    }

    #[test]
    fn a_timestamp_outside_five_minutes_is_refused_whatever_its_value(
        timestamp in prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            (301i64..1_000_000).prop_map(|late| now() - late),
            (301i64..1_000_000).prop_map(|early| now() + early),
        ],
        id in message_id(),
        event in event(),
    ) {
        prop_assume!(timestamp.abs_diff(now()) > 300);
        let secret = secret_of(b"a secret of sixteen bytes or more");
        let verifier = Verifier::new(&[&secret]).expect("a valid secret");
        let body = serde_json::to_vec(&event).expect("serializable");
        let signature = sign(&secret, &id, timestamp, &body);

        let verified = verifier.verify(&headers(&id, &timestamp.to_string(), &signature), &body);

        prop_assert!(verified.is_err(), "{timestamp}: {verified:?}");
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic_and_are_never_accepted(
        present in proptest::collection::vec(any::<bool>(), 3),
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 3),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let verifier = Verifier::new(&[secret_of(b"a secret of sixteen bytes or more")])
            .expect("a valid secret");
        let mut headers = HeaderMap::new();
        for ((name, present), value) in ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .into_iter()
            .zip(present)
            .zip(values)
        {
            if let (true, Ok(value)) = (present, HeaderValue::from_bytes(&value)) {
                headers.insert(name, value);
            }
        }

        let verified = verifier.verify(&headers, &body);

        prop_assert!(verified.is_err());
    }

    #[test]
    fn signature_headers_of_any_shape_never_panic(
        id in "\\PC{0,30}",
        timestamp in "[-+0-9 ]{0,25}",
        signature in "(v[0-9],[A-Za-z0-9+/=]{0,50} ?){0,4}",
        body in "\\PC{0,100}",
    ) {
        let verifier = Verifier::new(&[secret_of(b"a secret of sixteen bytes or more")])
            .expect("a valid secret");
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", &id),
            ("webhook-timestamp", &timestamp),
            ("webhook-signature", &signature),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }

        prop_assert!(verifier.verify(&headers, body.as_bytes()).is_err());
    }
}

#[test]
fn the_official_signer_produces_the_spec_s_published_signature() {
    assert_eq!(
        sign(
            SPEC_SECRET,
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_PAYLOAD.as_bytes()
        ),
        SPEC_SIGNATURE
    );
}

#[test]
fn the_spec_s_vector_is_refused_for_its_age_and_its_message_signed_now_passes_the_signature() {
    let verifier = Verifier::new(&[SPEC_SECRET]).expect("the spec's secret");

    let old = verifier.verify(
        &headers(SPEC_ID, &SPEC_TIMESTAMP.to_string(), SPEC_SIGNATURE),
        SPEC_PAYLOAD.as_bytes(),
    );
    assert!(old.is_err(), "{old:?}");

    // Fresh, and among signatures of other versions and keys (the spec's "valid multi sig").
    let timestamp = now();
    let signature = sign(SPEC_SECRET, SPEC_ID, timestamp, SPEC_PAYLOAD.as_bytes());
    let several = format!(
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {signature}"
    );
    let fresh = verifier.verify(
        &headers(SPEC_ID, &timestamp.to_string(), &several),
        SPEC_PAYLOAD.as_bytes(),
    );
    // `{"test": …}` is no MOBILE-PAY webhook: refused after its signature was accepted.
    assert_eq!(fresh, Err(VerifyError::BadBody));
}
