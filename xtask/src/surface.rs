//! The public surface of `<mobilepay-checkout>`, written once: attributes and properties,
//! methods, events and their `detail`, CSS custom properties, parts.
//!
//! Generated from it (the tests below regenerate and fail, after updating the file, when a
//! committed copy is stale — commit the update): `www/custom-elements.json` (the
//! custom-elements-manifest schema 1.0.0, shipped in the npm package) and the section of
//! `docs/widget.md` between the `surface` markers. Checked against it: the hand-written
//! `www/index.d.ts`, the events `www/index.js` knows, the custom properties `src/style.css`
//! declares and the parts `src/*.rs` render — so none of them can drift silently.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

/// The element's tag.
pub const TAG: &str = "mobilepay-checkout";

/// An attribute and the property that goes with it.
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

/// Every value of `status`.
pub const STATUSES: &[&str] = &[
    "loading",
    "awaiting_payment",
    "paid",
    "failed",
    "expired",
    "error",
];

pub struct Method {
    pub name: &'static str,
    /// TypeScript signature after the name.
    pub signature: &'static str,
    pub description: &'static str,
}

pub const METHODS: &[Method] = &[Method {
    name: "retry",
    signature: "(): void",
    description: "Starts over: a new session request for the current attributes.",
}];

pub struct Event {
    pub name: &'static str,
    pub description: &'static str,
}

/// Every event bubbles, is composed and carries [`DETAIL`].
pub const EVENTS: &[Event] = &[
    Event {
        name: "mobilepay:statuschange",
        description: "Every change of `status`.",
    },
    Event {
        name: "mobilepay:paid",
        description: "The payment is confirmed.",
    },
    Event {
        name: "mobilepay:failed",
        description: "The payment failed; `errorCode` says why.",
    },
    Event {
        name: "mobilepay:expired",
        description: "The payment's code expired unpaid.",
    },
    Event {
        name: "mobilepay:error",
        description: "No payment could be shown; `errorCode` says why.",
    },
];

/// A field of every event's `detail`.
pub struct Field {
    pub name: &'static str,
    pub ty: &'static str,
    pub optional: bool,
    pub description: &'static str,
}

pub const DETAIL: &[Field] = &[
    Field {
        name: "status",
        ty: "CheckoutStatus",
        optional: false,
        description: "The status at the moment of the change.",
    },
    Field {
        name: "orderId",
        ty: "string",
        optional: false,
        description: "The order being paid.",
    },
    Field {
        name: "paymentId",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's payment id, once known.",
    },
    Field {
        name: "sessionId",
        ty: "string",
        optional: true,
        description: "The merchant backend's checkout session.",
    },
    Field {
        name: "errorCode",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's code for a failed payment (`INSUFFICIENT_FUNDS`), or the error's code.",
    },
    Field {
        name: "errorMessage",
        ty: "string",
        optional: true,
        description: "MOBILE-PAY's own text for a failed payment; the widget shows a translation of the code.",
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

/// `www/custom-elements.json`.
pub fn manifest() -> String {
    let detail_type = "CustomEvent<CheckoutDetail>";
    let attributes: Vec<Value> = ATTRIBUTES
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
    let mut members: Vec<Value> = ATTRIBUTES
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
    members.extend(METHODS.iter().map(|m| {
        json!({
            "kind": "method",
            "name": m.name,
            "description": m.description,
            "return": { "type": { "text": "void" } },
        })
    }));
    let detail: Vec<String> = DETAIL.iter().map(|f| f.name.to_owned()).collect();
    let events: Vec<Value> = EVENTS
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "type": { "text": detail_type },
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
        "description": "The MOBILE-PAY checkout: the amount, the payment's QR code and its live status.",
        "attributes": attributes,
        "members": members,
        "events": events,
        "cssProperties": CSS_PROPERTIES.iter().map(|p| json!({
            "name": p.name, "default": p.default, "description": p.description,
        })).collect::<Vec<_>>(),
        "cssParts": PARTS.iter().map(|p| json!({
            "name": p.name, "description": p.description,
        })).collect::<Vec<_>>(),
    });
    let functions = [
        json!({
            "kind": "function",
            "name": "define",
            "description": "Defines the element (under `tag`). Safe during server-side rendering: without `customElements` it does nothing and returns false.",
            "parameters": [{ "name": "tag", "optional": true, "type": { "text": "string" } }],
            "return": { "type": { "text": "boolean" } },
        }),
        json!({
            "kind": "function",
            "name": "mount",
            "description": "Mounts the checkout into `element` (e.g. a <div>) and returns a handle with `status`, `retry()`, `destroy()`.",
            "parameters": [
                { "name": "element", "type": { "text": "HTMLElement" } },
                { "name": "options", "type": { "text": "MountOptions" } },
            ],
            "return": { "type": { "text": "CheckoutHandle" } },
        }),
        json!({
            "kind": "variable",
            "name": "TAG",
            "type": { "text": "'mobilepay-checkout'" },
            "default": "'mobilepay-checkout'",
        }),
    ];
    let js_export = |name: &str, module: &str| json!({ "kind": "js", "name": name, "declaration": { "name": name, "module": module } });
    let definition = |how: &str| {
        json!({
            "kind": "custom-element-definition",
            "name": TAG,
            "declaration": { "name": CLASS, "module": "index.js" },
            "description": how,
        })
    };
    let mut index_exports: Vec<Value> = ["define", "mount", "TAG"]
        .iter()
        .map(|n| js_export(n, "index.js"))
        .collect();
    index_exports.push(definition("Defined when `define()` is called."));
    let mut auto_exports: Vec<Value> = ["define", "mount", "TAG", "MobilePayCheckout"]
        .iter()
        .map(|n| js_export(n, "index.js"))
        .collect();
    auto_exports.push(definition("Defined on import."));
    let mut index_declarations = vec![element];
    index_declarations.extend(functions);
    index_declarations.push(json!({
        "kind": "variable",
        "name": "MobilePayCheckout",
        "description": "`{ TAG, define, mount }` in one object.",
    }));
    index_exports.push(js_export("MobilePayCheckout", "index.js"));
    let manifest = json!({
        "schemaVersion": "1.0.0",
        "readme": "README.md",
        "modules": [
            {
                "kind": "javascript-module",
                "path": "index.js",
                "declarations": index_declarations,
                "exports": index_exports,
            },
            {
                "kind": "javascript-module",
                "path": "mobilepay-checkout.js",
                "description": "The script-tag entry: defines <mobilepay-checkout> on import.",
                "declarations": [],
                "exports": auto_exports,
            },
        ],
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    text
}

/// The markdown between the markers in `docs/widget.md`.
pub fn docs() -> String {
    let mut out = String::from("| attribute / property | |\n|---|---|\n");
    for a in ATTRIBUTES {
        let name = if a.name == a.property {
            format!("`{}`", a.name)
        } else {
            format!("`{}` / `{}`", a.name, a.property)
        };
        let read_only = if a.read_only { " (read-only)" } else { "" };
        out += &format!("| {name}{read_only} | {} |\n", a.description);
    }
    out += "\n| method | |\n|---|---|\n";
    for m in METHODS {
        out += &format!("| `{}{}` | {} |\n", m.name, m.signature, m.description);
    }
    out += "\nEvents bubble and are composed; each carries the same `detail`, the state at the \
            moment of the change.\n\n| event | |\n|---|---|\n";
    for e in EVENTS {
        out += &format!("| `{}` | {} |\n", e.name, e.description);
    }
    out += "\n| `detail` field | |\n|---|---|\n";
    for f in DETAIL {
        let optional = if f.optional { " (when known)" } else { "" };
        out += &format!(
            "| `{}`: `{}`{optional} | {} |\n",
            f.name, f.ty, f.description
        );
    }
    out += "\n| CSS custom property (on the element) | light default | |\n|---|---|---|\n";
    for p in CSS_PROPERTIES {
        out += &format!("| `{}` | `{}` | {} |\n", p.name, p.default, p.description);
    }
    out += "\n| part (`::part(…)`) | |\n|---|---|\n";
    for p in PARTS {
        out += &format!("| `{}` | {} |\n", p.name, p.description);
    }
    out
}

pub const DOCS_START: &str = "<!-- surface:start (generated from xtask/src/surface.rs) -->\n";
pub const DOCS_END: &str = "<!-- surface:end -->";

/// `docs` with the text between the markers replaced by [`docs()`].
pub fn splice_docs(docs_md: &str) -> Result<String, String> {
    let start = docs_md
        .find(DOCS_START)
        .ok_or("docs/widget.md lacks the surface:start marker")?
        + DOCS_START.len();
    let end = docs_md
        .find(DOCS_END)
        .ok_or("docs/widget.md lacks the surface:end marker")?;
    Ok(format!(
        "{}{}{}",
        &docs_md[..start],
        docs(),
        &docs_md[end..]
    ))
}

/// Where the surface and a hand-written file disagree, one line per difference.
pub fn check_types(d_ts: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut compare = |what: &str, declared: BTreeSet<String>, wanted: BTreeSet<String>| {
        for missing in wanted.difference(&declared) {
            problems.push(format!("www/index.d.ts lacks {what} `{missing}`"));
        }
        for extra in declared.difference(&wanted) {
            problems.push(format!(
                "www/index.d.ts declares {what} `{extra}`, which xtask/src/surface.rs does not list"
            ));
        }
    };
    let element = block(d_ts, &format!("interface {CLASS} extends HTMLElement {{"));
    let members = members(&element);
    compare(
        "the element property",
        members
            .iter()
            .filter(|m| !m.contains('('))
            .cloned()
            .collect(),
        ATTRIBUTES
            .iter()
            .map(|a| {
                let read_only = if a.read_only { "readonly " } else { "" };
                format!("{read_only}{}: {}", a.property, a.ty)
            })
            .collect(),
    );
    compare(
        "the element method",
        members
            .iter()
            .filter(|m| m.contains('('))
            .cloned()
            .collect(),
        METHODS
            .iter()
            .map(|m| format!("{}{}", m.name, m.signature))
            .collect(),
    );
    compare(
        "the event",
        members_of(d_ts, "interface HTMLElementEventMap {"),
        EVENTS
            .iter()
            .map(|e| format!("'{}': CheckoutEvent", e.name))
            .collect(),
    );
    compare(
        "the detail field",
        members_of(d_ts, "export interface CheckoutDetail {"),
        DETAIL
            .iter()
            .map(|f| {
                let optional = if f.optional { "?" } else { "" };
                format!("{}{optional}: {}", f.name, f.ty)
            })
            .collect(),
    );
    let statuses = d_ts
        .split_once("export type CheckoutStatus =")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(union, _)| union)
        .unwrap_or_default();
    compare(
        "the status",
        statuses
            .split('|')
            .map(|s| s.trim().trim_matches('\'').to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        STATUSES.iter().map(|s| (*s).to_owned()).collect(),
    );
    compare(
        "the tag",
        members_of(d_ts, "interface HTMLElementTagNameMap {"),
        BTreeSet::from([format!("'{TAG}': {CLASS}")]),
    );
    problems
}

/// The text inside the braces that follow `opening` (which ends with `{`); empty if absent.
fn block(text: &str, opening: &str) -> String {
    let Some(start) = text.find(opening).map(|i| i + opening.len()) else {
        return String::new();
    };
    let mut depth = 1;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return text[start..start + i].to_owned();
                }
            }
            _ => {}
        }
    }
    String::new()
}

/// The declarations of a TypeScript interface body, one per `;`, without comments.
fn members(body: &str) -> BTreeSet<String> {
    let without_comments: String = {
        let mut out = String::new();
        let mut rest = body;
        while let Some(start) = rest.find("/*") {
            out += &rest[..start];
            rest = rest[start..]
                .find("*/")
                .map_or("", |end| &rest[start + end + 2..]);
        }
        out + rest
    };
    without_comments
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .split(';')
        .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|m| !m.is_empty())
        .collect()
}

fn members_of(text: &str, opening: &str) -> BTreeSet<String> {
    members(&block(text, opening))
}

/// Writes `contents` to `path` if it differs; says whether it was already up to date.
pub fn ensure_file(path: &Path, contents: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(true);
    }
    std::fs::write(path, contents)?;
    Ok(false)
}

/// Regenerates `www/custom-elements.json` and the docs section (`cargo xtask surface`).
pub fn generate(root: &Path) -> anyhow::Result<()> {
    ensure_file(&root.join("www/custom-elements.json"), &manifest())?;
    let docs_path = root.join("docs/widget.md");
    let docs_md = std::fs::read_to_string(&docs_path)?;
    let spliced = splice_docs(&docs_md).map_err(anyhow::Error::msg)?;
    ensure_file(&docs_path, &spliced)?;
    let problems = check_types(&std::fs::read_to_string(root.join("www/index.d.ts"))?);
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn read(path: &str) -> String {
        std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn custom_elements_json_is_generated_from_the_surface() {
        let up_to_date = ensure_file(&root().join("www/custom-elements.json"), &manifest())
            .expect("www/custom-elements.json written");
        assert!(
            up_to_date,
            "www/custom-elements.json was stale: it is regenerated now, commit it"
        );
    }

    #[test]
    fn the_docs_surface_section_is_generated_from_the_surface() {
        let spliced = splice_docs(&read("docs/widget.md")).expect("the markers are there");
        let up_to_date =
            ensure_file(&root().join("docs/widget.md"), &spliced).expect("docs written");
        assert!(
            up_to_date,
            "docs/widget.md's surface section was stale: it is regenerated now, commit it"
        );
    }

    #[test]
    fn index_d_ts_declares_exactly_the_surface() {
        let problems = check_types(&read("www/index.d.ts"));
        assert!(
            problems.is_empty(),
            "www/index.d.ts and xtask/src/surface.rs disagree:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn the_type_check_catches_a_missing_event_and_an_undeclared_property() {
        let d_ts = read("www/index.d.ts")
            .replace("'mobilepay:expired': CheckoutEvent;", "")
            .replace(
                "  theme: string | null;",
                "  theme: string | null;\n  colour: string;",
            );
        let problems = check_types(&d_ts);
        assert_eq!(
            problems,
            [
                "www/index.d.ts declares the element property `colour: string`, which xtask/src/surface.rs does not list",
                "www/index.d.ts lacks the event `'mobilepay:expired': CheckoutEvent`",
            ]
        );
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
                index.contains(&format!("{short}: 'on")),
                "www/index.js has no callback for {}",
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
    }

    #[test]
    fn the_stylesheet_declares_every_custom_property_with_its_documented_default() {
        let css = read("src/style.css");
        let host = block(&css, ":host {");
        let declared: BTreeSet<String> = members(&host)
            .into_iter()
            .filter(|d| d.starts_with("--mobilepay-"))
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
