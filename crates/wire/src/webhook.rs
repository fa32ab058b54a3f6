//! MOBILE-PAY's webhook bodies: `{"event": "…", "timestamp": "…", "data": {…}}`, exactly the
//! seed's shapes and field order.

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One webhook body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub kind: EventKind,
}

/// The event and its `data`. MOBILE-PAY may add event types: those parse as [`EventKind::Unknown`]
/// so that a receiver can acknowledge and ignore them instead of failing.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    TransferCompleted(TransferCompleted),
    PaymentReceived(PaymentReceived),
    TransactionFailed(TransactionFailed),
    Unknown {
        event: String,
        data: serde_json::Value,
    },
}

impl EventKind {
    /// The `event` field.
    pub fn name(&self) -> &str {
        match self {
            EventKind::TransferCompleted(_) => TRANSFER_COMPLETED,
            EventKind::PaymentReceived(_) => PAYMENT_RECEIVED,
            EventKind::TransactionFailed(_) => TRANSACTION_FAILED,
            EventKind::Unknown { event, .. } => event,
        }
    }
}

pub const TRANSFER_COMPLETED: &str = "transfer.completed";
pub const PAYMENT_RECEIVED: &str = "payment.received";
pub const TRANSACTION_FAILED: &str = "transaction.failed";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCompleted {
    pub transfer_id: String,
    pub amount: u64,
    pub currency: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceived {
    pub payment_id: String,
    pub amount: u64,
    pub payer: String,
    pub status: String,
}

/// For a QR payment, `transaction_id` is the payment's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionFailed {
    pub transaction_id: String,
    pub error_code: String,
    pub error_message: String,
}

impl Serialize for WebhookEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("WebhookEvent", 3)?;
        s.serialize_field("event", self.kind.name())?;
        s.serialize_field("timestamp", &self.timestamp)?;
        match &self.kind {
            EventKind::TransferCompleted(d) => s.serialize_field("data", d)?,
            EventKind::PaymentReceived(d) => s.serialize_field("data", d)?,
            EventKind::TransactionFailed(d) => s.serialize_field("data", d)?,
            EventKind::Unknown { data, .. } => s.serialize_field("data", data)?,
        }
        s.end()
    }
}

impl<'de> Deserialize<'de> for WebhookEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr {
            event: String,
            timestamp: String,
            data: serde_json::Value,
        }
        let Repr {
            event,
            timestamp,
            data,
        } = Repr::deserialize(deserializer)?;
        let kind = match event.as_str() {
            TRANSFER_COMPLETED => EventKind::TransferCompleted(
                serde_json::from_value(data).map_err(D::Error::custom)?,
            ),
            PAYMENT_RECEIVED => {
                EventKind::PaymentReceived(serde_json::from_value(data).map_err(D::Error::custom)?)
            }
            TRANSACTION_FAILED => EventKind::TransactionFailed(
                serde_json::from_value(data).map_err(D::Error::custom)?,
            ),
            _ => EventKind::Unknown { event, data },
        };
        Ok(WebhookEvent { timestamp, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The three examples of the seed document, verbatim.
    const SEED_TRANSFER: &str = r#"{
  "event": "transfer.completed",
  "timestamp": "2026-02-26T10:30:00Z",
  "data": {
    "transfer_id": "TRF123456",
    "amount": 10000,
    "currency": "FCFA",
    "status": "completed"
  }
}"#;
    const SEED_PAYMENT: &str = r#"{
  "event": "payment.received",
  "timestamp": "2026-02-26T10:30:00Z",
  "data": {
    "payment_id": "PAY123456",
    "amount": 25000,
    "payer": "+225XXXXXXXXX",
    "status": "received"
  }
}"#;
    const SEED_FAILED: &str = r#"{
  "event": "transaction.failed",
  "timestamp": "2026-02-26T10:30:00Z",
  "data": {
    "transaction_id": "TXN123456",
    "error_code": "INSUFFICIENT_FUNDS",
    "error_message": "Solde insuffisant"
  }
}"#;

    fn round_trips_to_the_same_text(seed: &str) -> WebhookEvent {
        let event: WebhookEvent = serde_json::from_str(seed).expect("the seed example parses");
        let pretty = serde_json::to_string_pretty(&event).expect("serializes");
        assert_eq!(pretty, seed, "field names, order and values are the seed's");
        event
    }

    #[test]
    fn the_seed_examples_parse_and_serialize_back_to_the_same_text() {
        assert!(matches!(
            round_trips_to_the_same_text(SEED_TRANSFER).kind,
            EventKind::TransferCompleted(TransferCompleted { amount: 10000, .. })
        ));
        assert!(matches!(
            round_trips_to_the_same_text(SEED_PAYMENT).kind,
            EventKind::PaymentReceived(PaymentReceived { amount: 25000, .. })
        ));
        let failed = round_trips_to_the_same_text(SEED_FAILED);
        let EventKind::TransactionFailed(data) = failed.kind else {
            panic!("transaction.failed parses as TransactionFailed");
        };
        assert_eq!(data.error_code, "INSUFFICIENT_FUNDS");
        assert_eq!(data.error_message, "Solde insuffisant");
    }

    #[test]
    fn an_unknown_event_type_is_kept_rather_than_rejected() {
        let body =
            r#"{"event":"refund.created","timestamp":"2026-02-26T10:30:00Z","data":{"x":1}}"#;
        let event: WebhookEvent = serde_json::from_str(body).expect("parses");
        assert_eq!(event.kind.name(), "refund.created");
        assert_eq!(serde_json::to_string(&event).expect("serializes"), body);
    }

    #[test]
    fn a_known_event_with_a_malformed_data_is_an_error() {
        let body = r#"{"event":"payment.received","timestamp":"t","data":{"payment_id":1}}"#;
        assert!(serde_json::from_str::<WebhookEvent>(body).is_err());
    }
}
