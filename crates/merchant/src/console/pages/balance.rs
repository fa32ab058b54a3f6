//! `/console/`: the MOBILE-PAY account's balance, asked of MOBILE-PAY at each visit.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{alert, provider_failure, when};
use crate::AppState;
use crate::console::auth::Operator;
use crate::console::i18n::Lang;
use crate::console::layout;

pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(lang): Extension<Lang>,
    Extension(operator): Extension<Operator>,
) -> Response {
    let title = lang.t("Solde MOBILE-PAY", "MOBILE-PAY balance");
    let (status, body) = match state.mobilepay.balance().await {
        Ok(balance) => (
            StatusCode::OK,
            html! {
                p.balance {
                    span.amount { (lang.fcfa(balance.balance)) }
                }
                p.muted { (lang.t("Au ", "As of ")) (when(&balance.as_of)) }
            },
        ),
        Err(error) => {
            let (status, _, message) = provider_failure(&error, lang);
            (status, alert(&message))
        }
    };
    let page = layout(
        lang,
        title,
        "/console/",
        Some(&operator),
        html! {
            h1 { (title) }
            (body)
            p.actions {
                a.button href="/console/payouts" { (lang.t("Virer vers mon téléphone", "Pay out to my phone")) }
                a href="/console/history" { (lang.t("Voir l'historique", "See the history")) }
            }
        },
    );
    (status, page).into_response()
}
