//! `cargo xtask bench`: the figures we track. For now, the widget's download size: every file a
//! browser fetches for it, raw, gzip -9 and brotli -q 11.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

pub fn run(root: &Path) -> anyhow::Result<()> {
    crate::ensure_wasm_tools()?;
    let dir = crate::build_widget(root)?;
    let files = [
        "mobilepay_checkout_bg.wasm",
        "mobilepay_checkout.js",
        "mobilepay-checkout.js",
    ];
    println!("\nWidget download size (bytes; KB = 1000 B)\n");
    println!("| file | raw | gzip -9 | brotli -q 11 |");
    println!("|---|---:|---:|---:|");
    let mut total = [0usize; 3];
    for name in files {
        let bytes = std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
        let sizes = [bytes.len(), gzip(&bytes)?, brotli(&bytes)?];
        for (t, s) in total.iter_mut().zip(sizes) {
            *t += s;
        }
        println!("| {name} | {} | {} | {} |", sizes[0], sizes[1], sizes[2]);
    }
    println!(
        "| **total** (CSS is inside the wasm) | {} | {} | **{}** ({:.1} KB) |",
        total[0],
        total[1],
        total[2],
        total[2] as f64 / 1000.0
    );
    Ok(())
}

fn gzip(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn brotli(bytes: &[u8]) -> anyhow::Result<usize> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out.len())
}
