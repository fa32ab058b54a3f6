//! `/console/payouts`: a transfer from the MOBILE-PAY account to the merchant's own phone, in
//! two steps. The first checks the amount and the phone and stores a pending payout whose id
//! is the confirmation token; the second, which shows the amount in words, sends it with an
//! `Idempotency-Key` derived from that token — so a double submit, a reload or a retry after
//! MOBILE-PAY timed out moves the money once. After it, the browser is sent to the payout's
//! own page (no form to resubmit by reloading).
//!
//! The phone is `PAYOUT_PHONE` when configured (and cannot be changed here), otherwise typed
//! in and checked as a Côte d'Ivoire number: a local transfer goes to `+225` only.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mobilepay_wire::Amount;
use mobilepay_wire::api::LocalTransfer;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{alert, provider_failure, refusal};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::words::fcfa_in_words;
use crate::console::{PageError, layout};
use crate::db::now;
use crate::ids::random_token;

/// MOBILE-PAY's limits for a local transfer, whole FCFA.
pub const MIN_PAYOUT: Amount = Amount::new(100);
pub const MAX_PAYOUT: Amount = Amount::new(2_000_000);
/// How long a confirmation can be used: well within the 24 hours MOBILE-PAY keeps an
/// `Idempotency-Key`, so a late confirmation can never move the money a second time.
/// The transfer's description at MOBILE-PAY. One text whatever the operator's language: the
/// body of a retried request must equal the first one's for its `Idempotency-Key`.
const PAYOUT_DESCRIPTION: &str = "Virement depuis la console du marchand";
const CONFIRM_WITHIN: Duration = Duration::from_secs(15 * 60);

/// A phone of Côte d'Ivoire in E.164 (`+2250700000001`), from what a person types: `+225`
/// optional, spaces, dots and dashes between groups.
pub fn parse_ci_phone(input: &str) -> Option<String> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}' | '\u{202f}'))
        .collect();
    let national = compact
        .strip_prefix("+225")
        .or_else(|| compact.strip_prefix("00225"))
        .unwrap_or(&compact);
    (national.len() == 10 && national.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+225{national}"))
}

/// A whole number of FCFA within the limits, from what a person types (`25 000`, `25000`).
pub fn parse_amount(input: &str) -> Option<Amount> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .map(Amount::new)
        .filter(|a| (MIN_PAYOUT..=MAX_PAYOUT).contains(a))
}

/// The `Idempotency-Key` of a payout: derived, so the confirmation token itself never leaves
/// this backend.
pub fn idempotency_key(payout_id: &str) -> String {
    let digest = Sha256::digest(format!("console-payout:{payout_id}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("console-payout-{}", &hex[..40])
}

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    phone: String,
}

/// What was typed, and what is wrong with it.
#[derive(Debug, Default)]
struct Draft<'a> {
    amount: &'a str,
    phone: &'a str,
    amount_error: Option<&'static str>,
    phone_error: Option<&'static str>,
    alert: Option<String>,
}

fn form_page(lang: Lang, operator: &Operator, payout_phone: Option<&str>, draft: &Draft) -> Markup {
    let title = lang.t("Virement vers mon téléphone", "Pay out to my phone");
    layout(
        lang,
        title,
        "/console/payouts",
        Some(operator),
        html! {
            h1 { (title) }
            @if let Some(message) = &draft.alert { (alert(message)) }
            form.card method="post" action="/console/payouts" novalidate {
                input type="hidden" name="csrf" value=(operator.csrf);
                label for="amount" { (lang.t("Montant (FCFA)", "Amount (FCFA)")) }
                input id="amount" name="amount" type="text" inputmode="numeric" autocomplete="off" required
                    value=(draft.amount) aria-describedby="amount-help"
                    aria-invalid=[draft.amount_error.map(|_| "true")];
                @if let Some(error) = draft.amount_error { p.error id="amount-error" { (error) } }
                p.help id="amount-help" {
                    (lang.t("De 100 à 2 000 000 FCFA.", "From 100 to 2,000,000 FCFA."))
                }
                @if let Some(phone) = payout_phone {
                    p { (lang.t("Vers le téléphone du marchand : ", "To the merchant's phone: ")) strong { (phone) } }
                } @else {
                    label for="phone" { (lang.t("Téléphone du marchand (+225)", "Merchant's phone (+225)")) }
                    input id="phone" name="phone" type="tel" autocomplete="tel" required
                        value=(draft.phone) placeholder="+225 07 00 00 00 01"
                        aria-invalid=[draft.phone_error.map(|_| "true")];
                    @if let Some(error) = draft.phone_error { p.error id="phone-error" { (error) } }
                }
                button type="submit" { (lang.t("Continuer", "Continue")) }
            }
        },
    )
}

/// `GET /console/payouts`: the first step.
pub async fn form(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
) -> Markup {
    form_page(
        lang,
        &operator,
        state.config.payout_phone.as_deref(),
        &Draft::default(),
    )
}

/// `POST /console/payouts`: checked, stored as pending, and shown for confirmation.
pub async fn ask(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Form(ask): Form<AskForm>,
) -> Result<Response, PageError> {
    let configured = state.config.payout_phone.as_deref();
    let amount = parse_amount(&ask.amount);
    let phone = match configured {
        Some(phone) => Some(phone.to_owned()),
        None => parse_ci_phone(&ask.phone),
    };
    let (Some(amount), Some(phone)) = (amount, phone.clone()) else {
        let draft = Draft {
            amount: &ask.amount,
            phone: &ask.phone,
            amount_error: amount.is_none().then(|| {
                lang.t(
                    "Un nombre entier de FCFA, de 100 à 2 000 000.",
                    "A whole number of FCFA, from 100 to 2,000,000.",
                )
            }),
            phone_error: phone.is_none().then(|| {
                lang.t(
                    "Un numéro de Côte d'Ivoire : +225 et 10 chiffres.",
                    "A Côte d'Ivoire number: +225 and 10 digits.",
                )
            }),
            alert: None,
        };
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(lang, &operator, configured, &draft),
        )
            .into_response());
    };
    let id = random_token("po_", 24);
    let at = now();
    sqlx::query(
        "INSERT INTO console_payouts (id, operator_id, phone, amount, status, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
    )
    .bind(&id)
    .bind(&operator.id)
    .bind(&phone)
    .bind(amount)
    .bind(at)
    .bind(at + i64::try_from(CONFIRM_WITHIN.as_secs()).unwrap_or(i64::MAX))
    .execute(&state.console.db.pool)
    .await?;
    Ok(confirm_page(lang, &operator, &id, amount, &phone, None).into_response())
}

fn confirm_page(
    lang: Lang,
    operator: &Operator,
    payout_id: &str,
    amount: Amount,
    phone: &str,
    error: Option<&str>,
) -> Markup {
    let title = lang.t("Confirmer le virement", "Confirm the payout");
    html! {
        (layout(lang, title, "/console/payouts", Some(operator), html! {
            h1 { (title) }
            @if let Some(error) = error { (alert(error)) }
            dl.card {
                dt { (lang.t("Montant", "Amount")) }
                dd { strong { (lang.fcfa(amount)) } }
                dt { (lang.t("En lettres", "In words")) }
                dd.words { (fcfa_in_words(amount.get(), lang)) }
                dt { (lang.t("Vers", "To")) }
                dd { (phone) }
            }
            form method="post" action="/console/payouts/confirm" {
                input type="hidden" name="csrf" value=(operator.csrf);
                input type="hidden" name="payout" value=(payout_id);
                button type="submit" { (lang.t("Confirmer le virement", "Confirm the payout")) }
            }
            p { a href="/console/payouts" { (lang.t("Annuler", "Cancel")) } }
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    payout: String,
}

/// A stored payout of this operator.
#[derive(Debug, sqlx::FromRow)]
struct Payout {
    phone: String,
    amount: Amount,
    status: String,
    transfer_id: Option<String>,
    balance_after: Option<Amount>,
    error_code: Option<String>,
    expires_at: i64,
}

async fn load(state: &AppState, operator: &Operator, id: &str) -> Result<Payout, PageError> {
    sqlx::query_as(
        "SELECT phone, amount, status, transfer_id, balance_after, error_code, expires_at \
         FROM console_payouts WHERE id = $1 AND operator_id = $2",
    )
    .bind(id)
    .bind(&operator.id)
    .fetch_optional(&state.console.db.pool)
    .await?
    .ok_or(PageError::PayoutNotFound)
}

/// `POST /console/payouts/confirm`: sends the transfer (once, whatever the number of submits).
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let payout = load(&state, &operator, &form.payout).await?;
    let done = Redirect::to(&format!("/console/payouts/{}", form.payout)).into_response();
    if payout.status != "pending" {
        return Ok(done);
    }
    if payout.expires_at <= now() {
        return Err(PageError::PayoutExpired);
    }
    let amount = payout.amount;
    let request = LocalTransfer {
        recipient_phone: payout.phone.clone(),
        amount: amount.get(),
        description: Some(PAYOUT_DESCRIPTION.to_owned()),
    };
    let key = idempotency_key(&form.payout);
    match state
        .mobilepay
        .local_transfer_with_key(&request, &key)
        .await
    {
        Ok(transfer) => {
            sqlx::query(
                "UPDATE console_payouts SET status = 'sent', transfer_id = $1, balance_after = $2 \
                 WHERE id = $3",
            )
            .bind(&transfer.transfer_id)
            .bind(Amount::new(transfer.balance_after))
            .bind(&form.payout)
            .execute(&state.console.db.pool)
            .await?;
            tracing::info!(transfer_id = %transfer.transfer_id, %amount, "console payout sent");
            Ok(done)
        }
        // Nothing moved and MOBILE-PAY may not have recorded the key: the same confirmation can
        // be tried again, safely.
        Err(
            error @ (mobilepay_client::Error::RateLimited { .. }
            | mobilepay_client::Error::Transport(_)),
        ) => {
            let (status, _, message) = provider_failure(&error, lang);
            let page = confirm_page(
                lang,
                &operator,
                &form.payout,
                amount,
                &payout.phone,
                Some(&message),
            );
            Ok((status, page).into_response())
        }
        // A refusal is final for this key (MOBILE-PAY answers it again to a retry): recorded,
        // and a new payout has to be started.
        Err(error) => {
            let (_, code, _) = provider_failure(&error, lang);
            sqlx::query(
                "UPDATE console_payouts SET status = 'failed', error_code = $1 WHERE id = $2 AND status = 'pending'",
            )
            .bind(code)
            .bind(&form.payout)
            .execute(&state.console.db.pool)
            .await?;
            Ok(done)
        }
    }
}

/// `GET /console/payouts/{id}`: what became of a payout.
pub async fn result(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Path(payout_id): Path<String>,
) -> Result<Response, PageError> {
    let payout = load(&state, &operator, &payout_id).await?;
    let here = format!("/console/payouts/{payout_id}");
    let (title, body) = match (payout.status.as_str(), &payout.transfer_id) {
        ("sent", Some(transfer_id)) => (
            lang.t("Virement effectué", "Payout sent"),
            html! {
                p role="status" {
                    (lang.fcfa(payout.amount)) " " (lang.t("envoyés vers", "sent to")) " " (payout.phone) "."
                }
                dl.card {
                    dt { (lang.t("Référence MOBILE-PAY", "MOBILE-PAY reference")) }
                    dd { code { (transfer_id) } }
                    @if let Some(balance) = payout.balance_after {
                        dt { (lang.t("Nouveau solde", "New balance")) }
                        dd { (lang.fcfa(balance)) }
                    }
                }
            },
        ),
        ("failed", _) => (
            lang.t("Virement refusé", "Payout refused"),
            alert(&refusal(payout.error_code.as_deref().unwrap_or(""), lang)),
        ),
        _ => (
            lang.t("Virement à confirmer", "Payout to confirm"),
            html! { p { (lang.t("Ce virement n'a pas encore été confirmé.", "This payout has not been confirmed yet.")) } },
        ),
    };
    let page = layout(
        lang,
        title,
        &here,
        Some(&operator),
        html! {
            h1 { (title) }
            (body)
            p.actions {
                a.button href="/console/payouts" { (lang.t("Nouveau virement", "New payout")) }
                a href="/console/history" { (lang.t("Voir l'historique", "See the history")) }
            }
        },
    );
    Ok(page.into_response())
}

#[cfg(test)]
mod tests {
    use super::{Amount, idempotency_key, parse_amount, parse_ci_phone};

    #[test]
    fn phones_of_cote_d_ivoire_are_read_as_people_type_them() {
        for typed in [
            "+225 07 00 00 00 01",
            "0700000001",
            "+225.07.00.00.00.01",
            "00225 0700000001",
        ] {
            assert_eq!(
                parse_ci_phone(typed).as_deref(),
                Some("+2250700000001"),
                "{typed:?}"
            );
        }
        for bad in [
            "",
            "+221 77 000 00 00",
            "070000000",
            "+225 07 00 00 00 0x",
            "+2250700000001 1",
        ] {
            assert_eq!(parse_ci_phone(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn amounts_are_whole_fcfa_within_the_local_transfer_limits() {
        assert_eq!(parse_amount("25 000"), Some(Amount::new(25_000)));
        assert_eq!(parse_amount("100"), Some(Amount::new(100)));
        assert_eq!(parse_amount("2000000"), Some(Amount::new(2_000_000)));
        for bad in ["", "99", "2000001", "25,5", "-100", "1e3", "cent"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_payout_always_has_the_same_key_and_two_payouts_never_share_one() {
        assert_eq!(idempotency_key("po_a"), idempotency_key("po_a"));
        assert_ne!(idempotency_key("po_a"), idempotency_key("po_b"));
        assert!(!idempotency_key("po_a").contains("po_a"));
    }
}
