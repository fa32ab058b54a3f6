//! `/console/history`: MOBILE-PAY's transaction history, newest first, filtered by dates (the
//! seed's `start_date` / `end_date`, whole days in UTC) and paged with `limit` / `offset`.
//!
//! The filter is a GET form: it changes nothing, so it carries no CSRF token (a token in a URL
//! would end up in history and logs).

use std::sync::Arc;

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use mobilepay_client::TransactionQuery;
use mobilepay_wire::api::{Transaction, TransactionKind};
use serde::Deserialize;

use super::{alert, provider_failure, when};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::layout;

const DEFAULT_LIMIT: u32 = 20;

/// The query as typed: text, so that a malformed value is shown as a mistake in the page
/// rather than refused with a bare `400`.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    offset: String,
}

/// A `YYYY-MM-DD` date, or nothing.
fn date(value: &str) -> Result<Option<time::Date>, ()> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(Some)
    .map_err(|_| ())
}

/// The query to send MOBILE-PAY, or what is wrong with the filters.
fn query(filters: &Filters, lang: Lang) -> Result<TransactionQuery, &'static str> {
    let start = date(&filters.start_date)
        .map_err(|_| lang.t("Date de début invalide.", "Invalid start date."))?;
    let end = date(&filters.end_date)
        .map_err(|_| lang.t("Date de fin invalide.", "Invalid end date."))?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(lang.t(
            "La date de début est après la date de fin.",
            "The start date is after the end date.",
        ));
    }
    let limit = match filters.limit.trim() {
        "" => DEFAULT_LIMIT,
        text => text
            .parse()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .unwrap_or(DEFAULT_LIMIT),
    };
    let offset = filters.offset.trim().parse().unwrap_or(0);
    Ok(TransactionQuery {
        limit: Some(limit),
        offset: Some(offset),
        start_date: start.map(|d| d.to_string()),
        end_date: end.map(|d| d.to_string()),
    })
}

fn kind(kind: TransactionKind, lang: Lang) -> &'static str {
    match kind {
        TransactionKind::TransferLocal => lang.t("Virement local", "Local transfer"),
        TransactionKind::TransferInternational => {
            lang.t("Virement international", "International transfer")
        }
        TransactionKind::QrPayment => lang.t("Paiement QR", "QR payment"),
        TransactionKind::Funding => lang.t("Approvisionnement", "Funding"),
    }
}

fn status(transaction: &Transaction, lang: Lang) -> &'static str {
    match transaction.status.as_str() {
        "completed" => lang.t("Effectué", "Completed"),
        "failed" => lang.t("Échoué", "Failed"),
        _ => lang.t("Autre", "Other"),
    }
}

/// A link to another page of the same filters.
fn page_link(query: &TransactionQuery, offset: u64) -> String {
    let mut url = form_urlencoded::Serializer::new(String::new());
    if let Some(start) = &query.start_date {
        url.append_pair("start_date", start);
    }
    if let Some(end) = &query.end_date {
        url.append_pair("end_date", end);
    }
    url.append_pair("limit", &query.limit.unwrap_or(DEFAULT_LIMIT).to_string());
    url.append_pair("offset", &offset.to_string());
    format!("/console/history?{}", url.finish())
}

fn filter_form(filters: &Filters, lang: Lang) -> Markup {
    html! {
        form.filters method="get" action="/console/history" {
            div {
                label for="start_date" { (lang.t("Du", "From")) }
                input id="start_date" name="start_date" type="date" value=(filters.start_date);
            }
            div {
                label for="end_date" { (lang.t("Au", "To")) }
                input id="end_date" name="end_date" type="date" value=(filters.end_date);
            }
            button type="submit" { (lang.t("Filtrer", "Filter")) }
        }
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Query(filters): Query<Filters>,
) -> Response {
    let title = lang.t("Historique des transactions", "Transaction history");
    let (code, body) = match query(&filters, lang) {
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, alert(message)),
        Ok(query) => match state.mobilepay.transactions(&query).await {
            Err(error) => {
                let (status, _, message) = provider_failure(&error, lang);
                (status, alert(&message))
            }
            Ok(page) => (StatusCode::OK, table(&page, &query, lang)),
        },
    };
    let page = layout(
        lang,
        title,
        "/console/history",
        Some(&operator),
        html! {
            h1 { (title) }
            (filter_form(&filters, lang))
            (body)
        },
    );
    (code, page).into_response()
}

fn table(
    page: &mobilepay_wire::api::TransactionPage,
    query: &TransactionQuery,
    lang: Lang,
) -> Markup {
    let first = page.offset + 1;
    let last = page.offset + page.transactions.len() as u64;
    let limit = u64::from(page.limit.max(1));
    html! {
        @if page.transactions.is_empty() {
            p { (lang.t("Aucune transaction pour ces dates.", "No transaction for these dates.")) }
        } @else {
            p.muted {
                @match lang {
                    Lang::Fr => { (first) "–" (last) " sur " (page.total) }
                    Lang::En => { (first) "–" (last) " of " (page.total) }
                }
            }
            div.scroll role="region" aria-labelledby="history-caption" tabindex="0" {
                table {
                    caption id="history-caption" { (lang.t("Transactions, les plus récentes d'abord", "Transactions, newest first")) }
                    thead {
                        tr {
                            th scope="col" { (lang.t("Date", "Date")) }
                            th scope="col" { (lang.t("Type", "Type")) }
                            th scope="col" { (lang.t("Statut", "Status")) }
                            th scope="col" class="num" { (lang.t("Montant", "Amount")) }
                            th scope="col" { (lang.t("Contrepartie", "Counterparty")) }
                            th scope="col" { (lang.t("Référence", "Reference")) }
                        }
                    }
                    tbody {
                        @for t in &page.transactions {
                            tr {
                                td.when { (when(&t.created_at)) }
                                td { (kind(t.kind, lang)) }
                                td {
                                    (status(t, lang))
                                    @if let Some(code) = &t.error_code { " (" code { (code) } ")" }
                                }
                                td.num { (lang.fcfa(t.amount)) }
                                td { (t.counterparty.as_deref().unwrap_or("—")) }
                                td { code { (t.transaction_id) } }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label=(lang.t("Pages de l'historique", "History pages")) {
            @if page.offset > 0 {
                a rel="prev" href=(page_link(query, page.offset.saturating_sub(limit))) {
                    (lang.t("← Plus récentes", "← Newer"))
                }
            }
            @if last < page.total {
                a rel="next" href=(page_link(query, last)) {
                    (lang.t("Plus anciennes →", "Older →"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Filters, Lang, page_link, query};

    fn filters(start: &str, end: &str) -> Filters {
        Filters {
            start_date: start.into(),
            end_date: end.into(),
            ..Filters::default()
        }
    }

    #[test]
    fn dates_are_whole_days_and_the_start_cannot_follow_the_end() {
        let q = query(&filters("2026-11-01", "2026-11-30"), Lang::En).expect("valid");
        assert_eq!(q.start_date.as_deref(), Some("2026-11-01"));
        assert_eq!(q.end_date.as_deref(), Some("2026-11-30"));
        assert_eq!(q.limit, Some(20));
        assert!(query(&filters("2026-12-01", "2026-11-30"), Lang::En).is_err());
        assert!(query(&filters("01/11/2026", ""), Lang::En).is_err());
        let open = query(&filters("", ""), Lang::Fr).expect("valid");
        assert_eq!((open.start_date, open.end_date), (None, None));
    }

    #[test]
    fn page_links_keep_the_filters() {
        let q = query(&filters("2026-11-01", ""), Lang::Fr).expect("valid");
        assert_eq!(
            page_link(&q, 40),
            "/console/history?start_date=2026-11-01&limit=20&offset=40"
        );
    }
}
