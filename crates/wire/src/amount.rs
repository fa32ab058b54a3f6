//! [`Amount`]: a sum of money in the merchant's vocabulary — whole francs CFA, never negative.
//!
//! MOBILE-PAY's own API types ([`crate::api`]) keep their `u64`s, as its document states them;
//! the merchant backend converts at its call to MOBILE-PAY ([`Amount::new`], [`Amount::get`]).
//!
//! With the `sqlx` feature, an amount is a column of sqlx's `Any` driver, stored as a 64-bit
//! integer and converted both ways with a check: a negative value read back is a decoding error
//! and a value past `i64::MAX` an encoding error — never clamped, never a default.

use serde::{Deserialize, Deserializer, Serialize};

/// Whole francs CFA (`FCFA`, which has no subunit). `25000` on the wire, as a bare JSON number.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(u64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn new(francs: u64) -> Amount {
        Amount(francs)
    }

    /// The number of francs.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `None` past `u64::MAX`.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// `None` below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// As French-speaking shoppers read it: `25 000 FCFA` ([`crate::format_amount`]).
    pub fn fcfa(self) -> String {
        crate::format_amount(self.0)
    }
}

/// The number alone (`25000`), as in logs and the JSON; [`Amount::fcfa`] is for people.
impl core::fmt::Display for Amount {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// So that a test or a bound reads `amount == 25_000`.
impl PartialEq<u64> for Amount {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

/// For the console's signed figures (a debit is shown with a minus sign).
impl From<Amount> for i128 {
    fn from(amount: Amount) -> i128 {
        i128::from(amount.0)
    }
}

/// [`crate::api::whole_number`] for an [`Amount`] in a request body: `25000` or `25000.0`.
pub(crate) fn whole_amount<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
    crate::api::whole_number(deserializer).map(Amount)
}

#[cfg(feature = "sqlx")]
mod database {
    use sqlx::any::{Any, AnyTypeInfo};
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::{Database, Decode, Encode, Type};

    use super::Amount;

    /// Stored as the database's 64-bit integer (`BIGINT` / SQLite's `INTEGER`).
    impl Type<Any> for Amount {
        fn type_info() -> AnyTypeInfo {
            <i64 as Type<Any>>::type_info()
        }

        fn compatible(ty: &AnyTypeInfo) -> bool {
            <i64 as Type<Any>>::compatible(ty)
        }
    }

    /// An amount past `i64::MAX` cannot be stored: an error, which sqlx reports when the
    /// query runs (`sqlx::Error::Encode`), rather than another number in the row.
    impl<'q> Encode<'q, Any> for Amount {
        fn encode_by_ref(
            &self,
            buf: &mut <Any as Database>::ArgumentBuffer<'q>,
        ) -> Result<IsNull, BoxDynError> {
            let stored = i64::try_from(self.0)
                .map_err(|_| format!("the amount {} is past what the database holds", self.0))?;
            <i64 as Encode<'q, Any>>::encode(stored, buf)
        }
    }

    /// A negative amount in a row is a decoding error: no amount is negative.
    impl<'r> Decode<'r, Any> for Amount {
        fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            let stored = <i64 as Decode<'r, Any>>::decode(value)?;
            let francs = u64::try_from(stored)
                .map_err(|_| format!("the stored amount {stored} is negative"))?;
            Ok(Amount(francs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Amount;

    #[test]
    fn an_amount_is_a_bare_json_number_and_displays_as_one() {
        let amount = Amount::new(25_000);
        assert_eq!(serde_json::to_string(&amount).expect("serializes"), "25000");
        assert_eq!(serde_json::from_str::<Amount>("25000").ok(), Some(amount));
        assert!(serde_json::from_str::<Amount>("-1").is_err());
        assert_eq!(amount.to_string(), "25000");
        assert_eq!(amount.fcfa(), "25\u{202f}000\u{a0}FCFA");
        assert_eq!(amount.get(), 25_000);
    }

    #[test]
    fn arithmetic_on_amounts_is_checked() {
        let (a, b) = (Amount::new(5_000), Amount::new(2_000));
        assert_eq!(a.checked_sub(b), Some(Amount::new(3_000)));
        assert_eq!(b.checked_sub(a), None);
        assert_eq!(a.checked_add(b), Some(Amount::new(7_000)));
        assert_eq!(Amount::new(u64::MAX).checked_add(Amount::new(1)), None);
        assert!(b < a);
    }

    #[cfg(feature = "sqlx")]
    mod database {
        use super::Amount;

        async fn pool() -> (sqlx::AnyPool, tempfile::TempDir) {
            crate::test_db::table("CREATE TABLE t (amount BIGINT NOT NULL)").await
        }

        #[tokio::test]
        async fn an_amount_is_stored_as_an_integer_and_read_back_unchanged() {
            let (pool, _dir) = pool().await;
            for francs in [0, 25_000, i64::MAX as u64] {
                sqlx::query("DELETE FROM t")
                    .execute(&pool)
                    .await
                    .expect("clears");
                sqlx::query("INSERT INTO t (amount) VALUES ($1)")
                    .bind(Amount::new(francs))
                    .execute(&pool)
                    .await
                    .expect("stores");
                let stored: i64 = sqlx::query_scalar("SELECT amount FROM t")
                    .fetch_one(&pool)
                    .await
                    .expect("reads");
                assert_eq!(u64::try_from(stored).ok(), Some(francs));
                let back: Amount = sqlx::query_scalar("SELECT amount FROM t")
                    .fetch_one(&pool)
                    .await
                    .expect("decodes");
                assert_eq!(back, Amount::new(francs));
            }
        }

        #[tokio::test]
        async fn an_amount_past_what_the_database_holds_is_an_encoding_error_never_clamped() {
            let (pool, _dir) = pool().await;
            let error = sqlx::query("INSERT INTO t (amount) VALUES ($1)")
                .bind(Amount::new(i64::MAX as u64 + 1))
                .execute(&pool)
                .await
                .expect_err("refused");
            assert!(matches!(error, sqlx::Error::Encode(_)), "{error:?}");
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&pool)
                .await
                .expect("counts");
            assert_eq!(rows, 0, "nothing was stored in its place");
        }

        #[tokio::test]
        async fn a_negative_amount_in_a_row_is_a_decoding_error_never_zero() {
            let (pool, _dir) = pool().await;
            sqlx::query("INSERT INTO t (amount) VALUES (-1)")
                .execute(&pool)
                .await
                .expect("stores");
            crate::test_db::assert_refused_as::<Amount>(&pool, "SELECT amount FROM t").await;
        }
    }
}
