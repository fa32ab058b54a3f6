//! Français : la langue par défaut. Espaces fines insécables (U+202F) avant `!`, `?`, `:`.

use super::Texts;

pub static TEXTS: Texts = Texts {
    tag: "fr",
    loading: "Préparation du paiement…",
    scan: "Scannez ce code avec l'application MOBILE-PAY pour payer.",
    scan_elsewhere: "Ou scannez ce code avec l'application MOBILE-PAY d'un autre téléphone.",
    open_app: "Payer avec MOBILE-PAY",
    payment_code: "Code de paiement\u{202f}:",
    copy: "Copier le code",
    copied: "Code copié",
    copy_failed: "Copie impossible\u{202f}: recopiez le code à la main.",
    expires_in: "Expire dans",
    awaiting: "En attente du paiement…",
    reconnecting: "Reconnexion…",
    paid: "Paiement reçu. Merci\u{202f}!",
    failed: "Le paiement a échoué",
    expired: "Ce code a expiré.",
    retry: "Réessayer",
    new_code: "Nouveau code",
    qr_label: "Code QR de paiement MOBILE-PAY de {amount}, code {code}",
    reasons: &[("INSUFFICIENT_FUNDS", "Solde insuffisant")],
    reason_other: "Le paiement n'a pas abouti.",
    errors: &[
        (
            "NETWORK_ERROR",
            "Connexion impossible. Vérifiez votre réseau et réessayez.",
        ),
        (
            "INVALID_RESPONSE",
            "Le service de paiement a répondu de façon inattendue. Réessayez.",
        ),
        ("ORDER_NOT_FOUND", "Cette commande est introuvable."),
        ("INVALID_ORDER_ID", "Cette commande est introuvable."),
        (
            "SESSION_NOT_FOUND",
            "Ce paiement est introuvable. Réessayez.",
        ),
        (
            "PAYMENT_PROVIDER_UNAVAILABLE",
            "Le service de paiement est indisponible. Réessayez dans un instant.",
        ),
        (
            "PAYMENT_PROVIDER_BUSY",
            "Le service de paiement est très sollicité. Réessayez dans un instant.",
        ),
        (
            "PAYMENT_PROVIDER_ERROR",
            "Le service de paiement a refusé la demande. Réessayez.",
        ),
    ],
    error_other: "Une erreur est survenue. Réessayez.",
};
