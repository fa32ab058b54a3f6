//! No secret of the backend's configuration — the MOBILE-PAY API key, the webhook secrets, the
//! database URL's password, the shop's merchant API keys — appears in a `Debug`, in the logs of
//! a backend at work (every level, captured), or in the error a bad `DATABASE_URL` makes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use clap::Parser;
use mobilepay_merchant::config::Args;
use mobilepay_sandbox::DEMO_WEBHOOK_SECRET;
use mobilepay_sandbox::accounts::{DEMO_MERCHANT_ID, DEMO_MERCHANT_KEY};
use tracing_subscriber::fmt::MakeWriter;

mod common;

const PASSWORD: &str = "pg-s3cret-pw";
/// The shop's merchant API key, from `MERCHANT_API_KEYS`.
const SHOP_KEY: &str = "mk_test_s3cret_shop_key";
/// A second webhook secret, as during a rotation.
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1vZi10aGUtdGVzdA==";

/// Everything a test writes through `tracing`, kept to be searched.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Logs of every level, from every crate, into `captured`, for this thread (the tests run on a
/// current-thread runtime, so every task of the backend logs here).
fn capture_logs(captured: &Captured) -> tracing::subscriber::DefaultGuard {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_default(subscriber)
}

fn args(mobilepay: &str, database_url: &str) -> Args {
    Args::try_parse_from([
        "mobilepay-merchant",
        "--mobilepay-api-url",
        mobilepay,
        "--mobilepay-api-key",
        DEMO_MERCHANT_KEY,
        "--mobilepay-merchant-id",
        DEMO_MERCHANT_ID,
        "--mobilepay-webhook-secrets",
        &format!("{DEMO_WEBHOOK_SECRET},{OLD_SECRET}"),
        "--database-url",
        database_url,
        "--merchant-api-keys",
        SHOP_KEY,
    ])
    .expect("the flags parse")
}

/// The secrets as they could leak: whole, and the base64 part of each webhook secret.
fn secrets() -> Vec<&'static str> {
    vec![
        DEMO_MERCHANT_KEY,
        DEMO_WEBHOOK_SECRET,
        &DEMO_WEBHOOK_SECRET[6..],
        OLD_SECRET,
        &OLD_SECRET[6..],
        PASSWORD,
        SHOP_KEY,
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
}

#[test]
fn the_debug_of_the_command_line_and_of_the_configuration_shows_no_secret() {
    let url = format!("postgres://shop:{PASSWORD}@db.internal:5432/shop");
    let args = args("http://127.0.0.1:8090", &url);

    assert_no_secret("Args", &format!("{args:?}"));
    let config = args.into_config().expect("a valid configuration");
    let debug = format!("{config:?}");
    assert_no_secret("Config", &debug);
    // Still useful to read: where the database is, and as whom.
    assert!(
        debug.contains("postgres://shop:…@db.internal:5432/shop"),
        "{debug}"
    );
    assert_eq!(
        config.database_url.to_string(),
        "postgres://shop:…@db.internal:5432/shop"
    );
    assert_eq!(config.database_url.expose(), url);
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_fails_without_its_password_in_the_error_or_the_logs() {
    let captured = Captured::default();
    let _logs = capture_logs(&captured);
    let (listener, _) = common::bind().await;
    // Nothing listens on port 1; and a URL sqlx cannot even parse.
    for url in [
        format!("postgres://shop:{PASSWORD}@127.0.0.1:1/shop?connect_timeout=1"),
        format!("postgres://shop:{PASSWORD}@127.0.0.1:notaport/shop"),
    ] {
        let config = args("http://127.0.0.1:8090", &url)
            .into_config()
            .expect("a valid configuration");

        let error = mobilepay_merchant::state(&listener, config)
            .await
            .expect_err("no database there");

        let message = format!("{error:#} / {error:?}");
        assert!(message.contains("opening the database"), "{message}");
        assert_no_secret("the error", &message);
    }
    assert_no_secret("the logs", &captured.text());
}

#[tokio::test]
async fn a_backend_at_work_logs_no_secret() {
    let captured = Captured::default();
    let _logs = capture_logs(&captured);
    let (listener, backend) = common::bind().await;
    let (sandbox, _stop_sandbox) =
        common::start_sandbox(&format!("{backend}/webhooks/mobilepay")).await;
    let (_dir, database) = common::sqlite_file();
    let config = args(&sandbox, &database)
        .into_config()
        .expect("a valid configuration");
    let state = mobilepay_merchant::state(&listener, config)
        .await
        .expect("a backend");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(mobilepay_merchant::serve(
        listener,
        Arc::clone(&state),
        async move {
            let _ = stopped.await;
        },
    ));

    // A checkout from start to end: created through /v1 (the shop's key at work), a session
    // (the MOBILE-PAY key at work), a payment, its signed webhook (the secrets at work), the
    // paid status.
    let checkout = common::create_checkout_at(
        &backend,
        SHOP_KEY,
        &serde_json::json!({"amount": 25000, "description": "Pagne", "reference": "order-1"}),
    )
    .await;
    let session =
        common::create_session_at(&backend, checkout["id"].as_str().expect("an id")).await;
    common::pay_at(&sandbox, &session.payment_id).await;
    let http = reqwest::Client::new();
    common::eventually(std::time::Duration::from_secs(10), async || {
        let (_, status) = common::json_of(
            http.get(&session.status_url)
                .send()
                .await
                .expect("the backend answers"),
        )
        .await;
        if status["status"] == "paid" {
            Ok(())
        } else {
            Err(format!("never paid: {status}"))
        }
    })
    .await;
    drop(stop);

    let logs = captured.text();
    assert!(logs.contains("merchant backend listening"), "{logs}");
    assert_no_secret("the logs", &logs);
}
