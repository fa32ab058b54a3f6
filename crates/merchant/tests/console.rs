//! The merchant's console (`/console/`) against a real sandbox, both in-process on
//! `127.0.0.1:0`: signing in and out, CSRF refusals, login throttling, the balance and history
//! pages, and payouts — confirmed twice, moved once.
//!
//! The tests play a browser: they keep the cookies the console sets and send them back, and
//! read the CSRF token from the forms of the pages, as a browser submits them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use mobilepay_client::webhook::Verifier;
use mobilepay_client::{ApiKey, TransactionQuery};
use mobilepay_merchant::console::{CONSOLE_CSP, operators};
use mobilepay_merchant::{AppState, Config};
use mobilepay_sandbox::DEMO_WEBHOOK_SECRET;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const EMAIL: &str = "admin@boutique.test";
const PASSWORD: &str = "a long console password";
/// The demo account's opening balance at the sandbox.
const OPENING_BALANCE: u64 = 1_000_000;

struct TestApp {
    address: String,
    state: Arc<AppState>,
    /// The sandbox as the merchant's key sees it, to check what really moved.
    mobilepay: mobilepay_client::Client,
    _stop: (oneshot::Sender<()>, oneshot::Sender<()>),
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    (listener, url)
}

async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

async fn spawn_app_with(merchant: impl FnOnce(&mut Config)) -> TestApp {
    let (merchant_listener, address) = bind().await;
    let (sandbox_listener, sandbox_url) = bind().await;
    let (stop_sandbox, sandbox_stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_sandbox::run(
        sandbox_listener,
        mobilepay_sandbox::Config {
            webhook_url: Some(format!("{address}/webhooks/mobilepay")),
            ..mobilepay_sandbox::Config::default()
        },
        async {
            let _ = sandbox_stopped.await;
        },
    ));
    let mut config = Config::new(
        &sandbox_url,
        ApiKey::new("sk_test_demo_merchant"),
        "MERCHANT123",
        Verifier::new(&[DEMO_WEBHOOK_SECRET]).expect("the demo secret is valid"),
    );
    merchant(&mut config);
    let state = mobilepay_merchant::state(&merchant_listener, config)
        .await
        .expect("a merchant state");
    operators::create(&state.console.db, EMAIL, PASSWORD)
        .await
        .expect("the operator is created");
    let (stop_merchant, merchant_stopped) = oneshot::channel::<()>();
    tokio::spawn(mobilepay_merchant::serve(
        merchant_listener,
        Arc::clone(&state),
        async {
            let _ = merchant_stopped.await;
        },
    ));
    TestApp {
        address,
        state,
        mobilepay: mobilepay_client::Client::new(
            &sandbox_url,
            ApiKey::new("sk_test_demo_merchant"),
        )
        .expect("a client"),
        _stop: (stop_merchant, stop_sandbox),
    }
}

/// What a browser keeps between requests: its cookies.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// The `Set-Cookie` headers of the last answer, whole.
    last_set_cookies: Vec<String>,
}

/// An answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    /// The CSRF token of the page's (first) form.
    fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} field in the page:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("the value ends");
        self.body[start..start + end].to_owned()
    }

    /// The page's text with its tags and non-breaking spaces made plain.
    fn text(&self) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in self.body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        text.replace(['\u{a0}', '\u{202f}'], " ")
            .replace("&#39;", "'")
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.address.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            cookies: BTreeMap::new(),
            last_set_cookies: Vec::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut request = request;
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let response = request.send().await.expect("the backend answers");
        self.last_set_cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        for set in &self.last_set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            headers: response.headers().clone(),
            body: response.text().await.expect("a body"),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Signs in through the login form; the balance page's answer.
    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/console/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signed in, on the balance page (whose forms carry the session's CSRF token).
    async fn signed_in(app: &TestApp) -> (Browser, Page) {
        let mut browser = Browser::new(app);
        let login = browser.sign_in(EMAIL, PASSWORD).await;
        assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
        assert_eq!(login.location.as_deref(), Some("/console/"));
        let page = browser.get("/console/").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (browser, page)
    }
}

async fn balance(app: &TestApp) -> u64 {
    app.mobilepay.balance().await.expect("a balance").balance
}

#[tokio::test]
async fn an_operator_signs_in_sees_the_balance_under_the_strict_csp_and_signs_out() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let before = browser.get("/console/").await;
    assert_eq!(before.status, StatusCode::SEE_OTHER);
    assert_eq!(before.location.as_deref(), Some("/console/login"));

    let login = browser.sign_in("  Admin@Boutique.test ", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let session_cookie = browser
        .last_set_cookies
        .iter()
        .find(|c| c.starts_with("mp_console_session="))
        .expect("a session cookie")
        .clone();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
        assert!(
            session_cookie.contains(attribute),
            "{attribute} in {session_cookie}"
        );
    }
    // Only the token's hash is stored.
    let token = browser.cookies["mp_console_session"].clone();
    let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM console_sessions")
        .fetch_all(&app.state.console.db.pool)
        .await
        .expect("sessions");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);

    let page = browser.get("/console/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[header::CONTENT_SECURITY_POLICY], CONSOLE_CSP);
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(page.body.starts_with("<!DOCTYPE html><html lang=\"fr\">"));
    assert!(page.text().contains("1 000 000 FCFA"), "{}", page.text());
    assert!(page.text().contains(EMAIL));
    assert!(!page.body.contains("sk_test"), "no API key in a page");
    assert!(!page.body.contains(&token), "no session token in a page");

    let english = browser.get("/console/?lang=en").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.text().contains("1,000,000 FCFA"));
    assert!(
        browser
            .get("/console/history")
            .await
            .body
            .contains("<html lang=\"en\">")
    );

    let csrf = page.csrf();
    let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    assert!(!browser.cookies.contains_key("mp_console_session"));
    // The old cookie no longer signs anyone in: its row is gone.
    browser.cookies.insert("mp_console_session".into(), token);
    let after = browser.get("/console/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location.as_deref(), Some("/console/login"));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_generic_answer() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let wrong_password = browser.sign_in(EMAIL, "not the password at all").await;
    let unknown_email = browser.sign_in("nobody@boutique.test", PASSWORD).await;
    for page in [&wrong_password, &unknown_email] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(
            page.text()
                .contains("Adresse e-mail ou mot de passe incorrect."),
            "{}",
            page.text()
        );
        assert!(!browser.cookies.contains_key("mp_console_session"));
    }
}

#[tokio::test]
async fn every_page_but_the_login_page_sends_a_stranger_to_the_login_page() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    for path in [
        "/console/",
        "/console/history",
        "/console/payouts",
        "/console/payouts/po_anything",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/console/login"), "{path}");
    }
    for path in [
        "/console/payouts",
        "/console/payouts/confirm",
        "/console/logout",
    ] {
        let page = browser
            .post(
                path,
                &[("csrf", "x"), ("amount", "1000"), ("phone", "0700000009")],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/console/login"), "{path}");
    }
    assert_eq!(browser.get("/console/login").await.status, StatusCode::OK);
    assert_eq!(
        browser.get("/console/console.css").await.status,
        StatusCode::OK
    );
    assert_eq!(balance(&app).await, OPENING_BALANCE);
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_with_the_error_page() {
    let app = spawn_app().await;
    let (mut browser, page) = Browser::signed_in(&app).await;
    let (mut other, other_page) = Browser::signed_in(&app).await;
    let mine = page.csrf();
    let theirs = other_page.csrf();
    assert_ne!(mine, theirs, "each session has its own token");

    let payout = [("amount", "1000"), ("phone", "+2250700000009")];
    for (why, token) in [
        ("no token", None),
        ("an empty token", Some("")),
        ("a wrong token", Some("csrf_0000")),
        ("another session's token", Some(theirs.as_str())),
        (
            "its own token with one character changed",
            Some(&mine[..mine.len() - 1]),
        ),
    ] {
        let mut form: Vec<(&str, &str)> = payout.to_vec();
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let refused = browser.post("/console/payouts", &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{why}");
        assert!(
            refused.headers[header::CONTENT_TYPE]
                .to_str()
                .expect("text")
                .starts_with("text/html"),
            "{why}"
        );
        assert!(refused.body.contains("CONSOLE_CSRF_INVALID"), "{why}");
        assert!(refused.text().contains("Rechargez la page"), "{why}");
    }
    let logout = browser.post("/console/logout", &[("csrf", &theirs)]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    // Still signed in; nothing was asked for.
    assert_eq!(browser.get("/console/").await.status, StatusCode::OK);
    let pending: Vec<(String,)> = sqlx::query_as("SELECT id FROM console_payouts")
        .fetch_all(&app.state.console.db.pool)
        .await
        .expect("payouts");
    assert!(pending.is_empty());

    // The login form checks its pre-session token: another browser's does not do.
    let mut stranger = Browser::new(&app);
    let login_form = stranger.get("/console/login").await;
    let mut forger = Browser::new(&app);
    let forged = forger
        .post(
            "/console/login",
            &[
                ("csrf", &login_form.csrf()),
                ("email", EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!forger.cookies.contains_key("mp_console_session"));
    // And the right token still works for the other session.
    let theirs_out = other.post("/console/logout", &[("csrf", &theirs)]).await;
    assert_eq!(theirs_out.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_attempts_are_throttled_per_account_even_with_the_right_password() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    for attempt in 0..mobilepay_merchant::console::auth::PER_ACCOUNT {
        let page = browser.sign_in(EMAIL, "wrong password, again").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let throttled = browser.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers[header::RETRY_AFTER]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(throttled.text().contains("Trop de tentatives"));
    assert!(!browser.cookies.contains_key("mp_console_session"));
}

#[tokio::test]
async fn a_payout_confirmed_twice_at_once_moves_the_money_once_and_shows_in_the_history() {
    let app = spawn_app().await;
    let (mut browser, page) = Browser::signed_in(&app).await;
    let csrf = page.csrf();
    let confirm = browser
        .post(
            "/console/payouts",
            &[
                ("csrf", &csrf),
                ("amount", "25 000"),
                ("phone", "07 00 00 00 09"),
            ],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let text = confirm.text();
    assert!(text.contains("vingt-cinq mille francs CFA"), "{text}");
    assert!(text.contains("25 000 FCFA"), "{text}");
    assert!(text.contains("+2250700000009"), "{text}");
    assert_eq!(
        balance(&app).await,
        OPENING_BALANCE,
        "nothing moves before confirming"
    );

    let payout = confirm.hidden("payout");
    let form = [("csrf", csrf.as_str()), ("payout", payout.as_str())];
    let (first, second) = tokio::join!(
        browser
            .http
            .post(format!("{}/console/payouts/confirm", browser.base))
            .header(
                header::COOKIE,
                format!(
                    "mp_console_session={}",
                    browser.cookies["mp_console_session"]
                )
            )
            .form(&form)
            .send(),
        browser
            .http
            .post(format!("{}/console/payouts/confirm", browser.base))
            .header(
                header::COOKIE,
                format!(
                    "mp_console_session={}",
                    browser.cookies["mp_console_session"]
                )
            )
            .form(&form)
            .send(),
    );
    for answer in [first, second] {
        let answer = answer.expect("the backend answers");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            answer.headers()[header::LOCATION],
            format!("/console/payouts/{payout}").as_str()
        );
    }
    // A third, late submit (a reload of the confirmation) changes nothing either.
    let again = browser.post("/console/payouts/confirm", &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(balance(&app).await, OPENING_BALANCE - 25_000);
    let transfers: Vec<_> = app
        .mobilepay
        .transactions(&TransactionQuery::default())
        .await
        .expect("the history")
        .transactions
        .into_iter()
        .filter(|t| t.amount == -25_000)
        .collect();
    assert_eq!(transfers.len(), 1, "{transfers:?}");

    let result = browser.get(&format!("/console/payouts/{payout}")).await;
    assert_eq!(result.status, StatusCode::OK);
    assert!(
        result.text().contains("Virement effectué"),
        "{}",
        result.text()
    );
    assert!(result.text().contains(&transfers[0].transaction_id));
    assert!(result.text().contains("975 000 FCFA"));
    let history = browser.get("/console/history").await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(history.text().contains(&transfers[0].transaction_id));
    assert!(
        history.text().contains("−25 000 FCFA"),
        "{}",
        history.text()
    );

    // Another operator cannot see it.
    operators::create(&app.state.console.db, "caisse@boutique.test", PASSWORD)
        .await
        .expect("a second operator");
    let mut colleague = Browser::new(&app);
    colleague.sign_in("caisse@boutique.test", PASSWORD).await;
    let hidden = colleague.get(&format!("/console/payouts/{payout}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(hidden.body.contains("CONSOLE_PAYOUT_NOT_FOUND"));
}

#[tokio::test]
async fn a_configured_payout_phone_is_the_only_destination() {
    let app = spawn_app_with(|config| config.payout_phone = Some("+2250700000001".into())).await;
    let (mut browser, page) = Browser::signed_in(&app).await;
    let csrf = page.csrf();
    let form = browser.get("/console/payouts").await;
    assert!(form.text().contains("+2250700000001"));
    assert!(!form.body.contains("name=\"phone\""));
    // A phone slipped into the form is ignored.
    let confirm = browser
        .post(
            "/console/payouts",
            &[
                ("csrf", &csrf),
                ("amount", "1000"),
                ("phone", "+2250799999999"),
            ],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.text().contains("+2250700000001"));
    assert!(!confirm.text().contains("+2250799999999"));
}

#[tokio::test]
async fn mobilepay_refusals_and_mistyped_forms_are_shown_in_the_operators_language() {
    let app = spawn_app().await;
    let (mut browser, page) = Browser::signed_in(&app).await;
    let csrf = page.csrf();

    let mistyped = browser
        .post(
            "/console/payouts",
            &[
                ("csrf", &csrf),
                ("amount", "12,5"),
                ("phone", "+221 77 000 00 00"),
            ],
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mistyped.text().contains("Un nombre entier de FCFA"));
    assert!(
        mistyped.text().contains("Un numéro de Côte d'Ivoire"),
        "{}",
        mistyped.text()
    );
    assert!(mistyped.body.contains("aria-invalid=\"true\""));

    // The sandbox's magic recipient ending 0402 is refused for insufficient funds.
    for (lang, expected) in [("fr", "Solde insuffisant"), ("en", "Insufficient funds")] {
        browser.get(&format!("/console/payouts?lang={lang}")).await;
        let confirm = browser
            .post(
                "/console/payouts",
                &[
                    ("csrf", &csrf),
                    ("amount", "5000"),
                    ("phone", "+2250700000402"),
                ],
            )
            .await;
        let payout = confirm.hidden("payout");
        let sent = browser
            .post(
                "/console/payouts/confirm",
                &[("csrf", &csrf), ("payout", &payout)],
            )
            .await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
        let result = browser.get(&format!("/console/payouts/{payout}")).await;
        assert!(
            result.text().contains(expected),
            "{lang}: {}",
            result.text()
        );
        assert!(
            !result.body.contains("INSUFFICIENT_FUNDS"),
            "no provider code shown"
        );
    }
    assert_eq!(balance(&app).await, OPENING_BALANCE);
}

#[tokio::test]
async fn the_history_filters_by_date_and_explains_a_wrong_filter() {
    let app = spawn_app().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let all = browser.get("/console/history").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(
        all.text().contains("Approvisionnement"),
        "the opening funding: {}",
        all.text()
    );
    let future = browser
        .get("/console/history?start_date=2999-01-01&end_date=2999-12-31")
        .await;
    assert_eq!(future.status, StatusCode::OK);
    assert!(future.text().contains("Aucune transaction pour ces dates."));
    let reversed = browser
        .get("/console/history?start_date=2026-12-31&end_date=2026-01-01")
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reversed
            .text()
            .contains("La date de début est après la date de fin.")
    );
    let garbled = browser.get("/console/history?start_date=yesterday").await;
    assert_eq!(garbled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbled.text().contains("Date de début invalide."));
}

#[tokio::test]
async fn the_operators_command_creates_lists_and_deletes_an_operator_who_can_sign_in_meanwhile() {
    use clap::Parser;
    let app = spawn_app().await;
    let database_url = secrecy::ExposeSecret::expose_secret(&app.state.sessions.db.url).to_owned();
    let run = |argv: &[&str], stdin: &'static str| {
        let args = operators::OperatorsArgs::try_parse_from(
            std::iter::once("operators").chain(argv.iter().copied()),
        )
        .expect("the command line parses");
        let mut out = Vec::new();
        async move {
            let result = operators::cli(args, stdin.as_bytes(), &mut out).await;
            (result, String::from_utf8(out).expect("text"))
        }
    };
    let url = ["--database-url", database_url.as_str()];
    let create = [&url[..], &["create", "Caisse@Boutique.test"]].concat();
    let (created, said) = run(&create, "a password typed in\n").await;
    created.expect("created");
    assert_eq!(said, "operator caisse@boutique.test created\n");
    let (again, _) = run(&create, "another password here\n").await;
    assert!(format!("{:#}", again.expect_err("a duplicate")).contains("already exists"));
    let (short, _) = run(
        &[&url[..], &["create", "court@boutique.test"]].concat(),
        "short\n",
    )
    .await;
    assert!(format!("{:#}", short.expect_err("too short")).contains("12"));

    let (listed, list) = run(&[&url[..], &["list"]].concat(), "").await;
    listed.expect("listed");
    let emails: Vec<&str> = list.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(emails, [EMAIL, "caisse@boutique.test"]);

    let mut browser = Browser::new(&app);
    let signed_in = browser
        .sign_in("caisse@boutique.test", "a password typed in")
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/console/").await.status, StatusCode::OK);

    let (deleted, said) = run(
        &[&url[..], &["delete", "caisse@boutique.test"]].concat(),
        "",
    )
    .await;
    deleted.expect("deleted");
    assert_eq!(said, "operator caisse@boutique.test deleted\n");
    // Its session ended with it.
    assert_eq!(browser.get("/console/").await.status, StatusCode::SEE_OTHER);
    let (missing, _) = run(
        &[&url[..], &["delete", "caisse@boutique.test"]].concat(),
        "",
    )
    .await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn a_session_past_its_expiry_signs_nobody_in() {
    let app = spawn_app().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    sqlx::query("UPDATE console_sessions SET expires_at = expires_at - $1")
        .bind(
            i64::try_from(mobilepay_merchant::console::auth::SESSION_TTL.as_secs()).expect("small"),
        )
        .execute(&app.state.console.db.pool)
        .await
        .expect("sessions aged");
    let page = browser.get("/console/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/console/login"));
    // The next login sweeps it away.
    browser.sign_in(EMAIL, PASSWORD).await;
    let left: Vec<(i64,)> = sqlx::query_as("SELECT expires_at FROM console_sessions")
        .fetch_all(&app.state.console.db.pool)
        .await
        .expect("sessions");
    assert_eq!(left.len(), 1, "only the new session is left");
}
