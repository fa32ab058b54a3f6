//! `<mobilepay-checkout>`: the MOBILE-PAY checkout widget, a Leptos component compiled to wasm.
//!
//! It asks the merchant's backend for a checkout session for an order (`POST
//! {endpoint}/checkout/sessions`), shows the amount, the description, the payment's QR code, a
//! button that opens the wallet app on a phone, the payment's code and a countdown to its
//! expiry, and follows the session's status over Server-Sent Events — or by polling its status
//! URL when a stream cannot be opened — until a final status.
//!
//! # Layout
//! The core, native and tested natively (`cargo test -p mobilepay-checkout --lib`): no browser,
//! no Leptos, no web-sys in it.
//! - [`state`]: what the widget shows ([`state::State`]) and every change of it
//!   ([`state::State::apply`] of an [`state::Event`]).
//! - [`clock`]: the countdown by the server's clock, and the numbers the widget writes.
//! - [`qr`]: the QR code as the data of one SVG path.
//! - [`i18n`]: every text the shopper reads, one file per language, and what the live region
//!   says.
//!
//! The browser side, on `wasm32` only, each importing the core and never the other way:
//! - `widget`: the [`Checkout`] component (for Leptos apps that embed it directly) and the
//!   [`mount`] export that the custom element's JS shim (`www/`) calls to mount the widget into
//!   its shadow root. It turns what the browser reports into events for the state, and owns
//!   the countdown's clock.
//! - [`api`]: the calls to the merchant backend (session, event stream, status).
//! - [`element`]: the host element's reflected `status` and `payment-id` and its `mobilepay:*`
//!   DOM events.
//! - `view` (private): the DOM, drawn from the state with web-sys by one effect; a leaf that
//!   only draws (smaller than `view!`'s typed views: docs/widget.md).
//!
//! Architecture invariant: the widget never holds a secret and never decides an amount. It sends
//! an order reference; everything it shows comes from the merchant's server, and a status it
//! shows moves only as `SessionStatus::can_become` allows, never backwards.

pub mod clock;
pub mod i18n;
pub mod qr;
pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod element;
#[cfg(target_arch = "wasm32")]
mod view;
#[cfg(target_arch = "wasm32")]
mod widget;

#[cfg(target_arch = "wasm32")]
pub use widget::{Checkout, CheckoutProps, Handle, mount};

/// How often the status URL is asked when no event stream can be had.
pub const POLL_EVERY_MS: i32 = 2_000;
