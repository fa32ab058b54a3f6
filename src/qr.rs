//! The QR code as inline SVG: one `<path>` of the dark modules (runs of a row merged), which is
//! smaller than the `qrcode` crate's own SVG renderer and needs no `innerHTML`.

use leptos::prelude::*;
use qrcode::{Color, QrCode};

/// The quiet zone the QR specification asks for around the code, in modules.
const QUIET: usize = 4;

/// The path data of `payload`'s dark modules and the code's width in modules (quiet zone
/// included), or `None` if the payload is too long for a QR code.
pub fn path(payload: &str) -> Option<(String, usize)> {
    let code = QrCode::new(payload.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut d = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                let run = x - start;
                d.push_str(&format!("M{} {}h{run}v1h-{run}z", start + QUIET, y + QUIET));
            } else {
                x += 1;
            }
        }
    }
    Some((d, width + 2 * QUIET))
}

/// The QR code of `payload`, labelled for screen readers with `label`.
pub fn svg(payload: &str, label: String) -> impl IntoView {
    let (d, size) = path(payload).unwrap_or_default();
    let view_box = format!("0 0 {size} {size}");
    view! {
        <svg viewBox=view_box role="img" aria-label=label shape-rendering="crispEdges">
            <rect width="100%" height="100%" fill="#fff" />
            <path d=d fill="#000" />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_url_makes_a_square_code_with_its_quiet_zone() {
        let (d, size) = path("http://127.0.0.1:8090/wallet/PAYABCDEFGHJKLM").expect("encodes");
        // Version 3 (29 modules) fits this URL at level M; plus 4 modules each side.
        assert_eq!(size, 29 + 2 * QUIET);
        assert!(
            d.starts_with(&format!("M{QUIET} {QUIET}h7v1h-7z")),
            "finder pattern first: {d}"
        );
    }

    #[test]
    fn a_payload_too_long_for_any_qr_code_is_refused() {
        assert!(path(&"x".repeat(8000)).is_none());
    }
}
