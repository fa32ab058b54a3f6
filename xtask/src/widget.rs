//! Building the widget: the wasm in release, wasm-bindgen's glue, and the files of `www/`, all
//! made as small as the tools here make them (each step's saving is in docs/widget.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::{cargo, run, target_dir, widget_dir};

/// The files of `www/` that the widget's folder (and npm package) ships beside wasm-bindgen's.
pub const WWW_FILES: [&str; 6] = [
    "custom-elements.json",
    "index.js",
    "index.d.ts",
    "mobilepay-checkout.js",
    "package.json",
    "README.md",
];

/// The npm packages the build runs, pinned: binaryen's `wasm-opt` (Debian's binaryen 108
/// produces wasm that fails at run time, TOOLCHAIN.md) and esbuild, the JS and CSS minifier.
const NPM_TOOLS: [&str; 2] = ["binaryen@132.0.0", "esbuild@0.25.12"];

/// Builds the widget in release for wasm32, runs wasm-bindgen, drops the exports nothing calls,
/// runs `wasm-opt` and minifies the JS and CSS; returns the output folder. Every byte here is
/// downloaded by the shopper's phone.
pub fn build_widget(root: &Path) -> anyhow::Result<PathBuf> {
    let bin = npm_tools(root)?;
    // The stylesheet is compiled into the wasm (`src/lib.rs` reads this variable when set):
    // minified, the wasm is 0.3 KB (brotli) smaller (measured).
    let css = minify(&bin, &root.join("src/style.css"))?;
    run(cargo()
        .args([
            "build",
            "--package",
            "mobilepay-checkout",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "wasm-release",
        ])
        .env("MOBILEPAY_CHECKOUT_CSS", css))?;
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
    let wasm = out.join("mobilepay_checkout_bg.wasm");
    let glue = out.join("mobilepay_checkout.js");
    drop_unused_exports(&bin, &glue, &wasm)?;
    // Flattening and re-running the relooper before `-Oz` finds more to shrink: −0.7 KB brotli
    // over `-Oz --converge` alone (measured). `--low-memory-unused` would save 0.3 KB more but
    // assumes the wasm never touches its first 1 KB, where Rust's stack ends: left out.
    run(Command::new(bin.join("wasm-opt"))
        .args(["--flatten", "--rereloop", "-Oz", "-Oz", "--converge"])
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    let minified = minify(&bin, &glue)?;
    std::fs::write(&glue, minified).context("writing the minified glue")?;
    for file in WWW_FILES {
        let from = root.join("www").join(file);
        let to = out.join(file);
        if file.ends_with(".js") {
            std::fs::write(&to, minify(&bin, &from)?)
        } else {
            std::fs::copy(&from, &to).map(|_| ())
        }
        .with_context(|| format!("copying www/{file}"))?;
    }
    Ok(out)
}

/// The JS classes that wasm-streams exports from the wasm. Leptos depends on it for server
/// functions, which the widget does not use; nothing calls them.
const UNUSED_CLASSES: [&str; 3] = [
    "IntoUnderlyingByteSource",
    "IntoUnderlyingSink",
    "IntoUnderlyingSource",
];

/// Removes [`UNUSED_CLASSES`] from wasm-bindgen's glue, then, with `wasm-metadce`, every export
/// of the wasm that the glue does not call and all the code only they reach.
fn drop_unused_exports(bin: &Path, glue: &Path, wasm: &Path) -> anyhow::Result<()> {
    let mut js = std::fs::read_to_string(glue).context("reading wasm-bindgen's glue")?;
    for class in UNUSED_CLASSES {
        let Some(start) = js.find(&format!("export class {class} {{")) else {
            continue;
        };
        let dispose = format!(
            "if (Symbol.dispose) {class}.prototype[Symbol.dispose] = {class}.prototype.free;\n"
        );
        let registry = format!("const {class}Finalization = ");
        let (Some(end), Some(registry_start)) = (js.find(&dispose), js.find(&registry)) else {
            bail!("wasm-bindgen's glue for {class} changed shape: update xtask/src/widget.rs");
        };
        let registry_end = js[registry_start..]
            .find(";\n")
            .map(|at| registry_start + at + 2)
            .context("wasm-bindgen's glue changed shape: update xtask/src/widget.rs")?;
        // The registry comes after the class: remove it first, so that `start..end` still holds.
        js.replace_range(registry_start..registry_end, "");
        js.replace_range(start..end + dispose.len(), "");
    }
    std::fs::write(glue, &js).context("writing wasm-bindgen's glue")?;

    // Every `wasm.<export>` the glue still uses is a root; wasm-metadce drops the other exports.
    let mut used: Vec<&str> = js
        .split("wasm.")
        .skip(1)
        .map(|rest| {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            &rest[..len]
        })
        .filter(|name| !name.is_empty())
        .collect();
    used.sort_unstable();
    used.dedup();
    if !used.contains(&"mount") {
        // A graph without the glue's calls would have wasm-metadce empty the module.
        bail!("wasm-bindgen's glue calls no `wasm.mount`: update xtask/src/widget.rs");
    }
    let reaches: Vec<String> = used.iter().map(|name| format!("\"e:{name}\"")).collect();
    let exports: Vec<String> = used
        .iter()
        .map(|name| format!(r#"{{"name":"e:{name}","export":"{name}"}}"#))
        .collect();
    let graph = format!(
        r#"[{{"name":"js","root":true,"reaches":[{}]}},{}]"#,
        reaches.join(","),
        exports.join(",")
    );
    let graph_file = wasm.with_extension("graph.json");
    std::fs::write(&graph_file, graph).context("writing the wasm-metadce graph")?;
    run(Command::new(bin.join("wasm-metadce"))
        .arg("--graph-file")
        .arg(&graph_file)
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .stdout(Stdio::null()))?;
    std::fs::remove_file(&graph_file).context("removing the wasm-metadce graph")?;
    Ok(())
}

/// `file` (an ES module or a stylesheet, by its extension) minified by esbuild.
fn minify(bin: &Path, file: &Path) -> anyhow::Result<String> {
    let mut cmd = Command::new(bin.join("esbuild"));
    cmd.arg(file).args(["--minify", "--log-level=warning"]);
    eprintln!("$ {}", crate::render(&cmd));
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("could not start esbuild")?;
    if !output.status.success() {
        bail!("esbuild failed on {} ({})", file.display(), output.status);
    }
    String::from_utf8(output.stdout).context("esbuild's output is not UTF-8")
}

/// Installs [`NPM_TOOLS`] once into `<target>/tools` and returns their `node_modules/.bin`.
fn npm_tools(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = target_dir(root).join("tools");
    let bin = dir.join("node_modules/.bin");
    let stamp = dir.join("installed");
    let wanted = NPM_TOOLS.join(" ");
    if std::fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(bin);
    }
    if Command::new("npm").arg("--version").output().is_err() {
        bail!(
            "building the widget needs npm, for wasm-opt and esbuild ({wanted}): \
             `apt-get install npm` (Debian) or Node.js from nodejs.org"
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    run(Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund", "--no-save", "--no-package-lock"])
        .args(NPM_TOOLS)
        .stdin(Stdio::null()))?;
    std::fs::write(&stamp, &wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(bin)
}
