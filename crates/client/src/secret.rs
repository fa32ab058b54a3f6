//! Secrets that cannot leak through `Debug` or `Display`.

/// A MOBILE-PAY API key (`sk_test_…`, `sk_live_…`), or a login token used the same way.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Enough of a prefix to tell test from live keys (and login tokens) in a log, never the
        // key.
        let kind = if self.0.starts_with("sk_live_") {
            "sk_live_"
        } else if self.0.starts_with("sk_test_") {
            "sk_test_"
        } else {
            "token "
        };
        write!(f, "ApiKey({kind}…redacted)")
    }
}
