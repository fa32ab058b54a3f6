//! Webhook delivery: each event signed per the Standard Webhooks spec (the `standardwebhooks`
//! crate) and POSTed to the account's endpoint, retried on failure.

use std::sync::Arc;
use std::time::Duration;

use mobilepay_wire::webhook::{EventKind, WebhookEvent};

use crate::random_id;

/// Waits before each retry. Attempts stop after the last one; each attempt is logged.
const RETRY_DELAYS: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the demo account's webhooks.
pub struct Sender {
    url: Option<String>,
    signer: Arc<standardwebhooks::Webhook>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Sender {
    // The signing key must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(url: Option<String>, secret: &str) -> anyhow::Result<Self> {
        let signer = standardwebhooks::Webhook::new(secret)
            .map_err(|_| anyhow::anyhow!("the webhook secret is not `whsec_` + base64"))?;
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .build()?;
        Ok(Sender {
            url,
            signer: Arc::new(signer),
            http,
        })
    }

    /// Queues `kind` for delivery; returns at once.
    pub fn send(&self, kind: EventKind, timestamp: String) {
        let event = WebhookEvent { timestamp, kind };
        let Some(url) = self.url.clone() else {
            tracing::info!(event = event.kind.name(), "no webhook endpoint configured");
            return;
        };
        let body = match serde_json::to_vec(&event) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "webhook body did not serialize");
                return;
            }
        };
        let msg_id = random_id("msg_", 24);
        let http = self.http.clone();
        let signer = Arc::clone(&self.signer);
        let name = event.kind.name().to_owned();
        tokio::spawn(async move { deliver(&http, &signer, &url, &msg_id, &name, &body).await });
    }
}

/// Delivers one webhook, retrying on a transport error or a non-2xx answer.
async fn deliver(
    http: &reqwest::Client,
    signer: &standardwebhooks::Webhook,
    url: &str,
    msg_id: &str,
    event: &str,
    body: &[u8],
) {
    for attempt in 0..=RETRY_DELAYS.len() {
        if attempt > 0 {
            tokio::time::sleep(RETRY_DELAYS[attempt - 1]).await;
        }
        // Each attempt is signed anew: a receiver rejects timestamps older than its tolerance.
        let timestamp = crate::now().unix_timestamp();
        let signature = match signer.sign(msg_id, timestamp, body) {
            Ok(signature) => signature,
            Err(error) => {
                tracing::error!(%error, msg_id, "webhook could not be signed");
                return;
            }
        };
        let result = http
            .post(url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, msg_id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body.to_vec())
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                tracing::info!(msg_id, event, attempt, status = %response.status(), "webhook delivered");
                return;
            }
            Ok(response) => {
                tracing::warn!(msg_id, event, attempt, status = %response.status(), "webhook refused");
            }
            Err(error) => {
                tracing::warn!(msg_id, event, attempt, %error, "webhook not delivered");
            }
        }
    }
    tracing::error!(msg_id, event, "webhook abandoned after its last attempt");
}
