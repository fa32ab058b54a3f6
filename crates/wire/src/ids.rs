//! The merchant's ids as types: [`CheckoutId`] (`chk_` and 24 lower-case hex digits),
//! [`RefundId`] (`rf_`…), [`EventId`] (`evt_`…) and [`SessionId`] (`cs_` and 40).
//!
//! A value of one of them is always well-formed: it is made by the backend ([`CheckoutId::random`]
//! from its random bytes) or read with a check — `FromStr`, JSON and, with the `sqlx` feature, a
//! database column all refuse a malformed id ([`MalformedId`]). On the wire each is its bare
//! string. A request field whose malformed value has its own documented answer (`POST
//! /v1/refunds`'s `checkout_id`: `INVALID_PARAMETER`, not `INVALID_JSON`) stays a `String` in
//! its request shape and is parsed where that answer is given.

use serde::{Deserialize, Deserializer, Serialize};

/// A string that is not an id of the kind it was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedId {
    /// The type's name (`CheckoutId`).
    pub of: &'static str,
}

impl core::fmt::Display for MalformedId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "not a well-formed {}", self.of)
    }
}

impl std::error::Error for MalformedId {}

/// Whether `text` is `prefix` and then `digits` lower-case hex digits.
fn well_formed(text: &str, prefix: &str, digits: usize) -> bool {
    text.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == digits && rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $prefix:literal + $bytes:literal bytes;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;
            /// How many random bytes follow the prefix (twice as many hex digits).
            pub const RANDOM_BYTES: usize = $bytes;

            /// The id of these random bytes: the prefix and their lower-case hex.
            pub fn from_random(bytes: [u8; $bytes]) -> $name {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut id = String::with_capacity($prefix.len() + 2 * $bytes);
                id.push_str($prefix);
                for b in bytes {
                    id.push(char::from(HEX[usize::from(b >> 4)]));
                    id.push(char::from(HEX[usize::from(b & 0xf)]));
                }
                $name(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = MalformedId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                if well_formed(text, $prefix, 2 * $bytes) {
                    Ok($name(text.to_owned()))
                } else {
                    Err(MalformedId { of: stringify!($name) })
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = MalformedId;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                if well_formed(&text, $prefix, 2 * $bytes) {
                    Ok($name(text))
                } else {
                    Err(MalformedId { of: stringify!($name) })
                }
            }
        }

        /// Read as the string it is (`&id` where a `&str` is wanted); never written through.
        impl core::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        /// Read with the check: a malformed id is an error, never a value.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?
                    .try_into()
                    .map_err(serde::de::Error::custom)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        /// A malformed id in a row is a decoding error.
        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(text.try_into()?)
            }
        }
    )+};
}

ids! {
    /// A checkout's id. Its 12 random bytes make it unguessable from another one: the hosted
    /// pay page's URL holds it.
    CheckoutId = "chk_" + 12 bytes;
    /// A refund's id (its transfer's `Idempotency-Key` is made from it).
    RefundId = "rf_" + 12 bytes;
    /// An event's id, also the `webhook-id` of each of its deliveries.
    EventId = "evt_" + 12 bytes;
    /// A checkout session's id (its capability is another, secret, value).
    SessionId = "cs_" + 20 bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_prefix_and_lower_case_hex_and_anything_else_is_refused() {
        let id = CheckoutId::from_random([0xab; 12]);
        assert_eq!(id.as_str(), "chk_abababababababababababab");
        assert_eq!(id.to_string().parse::<CheckoutId>(), Ok(id.clone()));
        assert_eq!(SessionId::from_random([1; 20]).as_str().len(), 3 + 40);
        for bad in [
            "",
            "chk_",
            "chk_nope",
            "chk_ABABABABABABABABABABABAB",
            "chk_abababababababababababa",
            "chk_ababababababababababababa",
            "ord_abababababababababababab",
            " chk_abababababababababababab",
        ] {
            let error = bad.parse::<CheckoutId>().expect_err(bad);
            assert_eq!(error.to_string(), "not a well-formed CheckoutId");
        }
        assert!("rf_abababababababababababab".parse::<CheckoutId>().is_err());
        assert!("rf_abababababababababababab".parse::<RefundId>().is_ok());
        assert!("evt_abababababababababababab".parse::<EventId>().is_ok());
    }

    #[test]
    fn an_id_is_a_bare_json_string_and_a_malformed_one_does_not_deserialize() {
        let id = EventId::from_random([0x0f; 12]);
        let json = serde_json::to_string(&id).expect("serializes");
        assert_eq!(json, "\"evt_0f0f0f0f0f0f0f0f0f0f0f0f\"");
        assert_eq!(serde_json::from_str::<EventId>(&json).ok(), Some(id));
        assert!(serde_json::from_str::<EventId>("\"evt_1\"").is_err());
    }

    #[cfg(feature = "sqlx")]
    #[tokio::test]
    async fn an_id_is_a_text_column_and_a_malformed_one_is_a_decoding_error() {
        let (pool, _dir) = crate::test_db::table("CREATE TABLE t (id TEXT NOT NULL)").await;
        let id = RefundId::from_random([7; 12]);
        sqlx::query("INSERT INTO t (id) VALUES ($1)")
            .bind(&id)
            .execute(&pool)
            .await
            .expect("stores");
        let back: RefundId = sqlx::query_scalar("SELECT id FROM t")
            .fetch_one(&pool)
            .await
            .expect("decodes");
        assert_eq!(back, id);
        sqlx::query("UPDATE t SET id = 'rf_1'")
            .execute(&pool)
            .await
            .expect("changes");
        crate::test_db::assert_refused_as::<RefundId>(&pool, "SELECT id FROM t").await;
    }
}
