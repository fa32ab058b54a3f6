//! Verifying MOBILE-PAY's webhooks: Standard Webhooks signatures (the `standardwebhooks` crate:
//! constant-time comparison, 5-minute timestamp tolerance), with several secrets at once so that a
//! secret can be rotated without refusing deliveries signed with the old one.

use mobilepay_wire::webhook::WebhookEvent;

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the webhook's signature headers are missing or malformed")]
    MissingHeaders,
    #[error("no secret verifies the webhook's signature, or its timestamp is out of tolerance")]
    BadSignature,
    #[error("the signed body is not a MOBILE-PAY webhook")]
    BadBody,
}

/// Holds the endpoint's secrets (`whsec_…`). Its `Debug` shows how many, never which.
pub struct Verifier {
    secrets: Vec<standardwebhooks::Webhook>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({} secrets, redacted)", self.secrets.len())
    }
}

impl Verifier {
    /// Fails when a secret is not `whsec_` followed by base64, or when there is none.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self, InvalidSecret> {
        let secrets = secrets
            .iter()
            .map(|s| standardwebhooks::Webhook::new(s.as_ref()).map_err(|_| InvalidSecret))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(InvalidSecret);
        }
        Ok(Verifier { secrets })
    }

    /// Checks the signature over the raw `body`, then parses it.
    pub fn verify(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<WebhookEvent, VerifyError> {
        if timestamp_out_of_tolerance(headers) {
            return Err(VerifyError::BadSignature);
        }
        let mut missing = false;
        let mut verified = false;
        for secret in &self.secrets {
            match secret.verify(body, headers) {
                Ok(()) => {
                    verified = true;
                    break;
                }
                Err(
                    standardwebhooks::WebhookError::MissingHeader(_)
                    | standardwebhooks::WebhookError::InvalidHeader(_)
                    | standardwebhooks::WebhookError::InvalidTimestamp,
                ) => missing = true,
                Err(_) => {}
            }
        }
        if !verified {
            return Err(if missing {
                VerifyError::MissingHeaders
            } else {
                VerifyError::BadSignature
            });
        }
        serde_json::from_slice(body).map_err(|_| VerifyError::BadBody)
    }
}

/// The spec's tolerance for `webhook-timestamp`, as the `standardwebhooks` crate applies it.
const TOLERANCE_SECONDS: u64 = 5 * 60;

/// Whether `webhook-timestamp` is a number more than [`TOLERANCE_SECONDS`] away from now.
/// Checked here, without overflow, before the crate sees it: `standardwebhooks` 1.0.1 computes
/// `now - timestamp` unchecked, which panics (debug builds) or wraps and lets the timestamp
/// through (release) for one near `i64::MIN` — found by this crate's property tests. A header
/// that is no number is left to the crate to report.
fn timestamp_out_of_tolerance(headers: &http::HeaderMap) -> bool {
    let Some(timestamp) = headers
        .get("webhook-timestamp")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    timestamp.abs_diff(now) > TOLERANCE_SECONDS
}

/// A webhook secret that is not `whsec_` followed by base64.
#[derive(Debug, thiserror::Error)]
#[error("a webhook secret must be `whsec_` followed by base64")]
pub struct InvalidSecret;
