//! Every text the shopper reads, per language: one file per language (`fr.rs`, `en.rs`), listed
//! once in [`LANGUAGES`]. French is the default: the widget's shoppers are in Côte d'Ivoire.
//!
//! Adding a language: copy `en.rs` to `xx.rs`, translate it, add its line to [`LANGUAGES`]. The
//! tests below check that it has a text for every code the others have.

mod en;
mod fr;

use mobilepay_wire::checkout::SessionStatus;

use crate::state::{Link, State};

/// Every language the widget speaks, the default first.
pub static LANGUAGES: &[&Texts] = &[&fr::TEXTS, &en::TEXTS];

/// The language of the widget.
#[derive(Debug, Clone, Copy)]
pub struct Locale(&'static Texts);

impl Default for Locale {
    fn default() -> Self {
        Locale(LANGUAGES[0])
    }
}

impl PartialEq for Locale {
    fn eq(&self, other: &Self) -> bool {
        self.0.tag == other.0.tag
    }
}

impl Eq for Locale {}

impl Locale {
    /// From the `locale` attribute; otherwise from the browser's language (`navigator.language`);
    /// French when neither is a language we have. An unknown value never breaks the widget.
    pub fn choose(attribute: Option<&str>, browser: Option<&str>) -> Locale {
        attribute
            .and_then(Locale::parse)
            .or_else(|| browser.and_then(Locale::parse))
            .unwrap_or_default()
    }

    /// `fr`, `fr-CI`, `en-GB`… by their language part.
    pub fn parse(tag: &str) -> Option<Locale> {
        let language = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|texts| texts.tag == language)
            .map(|texts| Locale(texts))
    }

    pub fn texts(self) -> &'static Texts {
        self.0
    }

    /// The BCP 47 tag, for the container's `lang`.
    pub fn tag(self) -> &'static str {
        self.0.tag
    }
}

/// The texts of one language.
#[derive(Debug)]
pub struct Texts {
    pub tag: &'static str,
    pub loading: &'static str,
    /// Under the QR code on a computer.
    pub scan: &'static str,
    /// Under the QR code on a phone, where the shopper cannot scan their own screen.
    pub scan_elsewhere: &'static str,
    /// The button that opens the wallet app through the payment's link.
    pub open_app: &'static str,
    pub payment_code: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub copy_failed: &'static str,
    pub expires_in: &'static str,
    pub awaiting: &'static str,
    pub reconnecting: &'static str,
    pub paid: &'static str,
    pub failed: &'static str,
    pub expired: &'static str,
    pub retry: &'static str,
    pub new_code: &'static str,
    /// The QR code's text alternative; `{amount}` and `{code}` are filled in.
    pub qr_label: &'static str,
    /// Why a payment failed, by MOBILE-PAY's `error_code`.
    pub reasons: &'static [(&'static str, &'static str)],
    pub reason_other: &'static str,
    /// What went wrong before a payment could be shown, by error code (the backend's documented
    /// codes and the widget's own).
    pub errors: &'static [(&'static str, &'static str)],
    pub error_other: &'static str,
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

    /// The QR code's text alternative: the amount and the payment's code.
    pub fn qr_label(&self, amount: &str, code: &str) -> String {
        // By hand rather than `str::replace`, whose substring search the widget needs nowhere
        // else.
        let mut label = String::new();
        let mut rest = self.qr_label;
        while let Some((before, after)) = rest.split_once('{') {
            label.push_str(before);
            let (name, after) = after.split_once('}').unwrap_or((after, ""));
            label.push_str(match name {
                "amount" => amount,
                "code" => code,
                _ => "",
            });
            rest = after;
        }
        label.push_str(rest);
        label
    }
}

impl Texts {
    /// What the live region says for `state`: every change of status, and a lost connection,
    /// is read out.
    pub fn announcement(&self, state: &State, link: Link) -> String {
        match state {
            State::Loading => self.loading.to_owned(),
            State::Error(code) => self.error(code).to_owned(),
            State::Session {
                status, failure, ..
            } => match status {
                SessionStatus::AwaitingPayment if link == Link::Reconnecting => {
                    self.reconnecting.to_owned()
                }
                SessionStatus::AwaitingPayment => self.awaiting.to_owned(),
                SessionStatus::Paid => self.paid.to_owned(),
                SessionStatus::Failed => [
                    self.failed,
                    ". ",
                    self.failure_reason(failure.as_ref().map(|f| f.error_code.as_str())),
                ]
                .concat(),
                SessionStatus::Expired => self.expired.to_owned(),
            },
        }
    }
}

fn lookup(table: &[(&str, &'static str)], code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_tags_are_read_by_their_language_and_unknown_ones_are_none() {
        assert_eq!(Locale::parse("fr").map(Locale::tag), Some("fr"));
        assert_eq!(Locale::parse("fr-CI").map(Locale::tag), Some("fr"));
        assert_eq!(Locale::parse("EN_gb").map(Locale::tag), Some("en"));
        assert_eq!(Locale::parse("wo"), None);
        assert_eq!(Locale::parse(""), None);
        assert_eq!(Locale::default().tag(), "fr");
    }

    #[test]
    fn the_attribute_wins_over_the_browsers_language_and_french_is_the_fallback() {
        assert_eq!(Locale::choose(Some("en"), Some("fr-FR")).tag(), "en");
        assert_eq!(Locale::choose(Some("wo"), Some("en-US")).tag(), "en");
        assert_eq!(Locale::choose(None, Some("en-GB")).tag(), "en");
        assert_eq!(Locale::choose(None, Some("de")).tag(), "fr");
        assert_eq!(Locale::choose(None, None).tag(), "fr");
    }

    #[test]
    fn the_live_region_reads_out_each_status_and_a_lost_connection() {
        use crate::state::{ErrorCode, Failure};
        let en = Locale::parse("en").expect("en").texts();
        let session = |status: SessionStatus, failure: Option<Failure>| State::Session {
            session: std::sync::Arc::new(crate::state::Session {
                session_id: "cs_1".into(),
                payment_id: "PAY1".into(),
                amount: mobilepay_wire::Amount::new(5),
                description: "d".into(),
                qr_payload: "https://x.test/p".into(),
                expires_at: 0.0,
                events_url: String::new(),
                status_url: String::new(),
                update: crate::state::Update {
                    status,
                    payment_id: "PAY1".into(),
                    failure: None,
                },
            }),
            status,
            failure,
        };
        let awaiting = session(SessionStatus::AwaitingPayment, None);
        assert_eq!(en.announcement(&awaiting, Link::Streaming), en.awaiting);
        assert_eq!(en.announcement(&awaiting, Link::Polling), en.awaiting);
        assert_eq!(
            en.announcement(&awaiting, Link::Reconnecting),
            en.reconnecting
        );
        let paid = session(SessionStatus::Paid, None);
        assert_eq!(en.announcement(&paid, Link::Reconnecting), en.paid);
        let failed = session(
            SessionStatus::Failed,
            Some(Failure {
                error_code: "INSUFFICIENT_FUNDS".into(),
                error_message: "Solde insuffisant".into(),
            }),
        );
        assert_eq!(
            en.announcement(&failed, Link::Streaming),
            "The payment failed. Insufficient funds"
        );
        let expired = session(SessionStatus::Expired, None);
        assert_eq!(en.announcement(&expired, Link::Streaming), en.expired);
        let code: ErrorCode = "ORDER_NOT_FOUND".into();
        assert_eq!(
            en.announcement(&State::Error(code), Link::Streaming),
            "This order cannot be found."
        );
        assert_eq!(
            en.announcement(&State::Loading, Link::Streaming),
            en.loading
        );
    }

    #[test]
    fn every_language_has_a_text_for_every_code_the_default_has() {
        let codes =
            |table: &[(&'static str, &str)]| table.iter().map(|(c, _)| *c).collect::<Vec<_>>();
        let default = LANGUAGES[0];
        for texts in LANGUAGES {
            assert_eq!(codes(texts.errors), codes(default.errors), "{}", texts.tag);
            assert_eq!(
                codes(texts.reasons),
                codes(default.reasons),
                "{}",
                texts.tag
            );
            assert!(texts.qr_label.contains("{amount}") && texts.qr_label.contains("{code}"));
        }
        let tags: Vec<_> = LANGUAGES.iter().map(|t| t.tag).collect();
        assert_eq!(tags, ["fr", "en"]);
    }

    #[test]
    fn the_qr_label_fills_in_the_amount_and_the_code_in_each_language() {
        for texts in LANGUAGES {
            let label = texts.qr_label("25\u{202f}000\u{a0}FCFA", "PAY123");
            assert!(
                label.contains("25\u{202f}000\u{a0}FCFA") && label.contains("PAY123"),
                "{label}"
            );
            assert!(!label.contains(['{', '}']), "{label}");
        }
        let texts = Texts {
            qr_label: "{code} · {amount} {unknown}{",
            ..*LANGUAGES[0]
        };
        assert_eq!(texts.qr_label("5 FCFA", "PAY1"), "PAY1 · 5 FCFA ");
    }

    #[test]
    fn the_seed_reason_is_translated_and_unknown_codes_get_the_generic_text() {
        let fr = Locale::parse("fr").expect("fr").texts();
        let en = Locale::parse("en").expect("en").texts();
        assert_eq!(
            fr.failure_reason(Some("INSUFFICIENT_FUNDS")),
            "Solde insuffisant"
        );
        assert_eq!(
            en.failure_reason(Some("INSUFFICIENT_FUNDS")),
            "Insufficient funds"
        );
        assert_eq!(fr.failure_reason(Some("SOMETHING_NEW")), fr.reason_other);
        assert_eq!(fr.failure_reason(None), fr.reason_other);
        assert_eq!(en.error("UNHEARD_OF"), en.error_other);
    }
}
