//! A shop in another language, end to end: `examples/node-shop/` (Node, nothing but HTTP and
//! the official Standard Webhooks library, installed with `npm ci` from its lock file into
//! `target/tmp/node-shop/`) run as its own process against the real sandbox and merchant
//! backend. A shopper orders in Chromium, pays the checkout the shop created, and the shop
//! marks its order paid from the verified `checkout.paid` alone.
//!
//! Also here: the README's "Integrate your shop" requests, read from the README itself and sent
//! as written to a live backend, so that the README cannot drift from the API.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use fantoccini::Locator;
use mobilepay_e2e::{DEMO_API_KEY, Options, Stack};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::{
    attribute, browser, decode_qr, eventually, js, log_server_errors, patiently, screenshot,
    simulate_payment, wait_for_status,
};

/// The example's files that the shop needs at run time (node_modules is installed beside them).
const SHOP_FILES: [&str; 3] = ["package.json", "package-lock.json", "shop.mjs"];

/// One install at a time: tests of this binary run in parallel.
static INSTALL: Mutex<()> = Mutex::new(());

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Copies the example into `target/tmp/node-shop/` and installs its dependencies exactly as
/// locked (`npm ci`), skipped while node_modules matches the lock file. Offline once npm's
/// cache holds the locked tarballs: `--prefer-offline` asks the registry for nothing it has.
fn install_shop() -> PathBuf {
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let source = repository().join("examples/node-shop");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-shop");
    std::fs::create_dir_all(&dir).expect("a folder for the Node shop");
    for file in SHOP_FILES {
        std::fs::copy(source.join(file), dir.join(file))
            .unwrap_or_else(|e| panic!("copying examples/node-shop/{file}: {e}"));
    }
    let lock = std::fs::read_to_string(dir.join("package-lock.json")).expect("the lock file");
    let stamp = dir.join("node_modules/.mobilepay-installed-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .env("npm_config_update_notifier", "false")
            .status()
            .expect("npm runs (Node and npm are needed: `apt-get install nodejs npm`)");
        assert!(status.success(), "npm ci installed the shop's dependencies");
        std::fs::write(&stamp, &lock).expect("the install stamp");
    }
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The Node shop's process; killed (by its PID) when dropped.
struct NodeShop {
    url: String,
    child: Child,
    log: PathBuf,
}

impl Drop for NodeShop {
    fn drop(&mut self) {
        // SIGKILL to this child's PID only; tokio reaps it.
        let _ = self.child.start_kill();
    }
}

impl NodeShop {
    /// Starts `node shop.mjs` on `port` against the backend at `backend`, and waits until it
    /// answers (it creates its webhook endpoint before it listens).
    async fn start(dir: &Path, port: u16, backend: &str) -> NodeShop {
        let url = format!("http://127.0.0.1:{port}");
        let log = dir.join(format!("shop-{port}.log"));
        let out = std::fs::File::create(&log).expect("the shop's log file");
        let err = out.try_clone().expect("the log, twice");
        let child = Command::new("node")
            .arg("shop.mjs")
            .current_dir(dir)
            .env("BACKEND_URL", backend)
            .env("SHOP_API_KEY", DEMO_API_KEY)
            .env("PORT", port.to_string())
            .env("PUBLIC_URL", &url)
            .env_remove("WEBHOOK_SECRET")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js is needed: `apt-get install nodejs`)");
        let mut shop = NodeShop { url, child, log };
        let http = reqwest::Client::new();
        let answered = patiently(async || {
            if let Ok(Some(status)) = shop.child.try_wait() {
                panic!("the shop exited ({status}): {}", shop.output());
            }
            let answer = http.get(format!("{}/", shop.url)).send().await;
            match answer {
                Ok(answer) if answer.status().is_success() => Ok(()),
                _ => Err(()),
            }
        })
        .await;
        assert!(
            answered.is_ok(),
            "the shop never answered: {}",
            shop.output()
        );
        shop
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The shop's own record of an order (`GET /orders/{id}.json`).
    async fn order(&self, id: &str) -> Value {
        let response = reqwest::get(format!("{}/orders/{id}.json", self.url))
            .await
            .expect("the shop answers");
        assert_eq!(response.status(), 200, "the shop knows order {id}");
        response.json().await.expect("an order as JSON")
    }
}

/// `GET {backend}{path}` with the shop's key.
async fn v1(stack: &Stack, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", stack.store_url))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await
        .expect("the backend answers");
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.expect("JSON")
}

/// POSTs `body` to the shop's webhook endpoint with `headers`; returns the status.
async fn post_webhook(shop: &NodeShop, body: &str, headers: &[(&str, String)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/mobilepay", shop.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
        .send()
        .await
        .expect("the shop answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_node_shop_creates_the_checkout_embeds_the_widget_and_marks_its_order_paid_from_the_verified_webhook()
 {
    log_server_errors();
    let widget = std::env::var_os("MOBILEPAY_WIDGET_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("mobilepay-checkout.js").exists())
        .expect("MOBILEPAY_WIDGET_DIR must name the built widget: run `cargo xtask test`");
    let dir = tokio::task::spawn_blocking(install_shop)
        .await
        .expect("the install ends");
    // The shop's page calls the backend from its own origin: the backend must let it in.
    let port = free_port();
    let stack = Stack::start_with_options(
        "127.0.0.1:0",
        "127.0.0.1:0",
        Options {
            widget_dir: Some(widget),
            allowed_origins: vec![format!("http://127.0.0.1:{port}")],
            ..Options::default()
        },
    )
    .await
    .expect("sandbox and merchant backend start");
    let shop = NodeShop::start(&dir, port, &stack.store_url).await;

    // At start the shop made its own webhook endpoint, through /v1.
    let endpoints = v1(&stack, "/v1/webhook-endpoints").await;
    let hook = format!("{}/webhooks/mobilepay", shop.url);
    assert_eq!(
        endpoints["data"]
            .as_array()
            .map(|list| list.iter().filter(|e| e["url"] == hook.as_str()).count()),
        Some(1),
        "one endpoint for the shop: {endpoints}"
    );

    // The shopper orders on the shop's own page.
    let browser = browser(480, 900).await;
    let client = &browser.client;
    client.goto(&shop.url).await.expect("the shop opens");
    client
        .find(Locator::Css("form[action='/orders'] button"))
        .await
        .expect("an order button")
        .click()
        .await
        .expect("the order is placed");
    wait_for_status(client, "awaiting_payment").await;
    let path = client.current_url().await.expect("a URL").path().to_owned();
    let order_id = path
        .strip_prefix("/orders/")
        .expect("the shop shows the order's page")
        .to_owned();
    let order = shop.order(&order_id).await;
    assert_eq!(order["status"], "awaiting_payment");
    assert_eq!(order["amount"], 25_000);

    // The widget shows the checkout the shop created for this order, with its amount and QR.
    let checkout_id = order["checkout_id"].as_str().expect("the order's checkout");
    assert_eq!(
        attribute(client, "order-id").await.as_deref(),
        Some(checkout_id)
    );
    let checkout = v1(&stack, &format!("/v1/checkouts/{checkout_id}")).await;
    assert_eq!(checkout["reference"], order_id.as_str());
    assert_eq!(checkout["status"], "open");
    assert_eq!(checkout["amount"], 25_000);
    let payment_id = attribute(client, "payment-id")
        .await
        .expect("payment-id is reflected");
    let text = js(
        client,
        "return document.querySelector('mobilepay-checkout').shadowRoot.textContent",
    )
    .await;
    assert!(
        text.as_str().is_some_and(|t| t
            .replace(['\u{202f}', '\u{a0}'], " ")
            .contains("25 000 FCFA")),
        "{text}"
    );
    let png = screenshot(client, "node-shop-awaiting-payment.png").await;
    assert_eq!(
        decode_qr(&png),
        vec![format!("{}/wallet/{payment_id}", stack.sandbox_url)],
        "the QR on the shop's page is the payment's wallet URL"
    );

    // Anyone may POST to the shop's webhook URL: unsigned, or signed with another secret, a
    // `checkout.paid` for this very order is refused and changes nothing.
    let forged = json!({
        "id": "evt_forged", "type": "checkout.paid", "created_at": "2026-12-01T12:00:00Z",
        "sequence": 99,
        "data": {"id": checkout_id, "reference": order_id, "amount": 25_000, "status": "paid"},
    })
    .to_string();
    assert_eq!(post_webhook(&shop, &forged, &[]).await, 401, "unsigned");
    let other_secret = mobilepay_merchant::outbox::Secret::generate();
    let signer = standardwebhooks::Webhook::new(other_secret.expose()).expect("a secret");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let signature = signer
        .sign("evt_forged", now, forged.as_bytes())
        .expect("signed");
    let headers = [
        ("webhook-id", "evt_forged".to_owned()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", signature),
    ];
    assert_eq!(
        post_webhook(&shop, &forged, &headers).await,
        401,
        "signed with a secret that is not the endpoint's"
    );
    let unchanged = shop.order(&order_id).await;
    assert_eq!(unchanged, order, "a refused webhook changes nothing");

    // The shopper pays; the widget flips, and the shop learns it from `checkout.paid` alone.
    simulate_payment(&stack, &payment_id, "success").await;
    wait_for_status(client, "paid").await;
    let paid = eventually(async || {
        let now = shop.order(&order_id).await;
        if now["status"] == "paid" {
            Ok(now)
        } else {
            Err(format!(
                "the shop never marked its order paid: {now}; its log: {}",
                shop.output()
            ))
        }
    })
    .await;
    // The backend's record: `checkout.paid` delivered to the shop, which answered 204 — the
    // shop's answer once `standardwebhooks` has verified it — and the order carries that
    // event's sequence, which only `apply` after a verification writes.
    let events = v1(
        &stack,
        &format!("/v1/events?checkout_id={checkout_id}&type=checkout.paid"),
    )
    .await;
    let event = &events["data"][0];
    assert_eq!(event["type"], "checkout.paid", "{events}");
    assert_eq!(paid["sequence"], event["sequence"]);
    let delivery = event["deliveries"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["url"] == hook.as_str()))
        .expect("a delivery to the shop");
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    assert_eq!(delivery["attempts"][0]["status_code"], 204, "{delivery}");

    // The order's page, reloaded, says so and embeds no widget any more.
    client.refresh().await.expect("the page reloads");
    let shown = js(
        client,
        "return [document.getElementById('order-status').dataset.status,
                 document.querySelectorAll('mobilepay-checkout').length]",
    )
    .await;
    assert_eq!(shown, json!(["paid", 0]));
    client.clone().close().await.expect("browser closes");
}

// ---------------------------------------------------------------------------------------------
// The README's "Integrate your shop", as written
// ---------------------------------------------------------------------------------------------

/// One `curl` of the README, and what its comment says the answer is.
#[derive(Debug)]
struct Request {
    words: Vec<String>,
    /// The status in the comment after it (`# 201 {…}`), if it states one.
    status: Option<u16>,
    /// The comment's text after the status: the answer's fields as the README shows them.
    shown: String,
}

/// The ```sh blocks of the README section `heading`, their commands split as a POSIX shell
/// would (quotes, `\` line continuations), each with the comment lines that follow it.
fn readme_requests(heading: &str) -> Vec<Request> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README.md has a section {heading:?}"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let mut requests: Vec<Request> = Vec::new();
    // The fence's indentation (a block inside a list item): removed from the block's lines.
    let mut block: Option<usize> = None;
    let mut command = String::new();
    for raw in section.lines() {
        let line = raw.trim_start();
        if line.starts_with("```") {
            block = (block.is_none() && line == "```sh").then(|| raw.len() - line.len());
            continue;
        }
        let Some(indent) = block else { continue };
        let line = raw.get(indent..).unwrap_or(line);
        if command.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(comment) = line.trim().strip_prefix('#') {
                let last = requests.last_mut().expect("a comment follows a command");
                let comment = comment.trim();
                match comment
                    .split_once(' ')
                    .map(|(s, rest)| (s.parse::<u16>(), rest))
                {
                    Some((Ok(status), rest)) if last.status.is_none() => {
                        last.status = Some(status);
                        last.shown = rest.to_owned();
                    }
                    _ => {
                        last.shown.push(' ');
                        last.shown.push_str(comment);
                    }
                }
                continue;
            }
        }
        command.push_str(line);
        command.push('\n');
        // A command ends with a line that is not continued and closes its quotes.
        if line.ends_with('\\') {
            continue;
        }
        // A shell removes `\` + newline before it splits words (outside single quotes, where
        // the README never writes one).
        let Some(words) = shlex::split(&command.replace("\\\n", "")) else {
            continue;
        };
        command.clear();
        requests.push(Request {
            words,
            status: None,
            shown: String::new(),
        });
    }
    assert!(
        command.is_empty(),
        "an unfinished command in {heading:?}: {command}"
    );
    assert!(block.is_none(), "an unclosed ```sh block in {heading:?}");
    requests
}

/// A README `curl` as a request: only the options the README uses are understood, so that a
/// new one fails here instead of being ignored.
fn to_request(http: &reqwest::Client, words: &[String], api: &str) -> reqwest::RequestBuilder {
    assert_eq!(words[0], "curl", "{words:?}");
    let mut method = None;
    let mut url = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut words = words[1..].iter().map(|w| w.replace("$API", api));
    while let Some(word) = words.next() {
        match word.as_str() {
            "-s" => {}
            "-X" => method = words.next(),
            "-H" => headers.push(words.next().expect("-H takes a header")),
            "-d" => body = words.next(),
            flag if flag.starts_with('-') => {
                panic!("a curl option this test does not know: {flag}")
            }
            _ => {
                assert!(url.is_none(), "one URL per curl: {word}");
                url = Some(word);
            }
        }
    }
    let url = url.expect("a URL");
    assert!(
        url.starts_with(api),
        "the README's requests go to $API: {url}"
    );
    // curl's rule: POST when there is a body, GET otherwise, unless -X says.
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    let mut request = http.request(method.parse().expect("a method"), url);
    for header in headers {
        let (name, value) = header.split_once(':').expect("Name: value");
        request = request.header(name.trim(), value.trim());
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    request
}

/// The fields the README shows (`"status": "open"`, `"amount": 25000`), skipping those it
/// elides with `…`.
fn shown_fields(shown: &str) -> Vec<(String, Value)> {
    let mut fields = Vec::new();
    let mut rest = shown;
    while let Some(quote) = rest.find('"') {
        let after = &rest[quote + 1..];
        let Some(end) = after.find('"') else { break };
        let key = &after[..end];
        let tail = after[end + 1..].trim_start();
        rest = &after[end + 1..];
        let Some(value) = tail.strip_prefix(':') else {
            continue;
        };
        let mut parsed = serde_json::Deserializer::from_str(value).into_iter::<Value>();
        if let Some(Ok(value)) = parsed.next()
            && !value.to_string().contains('…')
        {
            fields.push((key.to_owned(), value));
        }
    }
    fields
}

#[tokio::test]
async fn the_readme_integrate_your_shop_requests_answer_as_the_readme_says() {
    log_server_errors();
    let stack = Stack::start("127.0.0.1:0", "127.0.0.1:0", None)
        .await
        .expect("sandbox and merchant backend start");
    let requests = readme_requests("Integrate your shop");
    let http = reqwest::Client::new();
    // Steps 2 to 5: create a checkout, cancel it, make a webhook endpoint, read, list.
    let urls: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.words.iter().find(|w| w.contains("$API/v1/")))
        .map(String::as_str)
        .collect();
    assert_eq!(
        urls.len(),
        requests.len(),
        "every request goes to $API/v1/: {urls:?}"
    );
    assert!(requests.len() >= 5, "the README's requests: {urls:?}");
    let mut checkout_id: Option<String> = None;
    for request in &requests {
        // `chk_…` in the README stands for the checkout the first request created.
        let words: Vec<String> = request
            .words
            .iter()
            .map(|w| match &checkout_id {
                Some(id) => w.replace("chk_…", id),
                None => w.clone(),
            })
            .collect();
        let response = to_request(&http, &words, &stack.store_url)
            .send()
            .await
            .expect("the backend answers");
        let status = response.status().as_u16();
        let mut body: Value = response.json().await.expect("a JSON answer");
        // An endpoint's secret is not for a test's output.
        if body["secret"].is_string() {
            body["secret"] = json!("whsec_(hidden)");
        }
        match request.status {
            Some(wanted) => assert_eq!(status, wanted, "{words:?} answered {body}"),
            None => assert!(
                (200..300).contains(&status),
                "{words:?} answered {status} {body}"
            ),
        }
        for (key, value) in shown_fields(&request.shown) {
            assert_eq!(body[&key], value, "{key} of {words:?}: {body}");
        }
        if checkout_id.is_none() && body["id"].as_str().is_some_and(|id| id.starts_with("chk_")) {
            checkout_id = body["id"].as_str().map(str::to_owned);
            let pay_url = format!(
                "{}/pay/{}",
                stack.store_url,
                body["id"].as_str().unwrap_or("")
            );
            assert_eq!(body["pay_url"], pay_url.as_str(), "{body}");
        }
        assert!(
            words.iter().all(|w| !w.contains('…')),
            "a placeholder left in {words:?}"
        );
    }
    let checkout_id = checkout_id.expect("the README creates a checkout first");
    // What the README's requests did, read back: the checkout canceled, the endpoint there.
    let checkout = v1(&stack, &format!("/v1/checkouts/{checkout_id}")).await;
    assert_eq!(checkout["status"], "canceled", "{checkout}");
    assert_eq!(checkout["reference"], "order-1042");
    let endpoints = v1(&stack, "/v1/webhook-endpoints").await;
    assert_eq!(
        endpoints["data"][0]["url"], "https://shop.example/hooks/mobilepay",
        "{endpoints}"
    );
}
