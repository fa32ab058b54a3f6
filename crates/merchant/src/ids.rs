//! Every id and secret this backend makes: random, lower-case hex after a prefix that says
//! what it names (`chk_`, `evt_`, `cs_`, `mk_live_`…). 16 random bytes and more are unguessable.
//! The ids of the merchant's vocabulary are types of the wire crate ([`CheckoutId`]…), which
//! also read them with a check (`str::parse`); this module draws their random bytes.

use mobilepay_wire::ids::{CheckoutId, EventId, RefundId, SessionId};

/// `prefix` and `bytes` random bytes in lower-case hex.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    let mut out = String::with_capacity(prefix.len() + 2 * bytes);
    out.push_str(prefix);
    out.push_str(&hex(&buf));
    out
}

/// A checkout's id: `chk_` and 12 random bytes (the pay page's URL holds it, so it must not
/// be guessable from another one).
pub fn checkout_id() -> CheckoutId {
    CheckoutId::from_random(rand::random())
}

pub fn event_id() -> EventId {
    EventId::from_random(rand::random())
}

/// A refund's id: `rf_` and 12 random bytes (its transfer's Idempotency-Key is made from it).
pub fn refund_id() -> RefundId {
    RefundId::from_random(rand::random())
}

pub fn session_id() -> SessionId {
    SessionId::from_random(rand::random())
}

/// A session's capability: 256 bits.
pub fn capability() -> String {
    random_token("", 32)
}

pub fn instance_name() -> String {
    random_token("instance_", 16)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A list's position, `{created_at}.{id}` or `{created_at}.{id}.{seq}`: the last row of a page,
/// in the list's order. Plain rather than opaque, so that every cursor of the documented shape
/// names a position — the page after it, maybe empty — and a client can neither forge a wrong
/// one nor be refused a well-formed one.
/// The parts of a cursor of `n` (2 or 3) dot-separated parts, as the OpenAPI document's pattern
/// says: the first and any third a number of at most 15 digits, the second 1 to 64 of
/// `[A-Za-z0-9_]`.
pub fn cursor_parts(cursor: &str, n: usize) -> Option<(i64, String, Option<i64>)> {
    let parts: Vec<&str> = cursor.split('.').collect();
    let number = |text: &str| -> Option<i64> {
        ((1..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse().ok())
            .flatten()
    };
    let id = parts.get(1)?;
    let id_ok =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if parts.len() != n || !(2..=3).contains(&n) || !id_ok {
        return None;
    }
    let seq = match parts.get(2) {
        Some(seq) => Some(number(seq)?),
        None => None,
    };
    Some((number(parts.first()?)?, (*id).to_owned(), seq))
}

/// The position a two-part cursor names, `(created_at, id)`: the lists of checkouts and of
/// refunds, both in that order. `None` if it is not of the documented pattern.
pub fn position(cursor: &str) -> Option<(i64, String)> {
    let (created_at, id, _) = cursor_parts(cursor, 2)?;
    Some((created_at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_of_the_documented_shape_reads_and_any_other_is_refused() {
        assert_eq!(
            cursor_parts("1700000000.chk_0123456789abcdef01234567", 2),
            Some((1_700_000_000, "chk_0123456789abcdef01234567".into(), None))
        );
        assert_eq!(
            cursor_parts("0.chk_1.3", 3),
            Some((0, "chk_1".into(), Some(3)))
        );
        for bad in [
            "",
            "00",
            "1.",
            ".chk_1",
            "1.chk-1",
            "1.chk_1.2",
            "-1.chk_1",
            "1234567890123456.chk_1",
            "x.chk_1",
        ] {
            assert_eq!(cursor_parts(bad, 2), None, "{bad:?}");
        }
        assert_eq!(cursor_parts("1.chk_1", 3), None);
        assert_eq!(cursor_parts("1.chk_1.", 3), None);
    }

    #[test]
    fn ids_carry_their_prefix_and_enough_randomness() {
        let a = checkout_id();
        assert!(a.parse::<CheckoutId>().is_ok(), "{a}");
        assert_ne!(a, checkout_id());
        assert!("chk_nope".parse::<CheckoutId>().is_err());
        assert!(
            "ord_0123456789abcdef01234567"
                .parse::<CheckoutId>()
                .is_err()
        );
        assert_eq!(session_id().len(), 3 + 40);
        assert_eq!(capability().len(), 64);
    }

    #[test]
    fn hex_writes_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0u8, 1, 0xab, 0xff]), "0001abff");
        assert_eq!(hex(&[]), "");
    }
}
