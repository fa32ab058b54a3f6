//! The widget's DOM, drawn with web-sys from a [`Frame`]: the state, the link, the server's time
//! and the copy button's outcome. A leaf: it imports the core (`state`, `clock`, `qr`, `i18n`)
//! and nothing of the component; it reads the model and never changes it, holds no clock (the
//! component ticks `now`) and routes no click (buttons carry their [`Action`] in `data-action`,
//! which the component reads).
//!
//! Why not `view!`: as a typed tachys view (an `Either` per state, each element a type of its
//! own with its own build, rebuild, mount and drop code) the same DOM made the download 7.3 KB
//! (brotli) bigger than drawing it here (measured: docs/widget.md), an eighth of the 60 KB
//! budget. One [`Painter`], driven by one effect, draws the region of the current state afresh
//! only when the state changes; the countdown, the copy button's label, its notice, the
//! connection line and the live region are updated in place, and only when their text changes
//! (so focus stays put and the live region never repeats itself). The component keeps Leptos
//! for what it does well: signals, effects, ownership, mounting.

use mobilepay_wire::checkout::SessionStatus;
use web_sys::{Document, Element, Node};

use crate::clock::{countdown, push_number};
use crate::i18n::Texts;
use crate::qr;
use crate::state::{Action, Link, Session, State, opens_an_app};

const SVG: &str = "http://www.w3.org/2000/svg";

/// A child of an element being built: a text, or a node built before.
enum Kid<'a> {
    Text(&'a str),
    Node(&'a Element),
}

/// Builds elements in one document.
struct Dom(Document);

impl Dom {
    fn of(node: &Node) -> Option<Dom> {
        node.owner_document().map(Dom)
    }

    /// `<tag attributes…>kids…</tag>`.
    fn el(&self, tag: &str, attributes: &[(&str, &str)], kids: &[Kid]) -> Element {
        self.build(self.0.create_element(tag), attributes, kids)
    }

    /// An SVG element.
    fn svg(&self, tag: &str, attributes: &[(&str, &str)], kids: &[Kid]) -> Element {
        self.build(self.0.create_element_ns(Some(SVG), tag), attributes, kids)
    }

    fn build(
        &self,
        created: Result<Element, wasm_bindgen::JsValue>,
        attributes: &[(&str, &str)],
        kids: &[Kid],
    ) -> Element {
        // Creating an element fails only for an invalid tag name, and every tag here is a
        // literal.
        #[allow(clippy::expect_used)]
        let element = created.expect("tag names are valid");
        for (name, value) in attributes {
            let _ = element.set_attribute(name, value);
        }
        for kid in kids {
            let _ = match kid {
                Kid::Text(text) => element.append_with_str_1(text),
                Kid::Node(node) => element.append_with_node_1(node),
            };
        }
        element
    }

    /// `<span class="spinner" aria-hidden="true">`.
    fn spinner(&self) -> Element {
        self.el(
            "span",
            &[("class", "spinner"), ("aria-hidden", "true")],
            &[],
        )
    }
}

/// Sets `element`'s text unless it already reads `text`.
fn set_text(element: &Element, text: &str) {
    if element.text_content().as_deref() != Some(text) {
        element.set_text_content(Some(text));
    }
}

/// What is updated in place while a payment is awaited.
struct Awaiting {
    /// `expires_at`, in ms since the epoch by the server's clock.
    expires_at: f64,
    copy: Element,
    notice: Element,
    time: Element,
    link: Element,
    /// Whether the connection line says "reconnecting", once drawn.
    reconnecting: Option<bool>,
}

/// Draws the widget into its root `<div>`: the region of the current state, then the live
/// region, which stays in place for the widget's life.
pub(crate) struct Painter {
    dom: Dom,
    texts: &'static Texts,
    root: Element,
    live: Element,
    /// The state the region shows, and its top-level nodes.
    drawn: Option<State>,
    region: Vec<Element>,
    awaiting: Option<Awaiting>,
}

/// What a frame is drawn from.
pub(crate) struct Frame<'a> {
    pub state: &'a State,
    pub link: Link,
    /// Now by the server's clock, in ms since the epoch.
    pub now: f64,
    /// Whether "copy the code" worked; `None` until it is pressed.
    pub copied: Option<bool>,
}

impl Painter {
    pub(crate) fn new(root: Element, texts: &'static Texts) -> Option<Painter> {
        let dom = Dom::of(&root)?;
        let live = dom.el(
            "p",
            &[
                ("class", "sr-only"),
                ("role", "status"),
                ("aria-live", "polite"),
            ],
            &[],
        );
        root.append_with_node_1(&live).ok()?;
        Some(Painter {
            dom,
            texts,
            root,
            live,
            drawn: None,
            region: Vec::new(),
            awaiting: None,
        })
    }

    /// Draws `frame`: the state's region afresh only when the state changed, the rest in place.
    pub(crate) fn paint(&mut self, frame: &Frame) {
        let texts = self.texts;
        let busy = if matches!(frame.state, State::Loading) {
            "true"
        } else {
            "false"
        };
        let _ = self.root.set_attribute("aria-busy", busy);
        if self.drawn.as_ref() != Some(frame.state) {
            for node in self.region.drain(..) {
                node.remove();
            }
            (self.region, self.awaiting) = self.region_of(frame.state);
            for node in &self.region {
                let _ = self.root.insert_before(node, Some(&self.live));
            }
            self.drawn = Some(frame.state.clone());
        }
        if let Some(awaiting) = &mut self.awaiting {
            let copied = frame.copied;
            set_text(
                &awaiting.copy,
                if copied == Some(true) {
                    texts.copied
                } else {
                    texts.copy
                },
            );
            set_text(
                &awaiting.notice,
                if copied == Some(false) {
                    texts.copy_failed
                } else {
                    ""
                },
            );
            set_text(&awaiting.time, &countdown(awaiting.expires_at, frame.now));
            let reconnecting = frame.link == Link::Reconnecting;
            if awaiting.reconnecting != Some(reconnecting) {
                awaiting.reconnecting = Some(reconnecting);
                awaiting.link.set_text_content(None);
                if reconnecting {
                    let _ = awaiting.link.append_with_node_1(&self.dom.spinner());
                    let _ = awaiting.link.append_with_str_1(texts.reconnecting);
                } else {
                    let _ = awaiting.link.append_with_str_1(texts.awaiting);
                }
            }
        }
        set_text(&self.live, &texts.announcement(frame.state, frame.link));
    }

    /// The top-level elements that show `state`, and what of them is updated in place while a
    /// payment is awaited.
    fn region_of(&self, state: &State) -> (Vec<Element>, Option<Awaiting>) {
        let (dom, texts) = (&self.dom, self.texts);
        let retry = |label| {
            dom.el(
                "button",
                &[
                    ("type", "button"),
                    ("part", "button retry"),
                    ("data-action", Action::Retry.as_str()),
                ],
                &[Kid::Text(label)],
            )
        };
        let p = |class, text| dom.el("p", &[("class", class)], &[Kid::Text(text)]);
        match state {
            State::Loading => (
                vec![dom.el(
                    "p",
                    &[("class", "muted")],
                    &[Kid::Node(&dom.spinner()), Kid::Text(texts.loading)],
                )],
                None,
            ),
            State::Error(code) => (
                vec![p("error", texts.error(code)), retry(texts.retry)],
                None,
            ),
            State::Session {
                session,
                status,
                failure,
            } => {
                let amount = session.amount.fcfa();
                let mut region = vec![
                    dom.el(
                        "p",
                        &[("class", "amount"), ("part", "amount")],
                        &[Kid::Text(&amount)],
                    ),
                    dom.el(
                        "p",
                        &[("class", "description"), ("part", "description")],
                        &[Kid::Text(&session.description)],
                    ),
                ];
                match status {
                    SessionStatus::AwaitingPayment => {
                        let (elements, awaiting) = awaiting(dom, texts, session, &amount);
                        region.extend(elements);
                        return (region, Some(awaiting));
                    }
                    SessionStatus::Paid => region.push(p("final paid", texts.paid)),
                    SessionStatus::Failed => region.extend([
                        p("final failed", texts.failed),
                        p(
                            "reason",
                            texts.failure_reason(failure.as_ref().map(|f| f.error_code.as_str())),
                        ),
                        retry(texts.retry),
                    ]),
                    SessionStatus::Expired => {
                        region.extend([p("final expired", texts.expired), retry(texts.new_code)]);
                    }
                }
                (region, None)
            }
        }
    }
}

/// Awaiting the payment: on a computer the QR code first; on a phone (CSS decides, by pointer)
/// the button that opens the wallet app first, the QR code still below it. The copy button's
/// label, its notice, the countdown and the connection line are filled in by [`Painter::paint`].
fn awaiting(
    dom: &Dom,
    texts: &'static Texts,
    session: &Session,
    amount: &str,
) -> (Vec<Element>, Awaiting) {
    let pay = dom.el("div", &[("class", "pay")], &[]);
    if let Some(href) = app_link(&session.qr_payload) {
        let open = dom.el(
            "a",
            &[
                ("class", "open"),
                ("part", "button open-app"),
                ("href", &href),
            ],
            &[Kid::Text(texts.open_app)],
        );
        let _ = pay.append_with_node_1(&open);
    }
    let label = texts.qr_label(amount, &session.payment_id);
    let qr = dom.el(
        "div",
        &[("class", "qr"), ("part", "qr")],
        &[Kid::Node(&qr_svg(dom, &session.qr_payload, &label))],
    );
    for kid in [
        qr,
        dom.el("p", &[("class", "hint scan")], &[Kid::Text(texts.scan)]),
        dom.el(
            "p",
            &[("class", "hint scan-elsewhere")],
            &[Kid::Text(texts.scan_elsewhere)],
        ),
    ] {
        let _ = pay.append_with_node_1(&kid);
    }
    let code = dom.el(
        "p",
        &[("class", "code")],
        &[
            Kid::Text(texts.payment_code),
            Kid::Text(" "),
            Kid::Node(&dom.el(
                "strong",
                &[("part", "code")],
                &[Kid::Text(&session.payment_id)],
            )),
        ],
    );
    let copy = dom.el(
        "button",
        &[
            ("type", "button"),
            ("class", "copy"),
            ("part", "button copy"),
            ("data-action", Action::Copy.as_str()),
        ],
        &[],
    );
    let notice = dom.el("p", &[("class", "notice"), ("role", "status")], &[]);
    let time = dom.el("time", &[], &[]);
    let countdown = dom.el(
        "p",
        &[("class", "countdown"), ("part", "countdown")],
        &[
            Kid::Text(texts.expires_in),
            Kid::Text(" "),
            Kid::Node(&time),
        ],
    );
    let link = dom.el("p", &[("class", "muted link")], &[]);
    let awaiting = Awaiting {
        expires_at: session.expires_at,
        copy: copy.clone(),
        notice: notice.clone(),
        time,
        link: link.clone(),
        reconnecting: None,
    };
    (vec![pay, code, copy, notice, countdown, link], awaiting)
}

/// The QR code of `payload` as an `<svg>` of one path ([`qr::path`]), labelled for screen
/// readers with `label`.
fn qr_svg(dom: &Dom, payload: &str, label: &str) -> Element {
    let (d, size) = qr::path(payload).unwrap_or_default();
    let mut view_box = String::from("0 0 ");
    push_number(&mut view_box, size);
    view_box.push(' ');
    push_number(&mut view_box, size);
    let background = dom.svg(
        "rect",
        &[("width", "100%"), ("height", "100%"), ("fill", "#fff")],
        &[],
    );
    let modules = dom.svg("path", &[("d", &d), ("fill", "#000")], &[]);
    dom.svg(
        "svg",
        &[
            ("viewBox", &view_box),
            ("role", "img"),
            ("aria-label", label),
            ("shape-rendering", "crispEdges"),
        ],
        &[Kid::Node(&background), Kid::Node(&modules)],
    )
}

/// The payment's link for the "open the app" button, as the browser normalizes it, unless its
/// scheme would run script or data in the page ([`opens_an_app`]).
fn app_link(payload: &str) -> Option<String> {
    let url = web_sys::Url::new(payload).ok()?;
    opens_an_app(&url.protocol().to_ascii_lowercase()).then(|| url.href())
}
