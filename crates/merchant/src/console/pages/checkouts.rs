//! `/console/checkouts`: the shop's checkouts, newest first, filtered by status, creation dates
//! (whole days in UTC) and a search of their reference (or id), paged with a cursor; and each
//! checkout's page — its timeline (status changes, the notifications sent for each with every
//! attempt and a redeliver button), MOBILE-PAY's webhooks about it, its refunds and the refund
//! form.
//!
//! Reading is done here (plain queries of the tables, or `/v1`'s own reads); every change goes
//! through `/v1` in-process ([`crate::console::v1`]): a refund is `POST /v1/refunds`, a
//! redelivery `POST /v1/events/{id}/redeliver`, each with an `Idempotency-Key` derived from the
//! form's token — a double submit refunds once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mobilepay_wire::Amount;
use mobilepay_wire::ids::CheckoutId;
use mobilepay_wire::merchant::{Checkout, CheckoutStatus, Refund, RefundStatus};
use mobilepay_wire::webhook::{EventKind, WebhookEvent};
use serde::Deserialize;
use serde_json::json;

use super::{alert, refusal, when, when_seconds};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::v1::{self, form_key, form_token};
use crate::console::{PageError, layout};
use crate::ids;

const PAGE_SIZE: i64 = 20;
/// Events of one checkout read for its page, at most (a checkout has a handful).
const MAX_EVENTS: usize = 500;

// ---------------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------------

pub fn status_name(status: CheckoutStatus, lang: Lang) -> &'static str {
    match status {
        CheckoutStatus::Open => lang.t("Ouvert", "Open"),
        CheckoutStatus::Paid => lang.t("Payé", "Paid"),
        CheckoutStatus::Expired => lang.t("Expiré", "Expired"),
        CheckoutStatus::Canceled => lang.t("Annulé", "Canceled"),
    }
}

fn refund_status(status: RefundStatus, lang: Lang) -> &'static str {
    match status {
        RefundStatus::Pending => lang.t("En cours", "Pending"),
        RefundStatus::Succeeded => lang.t("Effectué", "Succeeded"),
        RefundStatus::Failed => lang.t("Échoué", "Failed"),
    }
}

fn event_name(kind: &str, lang: Lang) -> &'static str {
    super::event_name(kind, lang).unwrap_or_else(|| lang.t("Autre événement", "Other event"))
}

fn delivery_status(status: &str, lang: Lang) -> &'static str {
    match status {
        "pending" => lang.t("En attente", "Pending"),
        "succeeded" => lang.t("Livrée", "Delivered"),
        "failed" => lang.t("Échec définitif", "Failed for good"),
        "canceled" => lang.t(
            "Annulée (point de réception supprimé)",
            "Canceled (endpoint deleted)",
        ),
        _ => lang.t("Inconnu", "Unknown"),
    }
}

fn session_status(status: &str, lang: Lang) -> &'static str {
    match status {
        "awaiting_payment" => lang.t("en attente du paiement", "awaiting payment"),
        "paid" => lang.t("payée", "paid"),
        "failed" => lang.t("échouée", "failed"),
        "expired" => lang.t("expirée", "expired"),
        _ => lang.t("autre", "other"),
    }
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

/// The list's query as typed: text, so that a mistake is explained in the page.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: String,
}

/// The filters, read.
#[derive(Debug, Default, PartialEq, Eq)]
struct Search {
    status: Option<CheckoutStatus>,
    /// Unix seconds: created at or after.
    from: Option<i64>,
    /// Unix seconds: created before (the day after the last one).
    until: Option<i64>,
    q: Option<String>,
    cursor: Option<(i64, String)>,
}

fn day_start(value: &str) -> Result<Option<i64>, ()> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
    .map_err(|_| ())
}

fn search(filters: &Filters, lang: Lang) -> Result<Search, &'static str> {
    let status = match filters.status.trim() {
        "" => None,
        text => {
            Some(CheckoutStatus::parse(text).ok_or(lang.t("Statut inconnu.", "Unknown status."))?)
        }
    };
    let from = day_start(&filters.from)
        .map_err(|_| lang.t("Date de début invalide.", "Invalid start date."))?;
    let to =
        day_start(&filters.to).map_err(|_| lang.t("Date de fin invalide.", "Invalid end date."))?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(lang.t(
            "La date de début est après la date de fin.",
            "The start date is after the end date.",
        ));
    }
    let q = filters.q.trim();
    if q.chars().count() > crate::checkouts::MAX_REFERENCE {
        return Err(lang.t("Recherche trop longue.", "Search too long."));
    }
    let cursor = match filters.cursor.trim() {
        "" => None,
        text => Some(
            ids::cursor_parts(text, 2)
                .map(|(at, id, _)| (at, id))
                .ok_or(lang.t("Page inconnue.", "Unknown page."))?,
        ),
    };
    Ok(Search {
        status,
        from,
        until: to.map(|t| t + 86_400),
        q: (!q.is_empty()).then(|| q.to_owned()),
        cursor,
    })
}

/// A checkout as the list shows it.
#[derive(Debug, sqlx::FromRow)]
struct Listed {
    id: String,
    status: String,
    amount: Amount,
    description: String,
    reference: String,
    created_at: i64,
    refunded: Amount,
}

/// A `LIKE` pattern that finds `text` anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

async fn find(
    state: &AppState,
    search: &Search,
) -> Result<(Vec<Listed>, Option<String>), PageError> {
    enum Bind {
        Text(String),
        Int(i64),
    }
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let mut push = |bind: Bind| {
        binds.push(bind);
        format!("${}", binds.len())
    };
    if let Some(status) = search.status {
        conditions.push(format!(
            "status = {}",
            push(Bind::Text(status.as_str().into()))
        ));
    }
    if let Some(from) = search.from {
        conditions.push(format!("created_at >= {}", push(Bind::Int(from))));
    }
    if let Some(until) = search.until {
        conditions.push(format!("created_at < {}", push(Bind::Int(until))));
    }
    if let Some(q) = &search.q {
        let like = push(Bind::Text(contains_pattern(q)));
        let id = push(Bind::Text(q.clone()));
        conditions.push(format!(
            "(LOWER(reference) LIKE {like} ESCAPE '\\' OR id = {id})"
        ));
    }
    if let Some((at, id)) = &search.cursor {
        let (a, b) = (push(Bind::Int(*at)), push(Bind::Int(*at)));
        let i = push(Bind::Text(id.clone()));
        conditions.push(format!(
            "(created_at < {a} OR (created_at = {b} AND id < {i}))"
        ));
    }
    let limit = push(Bind::Int(PAGE_SIZE + 1));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT id, status, amount, description, reference, created_at, refunded FROM checkouts \
         {where_clause} ORDER BY created_at DESC, id DESC LIMIT {limit}"
    );
    let mut select = sqlx::query_as::<_, Listed>(&sql);
    for bind in binds {
        select = match bind {
            Bind::Text(text) => select.bind(text),
            Bind::Int(int) => select.bind(int),
        };
    }
    let mut rows = select.fetch_all(&state.checkouts.db.pool).await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let next = more
        .then(|| rows.last().map(|r| format!("{}.{}", r.created_at, r.id)))
        .flatten();
    Ok((rows, next))
}

/// A link to the page after `cursor` with the same filters.
fn page_link(filters: &Filters, cursor: Option<&str>) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("status", &filters.status),
        ("from", &filters.from),
        ("to", &filters.to),
        ("q", &filters.q),
    ] {
        if !value.trim().is_empty() {
            url.append_pair(name, value.trim());
        }
    }
    if let Some(cursor) = cursor {
        url.append_pair("cursor", cursor);
    }
    let query = url.finish();
    if query.is_empty() {
        "/console/checkouts".to_owned()
    } else {
        format!("/console/checkouts?{query}")
    }
}

fn filter_form(filters: &Filters, lang: Lang) -> Markup {
    let statuses = [
        CheckoutStatus::Open,
        CheckoutStatus::Paid,
        CheckoutStatus::Expired,
        CheckoutStatus::Canceled,
    ];
    html! {
        form.filters method="get" action="/console/checkouts" {
            div {
                label for="q" { (lang.t("Référence", "Reference")) }
                input id="q" name="q" type="search" value=(filters.q) autocomplete="off";
            }
            div {
                label for="status" { (lang.t("Statut", "Status")) }
                select id="status" name="status" {
                    option value="" selected[filters.status.is_empty()] { (lang.t("Tous", "All")) }
                    @for status in statuses {
                        option value=(status.as_str()) selected[filters.status == status.as_str()] {
                            (status_name(status, lang))
                        }
                    }
                }
            }
            div.date {
                label for="from" { (lang.t("Créés du", "Created from")) }
                input id="from" name="from" type="date" value=(filters.from);
            }
            div.date {
                label for="to" { (lang.t("Au", "To")) }
                input id="to" name="to" type="date" value=(filters.to);
            }
            button type="submit" { (lang.t("Filtrer", "Filter")) }
        }
    }
}

/// `GET /console/checkouts`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Query(filters): Query<Filters>,
) -> Result<Response, PageError> {
    let title = lang.t("Encaissements", "Checkouts");
    // Statuses read as they are: what is due expires first (as `GET /v1/checkouts` does).
    state.checkouts.expire_due().await.map_err(|error| {
        tracing::error!(%error, "expiring due checkouts");
        PageError::Internal
    })?;
    let (code, body) = match search(&filters, lang) {
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, alert(message)),
        Ok(search) => {
            let (rows, next) = find(&state, &search).await?;
            (
                StatusCode::OK,
                table(&rows, &filters, next.as_deref(), lang),
            )
        }
    };
    let page = layout(
        lang,
        title,
        "/console/checkouts",
        Some(&operator),
        html! {
            h1 { (title) }
            (filter_form(&filters, lang))
            (body)
        },
    );
    Ok((code, page).into_response())
}

fn table(rows: &[Listed], filters: &Filters, next: Option<&str>, lang: Lang) -> Markup {
    html! {
        @if rows.is_empty() {
            p { (lang.t("Aucun encaissement ne correspond.", "No checkout matches.")) }
        } @else {
            h2.visually-hidden id="checkouts-list" { (lang.t("Encaissements, les plus récents d'abord", "Checkouts, newest first")) }
            ul.entries.checkouts aria-labelledby="checkouts-list" {
                @for row in rows {
                    li {
                        p.line {
                            a.reference href={ "/console/checkouts/" (row.id) } { (row.reference) }
                            span.amount { (lang.fcfa(row.amount)) }
                        }
                        p.line.muted {
                            span {
                                strong.status { (CheckoutStatus::parse(&row.status).map_or("—", |s| status_name(s, lang))) }
                                @if row.refunded > Amount::ZERO {
                                    " · " (lang.t("remboursé ", "refunded ")) (lang.fcfa(row.refunded))
                                }
                            }
                            span.when { (when(&crate::db::rfc3339(row.created_at))) }
                        }
                        p.description { (row.description) }
                    }
                }
            }
        }
        nav.pager aria-label=(lang.t("Pages des encaissements", "Checkout pages")) {
            @if !filters.cursor.trim().is_empty() {
                a href=(page_link(filters, None)) { (lang.t("← Les plus récents", "← Newest")) }
            }
            @if let Some(next) = next {
                a rel="next" href=(page_link(filters, Some(next))) { (lang.t("Plus anciens →", "Older →")) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One checkout
// ---------------------------------------------------------------------------------------------

/// An event as `GET /v1/events` answers it (the fields this page shows).
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Deserialize)]
struct Delivery {
    url: String,
    status: String,
    next_attempt_at: Option<String>,
    attempts: Vec<Attempt>,
}

#[derive(Debug, Deserialize)]
struct Attempt {
    attempted_at: String,
    status_code: Option<u16>,
    error: Option<String>,
    latency_ms: i64,
}

#[derive(Debug, Deserialize)]
struct EventPage {
    data: Vec<Event>,
    next_cursor: Option<String>,
}

/// A payment attempt (a checkout session).
#[derive(Debug, sqlx::FromRow)]
struct Attempted {
    payment_id: String,
    status: String,
    failure_code: Option<String>,
    created_at: i64,
}

/// A webhook MOBILE-PAY sent about this checkout's payments or refunds.
#[derive(Debug)]
struct Received {
    webhook_id: String,
    received_at: i64,
    event: WebhookEvent,
}

/// What the checkout's page shows.
#[derive(Debug)]
struct Timeline {
    checkout: Checkout,
    events: Vec<Event>,
    attempts: Vec<Attempted>,
    received: Vec<Received>,
}

async fn checkout(state: &Arc<AppState>, id: &str) -> Result<Checkout, PageError> {
    if id.parse::<CheckoutId>().is_err() {
        return Err(PageError::CheckoutNotFound);
    }
    let answer = v1::call(
        state,
        Method::GET,
        &format!("/v1/checkouts/{id}"),
        None,
        None,
    )
    .await?;
    match answer.status {
        StatusCode::OK => answer.json(),
        StatusCode::NOT_FOUND => Err(PageError::CheckoutNotFound),
        _ => Err(PageError::Internal),
    }
}

async fn timeline(state: &Arc<AppState>, id: &str) -> Result<Timeline, PageError> {
    let checkout = checkout(state, id).await?;
    // Its events, oldest first, each with its deliveries: `/v1/events`' own answer.
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/events?checkout_id={id}&limit=100");
        if let Some(cursor) = &cursor {
            path += &format!("&cursor={cursor}");
        }
        let answer = v1::call(state, Method::GET, &path, None, None).await?;
        if answer.status != StatusCode::OK {
            return Err(PageError::Internal);
        }
        let page: EventPage = answer.json()?;
        events.extend(page.data);
        match page.next_cursor {
            Some(next) if events.len() < MAX_EVENTS => cursor = Some(next),
            _ => break,
        }
    }
    events.reverse();
    let db = &state.checkouts.db;
    let attempts: Vec<Attempted> = sqlx::query_as(
        "SELECT payment_id, status, failure_code, created_at FROM sessions \
         WHERE checkout_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    // MOBILE-PAY's webhooks name a payment or a transfer, never a checkout: found by the ids of
    // its payment attempts and its refunds' transfers (each JSON string whole, then checked).
    let mut wanted: Vec<String> = attempts.iter().map(|a| a.payment_id.clone()).collect();
    wanted.extend(
        checkout
            .refunds
            .iter()
            .flatten()
            .filter_map(|r| r.transfer_id.clone()),
    );
    let mut received: HashMap<String, Received> = HashMap::new();
    for target in &wanted {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT webhook_id, body, received_at FROM received_webhooks WHERE body LIKE $1 \
             ORDER BY received_at LIMIT 50",
        )
        .bind(format!("%\"{target}\"%"))
        .fetch_all(&db.pool)
        .await?;
        for (webhook_id, body, received_at) in rows {
            let Ok(event) = serde_json::from_str::<WebhookEvent>(&body) else {
                continue;
            };
            let about = match &event.kind {
                EventKind::PaymentReceived(d) => &d.payment_id,
                EventKind::TransactionFailed(d) => &d.transaction_id,
                EventKind::TransferCompleted(d) => &d.transfer_id,
                EventKind::Unknown { .. } => continue,
            };
            if about == target {
                received.insert(
                    webhook_id.clone(),
                    Received {
                        webhook_id,
                        received_at,
                        event,
                    },
                );
            }
        }
    }
    let mut received: Vec<Received> = received.into_values().collect();
    received.sort_by(|a, b| (a.received_at, &a.webhook_id).cmp(&(b.received_at, &b.webhook_id)));
    Ok(Timeline {
        checkout,
        events,
        attempts,
        received,
    })
}

/// The notices a redirect back to the page asks for.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    refund: String,
    #[serde(default)]
    redelivered: String,
}

/// What was typed in the refund form, and what is wrong with it.
#[derive(Debug, Default)]
struct RefundDraft {
    amount: Option<String>,
    reason: String,
    amount_error: Option<&'static str>,
    reason_error: Option<&'static str>,
    alert: Option<String>,
}

/// `GET /console/checkouts/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let timeline = timeline(&state, &id).await?;
    let status = notice_text(&timeline, &notice, lang);
    Ok(page(lang, &operator, &timeline, &RefundDraft::default(), status).into_response())
}

fn notice_text(timeline: &Timeline, notice: &Notice, lang: Lang) -> Option<String> {
    if let Some(refund) = timeline
        .checkout
        .refunds
        .iter()
        .flatten()
        .find(|r| r.id == notice.refund)
    {
        let amount = lang.fcfa(refund.amount);
        return Some(match (lang, refund.status) {
            (Lang::Fr, RefundStatus::Failed) => format!("Remboursement de {amount} refusé."),
            (Lang::En, RefundStatus::Failed) => format!("Refund of {amount} refused."),
            (Lang::Fr, _) => format!(
                "Remboursement de {amount} envoyé vers {} : {}.",
                refund.recipient_phone,
                refund_status(refund.status, lang).to_lowercase()
            ),
            (Lang::En, _) => format!(
                "Refund of {amount} sent to {}: {}.",
                refund.recipient_phone,
                refund_status(refund.status, lang).to_lowercase()
            ),
        });
    }
    timeline
        .events
        .iter()
        .find(|e| e.id == notice.redelivered)
        .map(|event| match lang {
            Lang::Fr => format!(
                "Événement « {} » renvoyé à chaque point de réception qui le veut.",
                event_name(&event.kind, lang)
            ),
            Lang::En => format!(
                "Event “{}” sent again to every endpoint that wants it.",
                event_name(&event.kind, lang)
            ),
        })
}

fn page(
    lang: Lang,
    operator: &Operator,
    timeline: &Timeline,
    draft: &RefundDraft,
    notice: Option<String>,
) -> Markup {
    let checkout = &timeline.checkout;
    let title = match lang {
        Lang::Fr => format!("Encaissement {}", checkout.reference),
        Lang::En => format!("Checkout {}", checkout.reference),
    };
    let here = format!("/console/checkouts/{}", checkout.id);
    let amount = |a: Amount| lang.fcfa(a);
    layout(
        lang,
        &title,
        &here,
        Some(operator),
        html! {
            p.muted { a href="/console/checkouts" { (lang.t("← Tous les encaissements", "← All checkouts")) } }
            h1 { (title) }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            dl.card {
                dt { (lang.t("Statut", "Status")) }
                dd { strong { (status_name(checkout.status, lang)) } }
                dt { (lang.t("Montant", "Amount")) }
                dd { (amount(checkout.amount)) }
                dt { (lang.t("Description", "Description")) }
                dd { (checkout.description) }
                dt { (lang.t("Créé le", "Created")) }
                dd { (when(&checkout.created_at)) }
                @if checkout.status == CheckoutStatus::Open {
                    dt { (lang.t("Expire le", "Expires")) }
                    dd { (when(&checkout.expires_at)) }
                }
                dt { (lang.t("Payé par", "Paid by")) }
                dd { (checkout.payer.as_deref().unwrap_or("—")) }
                dt { (lang.t("Remboursé", "Refunded")) }
                dd { (amount(checkout.amount_refunded)) }
                dt { (lang.t("Encore remboursable", "Still refundable")) }
                dd { (amount(checkout.amount_refundable)) }
                dt { (lang.t("Identifiant", "Id")) }
                dd { code { (checkout.id) } }
            }
            (refunds_section(lang, operator, checkout, draft))
            (timeline_section(lang, operator, timeline))
            (received_section(lang, timeline))
        },
    )
}

fn refunds_section(
    lang: Lang,
    operator: &Operator,
    checkout: &Checkout,
    draft: &RefundDraft,
) -> Markup {
    let refunds = checkout.refunds.as_deref().unwrap_or_default();
    let country = checkout
        .payer
        .as_deref()
        .and_then(crate::refunds::country_of);
    let refundable = checkout.status == CheckoutStatus::Paid
        && checkout.amount_refundable > Amount::ZERO
        && country.is_some();
    let bounds = match country {
        Some("CI") => crate::refunds::LOCAL_BOUNDS,
        _ => crate::refunds::INTERNATIONAL_BOUNDS,
    };
    let amount = |a: Amount| lang.fcfa(a);
    let typed = draft
        .amount
        .clone()
        .unwrap_or_else(|| checkout.amount_refundable.to_string());
    html! {
        section aria-labelledby="refunds" {
            h2 id="refunds" { (lang.t("Remboursements", "Refunds")) }
            @if refunds.is_empty() {
                p { (lang.t("Aucun remboursement.", "No refund.")) }
            } @else {
                ul.entries {
                    @for refund in refunds {
                        li {
                            strong { (amount(refund.amount)) } " · " (refund_status(refund.status, lang))
                            " · " span.when { (when(&refund.created_at)) }
                            br;
                            span.muted { (lang.t("Motif : ", "Reason: ")) (refund.reason) }
                            br;
                            span.muted {
                                (lang.t("Vers ", "To ")) (refund.recipient_phone)
                                @if let Some(transfer) = &refund.transfer_id {
                                    " · " (lang.t("virement ", "transfer ")) code { (transfer) }
                                }
                            }
                            @if let Some(code) = &refund.failure_code {
                                br;
                                span.error { (refusal(code, lang)) }
                            }
                        }
                    }
                }
            }
            @if refundable {
                h3 id="refund-form" { (lang.t("Rembourser", "Refund")) }
                @if let Some(message) = &draft.alert { (alert(message)) }
                form.card method="post" action={ "/console/checkouts/" (checkout.id) "/refunds" } aria-labelledby="refund-form" novalidate {
                    input type="hidden" name="csrf" value=(operator.csrf);
                    input type="hidden" name="form" value=(form_token());
                    label for="amount" { (lang.t("Montant à rembourser (FCFA)", "Amount to refund (FCFA)")) }
                    input id="amount" name="amount" type="text" inputmode="numeric" autocomplete="off" required
                        value=(typed) aria-describedby="amount-help"
                        aria-invalid=[draft.amount_error.map(|_| "true")];
                    @if let Some(error) = draft.amount_error { p.error id="amount-error" { (error) } }
                    p.help id="amount-help" {
                        @match lang {
                            Lang::Fr => {
                                "Tout ce qui reste est proposé : " (amount(checkout.amount_refundable))
                                ". Un montant plus petit fait un remboursement partiel (de "
                                (amount(bounds.0)) " à " (amount(bounds.1.min(checkout.amount_refundable))) ")."
                            }
                            Lang::En => {
                                "All that remains is offered: " (amount(checkout.amount_refundable))
                                ". A smaller amount makes a partial refund (from "
                                (amount(bounds.0)) " to " (amount(bounds.1.min(checkout.amount_refundable))) ")."
                            }
                        }
                    }
                    label for="reason" { (lang.t("Motif", "Reason")) }
                    input id="reason" name="reason" type="text" maxlength="255" required value=(draft.reason)
                        aria-invalid=[draft.reason_error.map(|_| "true")];
                    @if let Some(error) = draft.reason_error { p.error id="reason-error" { (error) } }
                    p.help {
                        (lang.t("L'argent retourne au téléphone qui a payé : ", "The money goes back to the phone that paid: "))
                        (checkout.payer.as_deref().unwrap_or("—"))
                    }
                    button type="submit" { (lang.t("Rembourser", "Refund")) }
                }
            }
        }
    }
}

fn timeline_section(lang: Lang, operator: &Operator, timeline: &Timeline) -> Markup {
    let checkout = &timeline.checkout;
    html! {
        section aria-labelledby="timeline" {
            h2 id="timeline" { (lang.t("Historique", "Timeline")) }
            ol.entries {
                li {
                    strong { (lang.t("Créé", "Created")) } " · " span.when { (when(&checkout.created_at)) }
                }
                @for attempt in &timeline.attempts {
                    li {
                        strong { (lang.t("Paiement QR demandé", "QR payment requested")) }
                        " · " span.when { (when(&crate::db::rfc3339(attempt.created_at))) }
                        br;
                        span.muted {
                            code { (attempt.payment_id) } " · " (session_status(&attempt.status, lang))
                            @if let Some(code) = &attempt.failure_code { " (" code { (code) } ")" }
                        }
                    }
                }
                @for event in &timeline.events {
                    li id=(event.id) {
                        strong { (event_name(&event.kind, lang)) } " · " span.when { (when(&event.created_at)) }
                        br;
                        span.muted { code { (event.kind) } " · " code { (event.id) } }
                        (deliveries(lang, &event.deliveries))
                        form.inline method="post" action={ "/console/checkouts/" (checkout.id) "/events/" (event.id) "/redeliver" } {
                            input type="hidden" name="csrf" value=(operator.csrf);
                            input type="hidden" name="form" value=(form_token());
                            button.secondary type="submit" {
                                (lang.t("Renvoyer la notification", "Send the notification again"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn deliveries(lang: Lang, deliveries: &[Delivery]) -> Markup {
    html! {
        @if deliveries.is_empty() {
            p.muted { (lang.t("Aucune notification envoyée.", "No notification sent.")) }
        } @else {
            ul.deliveries {
                @for delivery in deliveries {
                    li {
                        span.url { (delivery.url) } " · " strong { (delivery_status(&delivery.status, lang)) }
                        @if let Some(next) = &delivery.next_attempt_at {
                            " · " (lang.t("prochain essai ", "next attempt ")) (when_seconds(next))
                        }
                        @if !delivery.attempts.is_empty() {
                            ol.attempts {
                                @for attempt in &delivery.attempts {
                                    li {
                                        (when_seconds(&attempt.attempted_at)) " · "
                                        @if let Some(code) = attempt.status_code {
                                            "HTTP " (code)
                                        } @else {
                                            (attempt.error.as_deref().unwrap_or("—"))
                                        }
                                        " · " (attempt.latency_ms) " ms"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn received_section(lang: Lang, timeline: &Timeline) -> Markup {
    html! {
        section aria-labelledby="received" {
            h2 id="received" { (lang.t("Webhooks MOBILE-PAY reçus", "MOBILE-PAY webhooks received")) }
            @if timeline.received.is_empty() {
                p { (lang.t("Aucun webhook reçu pour cet encaissement.", "No webhook received for this checkout.")) }
            } @else {
                ul.entries {
                    @for received in &timeline.received {
                        li {
                            @match &received.event.kind {
                                EventKind::PaymentReceived(d) => {
                                    strong { code { "payment.received" } } " · " (lang.fcfa(d.amount))
                                    " · " (lang.t("de ", "from ")) (d.payer)
                                }
                                EventKind::TransactionFailed(d) => {
                                    strong { code { "transaction.failed" } } " · " code { (d.error_code) }
                                }
                                EventKind::TransferCompleted(d) => {
                                    strong { code { "transfer.completed" } } " · " (lang.fcfa(d.amount))
                                    " · " code { (d.transfer_id) }
                                }
                                EventKind::Unknown { .. } => {}
                            }
                            br;
                            span.muted {
                                (lang.t("Reçu le ", "Received ")) (when_seconds(&crate::db::rfc3339(received.received_at)))
                                " · " code { (received.webhook_id) }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Refunding and redelivering
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// A whole number of FCFA as typed (`5 000`, `5000`), more than zero.
fn typed_amount(input: &str) -> Option<u64> {
    let digits: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
        .collect();
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
        .filter(|a| *a > 0)
}

/// What `/v1/refunds` refused, in the operator's words.
fn refund_refusal(code: &str, lang: Lang) -> String {
    match code {
        "REFUND_EXCEEDS_REFUNDABLE" => lang
            .t(
                "Ce montant dépasse ce qui reste remboursable.",
                "This amount is more than what remains refundable.",
            )
            .to_owned(),
        "INSUFFICIENT_FUNDS" => lang
            .t(
                "Solde insuffisant : le compte MOBILE-PAY ne couvre pas ce remboursement. Rien n'a été remboursé.",
                "Insufficient funds: the MOBILE-PAY account does not cover this refund. Nothing was refunded.",
            )
            .to_owned(),
        "INVALID_PARAMETER" => lang
            .t(
                "Montant hors des limites du virement vers ce téléphone.",
                "Amount outside the transfer's limits for this phone.",
            )
            .to_owned(),
        "CHECKOUT_NOT_PAID" => lang
            .t(
                "Seul un encaissement payé peut être remboursé.",
                "Only a paid checkout can be refunded.",
            )
            .to_owned(),
        "PAYER_NOT_REFUNDABLE" => lang
            .t(
                "Le téléphone qui a payé est inconnu ou hors de la zone UEMOA : aucun virement ne peut l'atteindre.",
                "The phone that paid is unknown or outside the UEMOA zone: no transfer can reach it.",
            )
            .to_owned(),
        "IDEMPOTENCY_KEY_IN_PROGRESS" => lang
            .t(
                "Ce remboursement est déjà en cours : il apparaîtra dans la liste dès qu'il aura abouti.",
                "This refund is already under way: it will show in the list once done.",
            )
            .to_owned(),
        "IDEMPOTENCY_KEY_REUSED" => lang
            .t(
                "Ce formulaire a déjà servi pour un autre montant : vérifiez la liste avant de recommencer.",
                "This form was already used for another amount: check the list before trying again.",
            )
            .to_owned(),
        "PAYMENT_PROVIDER_BUSY" => lang
            .t(
                "MOBILE-PAY limite le nombre de requêtes : rien n'a été remboursé, réessayez dans un instant.",
                "MOBILE-PAY is limiting requests: nothing was refunded, try again shortly.",
            )
            .to_owned(),
        "PAYMENT_PROVIDER_UNAVAILABLE" => lang
            .t(
                "MOBILE-PAY ne répond pas : rien n'a été remboursé, réessayez dans un instant.",
                "MOBILE-PAY does not answer: nothing was refunded, try again in a moment.",
            )
            .to_owned(),
        _ => lang
            .t(
                "Le remboursement a échoué ; le détail est dans le journal du serveur.",
                "The refund failed; the details are in the server's log.",
            )
            .to_owned(),
    }
}

/// `POST /console/checkouts/{id}/refunds`: `POST /v1/refunds`, then back to the checkout's page
/// (or the form again, with what went wrong).
pub async fn refund(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, PageError> {
    let key = form_key("refund", &form.form).ok_or(PageError::FormInvalid)?;
    if id.parse::<CheckoutId>().is_err() {
        return Err(PageError::CheckoutNotFound);
    }
    let amount = typed_amount(&form.amount);
    let reason = form.reason.trim();
    // As `/v1/refunds` reads it: something besides blanks (a BOM is one) and control characters.
    let meaningful = |c: char| !c.is_whitespace() && !c.is_control() && c != '\u{feff}';
    let reason_ok =
        reason.chars().any(meaningful) && reason.chars().count() <= crate::refunds::MAX_REASON;
    let mut draft = RefundDraft {
        amount: Some(form.amount.clone()),
        reason: form.reason.clone(),
        amount_error: amount.is_none().then(|| {
            lang.t(
                "Un nombre entier de FCFA, plus grand que zéro.",
                "A whole number of FCFA, more than zero.",
            )
        }),
        reason_error: (!reason_ok).then(|| {
            lang.t(
                "Un motif de 1 à 255 caractères.",
                "A reason of 1 to 255 characters.",
            )
        }),
        alert: None,
    };
    let status = match amount {
        Some(amount) if reason_ok => {
            let body = json!({"checkout_id": id, "amount": amount, "reason": reason});
            let answer =
                v1::call(&state, Method::POST, "/v1/refunds", Some(&key), Some(&body)).await?;
            if answer.status == StatusCode::CREATED {
                let refund: Refund = answer.json()?;
                return Ok(Redirect::to(&format!(
                    "/console/checkouts/{}?refund={}#refunds",
                    refund.checkout_id, refund.id
                ))
                .into_response());
            }
            let code = answer.error_code();
            if code == "CHECKOUT_NOT_FOUND" {
                return Err(PageError::CheckoutNotFound);
            }
            draft.alert = Some(refund_refusal(&code, lang));
            // A balance too low is the form's to explain, not a payment the operator owes.
            if answer.status == StatusCode::PAYMENT_REQUIRED {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                answer.status
            }
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let timeline = timeline(&state, &id).await?;
    Ok((status, page(lang, &operator, &timeline, &draft, None)).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct RedeliverForm {
    #[serde(default)]
    form: String,
}

/// `POST /console/checkouts/{id}/events/{event_id}/redeliver`: `POST
/// /v1/events/{event_id}/redeliver`, then back to the event on the checkout's page.
pub async fn redeliver(
    State(state): State<Arc<AppState>>,
    Path((id, event_id)): Path<(String, String)>,
    Form(form): Form<RedeliverForm>,
) -> Result<Response, PageError> {
    let key = form_key("redeliver", &form.form).ok_or(PageError::FormInvalid)?;
    let owner: Option<String> = sqlx::query_scalar("SELECT checkout_id FROM events WHERE id = $1")
        .bind(&event_id)
        .fetch_optional(&state.checkouts.db.pool)
        .await?;
    if owner.as_deref() != Some(id.as_str()) {
        return Err(PageError::EventNotFound);
    }
    let path = format!("/v1/events/{event_id}/redeliver");
    let answer = v1::call(&state, Method::POST, &path, Some(&key), None).await?;
    match answer.status {
        // Scheduled now, or by the same form a moment ago (in flight or replayed).
        StatusCode::ACCEPTED | StatusCode::CONFLICT => Ok(Redirect::to(&format!(
            "/console/checkouts/{id}?redelivered={event_id}#{event_id}"
        ))
        .into_response()),
        StatusCode::NOT_FOUND => Err(PageError::EventNotFound),
        // The form's token sent with another event's form: not one the console rendered so.
        StatusCode::UNPROCESSABLE_ENTITY => Err(PageError::FormInvalid),
        _ => Err(PageError::Internal),
    }
}

#[cfg(test)]
mod tests {
    use super::{Filters, Lang, contains_pattern, page_link, search, typed_amount};
    use mobilepay_wire::merchant::CheckoutStatus;

    fn filters(status: &str, from: &str, to: &str, q: &str) -> Filters {
        Filters {
            status: status.into(),
            from: from.into(),
            to: to.into(),
            q: q.into(),
            cursor: String::new(),
        }
    }

    #[test]
    fn filters_are_whole_days_a_known_status_and_a_trimmed_search() {
        let s = search(
            &filters("paid", "2026-12-01", "2026-12-01", " order-1 "),
            Lang::En,
        )
        .expect("valid");
        assert_eq!(s.status, Some(CheckoutStatus::Paid));
        assert_eq!(s.from, Some(1_796_083_200));
        assert_eq!(s.until, Some(1_796_083_200 + 86_400), "the whole last day");
        assert_eq!(s.q.as_deref(), Some("order-1"));
        assert!(search(&filters("refunded", "", "", ""), Lang::En).is_err());
        assert!(search(&filters("", "2026-12-02", "2026-12-01", ""), Lang::Fr).is_err());
        assert!(search(&filters("", "01/12/2026", "", ""), Lang::Fr).is_err());
        let mut forged = filters("", "", "", "");
        forged.cursor = "1.chk-x".into();
        assert!(search(&forged, Lang::Fr).is_err());
        assert_eq!(
            search(&filters("", "", "", "  "), Lang::Fr)
                .expect("valid")
                .q,
            None
        );
    }

    #[test]
    fn a_search_is_a_substring_whatever_it_holds() {
        assert_eq!(contains_pattern("Order-1"), "%order-1%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn page_links_keep_the_filters() {
        assert_eq!(
            page_link(&filters("paid", "", "", "wa 12"), Some("1700000000.chk_ab")),
            "/console/checkouts?status=paid&q=wa+12&cursor=1700000000.chk_ab"
        );
        assert_eq!(
            page_link(&filters("", "", "", ""), None),
            "/console/checkouts"
        );
    }

    #[test]
    fn a_refund_amount_is_a_positive_whole_number_as_typed() {
        assert_eq!(typed_amount("5 000"), Some(5_000));
        assert_eq!(typed_amount("5\u{202f}000"), Some(5_000));
        for bad in ["", "0", "12,5", "-100", "cent"] {
            assert_eq!(typed_amount(bad), None, "{bad:?}");
        }
    }
}
