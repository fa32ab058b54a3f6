//! Every id and secret this backend makes: random, lower-case hex after a prefix that says
//! what it names (`chk_`, `evt_`, `cs_`, `mk_live_`…). 16 random bytes and more are unguessable.

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
pub fn checkout_id() -> String {
    random_token("chk_", 12)
}

pub fn event_id() -> String {
    random_token("evt_", 12)
}

/// A refund's id: `rf_` and 12 random bytes (its transfer's Idempotency-Key is made from it).
pub fn refund_id() -> String {
    random_token("rf_", 12)
}

pub fn session_id() -> String {
    random_token("cs_", 20)
}

/// A session's capability: 256 bits.
pub fn capability() -> String {
    random_token("", 32)
}

pub fn instance_name() -> String {
    random_token("instance_", 16)
}

/// Whether `id` has the shape of a checkout id (it may still be unknown).
pub fn is_checkout_id(id: &str) -> bool {
    id.strip_prefix("chk_")
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
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

/// The bytes of lower-case or upper-case hex; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_enough_randomness() {
        let a = checkout_id();
        assert!(is_checkout_id(&a), "{a}");
        assert_ne!(a, checkout_id());
        assert!(!is_checkout_id("chk_nope"));
        assert!(!is_checkout_id("ord_0123456789abcdef01234567"));
        assert_eq!(capability().len(), 64);
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex(&hex(&bytes)), Some(bytes.to_vec()));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }
}
