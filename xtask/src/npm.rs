//! The npm package as a merchant's app uses it: `npm pack` the built widget, install the
//! tarball into a Vite 7 project (`e2e/npm-consumer/`, its versions pinned by its lock file),
//! check in Node that the package imports and `define()`s without a DOM (server-side
//! rendering) and that its `custom-elements.json` is valid against the manifest's schema, and
//! `vite build` the app. The end-to-end tests then serve that build on another origin than the
//! merchant backend and pay through it in Chromium.
//!
//! Node and npm must be on the machine; the project's own Node dependencies (Vite, axe-core,
//! ajv and the manifest's schema) are installed once into the target folder with `npm ci` and
//! reused while the lock file is unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use xtask::{output, run, target_dir};

/// The fixture's files, copied into the work folder (node_modules and dist stay there).
const FIXTURE_FILES: [&str; 6] = [
    "package.json",
    "package-lock.json",
    "index.html",
    "main.js",
    "ssr.test.js",
    "manifest.test.js",
];

/// What the end-to-end tests need from the Node side.
#[derive(Debug)]
pub struct Consumer {
    /// The Vite build of the consumer app (`index.html` and `assets/`).
    pub dist: PathBuf,
    /// axe-core's browser bundle, injected into pages by the accessibility tests.
    pub axe: PathBuf,
}

/// Packs `widget` (the built package folder), builds the consumer app with it and runs the
/// Node checks; returns what the end-to-end tests use.
pub fn prepare(root: &Path, widget: &Path) -> anyhow::Result<Consumer> {
    if output(Command::new("npm").arg("--version")).is_none() {
        bail!("the npm package tests need Node.js and npm: `apt-get install nodejs npm`");
    }
    let work = target_dir(root).join("npm-consumer");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let fixture = root.join("e2e/npm-consumer");
    for file in FIXTURE_FILES {
        std::fs::copy(fixture.join(file), work.join(file))
            .with_context(|| format!("copying e2e/npm-consumer/{file}"))?;
    }

    // Vite and axe-core, exactly as locked; skipped while node_modules matches the lock.
    let lock = std::fs::read_to_string(work.join("package-lock.json"))?;
    let stamp = work.join("node_modules/.mobilepay-installed-lock");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(lock.as_str()) {
        run(npm(&work).args(["ci", "--no-audit", "--no-fund"]))?;
        std::fs::write(&stamp, &lock)?;
    }

    // The package as the registry would serve it: `npm pack`, then install the tarball.
    let packed = std::process::Command::new("npm")
        .args(["pack", "--json", "--pack-destination"])
        .arg(&work)
        .current_dir(widget)
        .stdin(Stdio::null())
        .output()
        .context("running npm pack")?;
    if !packed.status.success() {
        bail!(
            "`npm pack` in {} failed: {}",
            widget.display(),
            String::from_utf8_lossy(&packed.stderr)
        );
    }
    let packed: serde_json::Value =
        serde_json::from_slice(&packed.stdout).context("reading npm pack's JSON")?;
    let tarball = packed[0]["filename"]
        .as_str()
        .context("npm pack named no tarball")?
        .to_owned();
    let files: Vec<&str> = packed[0]["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    eprintln!(
        "npm pack: {tarball}, {} bytes packed, files: {}",
        packed[0]["size"],
        files.join(", ")
    );
    for wanted in [
        "package.json",
        "index.js",
        "index.d.ts",
        "auto.js",
        "mobilepay_checkout.js",
        "mobilepay_checkout_bg.wasm",
        "custom-elements.json",
    ] {
        if !files.contains(&wanted) {
            bail!("the npm package lacks {wanted} (www/package.json's `files`, xtask WWW_FILES)");
        }
    }
    // A fresh copy each time: the same name and version may hold a new build.
    let installed = work.join("node_modules/@mobilepay");
    if installed.exists() {
        std::fs::remove_dir_all(&installed)?;
    }
    run(npm(&work)
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
        ])
        .arg(format!("./{tarball}")))?;

    run(node(&work).args(["--test", "ssr.test.js", "manifest.test.js"]))?;
    run(node(&work).args([
        "node_modules/vite/bin/vite.js",
        "build",
        "--outDir",
        "dist",
        "--emptyOutDir",
        "--logLevel",
        "warn",
    ]))?;
    let dist = work.join("dist");
    let assets: Vec<String> = std::fs::read_dir(dist.join("assets"))
        .context("vite wrote no assets")?
        .filter_map(Result::ok)
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    if !assets.iter().any(|f| f.ends_with(".wasm")) {
        bail!("vite's build did not ship the widget's wasm: {assets:?}");
    }
    Ok(Consumer {
        dist,
        axe: work.join("node_modules/axe-core/axe.min.js"),
    })
}

/// `npm` in `dir`, never waiting on a terminal (the gate runs with no stdin).
fn npm(dir: &Path) -> Command {
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .env("npm_config_update_notifier", "false");
    cmd
}

fn node(dir: &Path) -> Command {
    let mut cmd = Command::new("node");
    cmd.current_dir(dir).stdin(Stdio::null());
    cmd
}
