//! The merchant's console (`/console/`) against a real sandbox, both in-process on
//! `127.0.0.1:0`: signing in and out, CSRF refusals, login throttling, the balance and history
//! pages, payouts — confirmed twice, moved once — checkouts and their timelines, refunds —
//! submitted twice, refunded once — redeliveries, webhook endpoints and API keys, whose secrets
//! are shown once.
//!
//! The tests play a browser: they keep the cookies the console sets and send them back, and
//! read the CSRF token from the forms of the pages, as a browser submits them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use mobilepay_client::TransactionQuery;
use mobilepay_merchant::Config;
use mobilepay_merchant::console::{CONSOLE_CSP, operators};

mod common;
use common::{KEY, TestApp, eventually_true};

const EMAIL: &str = "admin@boutique.test";
const PASSWORD: &str = "a long console password";
/// The demo account's opening balance at the sandbox.
const OPENING_BALANCE: u64 = 1_000_000;
/// How long a webhook or a delivery may take here.
const PROMPTLY: std::time::Duration = std::time::Duration::from_secs(10);

async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The console's backend: one configured `/v1` key ([`KEY`], the shop's server's, to create
/// checkouts with) and an operator to sign in as ([`EMAIL`], [`PASSWORD`]).
async fn spawn_app_with(merchant: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::build()
        .merchant(|config| {
            config.merchant_api_keys =
                mobilepay_merchant::keys::ConfiguredKeys::new(&[KEY]).expect("a valid key");
        })
        .merchant(merchant)
        .operator(EMAIL, PASSWORD)
        .spawn()
        .await
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
        self.hidden_after("", name)
    }

    /// The hidden field `name` of the first form after `marker` (a form's action, say).
    fn hidden_after(&self, marker: &str, name: &str) -> String {
        let from = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in the page:\n{}", self.body));
        let marker = format!("name=\"{name}\" value=\"");
        let start = from
            + self.body[from..]
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

    /// The form submitted with the session's cookie, its answer left unread and the browser
    /// unchanged: for two submits at once.
    fn submit(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        self.http
            .post(format!("{}{path}", self.base))
            .header(
                header::COOKIE,
                format!("mp_console_session={}", self.cookies["mp_console_session"]),
            )
            .form(form)
            .send()
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

    /// Submits the refund form of checkout `id` on `page` (its page) for `amount`, `reason`.
    async fn refund(&mut self, page: &Page, id: &str, amount: &str, reason: &str) -> Page {
        let action = format!("/console/checkouts/{id}/refunds");
        let form = page.hidden_after(&action, "form");
        self.post(
            &action,
            &[
                ("csrf", &page.csrf()),
                ("form", &form),
                ("amount", amount),
                ("reason", reason),
            ],
        )
        .await
    }

    /// Submits the payout form (its first step: the confirmation page) for `amount` to `phone`.
    async fn payout(&mut self, csrf: &str, amount: &str, phone: &str) -> Page {
        self.post(
            "/console/payouts",
            &[("csrf", csrf), ("amount", amount), ("phone", phone)],
        )
        .await
    }

    /// Adds a webhook endpoint for `events` at `url` through the webhooks page's form.
    async fn add_endpoint(&mut self, url: &str, events: &[&str]) -> Page {
        let page = self.get("/console/webhooks").await;
        let (csrf, form) = (page.csrf(), page.hidden("form"));
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("form", form.as_str()),
            ("url", url),
        ];
        fields.extend(events.iter().map(|event| ("events", *event)));
        self.post("/console/webhooks", &fields).await
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
    app.mobilepay().balance().await.expect("a balance").balance
}

/// A shop's webhook receiver on `127.0.0.1:0`: `/ok` answers 200, `/down` 500; the
/// `webhook-id` of every request to `/ok`, in order.
struct Receiver {
    url: String,
    received: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn receiver() -> Receiver {
    use axum::routing::post;
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&received);
    let router = axum::Router::new()
        .route(
            "/ok",
            post(move |headers: axum::http::HeaderMap| {
                let seen = Arc::clone(&seen);
                async move {
                    let id = headers
                        .get("webhook-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().expect("not poisoned").push(id);
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/down",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    let (listener, url) = common::bind().await;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Receiver { url, received }
}

impl Receiver {
    fn count(&self) -> usize {
        self.received.lock().expect("not poisoned").len()
    }
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
        "/console/checkouts",
        "/console/checkouts/chk_000000000000000000000000",
        "/console/webhooks",
        "/console/keys",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/console/login"), "{path}");
    }
    for path in [
        "/console/payouts",
        "/console/payouts/confirm",
        "/console/logout",
        "/console/checkouts/chk_000000000000000000000000/refunds",
        "/console/checkouts/chk_000000000000000000000000/events/evt_x/redeliver",
        "/console/webhooks",
        "/console/webhooks/we_x/delete",
        "/console/keys",
        "/console/keys/key_x/revoke",
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
    let confirm = browser.payout(&csrf, "25 000", "07 00 00 00 09").await;
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
        browser.submit("/console/payouts/confirm", &form),
        browser.submit("/console/payouts/confirm", &form),
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
        .mobilepay()
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
    let confirm = browser.payout(&csrf, "1000", "+2250799999999").await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.text().contains("+2250700000001"));
    assert!(!confirm.text().contains("+2250799999999"));
}

#[tokio::test]
async fn mobilepay_refusals_and_mistyped_forms_are_shown_in_the_operators_language() {
    let app = spawn_app().await;
    let (mut browser, page) = Browser::signed_in(&app).await;
    let csrf = page.csrf();

    let mistyped = browser.payout(&csrf, "12,5", "+221 77 000 00 00").await;
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
        let confirm = browser.payout(&csrf, "5000", "+2250700000402").await;
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

#[tokio::test]
async fn checkouts_are_listed_newest_first_and_filtered_by_status_dates_and_reference() {
    let app = spawn_app().await;
    let paid = app.paid_checkout("wa-commande-12", 15_000, None).await;
    let open = app
        .create_checkout(
            &serde_json::json!({"amount": 2_500, "description": "Attiéké", "reference": "site-99"}),
        )
        .await;
    let open = open["id"].as_str().expect("an id").to_owned();
    // Made a second older, so that the order does not hang on two ids of the same second.
    sqlx::query("UPDATE checkouts SET created_at = created_at - 1 WHERE id = $1")
        .bind(&paid)
        .execute(&app.state.checkouts.db.pool)
        .await
        .expect("aged");
    let (mut browser, _) = Browser::signed_in(&app).await;

    let all = browser.get("/console/checkouts").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let text = all.text();
    let (newer, older) = (
        text.find("site-99").expect("the open one"),
        text.find("wa-commande-12").expect("the paid one"),
    );
    assert!(newer < older, "newest first: {text}");
    assert!(text.contains("15 000 FCFA") && text.contains("Payé") && text.contains("Ouvert"));
    assert!(
        all.body
            .contains(&format!("href=\"/console/checkouts/{paid}\""))
    );

    let only_paid = browser.get("/console/checkouts?status=paid").await;
    assert!(only_paid.text().contains("wa-commande-12"));
    assert!(!only_paid.text().contains("site-99"));
    let searched = browser.get("/console/checkouts?q=COMMANDE").await;
    assert!(searched.text().contains("wa-commande-12"));
    assert!(!searched.text().contains("site-99"));
    let by_id = browser.get(&format!("/console/checkouts?q={open}")).await;
    assert!(by_id.text().contains("site-99"));
    assert!(!by_id.text().contains("wa-commande-12"));
    let literal = browser.get("/console/checkouts?q=%25").await;
    assert!(
        literal.text().contains("Aucun encaissement ne correspond."),
        "% is a character, not a wildcard"
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let dated = browser
        .get(&format!("/console/checkouts?from={today}&to={today}"))
        .await;
    assert!(dated.text().contains("wa-commande-12") && dated.text().contains("site-99"));
    let future = browser
        .get("/console/checkouts?from=2999-01-01&to=2999-01-31")
        .await;
    assert!(future.text().contains("Aucun encaissement ne correspond."));
    let reversed = browser
        .get("/console/checkouts?from=2026-12-31&to=2026-01-01")
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reversed
            .text()
            .contains("La date de début est après la date de fin.")
    );

    let unknown = browser
        .get("/console/checkouts/chk_000000000000000000000000")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("CONSOLE_CHECKOUT_NOT_FOUND"));
    let garbled = browser.get("/console/checkouts/..%2Fkeys").await;
    assert_eq!(garbled.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn checkouts_are_paged_by_cursor_without_repeating_or_skipping_one() {
    let app = spawn_app().await;
    for n in 0..23 {
        app.create_checkout(&serde_json::json!({"amount": 1_000 + n, "description": "x", "reference": format!("page-{n:02}")}))
            .await;
    }
    let (mut browser, _) = Browser::signed_in(&app).await;
    let first = browser.get("/console/checkouts?q=page-").await;
    let seen_first = (0..23)
        .filter(|n| first.text().contains(&format!("page-{n:02}")))
        .count();
    assert_eq!(seen_first, 20);
    let marker = "rel=\"next\" href=\"";
    let start = first.body.find(marker).expect("a next page") + marker.len();
    let end = first.body[start..].find('"').expect("the link ends");
    let next = first.body[start..start + end].replace("&amp;", "&");
    assert!(next.contains("q=page-"), "the filter is kept: {next}");
    let second = browser.get(&next).await;
    let seen_second: Vec<u64> = (0..23)
        .filter(|n| second.text().contains(&format!("page-{n:02}")))
        .collect();
    assert_eq!(seen_second.len(), 3, "{}", second.text());
    assert!(
        seen_second
            .iter()
            .all(|n| !first.text().contains(&format!("page-{n:02}"))),
        "no checkout twice"
    );
    assert!(!second.body.contains("rel=\"next\""));
}

#[tokio::test]
async fn a_refund_form_submitted_twice_refunds_once_and_turns_succeeded_on_transfer_completed() {
    let app = spawn_app().await;
    let id = app.paid_checkout("order-77", 10_000, None).await;
    let before = balance(&app).await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let page = browser.get(&format!("/console/checkouts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let text = page.text();
    assert!(text.contains("Encore remboursable10 000 FCFA"), "{text}");
    assert!(
        text.contains("payment.received"),
        "MOBILE-PAY's webhook: {text}"
    );
    assert!(text.contains("Payé ·"), "the checkout.paid event: {text}");
    let csrf = page.csrf();
    let action = format!("/console/checkouts/{id}/refunds");
    let token = page.hidden_after(&action, "form");
    let form = [
        ("csrf", csrf.as_str()),
        ("form", token.as_str()),
        ("amount", "4 000"),
        ("reason", "Taille trop petite"),
    ];

    let (first, second) = tokio::join!(
        browser.submit(&action, &form),
        browser.submit(&action, &form)
    );
    let mut redirected = 0;
    for answer in [first, second] {
        let answer = answer.expect("the backend answers");
        match answer.status() {
            StatusCode::SEE_OTHER => {
                redirected += 1;
                let to = answer.headers()[header::LOCATION].to_str().expect("text");
                assert!(
                    to.starts_with(&format!("/console/checkouts/{id}?refund=rf_")),
                    "{to}"
                );
            }
            // The second arrived while the first ran: told so, nothing done.
            StatusCode::CONFLICT => {
                let body = answer.text().await.expect("a page");
                assert!(body.contains("déjà en cours"), "{body}");
            }
            other => panic!("unexpected {other}: {:?}", answer.text().await),
        }
    }
    assert!(redirected >= 1);
    // A third, late submit (a reload) replays the first answer.
    let again = browser.post(&action, &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let refunds =
        mobilepay_merchant::refunds::for_checkout(&app.state, &id.parse().expect("a checkout id"))
            .await
            .expect("refunds");
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    let refund_id = refunds[0].id.clone();
    assert_eq!(refunds[0].amount, 4_000);
    assert_eq!(refunds[0].reason, "Taille trop petite");
    assert_eq!(
        again.location.as_deref(),
        Some(format!("/console/checkouts/{id}?refund={refund_id}#refunds").as_str())
    );

    eventually_true(
        PROMPTLY,
        "the refund succeeds on transfer.completed",
        async || {
            mobilepay_merchant::refunds::get(&app.state, &refund_id)
                .await
                .expect("the database answers")
                .is_some_and(|r| r.status == mobilepay_wire::merchant::RefundStatus::Succeeded)
        },
    )
    .await;
    assert_eq!(balance(&app).await, before - 4_000, "paid back once");
    let shown = browser
        .get(&format!("/console/checkouts/{id}?refund={refund_id}"))
        .await;
    let text = shown.text();
    assert!(
        text.contains("Remboursement de 4 000 FCFA envoyé vers +2250700000000 : effectué."),
        "{text}"
    );
    assert!(text.contains("Encore remboursable6 000 FCFA"), "{text}");
    assert!(text.contains("transfer.completed"), "{text}");
    assert!(
        text.contains("Remboursement effectué"),
        "the refund.succeeded event: {text}"
    );
    let transfer = mobilepay_merchant::refunds::get(&app.state, &refund_id)
        .await
        .expect("the database answers")
        .and_then(|r| r.transfer_id)
        .expect("its transfer");
    assert!(text.contains(&transfer), "its transfer is shown: {text}");
    let history = app
        .mobilepay()
        .transactions(&TransactionQuery::default())
        .await
        .expect("the history")
        .transactions;
    let moved: Vec<_> = history.iter().filter(|t| t.amount == -4_000).collect();
    assert_eq!(moved.len(), 1, "one transfer at MOBILE-PAY: {history:?}");
    assert_eq!(moved[0].transaction_id, transfer);

    // More than what remains: refused in the operator's words, nothing refunded.
    let fresh = shown.hidden_after(&action, "form");
    let over = browser
        .post(
            &action,
            &[
                ("csrf", &csrf),
                ("form", &fresh),
                ("amount", "6001"),
                ("reason", "Geste commercial"),
            ],
        )
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.body);
    assert!(
        over.text()
            .contains("Ce montant dépasse ce qui reste remboursable."),
        "{}",
        over.text()
    );
    assert!(
        over.body.contains("value=\"6001\""),
        "what was typed is kept"
    );
    assert_ne!(over.hidden_after(&action, "form"), fresh, "a fresh form");
    let mistyped = browser
        .post(
            &action,
            &[
                ("csrf", &csrf),
                ("form", &fresh),
                ("amount", "12,5"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mistyped.text().contains("Un nombre entier de FCFA"));
    assert!(mistyped.text().contains("Un motif de 1 à 255 caractères."));
    assert_eq!(
        mobilepay_merchant::refunds::for_checkout(&app.state, &id.parse().expect("a checkout id"))
            .await
            .expect("refunds")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_refund_the_balance_cannot_cover_is_refused_in_the_operators_language() {
    let app = spawn_app().await;
    let id = app.paid_checkout("order-88", 8_000, None).await;
    // The account emptied but for 1 000 FCFA, straight at MOBILE-PAY.
    let left = balance(&app).await;
    app.mobilepay()
        .local_transfer(&mobilepay_wire::api::LocalTransfer {
            recipient_phone: "+2250700000009".into(),
            amount: left - 1_000,
            description: None,
        })
        .await
        .expect("the transfer");
    let (mut browser, _) = Browser::signed_in(&app).await;
    for (lang, expected) in [
        (
            "fr",
            "Solde insuffisant : le compte MOBILE-PAY ne couvre pas ce remboursement.",
        ),
        (
            "en",
            "Insufficient funds: the MOBILE-PAY account does not cover this refund.",
        ),
    ] {
        let page = browser
            .get(&format!("/console/checkouts/{id}?lang={lang}"))
            .await;
        let refused = browser.refund(&page, &id, "5000", "Article manquant").await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        assert!(
            refused.text().contains(expected),
            "{lang}: {}",
            refused.text()
        );
        assert!(
            !refused.body.contains("INSUFFICIENT_FUNDS"),
            "no code shown"
        );
    }
    assert!(
        mobilepay_merchant::refunds::for_checkout(&app.state, &id.parse().expect("a checkout id"))
            .await
            .expect("refunds")
            .is_empty()
    );
    assert_eq!(balance(&app).await, 1_000);
}

#[tokio::test]
async fn a_refund_whose_transfer_mobilepay_refuses_is_listed_failed_with_the_reason_in_words() {
    let app = spawn_app().await;
    // The sandbox refuses any transfer to a number ending 0402 for insufficient funds.
    let id = app
        .paid_checkout("order-0402", 5_000, Some("+2250700000402"))
        .await;
    let before = balance(&app).await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let page = browser
        .get(&format!("/console/checkouts/{id}?lang=en"))
        .await;
    let sent = browser.refund(&page, &id, "5000", "Out of stock").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let shown = browser
        .get(sent.location.as_deref().expect("to the checkout"))
        .await;
    let text = shown.text();
    assert!(text.contains("Refund of 5,000 FCFA refused."), "{text}");
    assert!(
        text.contains("Insufficient funds: the MOBILE-PAY account does not cover this amount."),
        "{text}"
    );
    assert!(
        !shown.body.contains("Solde insuffisant"),
        "not MOBILE-PAY's text"
    );
    assert!(
        text.contains("Still refundable5,000 FCFA"),
        "given back: {text}"
    );
    assert_eq!(balance(&app).await, before, "nothing moved");
}

#[tokio::test]
async fn the_new_forms_refuse_a_missing_or_wrong_csrf_token_and_change_nothing() {
    let app = spawn_app().await;
    let id = app.paid_checkout("order-csrf", 5_000, None).await;
    let event_id: String = sqlx::query_scalar("SELECT id FROM events WHERE checkout_id = $1")
        .bind(&id)
        .fetch_one(&app.state.checkouts.db.pool)
        .await
        .expect("its checkout.paid event");
    let (key_id, _) = mobilepay_merchant::keys::create(&app.state.sessions.db, "caisse")
        .await
        .expect("a key");
    let (mut browser, page) = Browser::signed_in(&app).await;
    let form = browser.get(&format!("/console/checkouts/{id}")).await;
    let token = form.hidden_after("/refunds", "form");
    let (_, other) = Browser::signed_in(&app).await;
    let before = balance(&app).await;
    for (path, fields) in [
        (
            format!("/console/checkouts/{id}/refunds"),
            vec![
                ("form", token.as_str()),
                ("amount", "1000"),
                ("reason", "x"),
            ],
        ),
        (
            format!("/console/checkouts/{id}/events/{event_id}/redeliver"),
            vec![("form", token.as_str())],
        ),
        (
            "/console/webhooks".to_owned(),
            vec![
                ("form", token.as_str()),
                ("url", "https://evil.example/"),
                ("events", "*"),
            ],
        ),
        (
            "/console/keys".to_owned(),
            vec![("form", token.as_str()), ("label", "evil")],
        ),
        (format!("/console/keys/{key_id}/revoke"), vec![]),
    ] {
        for csrf in [None, Some(other.csrf()), Some("csrf_0000".to_owned())] {
            let mut fields = fields.clone();
            if let Some(csrf) = &csrf {
                fields.push(("csrf", csrf));
            }
            let refused = browser.post(&path, &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path} {csrf:?}");
            assert!(refused.body.contains("CONSOLE_CSRF_INVALID"), "{path}");
        }
    }
    // A changing form without its `form` token is refused too (it cannot be made idempotent).
    let incomplete = browser
        .post(
            &format!("/console/checkouts/{id}/refunds"),
            &[("csrf", &page.csrf()), ("amount", "1000"), ("reason", "x")],
        )
        .await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    assert!(incomplete.body.contains("CONSOLE_FORM_INVALID"));

    assert_eq!(balance(&app).await, before);
    assert!(
        mobilepay_merchant::refunds::for_checkout(&app.state, &id.parse().expect("a checkout id"))
            .await
            .expect("refunds")
            .is_empty()
    );
    let endpoints: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints")
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("a count");
    assert_eq!(endpoints, 0);
    let keys: Vec<_> = mobilepay_merchant::keys::list(&app.state.sessions.db)
        .await
        .expect("keys")
        .into_iter()
        .filter(|k| k.source == "cli")
        .collect();
    assert_eq!(keys.len(), 1, "no key created");
    assert!(keys[0].revoked_at.is_none(), "none revoked");
}

#[tokio::test]
async fn a_webhook_endpoint_added_in_the_console_shows_its_secret_once_and_its_health() {
    let app = spawn_app().await;
    let shop = receiver().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let page = browser.get("/console/webhooks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.text().contains("Aucun point de réception."));
    let ok_url = format!("{}/ok", shop.url);
    let down_url = format!("{}/down", shop.url);
    let token = page.hidden("form");
    let csrf = page.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("form", token.as_str()),
        ("url", ok_url.as_str()),
        ("events", "*"),
    ];
    let created = browser.post("/console/webhooks", &fields).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret: String = sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE url = $1")
        .bind(&ok_url)
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("the endpoint");
    assert!(secret.starts_with("whsec_"));
    assert!(
        created.body.contains(&secret),
        "shown in the answer to the form"
    );
    // Sent twice, the form adds one endpoint (the same answer again).
    let replayed = browser.post("/console/webhooks", &fields).await;
    assert_eq!(replayed.status, StatusCode::CREATED, "{}", replayed.body);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints")
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("a count");
    assert_eq!(count, 1);

    let down = browser
        .add_endpoint(&down_url, &["checkout.paid", "refund.failed"])
        .await;
    assert_eq!(down.status, StatusCode::CREATED, "{}", down.body);
    let mistyped = browser
        .add_endpoint("ftp://shop.example/hooks", &["*"])
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped
            .text()
            .contains("Une adresse http:// ou https:// complète")
    );

    app.paid_checkout("order-hooks", 3_000, None).await;
    eventually_true(PROMPTLY, "the shop receives checkout.paid", async || {
        shop.count() >= 1
    })
    .await;
    eventually_true(
        PROMPTLY,
        "the failing endpoint's attempt is recorded",
        async || {
            let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts")
                .fetch_one(&app.state.sessions.db.pool)
                .await
                .expect("a count");
            attempts >= 2
        },
    )
    .await;
    let health = browser.get("/console/webhooks").await;
    assert_eq!(health.status, StatusCode::OK);
    let body = &health.body;
    assert!(!body.contains(&secret), "no page shows a secret afterwards");
    assert!(!body.contains("whsec_"), "{body}");
    let text = health.text();
    // Each endpoint's entry: from its URL to its delete button.
    let part = |url: &str| {
        let from = text.find(url).expect("the endpoint is listed");
        let to = text[from..]
            .find("Supprimer ce point de réception")
            .expect("its button");
        text[from..from + to].to_owned()
    };
    let (ok_part, down_part) = (part(&ok_url), part(&down_url));
    assert!(ok_part.contains("Tous les événements"), "{ok_part}");
    assert!(
        !ok_part.contains("Dernière livraison réussie—"),
        "a success is recorded: {ok_part}"
    );
    assert!(down_part.contains("HTTP 500"), "{down_part}");
    assert!(down_part.contains("Livraisons en attente1"), "{down_part}");
    assert!(
        down_part.contains("Dernière livraison réussie—"),
        "{down_part}"
    );

    let endpoint_id: String = sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE url = $1")
        .bind(&down_url)
        .fetch_one(&app.state.sessions.db.pool)
        .await
        .expect("the endpoint");
    let deleted = browser
        .post(
            &format!("/console/webhooks/{endpoint_id}/delete"),
            &[("csrf", &health.csrf())],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let after = browser.get("/console/webhooks?deleted=1").await;
    assert!(after.text().contains("Point de réception supprimé."));
    assert!(!after.text().contains(&down_url));
    let canceled: String =
        sqlx::query_scalar("SELECT status FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(&endpoint_id)
            .fetch_one(&app.state.sessions.db.pool)
            .await
            .expect("its delivery");
    assert_eq!(canceled, "canceled", "deleted as /v1 deletes");
}

#[tokio::test]
async fn a_notification_is_redelivered_from_the_checkouts_page_once_per_form() {
    let app = spawn_app().await;
    let shop = receiver().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let added = browser
        .add_endpoint(&format!("{}/ok", shop.url), &["*"])
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let id = app.paid_checkout("order-again", 2_000, None).await;
    eventually_true(PROMPTLY, "the first delivery", async || shop.count() == 1).await;
    let event_id: String = sqlx::query_scalar(
        "SELECT id FROM events WHERE checkout_id = $1 AND type = 'checkout.paid'",
    )
    .bind(&id)
    .fetch_one(&app.state.checkouts.db.pool)
    .await
    .expect("the event");
    let settled = async || {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(&app.state.sessions.db.pool)
                .await
                .expect("a count");
        pending == 0
    };
    eventually_true(PROMPTLY, "the delivery's result is written", settled).await;
    let page = browser.get(&format!("/console/checkouts/{id}")).await;
    let text = page.text();
    assert!(text.contains("Livrée"), "{text}");
    assert!(text.contains("HTTP 200"), "the attempt: {text}");
    assert!(text.contains(" ms"), "its latency: {text}");

    let action = format!("/console/checkouts/{id}/events/{event_id}/redeliver");
    let (csrf, token) = (page.csrf(), page.hidden_after(&action, "form"));
    let form = [("csrf", csrf.as_str()), ("form", token.as_str())];
    let sent = browser.post(&action, &form).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location.as_deref(),
        Some(format!("/console/checkouts/{id}?redelivered={event_id}#{event_id}").as_str())
    );
    eventually_true(PROMPTLY, "the redelivery", async || shop.count() == 2).await;
    {
        let received = shop.received.lock().expect("not poisoned");
        assert_eq!(received[0], received[1], "the same webhook-id");
    }
    eventually_true(PROMPTLY, "the redelivery's result is written", settled).await;
    // The same form again: the first answer, replayed; nothing is scheduled.
    let replayed = browser.post(&action, &form).await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER);
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(&app.state.sessions.db.pool)
            .await
            .expect("a count");
    assert_eq!(pending, 0, "the replayed form scheduled nothing");
    let shown = browser
        .get(&format!("/console/checkouts/{id}?redelivered={event_id}"))
        .await;
    assert!(
        shown.text().contains("renvoyé à chaque point de réception"),
        "{}",
        shown.text()
    );
    assert_eq!(
        shown.text().matches("HTTP 200").count(),
        2,
        "both attempts listed"
    );

    // An event of another checkout cannot be redelivered from this one's page.
    let other = app.paid_checkout("order-other", 2_000, None).await;
    let stranger = browser
        .post(
            &format!("/console/checkouts/{other}/events/{event_id}/redeliver"),
            &[
                ("csrf", &page.csrf()),
                ("form", &page.hidden_after(&action, "form")),
            ],
        )
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    assert!(stranger.body.contains("CONSOLE_EVENT_NOT_FOUND"));
}

#[tokio::test]
async fn an_api_key_created_in_the_console_is_shown_once_works_and_is_revoked_there() {
    let app = spawn_app().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let page = browser.get("/console/keys").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (csrf, token) = (page.csrf(), page.hidden("form"));
    let form = [
        ("csrf", csrf.as_str()),
        ("form", token.as_str()),
        ("label", "Serveur de la boutique"),
    ];
    let created = browser.post("/console/keys", &form).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let start = created.body.find("mk_live_").expect("the key shown");
    let key: String = created.body[start..]
        .chars()
        .take_while(char::is_ascii_alphanumeric_or_underscore)
        .collect();
    assert_eq!(key.len(), "mk_live_".len() + 64, "{key}");
    // Sent twice, the form makes one key and says the key was shown already.
    let twice = browser.post("/console/keys", &form).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.text().contains("Ce formulaire a déjà créé sa clé"));
    assert!(!twice.body.contains(&key));
    let stored = mobilepay_merchant::keys::list(&app.state.sessions.db)
        .await
        .expect("keys");
    let created_keys: Vec<_> = stored.iter().filter(|k| k.source == "cli").collect();
    assert_eq!(created_keys.len(), 1);

    let used = app.get("/v1/checkouts", Some(&key)).await;
    assert_eq!(used.status(), StatusCode::OK, "the key works on /v1");
    // The configured key, once used, is listed too.
    let configured_use = app.v1_get("/v1/checkouts").await;
    assert_eq!(configured_use.status(), StatusCode::OK);
    let listed = browser.get("/console/keys").await;
    let digest = mobilepay_merchant::keys::digest(&key);
    assert!(!listed.body.contains(&key), "never shown again");
    assert!(!listed.body.contains(&digest), "no digest shown");
    assert!(!listed.body.contains(&mobilepay_merchant::keys::digest(KEY)));
    let text = listed.text();
    assert!(text.contains("Serveur de la boutique"), "{text}");
    assert!(text.contains(&key[..12]), "its first characters: {text}");
    assert!(text.contains("Configurée (MERCHANT_API_KEYS)"), "{text}");
    let row = &text[text.find("Serveur de la boutique").expect("the row")..];
    assert!(
        row.contains("Dernier usage") && !row.contains("Dernier usage—"),
        "its last use: {row}"
    );

    let id = &created_keys[0].id;
    let revoked = browser
        .post(
            &format!("/console/keys/{id}/revoke"),
            &[("csrf", &listed.csrf())],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location.as_deref(), Some("/console/keys?revoked=1"));
    let refused = app.get("/v1/checkouts", Some(&key)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let after = browser.get("/console/keys?revoked=1").await;
    assert!(after.text().contains("révoquée le"), "{}", after.text());
    let configured = mobilepay_merchant::keys::list(&app.state.sessions.db)
        .await
        .expect("keys")
        .into_iter()
        .find(|k| k.source == "config")
        .expect("the configured key, used");
    assert!(
        !after
            .body
            .contains(&format!("/console/keys/{}/revoke", configured.id)),
        "a configured key has no revoke button"
    );
    let mistyped = browser
        .post(
            "/console/keys",
            &[
                ("csrf", &after.csrf()),
                ("form", &after.hidden("form")),
                ("label", "  "),
            ],
        )
        .await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mistyped
            .text()
            .contains("Un libellé de 1 à 100 caractères.")
    );
}

trait KeyChar {
    fn is_ascii_alphanumeric_or_underscore(&self) -> bool;
}

impl KeyChar for char {
    fn is_ascii_alphanumeric_or_underscore(&self) -> bool {
        self.is_ascii_alphanumeric() || *self == '_'
    }
}

#[tokio::test]
async fn the_new_pages_read_and_change_a_postgresql_database_alike() {
    let pg = common::TestPostgres::start();
    let url = pg.url();
    let app = spawn_app_with(|config| config.database_url = url.clone().into()).await;
    let shop = receiver().await;
    let (mut browser, _) = Browser::signed_in(&app).await;
    let added = browser
        .add_endpoint(&format!("{}/ok", shop.url), &["*"])
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let id = app.paid_checkout("pg-Commande_1", 9_000, None).await;
    eventually_true(PROMPTLY, "the delivery", async || shop.count() >= 1).await;

    let listed = browser
        .get("/console/checkouts?status=paid&q=commande_&from=2000-01-01")
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.text().contains("pg-Commande_1"), "{}", listed.text());
    let none = browser.get("/console/checkouts?q=commande%25").await;
    assert!(none.text().contains("Aucun encaissement ne correspond."));

    let page = browser.get(&format!("/console/checkouts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let refunded = browser
        .refund(&page, &id, "9 000", "Commande annulée")
        .await;
    assert_eq!(refunded.status, StatusCode::SEE_OTHER, "{}", refunded.body);
    let shown = browser
        .get(refunded.location.as_deref().expect("to the checkout"))
        .await;
    assert!(
        shown.text().contains("Encore remboursable0 FCFA"),
        "{}",
        shown.text()
    );
    assert!(shown.text().contains("HTTP 200"), "{}", shown.text());

    let health = browser.get("/console/webhooks").await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert!(
        !health.text().contains("Dernière livraison réussie—"),
        "{}",
        health.text()
    );
    let keys = browser.get("/console/keys").await;
    let (csrf, token) = (keys.csrf(), keys.hidden("form"));
    let form = [
        ("csrf", csrf.as_str()),
        ("form", &token),
        ("label", "PostgreSQL"),
    ];
    let created = browser.post("/console/keys", &form).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let twice = browser.post("/console/keys", &form).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}
