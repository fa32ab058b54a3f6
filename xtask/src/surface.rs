//! The public surface of `<mobilepay-checkout>` and of its JS API, written once: attributes
//! and properties, methods, events and their `detail`, CSS custom properties, parts, the
//! options and handle of `mount()`, the module's exports — with the doc comments an IDE shows
//! a merchant.
//!
//! Generated from it: `www/index.d.ts` (the package's types), `www/custom-elements.json` (the
//! custom-elements-manifest schema 1.0.0, shipped in the npm package) and the section of
//! `docs/widget.md` between the `surface` markers. `cargo xtask surface` fails, with a diff,
//! when a committed copy differs from what the list generates (this module's tests too, so the
//! gate does); `cargo xtask surface --write` writes them. Checked against the list: the events
//! `www/index.js` knows and `src/element.rs` dispatches, the custom properties `src/style.css`
//! declares and the parts `src/*.rs` render — so none of them can drift silently.
//!
//! A doc comment (`doc`) is written as `index.d.ts` shows it: `\n` where its lines break.

use std::path::Path;

use serde_json::{Value, json};

/// The element's tag.
pub const TAG: &str = "mobilepay-checkout";

/// An attribute and the property that goes with it.
#[derive(Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub property: &'static str,
    /// TypeScript type of the property.
    pub ty: &'static str,
    /// Set by the widget (reflected), not by the page.
    pub read_only: bool,
    pub description: &'static str,
}

pub const ATTRIBUTES: &[Attribute] = &[
    Attribute {
        name: "order-id",
        property: "orderId",
        ty: "string | null",
        read_only: false,
        description: "The id of a checkout the shop's server created (POST /v1/checkouts); the backend takes the amount from it.",
    },
    Attribute {
        name: "endpoint",
        property: "endpoint",
        ty: "string | null",
        read_only: false,
        description: "The merchant backend's base URL; default: the page's origin.",
    },
    Attribute {
        name: "locale",
        property: "locale",
        ty: "string | null",
        read_only: false,
        description: "`fr` (default) or `en`; otherwise the browser's language if the widget has it.",
    },
    Attribute {
        name: "theme",
        property: "theme",
        ty: "string | null",
        read_only: false,
        description: "`light` or `dark`; without it, `prefers-color-scheme`.",
    },
    Attribute {
        name: "status",
        property: "status",
        ty: "CheckoutStatus",
        read_only: true,
        description: "Reflected: `loading`, `awaiting_payment`, `paid`, `failed`, `expired` or `error`.",
    },
    Attribute {
        name: "payment-id",
        property: "paymentId",
        ty: "string | null",
        read_only: true,
        description: "Reflected: MOBILE-PAY's payment id, once known.",
    },
];

/// Every value of `status`, the type `CheckoutStatus`.
pub const STATUSES: &[&str] = &[
    "loading",
    "awaiting_payment",
    "paid",
    "failed",
    "expired",
    "error",
];

pub const STATUS_DOC: &str =
    "What the widget shows; the element reflects it as its `status` attribute.";

/// A named TypeScript type the package exports besides the interfaces.
#[derive(Clone, Copy)]
pub struct TypeAlias {
    pub name: &'static str,
    pub ty: &'static str,
    pub doc: &'static str,
}

pub const TYPE_ALIASES: &[TypeAlias] = &[
    TypeAlias {
        name: "CheckoutLocale",
        // `(string & {})`: any string is accepted, yet an IDE still offers the two literals.
        ty: "'fr' | 'en' | (string & {})",
        doc: "`fr` (default) or `en`; other values fall back to the browser's language, then French.",
    },
    TypeAlias {
        name: "CheckoutTheme",
        ty: "'light' | 'dark'",
        doc: "`light` or `dark` forces a scheme; without it the widget follows `prefers-color-scheme`.",
    },
];

#[derive(Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: &'static str,
    pub optional: bool,
}

/// A method, or a function the module exports.
#[derive(Clone, Copy)]
pub struct Function {
    pub name: &'static str,
    pub params: &'static [Param],
    /// TypeScript type of the result.
    pub returns: &'static str,
    pub doc: &'static str,
}

impl Function {
    /// What follows the name in TypeScript: `(tag?: string): boolean`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{}{}: {}", p.name, if p.optional { "?" } else { "" }, p.ty))
            .collect();
        format!("({}): {}", params.join(", "), self.returns)
    }
}

/// The element's methods.
pub const METHODS: &[Function] = &[Function {
    name: "retry",
    params: &[],
    returns: "void",
    doc: "Starts over: a new session request for the current attributes.",
}];

#[derive(Clone, Copy)]
pub struct Event {
    pub name: &'static str,
    /// The option of `mount()` called with the event's `detail` (`www/index.js`'s `CALLBACKS`).
    pub callback: &'static str,
    pub description: &'static str,
}

/// Every event bubbles, is composed and carries [`DETAIL`].
pub const EVENTS: &[Event] = &[
    Event {
        name: "mobilepay:statuschange",
        callback: "onStatusChange",
        description: "Every change of `status`.",
    },
    Event {
        name: "mobilepay:paid",
        callback: "onPaid",
        description: "The payment is confirmed.",
    },
    Event {
        name: "mobilepay:failed",
        callback: "onFailed",
        description: "The payment failed; `errorCode` says why.",
    },
    Event {
        name: "mobilepay:expired",
        callback: "onExpired",
        description: "The payment's code expired unpaid.",
    },
    Event {
        name: "mobilepay:error",
        callback: "onError",
        description: "No payment could be shown; `errorCode` says why.",
    },
];

/// A field of every event's `detail`.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: &'static str,
    pub optional: bool,
    pub description: &'static str,
    /// Whether `index.d.ts` gives the field `description` as its doc comment — as the file
    /// written by hand did, for the fields whose name does not say what they hold.
    pub typed_doc: bool,
}

pub const DETAIL_DOC: &str = "The `detail` of every `mobilepay:*` event and the argument of every callback: the state at\nthe moment of the change.";

pub const DETAIL: &[Field] = &[
    Field {
        name: "status",
        ty: "CheckoutStatus",
        optional: false,
        description: "The status at the moment of the change.",
        typed_doc: false,
    },
    Field {
        name: "orderId",
        ty: "string",
        optional: false,
        description: "The order being paid.",
        typed_doc: false,
    },
    Field {
        name: "paymentId",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's payment id, once known.",
        typed_doc: false,
    },
    Field {
        name: "sessionId",
        ty: "string",
        optional: true,
        description: "The merchant backend's checkout session.",
        typed_doc: false,
    },
    Field {
        name: "errorCode",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's code for a failed payment (`INSUFFICIENT_FUNDS`), or the error's code.",
        typed_doc: true,
    },
    Field {
        name: "errorMessage",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's own text for a failed payment; the widget shows a translation of the code.",
        typed_doc: true,
    },
];

/// A property of an object of the JS API (`mount()`'s options, its handle).
#[derive(Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub ty: &'static str,
    pub optional: bool,
    pub read_only: bool,
    pub doc: Option<&'static str>,
}

/// `mount()`'s options, the element's writable attributes as properties; then one callback
/// per event (from [`EVENTS`]).
pub const MOUNT_OPTIONS: &[Property] = &[
    Property {
        name: "orderId",
        ty: "string",
        optional: false,
        read_only: false,
        doc: Some("The merchant's order reference; the backend decides the amount from it."),
    },
    Property {
        name: "endpoint",
        ty: "string",
        optional: true,
        read_only: false,
        doc: Some("The merchant backend's base URL; defaults to the page's origin."),
    },
    Property {
        name: "locale",
        ty: "CheckoutLocale",
        optional: true,
        read_only: false,
        doc: None,
    },
    Property {
        name: "theme",
        ty: "CheckoutTheme",
        optional: true,
        read_only: false,
        doc: None,
    },
];

/// What `mount()` returns.
pub const HANDLE_PROPERTIES: &[Property] = &[Property {
    name: "status",
    ty: "CheckoutStatus",
    optional: false,
    read_only: true,
    doc: Some("The current status."),
}];

pub const HANDLE_METHODS: &[Function] = &[
    Function {
        name: "retry",
        params: &[],
        returns: "void",
        doc: "Starts over: a new session request (a new payment unless the last one can still be paid).",
    },
    Function {
        name: "destroy",
        params: &[],
        returns: "void",
        doc: "Unmounts the widget, closes its event stream and removes the callbacks.",
    },
];

/// The module's functions; it also exports `TAG` and `MobilePayCheckout`, an object of both.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "define",
        params: &[Param {
            name: "tag",
            ty: "string",
            optional: true,
        }],
        returns: "boolean",
        doc: "Defines the element (under `tag`, default `mobilepay-checkout`). Safe during server-side\nrendering: without `customElements` it does nothing and returns `false`.",
    },
    Function {
        name: "mount",
        params: &[
            Param {
                name: "element",
                ty: "HTMLElement",
                optional: false,
            },
            Param {
                name: "options",
                ty: "MountOptions",
                optional: false,
            },
        ],
        returns: "CheckoutHandle",
        doc: "Mounts the checkout into `element` (e.g. a `<div>`).",
    },
];

/// A CSS custom property, set on the element; `default` is the light scheme's.
pub struct CssProperty {
    pub name: &'static str,
    pub default: &'static str,
    pub description: &'static str,
}

pub const CSS_PROPERTIES: &[CssProperty] = &[
    CssProperty {
        name: "--mobilepay-accent",
        default: "#0a7c3e",
        description: "Buttons and the paid message.",
    },
    CssProperty {
        name: "--mobilepay-on-accent",
        default: "#ffffff",
        description: "Text on the accent colour.",
    },
    CssProperty {
        name: "--mobilepay-text",
        default: "#1d1d1b",
        description: "Text.",
    },
    CssProperty {
        name: "--mobilepay-muted",
        default: "#55534e",
        description: "Secondary text (description, hints, countdown).",
    },
    CssProperty {
        name: "--mobilepay-surface",
        default: "#ffffff",
        description: "Background.",
    },
    CssProperty {
        name: "--mobilepay-border",
        default: "#8a857b",
        description: "The container's border.",
    },
    CssProperty {
        name: "--mobilepay-danger",
        default: "#a11d1d",
        description: "Failure and error messages.",
    },
    CssProperty {
        name: "--mobilepay-focus",
        default: "#1d4ed8",
        description: "The keyboard focus ring.",
    },
    CssProperty {
        name: "--mobilepay-radius",
        default: "12px",
        description: "Corner radius (buttons take half).",
    },
    CssProperty {
        name: "--mobilepay-font",
        default: "system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif",
        description: "Font family.",
    },
];

pub struct Part {
    pub name: &'static str,
    pub description: &'static str,
}

pub const PARTS: &[Part] = &[
    Part {
        name: "container",
        description: "The box around everything.",
    },
    Part {
        name: "amount",
        description: "The amount, `25 000 FCFA`.",
    },
    Part {
        name: "description",
        description: "The order's description.",
    },
    Part {
        name: "qr",
        description: "The QR code.",
    },
    Part {
        name: "code",
        description: "The payment's code, to type in by hand.",
    },
    Part {
        name: "countdown",
        description: "The time left to pay.",
    },
    Part {
        name: "button",
        description: "Every button.",
    },
    Part {
        name: "open-app",
        description: "The link that opens the wallet app (phones).",
    },
    Part {
        name: "copy",
        description: "The button that copies the payment's code.",
    },
    Part {
        name: "retry",
        description: "\"Réessayer\" / \"Nouveau code\": a new payment.",
    },
];

/// The element's class, as `index.d.ts` names it.
const CLASS: &str = "MobilePayCheckoutElement";

/// The export that holds `TAG` and the functions in one object (and `globalThis`'s name for
/// it in the script-tag entry).
const NAMESPACE: &str = "MobilePayCheckout";

/// The element, as the manifest describes it to editors and catalogues.
const ELEMENT_DESCRIPTION: &str =
    "The MOBILE-PAY checkout: the amount, the payment's QR code and its live status.";

/// The lists above, together: what the generators read. A test builds another one with a list
/// changed.
pub struct Surface<'a> {
    pub attributes: &'a [Attribute],
    pub statuses: &'a [&'a str],
    pub type_aliases: &'a [TypeAlias],
    pub methods: &'a [Function],
    pub events: &'a [Event],
    pub detail: &'a [Field],
    pub css_properties: &'a [CssProperty],
    pub parts: &'a [Part],
    pub mount_options: &'a [Property],
    pub handle_properties: &'a [Property],
    pub handle_methods: &'a [Function],
    pub functions: &'a [Function],
}

pub const SURFACE: Surface<'static> = Surface {
    attributes: ATTRIBUTES,
    statuses: STATUSES,
    type_aliases: TYPE_ALIASES,
    methods: METHODS,
    events: EVENTS,
    detail: DETAIL,
    css_properties: CSS_PROPERTIES,
    parts: PARTS,
    mount_options: MOUNT_OPTIONS,
    handle_properties: HANDLE_PROPERTIES,
    handle_methods: HANDLE_METHODS,
    functions: FUNCTIONS,
};

/// The first lines of `www/index.d.ts`.
const TYPES_HEADER: &str = "\
// Types of the `@mobilepay/checkout` package (`index.js`, and `auto.js`, the script-tag
// entry, which re-exports it). Generated from the public surface's list,
// xtask/src/surface.rs, by `cargo xtask surface --write`: edit the list, not this file.
";

/// `doc` as a doc comment at `indent`, one line per line of `doc`.
fn doc_comment(indent: &str, doc: &str) -> String {
    let mut lines = doc.lines();
    let mut out = format!("{indent}/** {}", lines.next().unwrap_or_default());
    for line in lines {
        out += &format!("\n{indent} * {line}");
    }
    out + " */\n"
}

/// `  readonly name?: type;`, after its doc comment if it has one.
fn property(p: &Property) -> String {
    let doc = p.doc.map(|d| doc_comment("  ", d)).unwrap_or_default();
    let read_only = if p.read_only { "readonly " } else { "" };
    let optional = if p.optional { "?" } else { "" };
    format!("{doc}  {read_only}{}{optional}: {};\n", p.name, p.ty)
}

fn method(m: &Function) -> String {
    format!(
        "{}  {}{};\n",
        doc_comment("  ", m.doc),
        m.name,
        m.signature()
    )
}

impl Surface<'_> {
    /// `www/index.d.ts`.
    pub fn types(&self) -> String {
        let mut out = format!("{TYPES_HEADER}\n{}", doc_comment("", STATUS_DOC));
        out += "export type CheckoutStatus =\n";
        for (i, status) in self.statuses.iter().enumerate() {
            let end = if i + 1 == self.statuses.len() {
                ";"
            } else {
                ""
            };
            out += &format!("  | '{status}'{end}\n");
        }
        for alias in self.type_aliases {
            out += &format!(
                "\n{}export type {} = {};\n",
                doc_comment("", alias.doc),
                alias.name,
                alias.ty
            );
        }
        out += &format!(
            "\n{}export interface CheckoutDetail {{\n",
            doc_comment("", DETAIL_DOC)
        );
        for f in self.detail {
            if f.typed_doc {
                out += &doc_comment("  ", f.description);
            }
            let optional = if f.optional { "?" } else { "" };
            out += &format!("  {}{optional}: {};\n", f.name, f.ty);
        }
        out += "}\n\nexport type CheckoutEvent = CustomEvent<CheckoutDetail>;\n";
        out += "\nexport interface MountOptions {\n";
        out.extend(self.mount_options.iter().map(property));
        for e in self.events {
            out += &format!("  {}?: (detail: CheckoutDetail) => void;\n", e.callback);
        }
        out += "}\n\nexport interface CheckoutHandle {\n";
        out.extend(self.handle_properties.iter().map(property));
        out.extend(self.handle_methods.iter().map(method));
        out += &format!(
            "}}\n\n{}export interface {CLASS} extends HTMLElement {{\n",
            doc_comment("", &format!("The `<{TAG}>` element."))
        );
        // The reflected properties first; none carries a doc comment, as in the file that was
        // written by hand (their descriptions are their attributes', in the manifest).
        let (read_only, writable): (Vec<&Attribute>, Vec<&Attribute>) =
            self.attributes.iter().partition(|a| a.read_only);
        for a in read_only {
            out += &format!("  readonly {}: {};\n", a.property, a.ty);
        }
        for a in writable {
            out += &format!("  {}: {};\n", a.property, a.ty);
        }
        out.extend(self.methods.iter().map(method));
        out += &format!(
            "}}\n\n{}export declare const TAG: '{TAG}';\n",
            doc_comment("", &tag_doc())
        );
        for f in self.functions {
            out += &format!(
                "\n{}export declare function {}{};\n",
                doc_comment("", f.doc),
                f.name,
                f.signature()
            );
        }
        out += &format!("\nexport declare const {NAMESPACE}: {{\n  readonly TAG: typeof TAG;\n");
        for f in self.functions {
            out += &format!("  {0}: typeof {0};\n", f.name);
        }
        out += &format!(
            "}};\n\ndeclare global {{\n  interface HTMLElementTagNameMap {{\n    '{TAG}': {CLASS};\n  }}\n  interface HTMLElementEventMap {{\n"
        );
        for e in self.events {
            out += &format!("    '{}': CheckoutEvent;\n", e.name);
        }
        out + "  }\n}\n"
    }

    /// `www/custom-elements.json`.
    pub fn manifest(&self) -> String {
        let params = |f: &Function| -> Vec<Value> {
            f.params
                .iter()
                .map(|p| {
                    let mut param = json!({ "name": p.name, "type": { "text": p.ty } });
                    if p.optional {
                        param["optional"] = json!(true);
                    }
                    param
                })
                .collect()
        };
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "fieldName": a.property,
                    "type": { "text": a.ty },
                    "description": a.description,
                })
            })
            .collect();
        let mut members: Vec<Value> = self
            .attributes
            .iter()
            .map(|a| {
                let mut field = json!({
                    "kind": "field",
                    "name": a.property,
                    "type": { "text": a.ty },
                    "description": a.description,
                    "attribute": a.name,
                });
                if a.read_only {
                    field["readonly"] = json!(true);
                    field["reflects"] = json!(true);
                }
                field
            })
            .collect();
        members.extend(self.methods.iter().map(|m| {
            let mut method = json!({
                "kind": "method",
                "name": m.name,
                "description": text_of(m.doc),
                "return": { "type": { "text": m.returns } },
            });
            if !m.params.is_empty() {
                method["parameters"] = json!(params(m));
            }
            method
        }));
        let detail: Vec<&str> = self.detail.iter().map(|f| f.name).collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "type": { "text": "CustomEvent<CheckoutDetail>" },
                    "description": format!(
                        "{} Bubbles, composed; `detail`: {{{}}}.",
                        e.description,
                        detail.join(", ")
                    ),
                })
            })
            .collect();
        let element = json!({
            "kind": "class",
            "name": CLASS,
            "tagName": TAG,
            "customElement": true,
            "superclass": { "name": "HTMLElement" },
            "description": ELEMENT_DESCRIPTION,
            "attributes": attributes,
            "members": members,
            "events": events,
            "cssProperties": self.css_properties.iter().map(|p| json!({
                "name": p.name, "default": p.default, "description": p.description,
            })).collect::<Vec<_>>(),
            "cssParts": self.parts.iter().map(|p| json!({
                "name": p.name, "description": p.description,
            })).collect::<Vec<_>>(),
        });
        let mut declarations = vec![element];
        declarations.extend(self.functions.iter().map(|f| {
            json!({
                "kind": "function",
                "name": f.name,
                "description": text_of(f.doc),
                "parameters": params(f),
                "return": { "type": { "text": f.returns } },
            })
        }));
        let names: Vec<&str> = self.functions.iter().map(|f| f.name).collect();
        declarations.push(json!({
            "kind": "variable",
            "name": "TAG",
            "type": { "text": format!("'{TAG}'") },
            "default": format!("'{TAG}'"),
            "description": tag_doc(),
        }));
        declarations.push(json!({
            "kind": "variable",
            "name": NAMESPACE,
            "description": format!("`{{ TAG, {} }}` in one object.", names.join(", ")),
        }));
        let js_export = |name: &str| json!({ "kind": "js", "name": name, "declaration": { "name": name, "module": "index.js" } });
        let definition = |how: &str| {
            json!({
                "kind": "custom-element-definition",
                "name": TAG,
                "declaration": { "name": CLASS, "module": "index.js" },
                "description": how,
            })
        };
        let mut index_exports: Vec<Value> =
            names.iter().chain(&["TAG"]).map(|n| js_export(n)).collect();
        index_exports.push(definition("Defined when `define()` is called."));
        index_exports.push(js_export(NAMESPACE));
        let mut auto_exports: Vec<Value> = names
            .iter()
            .chain(&["TAG", NAMESPACE])
            .map(|n| js_export(n))
            .collect();
        auto_exports.push(definition("Defined on import."));
        let manifest = json!({
            "schemaVersion": "1.0.0",
            "readme": "README.md",
            "modules": [
                {
                    "kind": "javascript-module",
                    "path": "index.js",
                    "declarations": declarations,
                    "exports": index_exports,
                },
                {
                    "kind": "javascript-module",
                    // The package's name for it (`@mobilepay/checkout/auto`); the backend
                    // serves the same entry, bundled, as /widget/mobilepay-checkout.js.
                    "path": "auto.js",
                    "description": "The script-tag entry (served as /widget/mobilepay-checkout.js): defines <mobilepay-checkout> on import.",
                    "declarations": [],
                    "exports": auto_exports,
                },
            ],
        });
        let mut out = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        out.push('\n');
        out
    }

    /// The markdown between the markers in `docs/widget.md`.
    pub fn docs(&self) -> String {
        let mut out = String::from("| attribute / property | |\n|---|---|\n");
        for a in self.attributes {
            let name = if a.name == a.property {
                format!("`{}`", a.name)
            } else {
                format!("`{}` / `{}`", a.name, a.property)
            };
            let read_only = if a.read_only { " (read-only)" } else { "" };
            out += &format!("| {name}{read_only} | {} |\n", a.description);
        }
        out += "\n| method | |\n|---|---|\n";
        for m in self.methods {
            out += &format!("| `{}{}` | {} |\n", m.name, m.signature(), text_of(m.doc));
        }
        out += "\nEvents bubble and are composed; each carries the same `detail`, the state at the \
                moment of the change.\n\n| event | |\n|---|---|\n";
        for e in self.events {
            out += &format!("| `{}` | {} |\n", e.name, e.description);
        }
        out += "\n| `detail` field | |\n|---|---|\n";
        for f in self.detail {
            let optional = if f.optional { " (when known)" } else { "" };
            out += &format!(
                "| `{}`: `{}`{optional} | {} |\n",
                f.name, f.ty, f.description
            );
        }
        out += "\n| CSS custom property (on the element) | light default | |\n|---|---|---|\n";
        for p in self.css_properties {
            out += &format!("| `{}` | `{}` | {} |\n", p.name, p.default, p.description);
        }
        out += "\n| part (`::part(…)`) | |\n|---|---|\n";
        for p in self.parts {
            out += &format!("| `{}` | {} |\n", p.name, p.description);
        }
        out
    }

    /// Every file generated from the surface, whole, as it should be committed: `docs/widget.md`
    /// is read from `root` to splice the section in.
    pub fn files(&self, root: &Path) -> anyhow::Result<Vec<(&'static str, String)>> {
        let docs_md = std::fs::read_to_string(root.join("docs/widget.md"))?;
        Ok(vec![
            ("www/index.d.ts", self.types()),
            ("www/custom-elements.json", self.manifest()),
            (
                "docs/widget.md",
                splice_docs(&docs_md, &self.docs()).map_err(anyhow::Error::msg)?,
            ),
        ])
    }
}

/// A doc comment as one paragraph, for a table cell or the manifest.
fn text_of(doc: &str) -> String {
    doc.replace('\n', " ")
}

fn tag_doc() -> String {
    format!("The element's tag, `{TAG}`.")
}

pub const DOCS_START: &str = "<!-- surface:start (generated from xtask/src/surface.rs) -->\n";
pub const DOCS_END: &str = "<!-- surface:end -->";

/// `docs_md` with the text between the markers replaced by `section`.
pub fn splice_docs(docs_md: &str, section: &str) -> Result<String, String> {
    let start = docs_md
        .find(DOCS_START)
        .ok_or("docs/widget.md lacks the surface:start marker")?
        + DOCS_START.len();
    let end = docs_md
        .find(DOCS_END)
        .ok_or("docs/widget.md lacks the surface:end marker")?;
    Ok(format!("{}{section}{}", &docs_md[..start], &docs_md[end..]))
}

/// A line of a difference: in both files, only in the committed one, only in the generated one.
#[derive(Clone, Copy, PartialEq)]
enum Line<'a> {
    Both(&'a str),
    Committed(&'a str),
    Generated(&'a str),
}

/// The lines of `old` and `new` in order, as few of them marked changed as can be (the longest
/// common subsequence, by dynamic programming on what lies between the common first and last
/// lines: a generated file changes where its list changed, so that span is short).
fn diff_lines<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<Line<'a>> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines: Vec<Line> = old[..prefix].iter().map(|l| Line::Both(l)).collect();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push(Line::Both(a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(Line::Committed(a[i]));
            i += 1;
        } else {
            lines.push(Line::Generated(b[j]));
            j += 1;
        }
    }
    lines.extend(old[old.len() - suffix..].iter().map(|l| Line::Both(l)));
    lines
}

/// `None` when `committed` is `generated`; else what differs, for a person to read: each
/// changed line as `-` (committed) or `+` (generated), with two lines of context, each place
/// under the number of the committed file's line it starts at.
pub fn difference(path: &str, committed: &str, generated: &str) -> Option<String> {
    const CONTEXT: usize = 2;
    if committed == generated {
        return None;
    }
    let old: Vec<&str> = committed.split_inclusive('\n').collect();
    let new: Vec<&str> = generated.split_inclusive('\n').collect();
    let lines = diff_lines(&old, &new);
    let changed: Vec<usize> = (0..lines.len())
        .filter(|&k| !matches!(lines[k], Line::Both(_)))
        .collect();
    let near_a_change = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = format!(
        "{path} differs from what xtask/src/surface.rs generates (- committed, + generated):\n"
    );
    let mut committed_line = 1;
    for (k, line) in lines.iter().enumerate() {
        if near_a_change(k) {
            if k == 0 || !near_a_change(k - 1) {
                out += &format!("@@ line {committed_line} @@\n");
            }
            let (sign, text) = match line {
                Line::Both(text) => (' ', text),
                Line::Committed(text) => ('-', text),
                Line::Generated(text) => ('+', text),
            };
            out += &match text.strip_suffix('\n') {
                Some(text) => format!("{sign}{text}\n"),
                // The file's last line, without a newline.
                None => format!("{sign}{text}\n\\ no newline at the end\n"),
            };
        }
        if !matches!(line, Line::Generated(_)) {
            committed_line += 1;
        }
    }
    Some(out)
}

/// `cargo xtask surface [--write]`: fails with the difference of every committed file that is
/// not what the surface generates, or (`write`) writes those files.
pub fn run(root: &Path, write: bool) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for (path, generated) in SURFACE.files(root)? {
        let committed = match std::fs::read_to_string(root.join(path)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(anyhow::Error::new(e).context(path)),
        };
        let Some(difference) = difference(path, &committed, &generated) else {
            continue;
        };
        if write {
            std::fs::write(root.join(path), &generated)?;
            eprintln!("surface: wrote {path}");
        } else {
            stale.push(difference);
        }
    }
    anyhow::ensure!(
        stale.is_empty(),
        "{}\n`cargo xtask surface --write` writes what the list generates; commit it",
        stale.join("\n")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn read(path: &str) -> String {
        std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Panics with the difference unless the committed `path` is what the surface generates.
    fn assert_committed(path: &str) {
        let files = SURFACE
            .files(&root())
            .expect("the surface's files generated");
        let (_, generated) = files
            .iter()
            .find(|(p, _)| *p == path)
            .expect("a generated file");
        if let Some(difference) = difference(path, &read(path), generated) {
            panic!("{difference}\nrun `cargo xtask surface --write` and commit the result");
        }
    }

    /// The lines only `before` has and the lines only `after` has, each counted.
    fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
        let only = |a: &str, b: &str| -> Vec<String> {
            let mut rest: Vec<&str> = b.lines().collect();
            a.lines()
                .filter(|line| match rest.iter().position(|l| l == line) {
                    Some(i) => {
                        rest.remove(i);
                        false
                    }
                    None => true,
                })
                .map(str::to_owned)
                .collect()
        };
        (only(before, after), only(after, before))
    }

    #[test]
    fn index_d_ts_is_what_the_surface_generates() {
        assert_committed("www/index.d.ts");
    }

    #[test]
    fn custom_elements_json_is_what_the_surface_generates() {
        assert_committed("www/custom-elements.json");
    }

    #[test]
    fn the_docs_surface_section_is_what_the_surface_generates() {
        assert_committed("docs/widget.md");
    }

    #[test]
    fn an_event_removed_from_the_list_leaves_the_types_and_the_manifest() {
        let events: Vec<Event> = EVENTS
            .iter()
            .filter(|e| e.name != "mobilepay:expired")
            .copied()
            .collect();
        let changed = Surface {
            events: &events,
            ..SURFACE
        };
        assert_eq!(
            changed_lines(&SURFACE.types(), &changed.types()),
            (
                vec![
                    "  onExpired?: (detail: CheckoutDetail) => void;".to_owned(),
                    "    'mobilepay:expired': CheckoutEvent;".to_owned(),
                ],
                vec![]
            )
        );
        assert!(SURFACE.manifest().contains("\"mobilepay:expired\""));
        assert!(!changed.manifest().contains("\"mobilepay:expired\""));
    }

    #[test]
    fn an_attribute_added_to_the_list_becomes_a_property_of_the_element() {
        let mut attributes = ATTRIBUTES.to_vec();
        attributes.push(Attribute {
            name: "colour",
            property: "colour",
            ty: "string | null",
            read_only: false,
            description: "A colour.",
        });
        let changed = Surface {
            attributes: &attributes,
            ..SURFACE
        };
        assert_eq!(
            changed_lines(&SURFACE.types(), &changed.types()),
            (vec![], vec!["  colour: string | null;".to_owned()])
        );
        let (removed, added) = changed_lines(&SURFACE.docs(), &changed.docs());
        assert_eq!(
            (removed, added),
            (vec![], vec!["| `colour` | A colour. |".to_owned()])
        );
    }

    #[test]
    fn a_doc_comment_keeps_the_lines_the_list_breaks() {
        assert_eq!(doc_comment("", "One line."), "/** One line. */\n");
        assert_eq!(
            doc_comment("  ", "First line,\nsecond line."),
            "  /** First line,\n   * second line. */\n"
        );
    }

    #[test]
    fn a_stale_file_is_reported_with_the_lines_that_differ() {
        let committed = "a\nb\nc\nd\ne\nf\n";
        let generated = "a\nb\nc\nD\ne\nf\n";
        assert_eq!(difference("x.d.ts", committed, committed), None);
        assert_eq!(
            difference("x.d.ts", committed, generated).as_deref(),
            Some(
                "x.d.ts differs from what xtask/src/surface.rs generates (- committed, + generated):\n\
                 @@ line 2 @@\n b\n c\n-d\n+D\n e\n f\n"
            )
        );
        // Two changes far apart: two places, each with its context; a line added at the end.
        let committed = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let generated = "one\n2\n3\n4\n5\n6\n7\n8\n9\n10";
        assert_eq!(
            difference("x.d.ts", committed, generated).as_deref(),
            Some(
                "x.d.ts differs from what xtask/src/surface.rs generates (- committed, + generated):\n\
                 @@ line 1 @@\n-1\n+one\n 2\n 3\n\
                 @@ line 8 @@\n 8\n 9\n+10\n\\ no newline at the end\n"
            )
        );
    }

    #[test]
    fn mount_takes_as_options_the_attributes_a_page_sets() {
        let options: Vec<&str> = MOUNT_OPTIONS.iter().map(|o| o.name).collect();
        let writable: Vec<&str> = ATTRIBUTES
            .iter()
            .filter(|a| !a.read_only)
            .map(|a| a.property)
            .collect();
        assert_eq!(options, writable);
    }

    #[test]
    fn the_widget_dispatches_exactly_the_events_the_surface_lists() {
        let element = read("src/element.rs");
        let dispatched: BTreeSet<&str> = element
            .split("\"mobilepay:")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
            .collect();
        let wanted: BTreeSet<&str> = EVENTS
            .iter()
            .map(|e| e.name.trim_start_matches("mobilepay:"))
            .collect();
        assert_eq!(
            dispatched, wanted,
            "the events src/element.rs dispatches and the surface"
        );
    }

    #[test]
    fn the_js_shell_dispatches_and_observes_what_the_surface_lists() {
        let index = read("www/index.js");
        for event in EVENTS {
            let short = event.name.trim_start_matches("mobilepay:");
            assert!(
                index.contains(&format!("{short}: '{}'", event.callback)),
                "www/index.js's CALLBACKS does not call {} for {}",
                event.callback,
                event.name
            );
        }
        for a in ATTRIBUTES.iter().filter(|a| !a.read_only) {
            assert!(
                index.contains(&format!("get {}()", a.property)),
                "www/index.js has no property {}",
                a.property
            );
        }
        for m in METHODS {
            assert!(
                index.contains(&format!("{}() {{", m.name)),
                "www/index.js has no method {}",
                m.name
            );
        }
        for f in FUNCTIONS {
            assert!(
                index.contains(&format!("export function {}(", f.name)),
                "www/index.js does not export {}",
                f.name
            );
        }
    }

    #[test]
    fn the_stylesheet_declares_every_custom_property_with_its_documented_default() {
        let css = read("src/style.css");
        let host = css
            .split_once(":host {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(block, _)| block)
            .expect("src/style.css has a :host block");
        let declared: BTreeSet<String> = host
            .split(';')
            // A comment before a declaration is not part of it.
            .map(|d| d.rsplit("*/").next().unwrap_or_default().trim())
            .filter(|d| d.starts_with("--mobilepay-"))
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let wanted: BTreeSet<String> = CSS_PROPERTIES
            .iter()
            .map(|p| format!("{}: {}", p.name, p.default))
            .collect();
        assert_eq!(declared, wanted, "src/style.css's :host and the surface");
    }

    #[test]
    fn the_widget_renders_exactly_the_parts_the_surface_lists() {
        let sources: String = std::fs::read_dir(root().join("src"))
            .expect("src/")
            .filter_map(Result::ok)
            .filter(|f| f.path().extension().is_some_and(|e| e == "rs"))
            .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
            .collect();
        // `part="…"` in `view!`, `("part", "…")` in `src/view.rs`'s attribute lists.
        let rendered: BTreeSet<&str> = ["part=\"", "(\"part\", \""]
            .iter()
            .flat_map(|marker| sources.split(marker).skip(1))
            .filter_map(|rest| rest.split_once('"').map(|(parts, _)| parts))
            .flat_map(str::split_whitespace)
            .collect();
        let wanted: BTreeSet<&str> = PARTS.iter().map(|p| p.name).collect();
        assert_eq!(
            rendered, wanted,
            "the parts the widget renders (src/*.rs) and the surface"
        );
    }
}
