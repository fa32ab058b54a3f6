//! What the widget shows and how it changes: the model of the widget, with no browser in it.
//!
//! Every change of what the shopper sees is an [`Event`] given to [`State::apply`]; the DOM
//! layer (`view`) only draws a [`State`], and the component (`widget`) only turns what the
//! browser reports into events. This module compiles and is tested natively
//! (`cargo test -p mobilepay-checkout --lib`).
//!
//! Must not: touch a browser API, or decide a status on its own — every status comes from the
//! merchant's backend, and moves only as [`SessionStatus::can_become`] allows.

use std::sync::Arc;

use mobilepay_wire::Amount;
use mobilepay_wire::checkout::SessionStatus;

/// Why the widget could not show a session: the backend's `error_code`, or one of the widget's
/// own codes ([`NETWORK_ERROR`], [`INVALID_RESPONSE`]). The shopper reads a localized message
/// chosen by it.
pub type ErrorCode = String;

/// The backend could not be reached (offline, DNS, CORS, blocked).
pub const NETWORK_ERROR: &str = "NETWORK_ERROR";
/// The backend answered something that is not the documented JSON.
pub const INVALID_RESPONSE: &str = "INVALID_RESPONSE";

/// What the widget needs of a checkout session (`mobilepay_wire::checkout::CheckoutSession`).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub session_id: String,
    pub payment_id: String,
    /// Whole FCFA, decided by the merchant's server.
    pub amount: Amount,
    pub description: String,
    /// What the QR code encodes, and the link that opens the wallet app.
    pub qr_payload: String,
    /// `expires_at`, in ms since the epoch by the server's clock (NaN if it was not a date).
    pub expires_at: f64,
    pub events_url: String,
    pub status_url: String,
    /// Where it stood when the backend answered.
    pub update: Update,
}

/// A status of a session (`mobilepay_wire::checkout::StatusEvent`).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub status: SessionStatus,
    pub payment_id: String,
    pub failure: Option<Failure>,
}

/// Why a payment failed, as MOBILE-PAY reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error_code: String,
    pub error_message: String,
}

/// What the widget shows.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Loading,
    Session {
        session: Arc<Session>,
        status: SessionStatus,
        failure: Option<Failure>,
    },
    Error(ErrorCode),
}

/// Everything that changes what the widget shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A (re)start: a new session request is on its way.
    Start,
    /// The backend answered the session request.
    Created(Session),
    /// No session could be had, or the backend no longer knows the one shown.
    Error(ErrorCode),
    /// A status of the session, from its event stream or its status URL.
    Status(Update),
}

impl State {
    /// The host's `status` attribute.
    pub fn name(&self) -> &'static str {
        match self {
            State::Loading => "loading",
            State::Session { status, .. } => status.as_str(),
            State::Error(_) => "error",
        }
    }

    /// Moves to what `event` says; returns whether anything changed. A status only moves as
    /// [`SessionStatus::can_become`] allows, so whatever arrives late or twice never takes a
    /// status back; a status of another payment (an older session's stream) is ignored.
    pub fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Start => !matches!(std::mem::replace(self, State::Loading), State::Loading),
            Event::Created(session) => {
                *self = State::Session {
                    status: session.update.status,
                    failure: session.update.failure.clone(),
                    session: Arc::new(session),
                };
                true
            }
            Event::Error(code) => {
                // A session the backend no longer knows is an error only while it is
                // followed: an outcome already shown stays.
                if self.is_final() || matches!(self, State::Error(shown) if *shown == code) {
                    return false;
                }
                *self = State::Error(code);
                true
            }
            Event::Status(update) => {
                let State::Session {
                    session,
                    status,
                    failure,
                } = self
                else {
                    return false;
                };
                if update.payment_id != session.payment_id || !status.can_become(update.status) {
                    return false;
                }
                *status = update.status;
                *failure = update.failure;
                true
            }
        }
    }

    /// Whether the session's outcome is shown ([`SessionStatus::is_final`]): nothing more is
    /// followed.
    pub fn is_final(&self) -> bool {
        matches!(self, State::Session { status, .. } if status.is_final())
    }

    /// Whether a payment is awaited: the status is followed and the countdown runs.
    pub fn is_awaiting(&self) -> bool {
        matches!(
            self,
            State::Session {
                status: SessionStatus::AwaitingPayment,
                ..
            }
        )
    }

    /// The session being followed: its events and status URLs, while a payment is awaited.
    pub fn followed(&self) -> Option<&Session> {
        match self {
            State::Session {
                session,
                status: SessionStatus::AwaitingPayment,
                ..
            } => Some(session),
            _ => None,
        }
    }

    /// The payment's code, once a session is shown.
    pub fn payment_id(&self) -> Option<&str> {
        match self {
            State::Session { session, .. } => Some(&session.payment_id),
            _ => None,
        }
    }
}

/// How status updates reach the widget while it awaits the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Streaming,
    /// The stream dropped and the browser is reopening it, or a poll failed.
    Reconnecting,
    /// No stream could be opened: the status URL is asked every [`crate::POLL_EVERY_MS`].
    Polling,
}

/// What a button of the widget does, written in its `data-action` attribute: clicks are routed
/// by it, never by the public `part` attribute (renaming a CSS part must not break a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new session: after an error, a failed payment or an expired code.
    Retry,
    /// Copies the payment's code.
    Copy,
}

impl Action {
    /// The `data-action` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Copy => "copy",
        }
    }

    /// From a `data-action` value.
    pub fn parse(value: &str) -> Option<Action> {
        [Action::Retry, Action::Copy]
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

/// Whether a payment link with this scheme (`https:`, lowercase, with its colon) may be opened
/// by the "pay with the app" button: not a scheme that would run script or data in the page.
pub fn opens_an_app(scheme: &str) -> bool {
    !matches!(
        scheme,
        "javascript:" | "data:" | "vbscript:" | "blob:" | "file:"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYMENT: &str = "PAYTEST000001";

    fn update(status: SessionStatus, payment_id: &str) -> Update {
        Update {
            status,
            payment_id: payment_id.into(),
            failure: (status == SessionStatus::Failed).then(|| Failure {
                error_code: "INSUFFICIENT_FUNDS".into(),
                error_message: "Solde insuffisant".into(),
            }),
        }
    }

    fn session(status: SessionStatus) -> Session {
        Session {
            session_id: "cs_1".into(),
            payment_id: PAYMENT.into(),
            amount: Amount::new(25_000),
            description: "Pagne wax 6 yards".into(),
            qr_payload: "http://127.0.0.1:8090/wallet/PAYTEST000001".into(),
            expires_at: 4_070_908_800_000.0,
            events_url: "http://shop.test/events".into(),
            status_url: "http://shop.test/status".into(),
            update: update(status, PAYMENT),
        }
    }

    /// A widget showing `status`, reached the way the widget reaches it.
    fn showing(status: SessionStatus) -> State {
        let mut state = State::Loading;
        state.apply(Event::Created(session(SessionStatus::AwaitingPayment)));
        if status != SessionStatus::AwaitingPayment {
            assert!(state.apply(Event::Status(update(status, PAYMENT))));
        }
        assert_eq!(state.name(), status.as_str());
        state
    }

    #[test]
    fn a_late_failed_event_after_paid_changes_nothing() {
        let mut state = showing(SessionStatus::Paid);
        let changed = state.apply(Event::Status(update(SessionStatus::Failed, PAYMENT)));
        assert!(!changed);
        assert_eq!(state, showing(SessionStatus::Paid));
    }

    #[test]
    fn a_status_only_moves_forward_from_awaiting_payment() {
        for to in [
            SessionStatus::Paid,
            SessionStatus::Failed,
            SessionStatus::Expired,
        ] {
            let mut state = showing(SessionStatus::AwaitingPayment);
            assert!(state.apply(Event::Status(update(to, PAYMENT))), "{to:?}");
            assert_eq!(state.name(), to.as_str());
            assert!(state.is_final() && !state.is_awaiting() && state.followed().is_none());
            let back = state.apply(Event::Status(update(
                SessionStatus::AwaitingPayment,
                PAYMENT,
            )));
            assert!(!back, "{to:?} went back to awaiting_payment");
        }
    }

    #[test]
    fn a_payment_heard_of_after_its_code_expired_is_shown_paid_never_hidden() {
        let mut state = showing(SessionStatus::Expired);
        assert!(state.apply(Event::Status(update(SessionStatus::Paid, PAYMENT))));
        assert_eq!(state.name(), "paid");
        let mut failed = showing(SessionStatus::Failed);
        assert!(!failed.apply(Event::Status(update(SessionStatus::Paid, PAYMENT))));
    }

    #[test]
    fn a_failure_is_kept_with_its_status() {
        let state = showing(SessionStatus::Failed);
        let State::Session { failure, .. } = state else {
            panic!("not a session: {state:?}");
        };
        assert_eq!(
            failure.map(|f| f.error_code).as_deref(),
            Some("INSUFFICIENT_FUNDS")
        );
    }

    #[test]
    fn a_status_of_another_payment_is_ignored() {
        let mut state = showing(SessionStatus::AwaitingPayment);
        assert!(!state.apply(Event::Status(update(SessionStatus::Paid, "PAYOTHER00001"))));
        assert!(state.is_awaiting());
        assert_eq!(
            state.followed().map(|s| s.payment_id.as_str()),
            Some(PAYMENT)
        );
    }

    #[test]
    fn a_repeated_status_changes_nothing() {
        let mut state = showing(SessionStatus::AwaitingPayment);
        let awaiting = update(SessionStatus::AwaitingPayment, PAYMENT);
        assert!(!state.apply(Event::Status(awaiting)));
    }

    #[test]
    fn a_status_before_any_session_is_ignored() {
        for mut state in [State::Loading, State::Error(NETWORK_ERROR.into())] {
            let before = state.clone();
            assert!(!state.apply(Event::Status(update(SessionStatus::Paid, PAYMENT))));
            assert_eq!(state, before);
        }
    }

    #[test]
    fn an_error_replaces_a_followed_session_but_never_an_outcome() {
        let mut awaiting = showing(SessionStatus::AwaitingPayment);
        assert!(awaiting.apply(Event::Error("SESSION_NOT_FOUND".into())));
        assert_eq!(awaiting, State::Error("SESSION_NOT_FOUND".into()));
        let mut paid = showing(SessionStatus::Paid);
        assert!(!paid.apply(Event::Error("SESSION_NOT_FOUND".into())));
        assert_eq!(paid.name(), "paid");
    }

    #[test]
    fn a_retry_starts_over_from_any_state() {
        for mut state in [
            showing(SessionStatus::Paid),
            showing(SessionStatus::Expired),
            State::Error(NETWORK_ERROR.into()),
        ] {
            assert!(state.apply(Event::Start));
            assert_eq!(state, State::Loading);
        }
        assert!(!State::Loading.apply(Event::Start));
    }

    #[test]
    fn a_session_answered_already_paid_is_shown_paid_and_not_followed() {
        let mut state = State::Loading;
        assert!(state.apply(Event::Created(session(SessionStatus::Paid))));
        assert_eq!(state.name(), "paid");
        assert!(state.followed().is_none());
        assert_eq!(state.payment_id(), Some(PAYMENT));
    }

    #[test]
    fn actions_are_read_back_from_their_attribute_and_nothing_else() {
        for action in [Action::Retry, Action::Copy] {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("button retry"), None);
        assert_eq!(Action::parse(""), None);
    }

    #[test]
    fn only_links_that_cannot_run_in_the_page_open_the_app() {
        assert!(opens_an_app("https:"));
        assert!(opens_an_app("http:"));
        assert!(opens_an_app("mobilepay:"));
        for scheme in ["javascript:", "data:", "vbscript:", "blob:", "file:"] {
            assert!(!opens_an_app(scheme), "{scheme}");
        }
    }
}
