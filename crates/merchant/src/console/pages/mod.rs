//! One module per console page, and [`NAV`], the navigation that lists them.
//!
//! A new page is a module here, a line of [`NAV`] and its routes in [`super::router`]. Every
//! POST is CSRF-checked by [`super::guard`] without the page doing anything; its forms carry
//! `operator.csrf` in a hidden `csrf` field, and a form that changes something through `/v1`
//! also carries a fresh `form` token, from which its `Idempotency-Key` is derived
//! ([`super::v1::form_key`]).

pub mod api_keys;
pub mod balance;
pub mod checkouts;
pub mod history;
pub mod login;
pub mod payouts;
pub mod webhooks;

use maud::{Markup, html};

use super::i18n::Lang;

/// A page of the navigation: its path and its name in French and English.
#[derive(Debug)]
pub struct NavItem {
    pub path: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
}

/// The navigation, in the order shown.
pub const NAV: &[NavItem] = &[
    NavItem {
        path: "/console/",
        fr: "Solde",
        en: "Balance",
    },
    NavItem {
        path: "/console/checkouts",
        fr: "Encaissements",
        en: "Checkouts",
    },
    NavItem {
        path: "/console/history",
        fr: "Historique",
        en: "History",
    },
    NavItem {
        path: "/console/payouts",
        fr: "Virement",
        en: "Payout",
    },
    NavItem {
        path: "/console/webhooks",
        fr: "Webhooks",
        en: "Webhooks",
    },
    NavItem {
        path: "/console/keys",
        fr: "Clés API",
        en: "API keys",
    },
];

/// The navigation, with the page at `here` marked current.
pub fn nav(lang: Lang, here: &str) -> Markup {
    html! {
        nav aria-label=(lang.t("Console", "Console")) {
            ul {
                @for item in NAV {
                    li {
                        a href=(item.path) aria-current=[(item.path == here).then_some("page")] {
                            (lang.t(item.fr, item.en))
                        }
                    }
                }
            }
        }
    }
}

/// A message shown in a page (a refused payout, MOBILE-PAY unreachable), announced to screen
/// readers.
pub fn alert(message: &str) -> Markup {
    html! { p.alert role="alert" { (message) } }
}

/// An RFC 3339 time as `2026-12-01 14:05 UTC`; anything else as it came.
pub fn when(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .ok()
        })
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// An RFC 3339 time to the second, as `2026-12-01 14:05:09 UTC` (attempts, webhooks).
pub fn when_seconds(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                ))
                .ok()
        })
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// What the console calls an event type (a checkout's timeline, the webhook endpoints' form);
/// `None` for a type it does not name.
pub fn event_name(kind: &str, lang: Lang) -> Option<&'static str> {
    Some(match kind {
        "checkout.paid" => lang.t("Payé", "Paid"),
        "checkout.payment_failed" => {
            lang.t("Tentative de paiement échouée", "Payment attempt failed")
        }
        "checkout.expired" => lang.t("Expiré", "Expired"),
        "checkout.canceled" => lang.t("Annulé", "Canceled"),
        "checkout.amount_mismatch" => lang.t("Montant reçu différent", "Amount mismatch"),
        "refund.succeeded" => lang.t("Remboursement effectué", "Refund succeeded"),
        "refund.failed" => lang.t("Remboursement échoué", "Refund failed"),
        _ => return None,
    })
}

/// The operator's message for a refusal code MOBILE-PAY gave a transfer (a payout's, a
/// refund's).
pub fn refusal(code: &str, lang: Lang) -> String {
    let error = match code {
        "INSUFFICIENT_FUNDS" => mobilepay_client::Error::InsufficientFunds,
        "RECIPIENT_NOT_FOUND" => mobilepay_client::Error::RecipientNotFound,
        "TRANSACTION_DECLINED" => mobilepay_client::Error::TransactionDeclined,
        other => mobilepay_client::Error::InvalidRequest {
            error_code: other.to_owned(),
            error_message: String::new(),
        },
    };
    provider_message(&error, lang).2
}

/// What a MOBILE-PAY failure means for the operator, in their language; never the provider's
/// own text (it goes to the log). The status is the console's answer to the request.
pub fn provider_failure(
    error: &mobilepay_client::Error,
    lang: Lang,
) -> (axum::http::StatusCode, &'static str, String) {
    tracing::warn!(%error, "MOBILE-PAY call from the console failed");
    provider_message(error, lang)
}

/// [`provider_failure`] without logging it (for a refusal recorded earlier, shown again).
fn provider_message(
    error: &mobilepay_client::Error,
    lang: Lang,
) -> (axum::http::StatusCode, &'static str, String) {
    use axum::http::StatusCode;
    use mobilepay_client::Error as E;
    match error {
        E::InsufficientFunds => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "INSUFFICIENT_FUNDS",
            lang.t(
                "Solde insuffisant : le compte MOBILE-PAY ne couvre pas ce montant.",
                "Insufficient funds: the MOBILE-PAY account does not cover this amount.",
            )
            .to_owned(),
        ),
        E::RateLimited { retry_after } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "PAYMENT_PROVIDER_BUSY",
            match lang {
                Lang::Fr => format!(
                    "MOBILE-PAY limite le nombre de requêtes : réessayez dans {} s.",
                    retry_after.as_secs().max(1)
                ),
                Lang::En => format!(
                    "MOBILE-PAY is limiting requests: try again in {} s.",
                    retry_after.as_secs().max(1)
                ),
            },
        ),
        E::InvalidRequest { error_code, .. } if error_code == "INVALID_PHONE" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_PHONE",
            lang.t(
                "MOBILE-PAY refuse ce numéro de téléphone.",
                "MOBILE-PAY refuses this phone number.",
            )
            .to_owned(),
        ),
        E::RecipientNotFound => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "RECIPIENT_NOT_FOUND",
            lang.t(
                "Aucun portefeuille MOBILE-PAY à ce numéro.",
                "No MOBILE-PAY wallet has this number.",
            )
            .to_owned(),
        ),
        E::TransactionDeclined => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "TRANSACTION_DECLINED",
            lang.t(
                "MOBILE-PAY a refusé la transaction.",
                "MOBILE-PAY declined the transaction.",
            )
            .to_owned(),
        ),
        E::Transport(_) => (
            StatusCode::BAD_GATEWAY,
            "PAYMENT_PROVIDER_UNAVAILABLE",
            lang.t(
                "MOBILE-PAY ne répond pas : réessayez dans un instant.",
                "MOBILE-PAY does not answer: try again in a moment.",
            )
            .to_owned(),
        ),
        E::Unauthorized { .. } | E::InvalidRequest { .. } | E::Api { .. } | E::Decode { .. } => (
            StatusCode::BAD_GATEWAY,
            "PAYMENT_PROVIDER_ERROR",
            lang.t(
                "MOBILE-PAY a refusé la demande ; le détail est dans le journal du serveur.",
                "MOBILE-PAY refused the request; the details are in the server's log.",
            )
            .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::StatusCode;
    use mobilepay_client::Error;

    use super::{Lang, provider_failure};

    #[test]
    fn mobilepay_failures_are_the_consoles_own_words_never_the_providers() {
        let busy = Error::RateLimited {
            retry_after: Duration::from_secs(42),
        };
        let (status, code, fr) = provider_failure(&busy, Lang::Fr);
        assert_eq!(
            (status, code),
            (StatusCode::SERVICE_UNAVAILABLE, "PAYMENT_PROVIDER_BUSY")
        );
        assert_eq!(
            fr,
            "MOBILE-PAY limite le nombre de requêtes : réessayez dans 42 s."
        );
        assert_eq!(
            provider_failure(&busy, Lang::En).2,
            "MOBILE-PAY is limiting requests: try again in 42 s."
        );
        let phone = Error::InvalidRequest {
            error_code: "INVALID_PHONE".into(),
            error_message: "Numéro invalide (texte de MOBILE-PAY)".into(),
        };
        let (status, code, message) = provider_failure(&phone, Lang::En);
        assert_eq!(
            (status, code),
            (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PHONE")
        );
        assert_eq!(message, "MOBILE-PAY refuses this phone number.");
        let other = Error::Api {
            status: 500,
            error_code: "INTERNAL_ERROR".into(),
            error_message: "stack trace at line 12".into(),
        };
        let (status, _, message) = provider_failure(&other, Lang::Fr);
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(!message.contains("stack trace"));
    }
}
