//! `/console/keys`: the merchant API keys (`Authorization: Bearer mk_…` on `/v1`) — label,
//! first characters, where it comes from, creation, last use, revocation — with a form to create
//! one and a button to revoke one. The same functions as `mobilepay-merchant keys …`
//! ([`crate::keys`]).
//!
//! A new key is shown once, in the answer to the form that made it: only its SHA-256 is kept,
//! and no page shows a digest. Its id is derived from the form's token, so a form sent twice
//! makes one key (the second answer says so instead of showing a key).

use std::sync::Arc;

use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{alert, when};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::v1::{form_key, form_token};
use crate::console::{PageError, layout};
use crate::keys::{self, StoredKey};
use crate::outbox::rfc3339;

const MAX_LABEL: usize = 100;

#[derive(Debug, Default)]
struct Draft {
    label: String,
    label_error: Option<&'static str>,
    alert: Option<String>,
}

fn page(
    lang: Lang,
    operator: &Operator,
    keys: &[StoredKey],
    draft: &Draft,
    created: Option<(&str, &str)>,
    notice: Option<&str>,
) -> Markup {
    let title = lang.t("Clés de l'API marchand", "Merchant API keys");
    let time = |t: Option<i64>| t.map_or_else(|| "—".to_owned(), |t| when(&rfc3339(t)));
    layout(
        lang,
        title,
        "/console/keys",
        Some(operator),
        html! {
            h1 { (title) }
            p.muted {
                (lang.t(
                    "Le serveur de la boutique appelle /v1 avec une de ces clés (Authorization: Bearer mk_…). Plusieurs à la fois : créez la nouvelle, déployez-la, révoquez l'ancienne.",
                    "The shop's server calls /v1 with one of these keys (Authorization: Bearer mk_…). Several at once: create the new one, deploy it, revoke the old one.",
                ))
            }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            @if let Some((label, key)) = created {
                section.card.secret aria-labelledby="key-title" {
                    h2 id="key-title" { (lang.t("Clé créée", "Key created")) }
                    p { (label) }
                    p {
                        (lang.t(
                            "La clé, affichée cette seule fois — seule son empreinte est gardée :",
                            "The key, shown this once — only its digest is kept:",
                        ))
                    }
                    p { code.secret-value { (key) } }
                }
            }
            section aria-labelledby="keys" {
                h2 id="keys" { (lang.t("Clés", "Keys")) }
                @if keys.is_empty() {
                    p { (lang.t("Aucune clé.", "No key.")) }
                } @else {
                    ul.entries aria-labelledby="keys" {
                        @for key in keys {
                            li {
                                p.line {
                                    strong { (if key.label.is_empty() { "—" } else { &key.label }) }
                                    code { (key.hint) }
                                }
                                @if key.source == "config" {
                                    p.muted { (lang.t("Configurée (MERCHANT_API_KEYS)", "Configured (MERCHANT_API_KEYS)")) }
                                }
                                dl.health {
                                    dt { (lang.t("Créée le", "Created")) }
                                    dd { (time(Some(key.created_at))) }
                                    dt { (lang.t("Dernier usage", "Last used")) }
                                    dd { (time(key.last_used_at)) }
                                    dt { (lang.t("État", "State")) }
                                    dd {
                                        @if let Some(revoked) = key.revoked_at {
                                            (lang.t("révoquée le ", "revoked ")) (time(Some(revoked)))
                                        } @else {
                                            (lang.t("active", "active"))
                                        }
                                    }
                                }
                                @if key.revoked_at.is_none() && key.source == "cli" {
                                    form.inline method="post" action={ "/console/keys/" (key.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(operator.csrf);
                                        button.secondary type="submit" {
                                            (lang.t("Révoquer la clé ", "Revoke the key ")) (key.hint)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="new-key" {
                h2 id="new-key" { (lang.t("Créer une clé", "Create a key")) }
                @if let Some(message) = &draft.alert { (alert(message)) }
                form.card method="post" action="/console/keys" novalidate {
                    input type="hidden" name="csrf" value=(operator.csrf);
                    input type="hidden" name="form" value=(form_token());
                    label for="label" { (lang.t("Libellé (à quoi elle sert)", "Label (what it is for)")) }
                    input id="label" name="label" type="text" required maxlength="100" value=(draft.label)
                        placeholder=(lang.t("serveur de la boutique", "shop server"))
                        aria-invalid=[draft.label_error.map(|_| "true")];
                    @if let Some(error) = draft.label_error { p.error id="label-error" { (error) } }
                    button type="submit" { (lang.t("Créer la clé", "Create the key")) }
                }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    revoked: String,
}

/// `GET /console/keys`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Query(notice): Query<Notice>,
) -> Result<Response, PageError> {
    let keys = keys::list(&state.sessions.db).await?;
    let notice = match notice.revoked.as_str() {
        "" => None,
        "1" => Some(lang.t(
            "Clé révoquée : elle est refusée dès maintenant.",
            "Key revoked: it is refused from now on.",
        )),
        _ => Some(lang.t(
            "Cette clé était déjà révoquée, ou n'est pas révocable ici.",
            "This key was already revoked, or cannot be revoked here.",
        )),
    };
    Ok(page(lang, &operator, &keys, &Draft::default(), None, notice).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    label: String,
}

/// `POST /console/keys`: a new key, shown once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    let derived = form_key("api-key", &form.form).ok_or(PageError::FormInvalid)?;
    let label = form.label.trim();
    let db = &state.sessions.db;
    if label.is_empty() || label.chars().count() > MAX_LABEL || label.chars().any(char::is_control)
    {
        let draft = Draft {
            label: form.label.clone(),
            label_error: Some(lang.t(
                "Un libellé de 1 à 100 caractères.",
                "A label of 1 to 100 characters.",
            )),
            alert: None,
        };
        let keys = keys::list(db).await?;
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page(lang, &operator, &keys, &draft, None, None),
        )
            .into_response());
    }
    // The key's id comes from the form: sent twice, the second finds it taken.
    let id = format!(
        "key_{}",
        &crate::ids::hex(&Sha256::digest(derived.as_bytes()))[..16]
    );
    let created = keys::create_with_id(db, &id, label).await?;
    let keys = keys::list(db).await?;
    match created {
        Some(key) => {
            tracing::info!(key_id = %id, "API key created in the console");
            Ok((
                StatusCode::CREATED,
                page(
                    lang,
                    &operator,
                    &keys,
                    &Draft::default(),
                    Some((label, &key)),
                    None,
                ),
            )
                .into_response())
        }
        None => {
            let draft = Draft {
                alert: Some(
                    lang.t(
                        "Ce formulaire a déjà créé sa clé, montrée une seule fois dans la première réponse. Si elle n'a pas été copiée, révoquez-la et créez-en une autre.",
                        "This form has already created its key, shown once in the first answer. If it was not copied, revoke it and create another.",
                    )
                    .to_owned(),
                ),
                ..Draft::default()
            };
            Ok((
                StatusCode::CONFLICT,
                page(lang, &operator, &keys, &draft, None, None),
            )
                .into_response())
        }
    }
}

/// `POST /console/keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let revoked = keys::revoke(&state.sessions.db, &id).await?;
    tracing::info!(key_id = %id, revoked, "API key revocation from the console");
    let to = if revoked {
        "/console/keys?revoked=1"
    } else {
        "/console/keys?revoked=0"
    };
    Ok(Redirect::to(to).into_response())
}
