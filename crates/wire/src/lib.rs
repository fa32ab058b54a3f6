//! Every JSON shape that crosses a wire, defined once and used by every part of the product.
//!
//! - [`api`]: MOBILE-PAY's REST API, at the seed document's field names, plus the sandbox's
//!   shopper-simulation calls.
//! - [`webhook`]: MOBILE-PAY's webhook bodies, exactly the seed's shapes.
//! - [`checkout`]: the protocol between the widget and the merchant backend.
//! - [`merchant`]: the merchant API (`/v1`): checkouts and the events delivered about them.
//! - [`ApiError`]: the one error body every server of the product answers with.
//! - [`Amount`]: the merchant's amounts, whole FCFA; [`ids`]: its ids, each a type.
//!
//! Architecture invariant: this crate depends on serde alone, does no I/O and builds for wasm32.
//! It describes the wire format; domain types (validated phones, bounds…) live in the servers.
//! The `sqlx` feature (the merchant backend's) adds checked database encodings of [`Amount`]
//! and the ids; the widget never enables it.

/// Writes, from one list of an enum's wire names, its `as_str`, its `ALL` and a `FromStr` that
/// fails on any other name ([`UnknownName`]): the one place a status is read from a string,
/// whether it comes from JSON, a database column or a query string. The names are serde's too
/// (each module's tests check that both agree).
macro_rules! wire_names {
    ($enum:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            /// Every value, in the order of the list.
            pub const ALL: &'static [$enum] = &[$($enum::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($enum::$variant => $name),+
                }
            }
        }

        impl core::str::FromStr for $enum {
            type Err = $crate::UnknownName;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                match name {
                    $($name => Ok($enum::$variant),)+
                    _ => Err($crate::UnknownName { of: stringify!($enum) }),
                }
            }
        }

        /// For columns read as a `String` (sqlx's `#[sqlx(try_from = "String")]`).
        impl TryFrom<String> for $enum {
            type Error = $crate::UnknownName;

            fn try_from(name: String) -> Result<Self, Self::Error> {
                name.parse()
            }
        }
    };
}

mod amount;
pub mod api;
pub mod checkout;
pub mod ids;
pub mod merchant;
#[cfg(feature = "proptest")]
pub mod strategies;
#[cfg(all(test, feature = "sqlx"))]
mod test_db;
pub mod webhook;

use serde::{Deserialize, Serialize};

pub use amount::Amount;

/// A string that is not one of an enum's wire names: what reading a status fails with. It
/// never falls back to a default: an unknown status is an error where it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownName {
    /// The enum's name (`SessionStatus`).
    pub of: &'static str,
}

impl core::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "not a {} name", self.of)
    }
}

impl std::error::Error for UnknownName {}

/// The error body of every server of the product: `{"error_code": "…", "error_message": "…"}`.
///
/// `error_code` is stable and documented (the seed's `INSUFFICIENT_FUNDS` style); `error_message`
/// is for people and may change or be translated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub error_code: String,
    pub error_message: String,
}

/// The currency of every MOBILE-PAY amount. Amounts are whole francs CFA: there are no decimals.
pub const CURRENCY: &str = "FCFA";

/// An amount as French-speaking shoppers read it: `25000` → `25 000 FCFA`, thousands grouped by
/// a narrow no-break space (U+202F) and the currency after a no-break space (U+00A0), so that a
/// line never breaks inside an amount. Whole francs: there is nothing after a decimal point.
pub fn format_amount(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + 12);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out.push('\u{a0}');
    out.push_str(CURRENCY);
    out
}

#[cfg(test)]
mod tests {
    use super::format_amount;

    /// Every value of `all` reads back from its `as_str`, which is its serde name, and a
    /// name of no value is an error.
    fn names_agree<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + std::str::FromStr,
        T::Err: std::fmt::Debug,
    {
        for &value in all {
            let name = as_str(value);
            assert_eq!(name.parse::<T>().ok(), Some(value), "{name}");
            let json = serde_json::to_value(value).expect("serializes");
            assert_eq!(json, serde_json::Value::from(name));
        }
        for unknown in ["", "unknown", "PENDING", "paid "] {
            assert!(unknown.parse::<T>().is_err(), "{unknown:?}");
        }
    }

    #[test]
    fn every_status_has_one_name_for_serde_strings_and_databases_and_no_other() {
        use crate::{
            api::DeliveryStatus, api::PaymentStatus, checkout::SessionStatus, merchant::*,
        };
        names_agree(SessionStatus::ALL, SessionStatus::as_str);
        names_agree(PaymentStatus::ALL, PaymentStatus::as_str);
        names_agree(CheckoutStatus::ALL, CheckoutStatus::as_str);
        names_agree(RefundStatus::ALL, RefundStatus::as_str);
        names_agree(DeliveryStatus::ALL, DeliveryStatus::as_str);
        assert_eq!(
            String::from("canceled").try_into(),
            Ok(CheckoutStatus::Canceled)
        );
        assert_eq!(RefundStatus::parse("refunded"), None);
    }

    #[test]
    fn amounts_are_grouped_by_thousands_with_narrow_no_break_spaces() {
        assert_eq!(format_amount(0), "0\u{a0}FCFA");
        assert_eq!(format_amount(999), "999\u{a0}FCFA");
        assert_eq!(format_amount(1_000), "1\u{202f}000\u{a0}FCFA");
        assert_eq!(format_amount(25_000), "25\u{202f}000\u{a0}FCFA");
        assert_eq!(
            format_amount(5_000_000),
            "5\u{202f}000\u{202f}000\u{a0}FCFA"
        );
        assert_eq!(
            format_amount(u64::MAX),
            "18\u{202f}446\u{202f}744\u{202f}073\u{202f}709\u{202f}551\u{202f}615\u{a0}FCFA"
        );
    }
}
