//! A phone's flaky link, end to end: the browser offline while the payment is made, and the
//! event stream cut by a proxy. Chromium's own network emulation (CDP through chromedriver).

use std::sync::{Arc, Mutex};

use mobilepay_e2e::{Options, cdp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// How long the shopper stays offline, and how soon after the link is back the widget
/// must show the outcome.
const OFFLINE_FOR: Duration = Duration::from_secs(10);
const BACK_WITHIN: Duration = Duration::from_secs(3);

#[tokio::test]
async fn offline_for_ten_seconds_while_the_payment_is_made_then_paid_within_3_s_of_the_link_coming_back()
 {
    let (stack, proxy) = behind_a_proxy().await;
    let browser = phone().await;
    let client = &browser.client;
    client
        .goto(&format!("{}/", proxy.url))
        .await
        .expect("the store opens");
    record_events(client).await;
    wait_for_status(client, "awaiting_payment").await;
    let payment_id = attribute(client, "payment-id").await.expect("a payment id");
    proxy.wait_for_stream().await;

    // Chromium's offline emulation fails new requests but leaves open connections alone; a
    // phone that loses its link loses them too: the proxy cuts them.
    cdp::set_offline(client, true).await.expect("offline");
    proxy.cut();
    wait_for_js(client, "navigator.onLine", json!(false)).await;
    simulate_payment(&stack, &payment_id, "success").await;
    // The scenario: the phone stays offline this long, whatever it retries meanwhile.
    tokio::time::sleep(OFFLINE_FOR).await;
    assert_eq!(
        attribute(client, "status").await.as_deref(),
        Some("awaiting_payment"),
        "offline, the widget cannot have heard of the payment: the link was not cut"
    );

    cdp::set_offline(client, false).await.expect("online");
    let back = Instant::now();
    while attribute(client, "status").await.as_deref() != Some("paid") {
        assert!(
            back.elapsed() < BACK_WITHIN,
            "not paid within {BACK_WITHIN:?} of the link coming back: {:?}, {:?}",
            attribute(client, "status").await,
            shadow_text(client).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!("paid {:?} after the link came back", back.elapsed());
    assert!(
        recorded_events(client)
            .await
            .iter()
            .any(|e| e["type"] == "mobilepay:paid"),
        "{:?}",
        recorded_events(client).await
    );
    client.clone().close().await.expect("browser closes");
}

/// What one connection's client sent through the proxy.
type Sent = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy in front of the merchant backend that can cut every connection through it, as
/// a mobile operator's proxy or a load balancer does, and keeps what browsers sent through it.
struct CuttingProxy {
    url: String,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    /// What each connection's client sent (the first 64 KB), in the order they opened.
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl CuttingProxy {
    async fn start(listener: TcpListener, upstream: String) -> CuttingProxy {
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (tasks, logs) = (Arc::clone(&connections), Arc::clone(&sent));
        tokio::spawn(async move {
            while let Ok((mut browser, _)) = listener.accept().await {
                let log = Arc::new(Mutex::new(Vec::new()));
                logs.lock().expect("the log").push(Arc::clone(&log));
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    let Ok(mut backend) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut from_browser, mut to_browser) = browser.split();
                    let (mut from_backend, mut to_backend) = backend.split();
                    let up = async {
                        let mut buf = [0u8; 8192];
                        loop {
                            let n = from_browser.read(&mut buf).await?;
                            if n == 0 {
                                return to_backend.shutdown().await;
                            }
                            {
                                let mut log = log.lock().expect("the log");
                                if log.len() < 65_536 {
                                    log.extend_from_slice(&buf[..n]);
                                }
                            }
                            to_backend.write_all(&buf[..n]).await?;
                        }
                    };
                    let down = tokio::io::copy(&mut from_backend, &mut to_browser);
                    let _ = tokio::join!(up, down);
                });
                tasks.lock().expect("the tasks").push(task.abort_handle());
            }
        });
        CuttingProxy {
            url,
            connections,
            sent,
        }
    }

    /// Drops every open connection: their sockets close under the browser.
    fn cut(&self) {
        for task in self.connections.lock().expect("the tasks").drain(..) {
            task.abort();
        }
    }

    /// Waits until an event stream went through.
    async fn wait_for_stream(&self) {
        eventually(async || {
            let sent = self.sent();
            if sent.iter().any(|text| is_stream_request(text)) {
                Ok(())
            } else {
                Err(format!("no event stream through the proxy: {sent:?}"))
            }
        })
        .await
    }

    /// What the clients of connections opened so far sent, one text per connection.
    fn sent(&self) -> Vec<String> {
        self.sent
            .lock()
            .expect("the log")
            .iter()
            .map(|log| String::from_utf8_lossy(&log.lock().expect("the log")).into_owned())
            .collect()
    }
}

/// Whether a connection's text holds a request for an event stream.
fn is_stream_request(text: &str) -> bool {
    text.contains("GET /checkout/sessions/") && text.contains("/events?")
}

/// The stack with a [`CuttingProxy`] in front of its backend, which hands out URLs through it.
async fn behind_a_proxy() -> (Stack, CuttingProxy) {
    log_server_errors();
    let widget_dir = std::env::var_os("MOBILEPAY_WIDGET_DIR").map(PathBuf::from);
    // The backend hands out URLs through the proxy, so that the event stream goes through it.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let proxy_url = format!("http://{}", listener.local_addr().expect("an address"));
    let stack = Stack::start_with_options(
        "127.0.0.1:0",
        "127.0.0.1:0",
        Options {
            widget_dir,
            public_url: Some(proxy_url.clone()),
            ..Options::default()
        },
    )
    .await
    .expect("the stack starts");
    let upstream = stack.store_url.trim_start_matches("http://").to_owned();
    let proxy = CuttingProxy::start(listener, upstream).await;
    assert_eq!(proxy.url, proxy_url);
    (stack, proxy)
}

#[tokio::test]
async fn a_stream_cut_by_a_proxy_reconnects_with_last_event_id_and_the_payment_made_meanwhile_shows()
 {
    let (stack, proxy) = behind_a_proxy().await;
    let browser = browser(480, 900).await;
    let client = &browser.client;
    client
        .goto(&format!("{}/", proxy.url))
        .await
        .expect("the store opens through the proxy");
    record_events(client).await;
    wait_for_status(client, "awaiting_payment").await;
    let payment_id = attribute(client, "payment-id").await.expect("a payment id");
    proxy.wait_for_stream().await;
    let before = proxy.sent().len();

    proxy.cut();
    simulate_payment(&stack, &payment_id, "success").await;
    wait_for_status(client, "paid").await;

    let resumed: Vec<String> = proxy.sent()[before..]
        .iter()
        .filter(|text| is_stream_request(text))
        .cloned()
        .collect();
    assert!(
        resumed
            .iter()
            .any(|text| text.to_ascii_lowercase().contains("\r\nlast-event-id: ")),
        "the stream was not resumed with Last-Event-ID: {resumed:?}"
    );
    let statuses: Vec<Value> = recorded_events(client)
        .await
        .iter()
        .filter(|e| e["type"] == "mobilepay:statuschange")
        .map(|e| e["detail"]["status"].clone())
        .collect();
    assert_eq!(statuses.last(), Some(&json!("paid")), "{statuses:?}");
    assert!(!statuses.contains(&json!("error")), "{statuses:?}");
    client.clone().close().await.expect("browser closes");
}
