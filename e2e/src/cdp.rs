//! Chrome DevTools Protocol commands sent through chromedriver's `goog/cdp/execute` endpoint,
//! from any fantoccini session on Chromium: network emulation (offline, a throttled 3G link),
//! CPU throttling, the cache. WebDriver itself has none of these.

use fantoccini::Client;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

/// One CDP command and its parameters.
#[derive(Debug)]
struct Execute {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Execute {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Sends CDP command `cmd` with `params` to the session's current page; its result.
pub async fn execute(client: &Client, cmd: &str, params: Value) -> Result<Value, CmdError> {
    client
        .issue_cmd(Execute {
            cmd: cmd.to_owned(),
            params,
        })
        .await
}

/// The issue's phone link: 400 ms round trip, 400 kbit/s down, 200 kbit/s up (bytes per second
/// below, as CDP takes them).
pub fn throttled_3g() -> Value {
    json!({ "offline": false, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 25_000 })
}

/// Sets the page's network: [`throttled_3g`], offline, or back to normal (`None`).
pub async fn emulate_network(client: &Client, conditions: Option<Value>) -> Result<(), CmdError> {
    execute(client, "Network.enable", json!({})).await?;
    let conditions = conditions.unwrap_or_else(
        || json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    );
    execute(client, "Network.emulateNetworkConditions", conditions).await?;
    Ok(())
}

/// Offline (`true`) or back online: the page's `navigator.onLine` and `online`/`offline`
/// events follow, and requests fail as with no network.
pub async fn set_offline(client: &Client, offline: bool) -> Result<(), CmdError> {
    let conditions = offline.then(
        || json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    );
    emulate_network(client, conditions).await
}
