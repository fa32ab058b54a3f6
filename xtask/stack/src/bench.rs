//! `cargo xtask bench`: the figures we track, printed as Markdown tables.
//!
//! - The widget's download: every file a browser fetches for it (wasm, wasm-bindgen's glue, the
//!   element's two modules; the CSS is inside the wasm), raw, gzip -9 and brotli -q 11, against
//!   the 60 KB brotli budget.
//! - How soon the QR code is on screen after the session's answer arrives, in headless
//!   Chromium against the real backend and sandbox: the median of 20 runs.
//! - The shopper on a 3G phone: the demo store as the backend serves it, opened in Chromium
//!   throttled by CDP (400 ms round trip, 400 kbit/s down, 200 kbit/s up, CPU 4× slower, 360 px),
//!   from navigation to the QR code on screen, cold (a fresh profile, empty cache) and on a
//!   repeat visit (warm cache), with the bytes on the wire (Resource Timing's `transferSize`):
//!   the median of [`THROTTLED_RUNS`] browsers.
//!
//! Every figure is printed again side by side at the end, against its target.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use xtask::widget::{brotli, gzip};

/// The budget for the whole download, brotli-compressed.
const BUDGET_BROTLI: usize = 60_000;
const RUNS: usize = 20;
/// Throttled page loads: each a fresh Chromium, a cold visit then a repeat one.
const THROTTLED_RUNS: usize = 3;
/// Targets on the throttled profile (issue 10).
const COLD_TARGET_MS: f64 = 3_000.0;
const REPEAT_TARGET_MS: f64 = 1_500.0;
const WIRE_TARGET: f64 = 60_000.0;

/// Every file a page fetches for the widget: the bundle (the element, its JS API and the glue)
/// and the wasm (the CSS is inside), by the names the build's manifest gives them.
fn download(dir: &Path) -> anyhow::Result<[String; 2]> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(xtask::widget::MANIFEST)).context("reading the manifest")?,
    )?;
    let name = |key: &str| {
        manifest[key]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the manifest names no {key}"))
    };
    Ok([name("wasm")?, name("entry")?])
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    xtask::ensure_wasm_tools()?;
    xtask::ensure_chromium()?;
    let dir = xtask::build_widget(root)?;
    println!("\nWidget download size (bytes; KB = 1000 B)\n");
    println!("| file | raw | gzip -9 | brotli -q 11 |");
    println!("|---|---:|---:|---:|");
    let mut total = [0usize; 3];
    for name in download(&dir)? {
        let bytes = std::fs::read(dir.join(&name)).with_context(|| format!("reading {name}"))?;
        let sizes = [bytes.len(), gzip(&bytes)?.len(), brotli(&bytes)?.len()];
        for (t, s) in total.iter_mut().zip(sizes) {
            *t += s;
        }
        println!("| {name} | {} | {} | {} |", sizes[0], sizes[1], sizes[2]);
    }
    println!(
        "| **total** (CSS is inside the wasm) | {} | {} | **{}** ({:.1} KB; budget {:.1} KB: {}) |",
        total[0],
        total[1],
        total[2],
        total[2] as f64 / 1000.0,
        BUDGET_BROTLI as f64 / 1000.0,
        if total[2] <= BUDGET_BROTLI {
            "within"
        } else {
            "OVER"
        },
    );

    let runtime = tokio::runtime::Runtime::new()?;
    let timings = runtime.block_on(qr_timings(dir.clone()))?;
    let mut sorted = timings.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[RUNS / 2 - 1] + sorted[RUNS / 2]) / 2.0;
    println!("\nQR code on screen after the session's answer (headless Chromium, {RUNS} runs)\n");
    println!("| measure | median | min | max | budget |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| session answer received → first frame with the QR code | **{median:.1} ms** | {:.1} ms | {:.1} ms | 50 ms: {} |",
        sorted[0],
        sorted[RUNS - 1],
        if median <= 50.0 { "within" } else { "OVER" },
    );

    let loads = runtime.block_on(throttled_loads(dir))?;
    println!(
        "\nThe demo store on a throttled 3G phone (CDP: 400 ms RTT, 400/200 kbit/s, CPU 4×, 360 px; \
         {THROTTLED_RUNS} fresh Chromiums, each a cold visit then a repeat one)\n"
    );
    println!(
        "| visit | navigation → QR on screen (median) | runs | page (HTML + CSS) | widget | session answer | everything |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|");
    let mut medians = [0.0; 2];
    for (at, visit) in ["cold", "repeat"].into_iter().enumerate() {
        let of = |f: fn(&Load) -> f64| median_of(loads.iter().map(|l| f(&l[at])).collect());
        medians[at] = of(|l| l.qr_ms);
        let runs: Vec<String> = loads
            .iter()
            .map(|l| format!("{:.2} s", l[at].qr_ms / 1000.0))
            .collect();
        println!(
            "| {visit} | **{:.2} s** | {} | {:.0} B | {:.0} B | {:.0} B | {:.0} B |",
            medians[at] / 1000.0,
            runs.join(", "),
            of(|l| l.page_bytes),
            of(|l| l.widget_bytes),
            of(|l| l.session_bytes),
            of(|l| l.all_bytes),
        );
    }
    let cold_widget = median_of(loads.iter().map(|l| l[0].widget_bytes).collect());
    println!("\nFiles of the first cold visit (path, bytes on the wire, body as sent):\n");
    for (path, transfer, body) in &loads[0][0].files {
        println!("- `{path}`: {transfer:.0} B ({body:.0} B body)");
    }

    let verdict = |ok: bool| if ok { "within" } else { "OVER" };
    println!("\nSide by side\n");
    println!("| figure | measured | target |");
    println!("|---|---:|---|");
    println!(
        "| widget, brotli -q 11 (build) | {:.1} KB | ≤ 60 KB: {} |",
        total[2] as f64 / 1000.0,
        verdict(total[2] <= BUDGET_BROTLI)
    );
    println!(
        "| widget on the wire, cold (as served) | {:.1} KB | ≤ 60 KB: {} |",
        cold_widget / 1000.0,
        verdict(cold_widget <= WIRE_TARGET)
    );
    println!(
        "| QR after the session's answer (unthrottled) | {median:.1} ms | ≤ 50 ms: {} |",
        verdict(median <= 50.0)
    );
    println!(
        "| cold load → QR, throttled 3G | {:.2} s | ≤ 3.0 s: {} |",
        medians[0] / 1000.0,
        verdict(medians[0] <= COLD_TARGET_MS)
    );
    println!(
        "| repeat visit → QR, throttled 3G | {:.2} s | ≤ 1.5 s: {} |",
        medians[1] / 1000.0,
        verdict(medians[1] <= REPEAT_TARGET_MS)
    );
    Ok(())
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// One throttled visit of the store.
#[derive(Debug)]
struct Load {
    /// From the start of navigation to the first frame with the QR code's `<svg>`.
    qr_ms: f64,
    /// The HTML and the store's stylesheet.
    page_bytes: f64,
    /// Everything under `/widget/`.
    widget_bytes: f64,
    /// `POST /checkout/sessions`.
    session_bytes: f64,
    /// Everything the page fetched until the QR code showed (the open event stream excepted:
    /// Resource Timing counts a response once it ends).
    all_bytes: f64,
    /// Path, `transferSize`, `encodedBodySize` of every resource.
    files: Vec<(String, f64, f64)>,
}

/// Installed before any of the page's own scripts: notes when the QR code is first on screen
/// (the first animation frame at which the widget's shadow root holds its `<svg>`).
const QR_WATCH: &str = "(() => {
  const look = () => {
    const el = document.querySelector('mobilepay-checkout');
    if (el && el.shadowRoot && el.shadowRoot.querySelector('svg')) {
      window.__qrAt = performance.now();
    } else {
      requestAnimationFrame(look);
    }
  };
  requestAnimationFrame(look);
})();";

/// [`THROTTLED_RUNS`] fresh Chromiums on the throttled profile, each opening the store cold,
/// then again with what the first visit cached.
async fn throttled_loads(dir: std::path::PathBuf) -> anyhow::Result<Vec<[Load; 2]>> {
    use mobilepay_e2e::cdp;
    let stack = mobilepay_e2e::Stack::start("127.0.0.1:0", "127.0.0.1:0", Some(dir)).await?;
    let mut loads = Vec::new();
    for _ in 0..THROTTLED_RUNS {
        let (client, mut driver, profile) = browser().await?;
        let result = async {
            // A fresh profile starts with an empty cache; it stays enabled, so that the repeat
            // visit finds what the cold one stored.
            cdp::execute(&client, "Network.enable", json!({})).await?;
            cdp::execute(&client, "Network.clearBrowserCache", json!({})).await?;
            cdp::execute(
                &client,
                "Network.setCacheDisabled",
                json!({ "cacheDisabled": false }),
            )
            .await?;
            cdp::emulate_network(&client, Some(cdp::throttled_3g())).await?;
            cdp::execute(
                &client,
                "Emulation.setCPUThrottlingRate",
                json!({ "rate": 4 }),
            )
            .await?;
            cdp::execute(
                &client,
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": true }),
            )
            .await?;
            cdp::execute(
                &client,
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": QR_WATCH }),
            )
            .await?;
            let cold = visit(&client, &stack.store_url).await?;
            let repeat = visit(&client, &stack.store_url).await?;
            anyhow::Ok([cold, repeat])
        }
        .await;
        let _ = client.close().await;
        let _ = driver.kill().await;
        let _ = std::fs::remove_dir_all(profile);
        loads.push(result?);
    }
    Ok(loads)
}

/// Opens the store and waits for the QR code; what it cost.
async fn visit(client: &fantoccini::Client, store_url: &str) -> anyhow::Result<Load> {
    client.goto(&format!("{store_url}/")).await?;
    let measured = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const check = () => {
               if (window.__qrAt === undefined) return setTimeout(check, 50);
               const nav = performance.getEntriesByType('navigation')[0];
               const resources = performance.getEntriesByType('resource');
               const path = (e) => new URL(e.name).pathname;
               const sum = (keep) => resources.filter(keep).reduce((n, e) => n + e.transferSize, 0);
               done({
                 qr: window.__qrAt,
                 page: nav.transferSize + sum((e) => path(e) === '/store.css'),
                 widget: sum((e) => path(e).startsWith('/widget/')),
                 session: sum((e) => path(e) === '/checkout/sessions'),
                 all: nav.transferSize + sum(() => true),
                 files: [[path(nav), nav.transferSize, nav.encodedBodySize]].concat(
                   resources.map((e) => [path(e), e.transferSize, e.encodedBodySize])),
               });
             };
             check();",
            vec![],
        )
        .await?;
    let number = |key: &str| {
        measured[key]
            .as_f64()
            .with_context(|| format!("the page measured no {key}: {measured}"))
    };
    let files = measured["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f[0].as_str()?.to_owned(), f[1].as_f64()?, f[2].as_f64()?)))
        .collect();
    Ok(Load {
        qr_ms: number("qr")?,
        page_bytes: number("page")?,
        widget_bytes: number("widget")?,
        session_bytes: number("session")?,
        all_bytes: number("all")?,
        files,
    })
}

/// Starts the sandbox and backend serving the widget from `dir`, opens the demo store in
/// headless Chromium, then mounts a fresh widget `RUNS` times and measures, in the page's own
/// clock, from the end of the `POST /checkout/sessions` response (Resource Timing's
/// `responseEnd`) to the first animation frame after the QR code's `<svg>` entered the shadow
/// root (a `MutationObserver`). The wasm is loaded once, by the page's own widget, as on a
/// real page where the widget loads while the shopper reads.
async fn qr_timings(dir: std::path::PathBuf) -> anyhow::Result<Vec<f64>> {
    let stack = mobilepay_e2e::Stack::start("127.0.0.1:0", "127.0.0.1:0", Some(dir)).await?;
    let (client, mut driver, profile) = browser().await?;
    let result = async {
        client.goto(&format!("{}/", stack.store_url)).await?;
        let ready = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const el = document.querySelector('mobilepay-checkout');
                 const check = () => el.getAttribute('status') === 'awaiting_payment'
                   ? done(true) : setTimeout(check, 20);
                 check();",
                vec![],
            )
            .await?;
        if ready != json!(true) {
            bail!("the store's widget never showed its QR code");
        }
        let runs = client
            .execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1];
                     const orderId = document.querySelector('mobilepay-checkout').getAttribute('order-id');
                     const once = () => new Promise((resolve, reject) => {{
                       const el = document.createElement('mobilepay-checkout');
                       el.setAttribute('order-id', orderId);
                       const before = performance.now();
                       document.body.append(el);
                       const root = el.shadowRoot;
                       const seen = new MutationObserver(() => {{
                         if (!root.querySelector('svg')) return;
                         seen.disconnect();
                         requestAnimationFrame(() => {{
                           const frame = performance.now();
                           const answer = performance.getEntriesByType('resource')
                             .filter((e) => e.name.endsWith('/checkout/sessions') && e.startTime >= before)
                             .pop();
                           el.remove();
                           if (!answer) reject(new Error('no resource timing for the session'));
                           else resolve(frame - answer.responseEnd);
                         }});
                       }});
                       seen.observe(root, {{ childList: true, subtree: true }});
                     }});
                     (async () => {{
                       performance.setResourceTimingBufferSize(1000);
                       const runs = [];
                       for (let i = 0; i < {RUNS}; i++) runs.push(await once());
                       done(runs);
                     }})().catch((e) => done(String(e)));"
                ),
                vec![],
            )
            .await?;
        let timings: Vec<f64> = runs
            .as_array()
            .with_context(|| format!("the timing script failed: {runs}"))?
            .iter()
            .filter_map(serde_json::Value::as_f64)
            .collect();
        if timings.len() != RUNS {
            bail!("expected {RUNS} timings, got {runs}");
        }
        Ok(timings)
    }
    .await;
    let _ = client.close().await;
    let _ = driver.kill().await;
    let _ = std::fs::remove_dir_all(profile);
    result
}

/// chromedriver on a free port and a fresh headless Chromium session.
async fn browser() -> anyhow::Result<(
    fantoccini::Client,
    tokio::process::Child,
    std::path::PathBuf,
)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let driver = tokio::process::Command::new(xtask::CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting chromedriver")?;
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("chromedriver did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = std::env::temp_dir().join(format!("mobilepay-bench-{port}"));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": xtask::CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=480,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client =
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .context("opening a Chromium session")?;
    Ok((client, driver, profile))
}
