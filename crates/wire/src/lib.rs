//! Every JSON shape that crosses a wire, defined once and used by every part of the product.
//!
//! - [`api`]: MOBILE-PAY's REST API, at the seed document's field names, plus the sandbox's
//!   shopper-simulation calls.
//! - [`webhook`]: MOBILE-PAY's webhook bodies, exactly the seed's shapes.
//! - [`checkout`]: the protocol between the widget and the merchant backend.
//! - [`merchant`]: the merchant API (`/v1`): checkouts and the events delivered about them.
//! - [`ApiError`]: the one error body every server of the product answers with.
//!
//! Architecture invariant: this crate depends on serde alone, does no I/O and builds for wasm32.
//! It describes the wire format; domain types (validated amounts, phones…) live in the servers.

pub mod api;
pub mod checkout;
pub mod merchant;
pub mod webhook;

use serde::{Deserialize, Serialize};

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
