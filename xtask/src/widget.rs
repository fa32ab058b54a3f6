//! Building the widget: the wasm in release, wasm-bindgen's glue, and the files of `www/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::{cargo, run, target_dir, widget_dir};

/// The files of `www/` that the widget's folder (and npm package) ships beside wasm-bindgen's.
pub const WWW_FILES: [&str; 5] = [
    "index.js",
    "index.d.ts",
    "mobilepay-checkout.js",
    "package.json",
    "README.md",
];

/// Builds the widget in release for wasm32 and runs wasm-bindgen; returns the output folder.
pub fn build_widget(root: &Path) -> anyhow::Result<PathBuf> {
    run(cargo().args([
        "build",
        "--package",
        "mobilepay-checkout",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let out = widget_dir(root);
    let wasm = target_dir(root).join("wasm32-unknown-unknown/wasm-release/mobilepay_checkout.wasm");
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--remove-name-section",
            "--remove-producers-section",
        ])
        .arg("--out-dir")
        .arg(&out)
        .arg(&wasm))?;
    for file in WWW_FILES {
        std::fs::copy(root.join("www").join(file), out.join(file))
            .with_context(|| format!("copying www/{file}"))?;
    }
    Ok(out)
}
