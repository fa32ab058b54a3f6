//! Every text the shopper reads, per language. French is the default: the widget's shoppers are
//! in Côte d'Ivoire. Adding a language is one more `Texts` value and one more `Locale` arm.

/// The language of the widget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    /// From the `locale` attribute; otherwise from the browser's language; French when neither
    /// is a language we have. An unknown value never breaks the widget.
    pub fn choose(attribute: Option<&str>) -> Locale {
        let browser = || web_sys::window().and_then(|w| w.navigator().language());
        attribute
            .and_then(Locale::parse)
            .or_else(|| browser().as_deref().and_then(Locale::parse))
            .unwrap_or_default()
    }

    /// `fr`, `fr-CI`, `en-GB`… by their language part.
    pub fn parse(tag: &str) -> Option<Locale> {
        let language = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match language.as_str() {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }
}

/// The texts of one language.
#[derive(Debug)]
pub struct Texts {
    pub loading: &'static str,
    pub scan: &'static str,
    pub awaiting: &'static str,
    pub paid: &'static str,
    pub failed: &'static str,
    pub expired: &'static str,
    pub retry: &'static str,
    pub new_code: &'static str,
    qr_label: &'static str,
    reasons: &'static [(&'static str, &'static str)],
    reason_other: &'static str,
    errors: &'static [(&'static str, &'static str)],
    error_other: &'static str,
}

impl Texts {
    /// Why a payment failed, from MOBILE-PAY's `error_code`.
    pub fn failure_reason(&self, code: Option<&str>) -> &'static str {
        lookup(self.reasons, code).unwrap_or(self.reason_other)
    }

    /// What went wrong before a payment could be shown, from an error code.
    pub fn error(&self, code: &str) -> &'static str {
        lookup(self.errors, Some(code)).unwrap_or(self.error_other)
    }

    /// The QR code's text alternative.
    pub fn qr_label(&self, amount: &str) -> String {
        self.qr_label.replace("{amount}", amount)
    }
}

fn lookup(table: &[(&str, &'static str)], code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

pub static FR: Texts = Texts {
    loading: "Préparation du paiement…",
    scan: "Scannez ce code avec l'application MOBILE-PAY pour payer.",
    awaiting: "En attente du paiement…",
    paid: "Paiement reçu. Merci\u{202f}!",
    failed: "Le paiement a échoué",
    expired: "Ce code a expiré.",
    retry: "Réessayer",
    new_code: "Nouveau code",
    qr_label: "Code QR de paiement MOBILE-PAY de {amount}",
    reasons: &[("INSUFFICIENT_FUNDS", "Solde insuffisant")],
    reason_other: "Le paiement n'a pas abouti.",
    errors: &[
        (
            "NETWORK_ERROR",
            "Connexion impossible. Vérifiez votre réseau et réessayez.",
        ),
        ("ORDER_NOT_FOUND", "Cette commande est introuvable."),
        ("INVALID_ORDER_ID", "Cette commande est introuvable."),
        (
            "PAYMENT_PROVIDER_UNAVAILABLE",
            "Le service de paiement est indisponible. Réessayez dans un instant.",
        ),
        (
            "PAYMENT_PROVIDER_BUSY",
            "Le service de paiement est très sollicité. Réessayez dans un instant.",
        ),
        ("STREAM_CLOSED", "Le suivi du paiement a été interrompu."),
    ],
    error_other: "Une erreur est survenue. Réessayez.",
};

pub static EN: Texts = Texts {
    loading: "Preparing your payment…",
    scan: "Scan this code with the MOBILE-PAY app to pay.",
    awaiting: "Waiting for your payment…",
    paid: "Payment received. Thank you!",
    failed: "The payment failed",
    expired: "This code has expired.",
    retry: "Try again",
    new_code: "New code",
    qr_label: "MOBILE-PAY payment QR code for {amount}",
    reasons: &[("INSUFFICIENT_FUNDS", "Insufficient funds")],
    reason_other: "The payment did not go through.",
    errors: &[
        (
            "NETWORK_ERROR",
            "Cannot connect. Check your network and try again.",
        ),
        ("ORDER_NOT_FOUND", "This order cannot be found."),
        ("INVALID_ORDER_ID", "This order cannot be found."),
        (
            "PAYMENT_PROVIDER_UNAVAILABLE",
            "The payment service is unavailable. Try again in a moment.",
        ),
        (
            "PAYMENT_PROVIDER_BUSY",
            "The payment service is busy. Try again in a moment.",
        ),
        ("STREAM_CLOSED", "Following the payment was interrupted."),
    ],
    error_other: "Something went wrong. Try again.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_tags_are_read_by_their_language_and_unknown_ones_are_none() {
        assert_eq!(Locale::parse("fr"), Some(Locale::Fr));
        assert_eq!(Locale::parse("fr-CI"), Some(Locale::Fr));
        assert_eq!(Locale::parse("EN_gb"), Some(Locale::En));
        assert_eq!(Locale::parse("wo"), None);
        assert_eq!(Locale::parse(""), None);
    }

    #[test]
    fn every_language_has_the_same_codes_and_the_seed_reason() {
        for texts in [&FR, &EN] {
            let codes = |t: &Texts| t.errors.iter().map(|(c, _)| *c).collect::<Vec<_>>();
            assert_eq!(codes(texts), codes(&FR));
            assert_ne!(
                texts.failure_reason(Some("INSUFFICIENT_FUNDS")),
                texts.reason_other
            );
        }
        assert_eq!(
            FR.failure_reason(Some("INSUFFICIENT_FUNDS")),
            "Solde insuffisant"
        );
        assert_eq!(FR.failure_reason(Some("SOMETHING_NEW")), FR.reason_other);
        assert_eq!(EN.error("UNHEARD_OF"), EN.error_other);
    }
}
