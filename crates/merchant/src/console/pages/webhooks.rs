//! `/console/webhooks`: the shop's webhook endpoints and their health — last delivery that
//! succeeded, last attempt that failed (and how), deliveries failed for good, deliveries still
//! pending — with a form to add one and a button to delete one.
//!
//! Adding and deleting are `/v1/webhook-endpoints` itself, in-process
//! ([`crate::console::v1`]): the same checks, the same 16-endpoint bound; adding carries an
//! `Idempotency-Key` derived from the form's token, so a double submit adds one endpoint.
//! A new endpoint's secret is shown once, in the answer to the form that made it; no page shows
//! it afterwards. (As for any `/v1` POST with an `Idempotency-Key`, that answer is kept for its
//! replay — in `idempotency_keys`, 24 hours — beside the secret the endpoint itself keeps to sign.)

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{alert, when, when_seconds};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::v1::{self, form_key, form_token};
use crate::console::{PageError, layout};
use crate::outbox::{EVENT_TYPES, rfc3339, rfc3339_ms};

/// An endpoint with its health.
#[derive(Debug)]
struct Endpoint {
    id: String,
    url: String,
    events: Vec<String>,
    created_at: i64,
    /// Unix ms.
    last_success: Option<i64>,
    /// Unix ms, the status code or the error.
    last_failure: Option<(i64, Option<i64>, Option<String>)>,
    failed: i64,
    pending: i64,
}

async fn endpoints(state: &AppState) -> Result<Vec<Endpoint>, PageError> {
    let db = &state.sessions.db;
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT id, url, events, created_at FROM webhook_endpoints WHERE deleted_at IS NULL \
         ORDER BY created_at, id",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, url, events, created_at) in rows {
        let (failed, pending): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) \
             FROM webhook_deliveries WHERE endpoint_id = $1",
        )
        .bind(&id)
        .fetch_one(&db.pool)
        .await?;
        let last_success: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(a.attempted_at) FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE d.endpoint_id = $1 AND a.status_code >= 200 AND a.status_code < 300",
        )
        .bind(&id)
        .fetch_one(&db.pool)
        .await?;
        let last_failure: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT a.attempted_at, a.status_code, a.error FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE d.endpoint_id = $1 AND (a.status_code IS NULL OR a.status_code < 200 OR a.status_code >= 300) \
             ORDER BY a.attempted_at DESC, a.id DESC LIMIT 1",
        )
        .bind(&id)
        .fetch_optional(&db.pool)
        .await?;
        out.push(Endpoint {
            events: serde_json::from_str(&events).unwrap_or_default(),
            id,
            url,
            created_at,
            last_success,
            last_failure,
            failed,
            pending,
        });
    }
    Ok(out)
}

fn event_label(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "*" => lang.t("Tous les événements", "Every event"),
        _ => super::event_name(kind, lang).unwrap_or_else(|| lang.t("Autre", "Other")),
    }
}

/// What was typed in the form, and what is wrong with it.
#[derive(Debug, Default)]
struct Draft {
    url: String,
    events: Vec<String>,
    url_error: Option<&'static str>,
    events_error: Option<&'static str>,
    alert: Option<String>,
}

/// A new endpoint's secret, shown this once.
struct Created {
    url: String,
    secret: String,
}

fn page(
    lang: Lang,
    operator: &Operator,
    endpoints: &[Endpoint],
    draft: &Draft,
    created: Option<&Created>,
    notice: Option<&str>,
) -> Markup {
    let title = lang.t("Webhooks de la boutique", "The shop's webhooks");
    let every = draft.events.is_empty() || draft.events.iter().any(|e| e == "*");
    layout(
        lang,
        title,
        "/console/webhooks",
        Some(operator),
        html! {
            h1 { (title) }
            p.muted {
                (lang.t(
                    "Chaque changement d'un encaissement ou d'un remboursement est envoyé, signé, à chaque point de réception qui le veut.",
                    "Every change of a checkout or a refund is sent, signed, to every endpoint that wants it.",
                ))
            }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            @if let Some(created) = created {
                section.card.secret aria-labelledby="secret-title" {
                    h2 id="secret-title" { (lang.t("Point de réception ajouté", "Endpoint added")) }
                    p { span.url { (created.url) } }
                    p {
                        (lang.t(
                            "Son secret de signature, affiché cette seule fois — copiez-le dans la configuration de la boutique :",
                            "Its signing secret, shown this once — copy it into the shop's configuration:",
                        ))
                    }
                    p { code.secret-value { (created.secret) } }
                }
            }
            section aria-labelledby="endpoints" {
                h2 id="endpoints" { (lang.t("Points de réception", "Endpoints")) }
                @if endpoints.is_empty() {
                    p { (lang.t("Aucun point de réception.", "No endpoint.")) }
                } @else {
                    ul.entries {
                        @for endpoint in endpoints {
                            li {
                                strong.url { (endpoint.url) }
                                br;
                                span.muted {
                                    @for (i, kind) in endpoint.events.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        (event_label(kind, lang))
                                    }
                                    " · " (lang.t("ajouté le ", "added ")) span.when { (when(&rfc3339(endpoint.created_at))) }
                                }
                                dl.health {
                                    dt { (lang.t("Dernière livraison réussie", "Last successful delivery")) }
                                    dd { (endpoint.last_success.map_or_else(|| "—".to_owned(), |t| when_seconds(&rfc3339_ms(t)))) }
                                    dt { (lang.t("Dernier échec", "Last failure")) }
                                    dd {
                                        @match &endpoint.last_failure {
                                            None => { "—" }
                                            Some((at, code, error)) => {
                                                (when_seconds(&rfc3339_ms(*at))) " · "
                                                @if let Some(code) = code { "HTTP " (code) } @else { (error.as_deref().unwrap_or("—")) }
                                            }
                                        }
                                    }
                                    dt { (lang.t("Livraisons en échec définitif", "Deliveries failed for good")) }
                                    dd.count[endpoint.failed > 0] { (endpoint.failed) }
                                    dt { (lang.t("Livraisons en attente", "Deliveries pending")) }
                                    dd { (endpoint.pending) }
                                }
                                form.inline method="post" action={ "/console/webhooks/" (endpoint.id) "/delete" } {
                                    input type="hidden" name="csrf" value=(operator.csrf);
                                    button.secondary type="submit" {
                                        (lang.t("Supprimer ce point de réception", "Delete this endpoint"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="add-endpoint" {
                h2 id="add-endpoint" { (lang.t("Ajouter un point de réception", "Add an endpoint")) }
                @if let Some(message) = &draft.alert { (alert(message)) }
                form.card method="post" action="/console/webhooks" novalidate {
                    input type="hidden" name="csrf" value=(operator.csrf);
                    input type="hidden" name="form" value=(form_token());
                    label for="url" { (lang.t("Adresse (URL)", "Address (URL)")) }
                    input id="url" name="url" type="url" required value=(draft.url)
                        placeholder="https://boutique.example/webhooks/mobilepay"
                        aria-invalid=[draft.url_error.map(|_| "true")];
                    @if let Some(error) = draft.url_error { p.error id="url-error" { (error) } }
                    fieldset {
                        legend { (lang.t("Événements", "Events")) }
                        @if let Some(error) = draft.events_error { p.error { (error) } }
                        label.check {
                            input type="checkbox" name="events" value="*" checked[every];
                            span { (event_label("*", lang)) }
                        }
                        @for kind in EVENT_TYPES {
                            label.check {
                                input type="checkbox" name="events" value=(kind)
                                    checked[!every && draft.events.iter().any(|e| e == kind)];
                                span { (event_label(kind, lang)) " " code { (kind) } }
                            }
                        }
                    }
                    button type="submit" { (lang.t("Ajouter", "Add")) }
                }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    deleted: String,
}

/// `GET /console/webhooks`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let endpoints = endpoints(&state).await?;
    let notice = (!notice.deleted.is_empty())
        .then(|| lang.t("Point de réception supprimé.", "Endpoint deleted."));
    Ok(page(lang, &operator, &endpoints, &Draft::default(), None, notice).into_response())
}

/// `POST /console/webhooks`: `POST /v1/webhook-endpoints`; the page with the new secret, or
/// the form again with what went wrong.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    body: Bytes,
) -> Result<Response, PageError> {
    let mut token = String::new();
    let mut draft = Draft::default();
    // Read by hand: `events` is repeated, once per box ticked.
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "form" => token = value.into_owned(),
            "url" => draft.url = value.trim().to_owned(),
            "events" => draft.events.push(value.into_owned()),
            _ => {}
        }
    }
    let key = form_key("webhook-endpoint", &token).ok_or(PageError::FormInvalid)?;
    let events: Vec<String> = if draft.events.iter().any(|e| e == "*") {
        vec!["*".to_owned()]
    } else {
        draft.events.clone()
    };
    if draft.url.is_empty() {
        draft.url_error = Some(lang.t(
            "Une adresse http:// ou https:// complète.",
            "A full http:// or https:// address.",
        ));
    }
    if events.is_empty() {
        draft.events_error =
            Some(lang.t("Cochez au moins un événement.", "Tick at least one event."));
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if draft.url_error.is_none() && draft.events_error.is_none() {
        let body = json!({"url": draft.url, "events": events});
        let answer = v1::call(
            &state,
            Method::POST,
            "/v1/webhook-endpoints",
            Some(&key),
            Some(&body),
        )
        .await?;
        if answer.status == StatusCode::CREATED {
            #[derive(Deserialize)]
            struct Made {
                url: String,
                secret: String,
            }
            let made: Made = answer.json()?;
            let created = Created {
                url: made.url,
                secret: made.secret,
            };
            let endpoints = endpoints(&state).await?;
            let page = page(
                lang,
                &operator,
                &endpoints,
                &Draft::default(),
                Some(&created),
                None,
            );
            return Ok((StatusCode::CREATED, page).into_response());
        }
        match answer.error_code().as_str() {
            "INVALID_PARAMETER" => {
                draft.url_error = Some(lang.t(
                    "Une adresse http:// ou https:// complète, de 2048 caractères au plus.",
                    "A full http:// or https:// address of at most 2048 characters.",
                ));
            }
            "TOO_MANY_WEBHOOK_ENDPOINTS" => {
                draft.alert = Some(
                    lang.t(
                        "La boutique a déjà 16 points de réception : supprimez-en un d'abord.",
                        "The shop already has 16 endpoints: delete one first.",
                    )
                    .to_owned(),
                );
                status = StatusCode::CONFLICT;
            }
            "IDEMPOTENCY_KEY_IN_PROGRESS" | "IDEMPOTENCY_KEY_REUSED" => {
                draft.alert = Some(
                    lang.t(
                        "Ce formulaire a déjà été envoyé : vérifiez la liste avant de recommencer.",
                        "This form was already sent: check the list before trying again.",
                    )
                    .to_owned(),
                );
                status = StatusCode::CONFLICT;
            }
            _ => return Err(PageError::Internal),
        }
    }
    let endpoints = endpoints(&state).await?;
    Ok((
        status,
        page(lang, &operator, &endpoints, &draft, None, None),
    )
        .into_response())
}

/// `POST /console/webhooks/{id}/delete`: `DELETE /v1/webhook-endpoints/{id}` (its pending
/// deliveries canceled, its secret forgotten).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let path = format!("/v1/webhook-endpoints/{}", urlencode(&id));
    let answer = v1::call(&state, Method::DELETE, &path, None, None).await?;
    match answer.status {
        // Deleted now, or already (a second click).
        StatusCode::NO_CONTENT | StatusCode::NOT_FOUND => {
            Ok(Redirect::to("/console/webhooks?deleted=1").into_response())
        }
        _ => Err(PageError::Internal),
    }
}

fn urlencode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}
