//! The QR code as the data of one SVG `<path>` of its dark modules (runs of a row merged),
//! which is smaller than a QR crate's own SVG renderer and needs no `innerHTML`. Native: the
//! DOM layer (`view`) puts the path into an `<svg>`; nothing here knows a browser.
//!
//! The encoder is `qrcodegen` rather than the `qrcode` crate the design first named: with the
//! same emitter it is ~7 KB (brotli) smaller in the wasm (measured: see docs/widget.md), and it
//! encodes the same standard QR codes (level M here, as `qrcode`'s default).

use qrcodegen::{QrCode, QrCodeEcc};

use crate::clock::push_number;

/// The quiet zone the QR specification asks for around the code, in modules.
const QUIET: usize = 4;

/// The path data of `payload`'s dark modules and the code's width in modules (quiet zone
/// included), or `None` if the payload is too long for a QR code.
pub fn path(payload: &str) -> Option<(String, usize)> {
    // Byte mode always: a payment URL has lowercase letters, which only byte mode encodes, so
    // `encode_text` would pick it anyway; without its choice of modes the download is 1.1 KB
    // (brotli) smaller (measured).
    let code = QrCode::encode_binary(payload.as_bytes(), QrCodeEcc::Medium).ok()?;
    let width = usize::try_from(code.size()).ok()?;
    // Coordinates are below `width`, itself at most 177: they fit an i32.
    let dark = |x: usize, y: usize| code.get_module(x as i32, y as i32);
    let mut d = String::new();
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if dark(x, y) {
                let start = x;
                while x < width && dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                d.push('M');
                push_number(&mut d, start + QUIET);
                d.push(' ');
                push_number(&mut d, y + QUIET);
                d.push('h');
                push_number(&mut d, run);
                d.push_str("v1h-");
                push_number(&mut d, run);
                d.push('z');
            } else {
                x += 1;
            }
        }
    }
    Some((d, width + 2 * QUIET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_url_makes_a_square_code_with_its_quiet_zone() {
        let (d, size) = path("http://127.0.0.1:8090/wallet/PAYABCDEFGHJKLM").expect("encodes");
        // 44 bytes in byte mode need version 4 (33 modules) at level M; plus 4 modules each side.
        assert_eq!(size, 33 + 2 * QUIET);
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
