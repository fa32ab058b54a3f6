//! The wallet page a sandbox QR code points at: what a shopper's phone would show. A person (or a
//! test) opens it, sees the amount and merchant, and pays with a chosen outcome. Plain HTML forms,
//! no script, so it works on any phone and under any CSP.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mobilepay_wire::api::{PayOutcome, PaymentStatus};
use serde::Deserialize;

use crate::error::Lang;

use crate::AppState;
use crate::payments::{self, DEFAULT_PAYER, Payment};
use crate::phone::Phone;

/// `GET /wallet/{payment_id}`.
pub async fn page(State(state): State<Arc<AppState>>, Path(payment_id): Path<String>) -> Response {
    match payments::find(&state, &payment_id).await {
        Ok(Some(payment)) => Html(render(&payment, None)).into_response(),
        Ok(None) => not_found(),
        Err(error) => error.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    outcome: PayOutcome,
}

/// `POST /wallet/{payment_id}/pay`, from the page's buttons.
pub async fn pay(
    State(state): State<Arc<AppState>>,
    Path(payment_id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let payer = match Phone::parse(DEFAULT_PAYER) {
        Ok(payer) => payer,
        Err(error) => return error.into_response(),
    };
    let notice = match payments::settle(&state, &payment_id, form.outcome, &payer).await {
        Ok(_) => None,
        Err(error) => Some(error.message(Lang::Fr)),
    };
    match payments::find(&state, &payment_id).await {
        Ok(Some(payment)) => Html(render(&payment, notice.as_deref())).into_response(),
        Ok(None) => not_found(),
        Err(error) => error.into_response(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(layout("<h1>Paiement introuvable</h1>".to_owned())),
    )
        .into_response()
}

fn render(payment: &Payment, notice: Option<&str>) -> String {
    let status = match payment.status() {
        PaymentStatus::Pending => "En attente de paiement",
        PaymentStatus::Received => "Payé ✔",
        PaymentStatus::Failed => "Échoué",
        PaymentStatus::Expired => "Expiré",
    };
    let actions = if payment.status() == PaymentStatus::Pending {
        format!(
            r#"<form method="post" action="/wallet/{id}/pay"><button name="outcome" value="success">Payer</button>
<button name="outcome" value="insufficient_funds" class="alt">Simuler : solde insuffisant</button>
<button name="outcome" value="declined" class="alt">Simuler : transaction refusée</button>
<button name="outcome" value="cancelled" class="alt">Simuler : paiement annulé</button></form>"#,
            id = escape(&payment.id)
        )
    } else {
        String::new()
    };
    let notice = notice
        .map(|n| format!(r#"<p class="notice">{}</p>"#, escape(n)))
        .unwrap_or_default();
    layout(format!(
        r#"<p class="tag">Bac à sable — aucun argent réel</p>
<h1>{amount}</h1>
<p>{description}</p>
<p>Marchand : {merchant}</p>
<p class="status">{status}</p>{notice}{actions}"#,
        amount = mobilepay_wire::format_amount(u64::try_from(payment.amount).unwrap_or_default()),
        description = escape(&payment.description),
        merchant = escape(&payment.merchant_id),
    ))
}

fn layout(body: String) -> String {
    format!(
        r#"<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>MOBILE-PAY — portefeuille (bac à sable)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#13261b}}
.tag{{background:#fff3c4;padding:.3rem .6rem;border-radius:.3rem;display:inline-block}}
button{{font-size:1.1rem;padding:.8rem 1.2rem;margin:.3rem 0;width:100%;border:0;border-radius:.5rem;background:#0a7c3e;color:#fff}}
button.alt{{background:#6b1d1d}}.status{{font-weight:bold}}.notice{{color:#6b1d1d}}</style></head>
<body>{body}</body></html>"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
