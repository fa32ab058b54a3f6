//! The merchant API (`/v1`, server to server): what a shop's own system sends and receives.
//! The constraints stated here (in the `openapi` schema attributes) are the ones the backend
//! enforces; the backend parses these shapes once into its own domain types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Amount;
use crate::ids::{CheckoutId, EventId, RefundId};

/// `POST /v1/checkouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateCheckout {
    /// Whole FCFA, within MOBILE-PAY's bounds for a QR payment.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = u64, minimum = 1, maximum = 5_000_000, example = 25_000)
    )]
    // `25000.0` is the same JSON number as `25000` (and a JSON Schema `integer`).
    #[serde(deserialize_with = "crate::amount::whole_amount")]
    pub amount: Amount,
    /// Shown to the shopper and to MOBILE-PAY: no control characters, not only blanks.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
            example = "Pagne wax 6 yards"
        )
    )]
    pub description: String,
    /// The shop's own reference for what is paid. While its checkout is open, a second create
    /// with the same reference answers that checkout (`200`) — or `409` for another amount.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 128,
            pattern = r"^[\x21-\x7E]+$",
            example = "order-1042"
        )
    )]
    pub reference: String,
    /// At most 20 keys of 1 to 40 characters, string values of at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_schema))]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Seconds the checkout can be paid; 900 by default.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::api::optional_whole_number"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 60, maximum = 604_800, example = 900)
    )]
    pub expires_in: Option<u64>,
    /// Where the hosted pay page sends the shopper once paid: an `https://` or `http://` URL
    /// with a host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 8,
            max_length = 2048,
            // A host name (ending in a letter, so it is not read as an IPv4 address) or a
            // number, a port of up to 4 digits, then any visible ASCII: what the URL parser
            // takes. The same as a webhook endpoint's `url`.
            pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z])?(:[0-9]{1,4})?([/?#][\x21-\x7E]*)?$",
            example = "https://shop.example/orders/1042"
        )
    )]
    pub return_url: Option<String>,
}

/// `metadata`'s bounds, which utoipa's field attributes cannot state.
#[cfg(feature = "openapi")]
fn metadata_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "The merchant's own data: at most 20 keys of 1 to 40 characters, string values of at most 500 characters",
        ))
        .max_properties(Some(20))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(40)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(500)),
        ))
        .build()
}

/// Where a checkout stands: `open` → `paid` | `expired` | `canceled`. A failed payment attempt
/// leaves it `open`. A payment MOBILE-PAY confirms is never hidden: one made in time whose
/// webhook came after the expiry or a cancellation still makes the checkout `paid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    Open,
    Paid,
    Expired,
    Canceled,
}

wire_names!(CheckoutStatus {
    Open => "open",
    Paid => "paid",
    Expired => "expired",
    Canceled => "canceled",
});

impl CheckoutStatus {
    /// The status of a wire name, if it is one ([`str::parse`] says why not).
    pub fn parse(name: &str) -> Option<CheckoutStatus> {
        name.parse().ok()
    }
}

/// A checkout, as every `/v1` answer and every event's `data` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkout {
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = String,
            pattern = "^chk_[0-9a-f]{24}$",
            example = "chk_5f0c2a9e4b7d1c3a8e6f0b2d"
        )
    )]
    pub id: CheckoutId,
    pub status: CheckoutStatus,
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = u64, minimum = 1, maximum = 5_000_000)
    )]
    pub amount: Amount,
    /// Always `FCFA`.
    #[cfg_attr(feature = "openapi", schema(example = "FCFA"))]
    pub currency: String,
    pub description: String,
    pub reference: String,
    pub metadata: BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// The hosted pay page (`{public_url}/pay/chk_…`): a link for WhatsApp, SMS or e-mail.
    pub pay_url: String,
    pub return_url: Option<String>,
    /// The phone that paid, once paid (a refund is a transfer back to it).
    pub payer: Option<String>,
    /// What its pending and succeeded refunds add up to (whole FCFA).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub amount_refunded: Amount,
    /// What may still be refunded: the amount less `amount_refunded` once paid, else 0.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub amount_refundable: Amount,
    /// Its refunds, oldest first: in `GET /v1/checkouts/{id}` only (absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunds: Option<Vec<Refund>>,
}

/// `POST /v1/refunds`: money back to the phone that paid a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// A `paid` checkout with a payer.
    // A `String`, parsed by the backend: a malformed id is `INVALID_PARAMETER` (documented),
    // not the `INVALID_JSON` a `CheckoutId` field would give.
    #[cfg_attr(feature = "openapi", schema(pattern = "^chk_[0-9a-f]{24}$"))]
    pub checkout_id: String,
    /// Whole FCFA, at most the checkout's `amount_refundable`, and within MOBILE-PAY's bounds
    /// for a transfer: 100 – 2,000,000 to a phone of Côte d'Ivoire (+225), 500 – 1,000,000 to
    /// another UEMOA country's.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = u64, minimum = 100, maximum = 2_000_000, example = 5_000)
    )]
    #[serde(deserialize_with = "crate::amount::whole_amount")]
    pub amount: Amount,
    /// Why, for the shop's records and the transfer's description: not only blanks and
    /// control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 255,
            pattern = r"[^\s\u0000-\u001F\u007F-\u009F]",
            example = "Taille trop petite"
        )
    )]
    pub reason: String,
}

/// Where a refund stands: `pending` → `succeeded` | `failed`. A failed refund's amount is
/// refundable again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

wire_names!(RefundStatus {
    Pending => "pending",
    Succeeded => "succeeded",
    Failed => "failed",
});

impl RefundStatus {
    /// The status of a wire name, if it is one ([`str::parse`] says why not).
    pub fn parse(name: &str) -> Option<RefundStatus> {
        name.parse().ok()
    }
}

/// A refund, as every `/v1` answer and the `refund.*` events' `data` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, pattern = "^rf_[0-9a-f]{24}$")
    )]
    pub id: RefundId,
    pub status: RefundStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub checkout_id: CheckoutId,
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub amount: Amount,
    /// Always `FCFA`.
    pub currency: String,
    pub reason: String,
    /// The phone the money goes back to: the checkout's payer.
    pub recipient_phone: String,
    /// `CI` (a local transfer) or the UEMOA country of `recipient_phone` (an international one).
    pub recipient_country: String,
    /// MOBILE-PAY's transfer, once it answered.
    pub transfer_id: Option<String>,
    /// Why it failed (MOBILE-PAY's code, e.g. `INSUFFICIENT_FUNDS`), once failed.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// `GET /v1/refunds`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundList {
    pub data: Vec<Refund>,
    /// Opaque; pass it as `cursor` for the next page. `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/checkouts`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutList {
    pub data: Vec<Checkout>,
    /// Opaque; pass it as `cursor` for the next page. `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What happened to a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "checkout.paid")]
    Paid,
    /// A payment attempt failed; the checkout stays `open` and the shopper may try again.
    #[serde(rename = "checkout.payment_failed")]
    PaymentFailed,
    #[serde(rename = "checkout.expired")]
    Expired,
    #[serde(rename = "checkout.canceled")]
    Canceled,
    /// MOBILE-PAY reported a payment of another amount than the checkout's: the checkout stays
    /// `open` (it is not paid), and the merchant should look into it.
    #[serde(rename = "checkout.amount_mismatch")]
    AmountMismatch,
    /// A type this version does not know (a receiver should ignore it).
    #[serde(other)]
    Unknown,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Paid => "checkout.paid",
            EventType::PaymentFailed => "checkout.payment_failed",
            EventType::Expired => "checkout.expired",
            EventType::Canceled => "checkout.canceled",
            EventType::AmountMismatch => "checkout.amount_mismatch",
            EventType::Unknown => "unknown",
        }
    }
}

/// An event as delivered to a webhook endpoint: the checkout as it is after the change, and its
/// per-checkout `sequence` (1, 2, …) so that a receiver can drop one that arrives out of order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, pattern = "^evt_[0-9a-f]{24}$")
    )]
    pub id: EventId,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339, UTC.
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub sequence: u64,
    pub data: Checkout,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKOUT_ID: &str = "chk_5f0c2a9e4b7d1c3a8e6f0b2d";

    #[test]
    fn an_event_has_the_documented_shape() {
        let event = Event {
            id: "evt_0123456789abcdef01234567".parse().expect("an event id"),
            kind: EventType::AmountMismatch,
            created_at: "2026-12-01T10:00:00Z".into(),
            sequence: 2,
            data: Checkout {
                id: CHECKOUT_ID.parse().expect("a checkout id"),
                status: CheckoutStatus::Open,
                amount: Amount::new(25_000),
                currency: "FCFA".into(),
                description: "Pagne".into(),
                reference: "order-1".into(),
                metadata: BTreeMap::from([("cart".to_owned(), "42".to_owned())]),
                created_at: "2026-12-01T09:55:00Z".into(),
                expires_at: "2026-12-01T10:10:00Z".into(),
                pay_url: "https://shop.example/pay/chk_1".into(),
                return_url: None,
                payer: None,
                amount_refunded: Amount::ZERO,
                amount_refundable: Amount::ZERO,
                refunds: None,
            },
        };
        let json = serde_json::to_value(&event).expect("serializes");
        assert_eq!(json["type"], "checkout.amount_mismatch");
        assert_eq!(json["sequence"], 2);
        assert_eq!(json["data"]["status"], "open");
        assert_eq!(json["data"]["metadata"]["cart"], "42");
        let back: Event = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, event);
        let unknown: EventType =
            serde_json::from_str("\"refund.succeeded\"").expect("an unknown type reads");
        assert_eq!(unknown, EventType::Unknown);
    }

    #[test]
    fn a_refund_has_the_documented_shape() {
        let refund = Refund {
            id: "rf_0123456789abcdef01234567".parse().expect("a refund id"),
            status: RefundStatus::Failed,
            checkout_id: CHECKOUT_ID.parse().expect("a checkout id"),
            amount: Amount::new(5_000),
            currency: "FCFA".into(),
            reason: "Retour".into(),
            recipient_phone: "+221770000001".into(),
            recipient_country: "SN".into(),
            transfer_id: None,
            failure_code: Some("TRANSACTION_DECLINED".into()),
            failure_message: Some("Transaction refusée".into()),
            created_at: "2026-12-01T10:00:00Z".into(),
            updated_at: "2026-12-01T10:00:01Z".into(),
        };
        let json = serde_json::to_value(&refund).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "rf_0123456789abcdef01234567", "status": "failed",
                "checkout_id": CHECKOUT_ID, "amount": 5_000,
                "currency": "FCFA", "reason": "Retour", "recipient_phone": "+221770000001",
                "recipient_country": "SN", "transfer_id": null,
                "failure_code": "TRANSACTION_DECLINED", "failure_message": "Transaction refusée",
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:01Z",
            })
        );
        let back: Refund = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, refund);
        let typo = r#"{"checkout_id": "chk_1", "amount": 100, "reason": "x", "amout": 1}"#;
        assert!(serde_json::from_str::<CreateRefund>(typo).is_err());
    }

    #[test]
    fn a_create_request_with_an_unknown_field_is_refused() {
        let typo = r#"{"amount": 1, "description": "x", "reference": "r", "expire_in": 60}"#;
        assert!(serde_json::from_str::<CreateCheckout>(typo).is_err());
    }
}
