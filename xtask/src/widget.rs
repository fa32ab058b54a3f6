//! Building the widget: the wasm in release, wasm-bindgen's glue, and the files of `www/`, all
//! made as small as the tools here make them (each step's saving is in docs/widget.md); then
//! what a `<script>` tag loads, shaped for a slow phone link ([`package_for_script_tag`]): one
//! bundled module, content-hashed names, and brotli and gzip siblings of every file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::{cargo, run, target_dir, widget_dir};

/// The files of `www/` that the widget's folder (and npm package) ships beside wasm-bindgen's.
/// `www/mobilepay-checkout.js`, the script-tag entry, ships as `auto.js` (the npm package's
/// `./auto`, for bundlers); the folder's `mobilepay-checkout.js` is the same entry bundled.
pub const WWW_FILES: [(&str, &str); 6] = [
    ("custom-elements.json", "custom-elements.json"),
    ("index.js", "index.js"),
    ("index.d.ts", "index.d.ts"),
    ("mobilepay-checkout.js", "auto.js"),
    ("package.json", "package.json"),
    ("README.md", "README.md"),
];

/// What the backend reads to name the hashed files in a page's `<head>`: written beside them.
pub const MANIFEST: &str = "manifest.json";

/// The npm packages the build runs, pinned: binaryen's `wasm-opt` (Debian's binaryen 108
/// produces wasm that fails at run time, docs/toolchain.md) and esbuild, the JS and CSS minifier.
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
    // `MOBILEPAY_WIDGET_NAMES=1` keeps the function names, for `twiggy top` to say what costs
    // what; the shipped widget never has them.
    let names = std::env::var_os("MOBILEPAY_WIDGET_NAMES").is_some_and(|v| v == "1");
    let keep_names: &[&str] = if names { &["-g"] } else { &[] };
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--remove-producers-section"])
        .args((!names).then_some("--remove-name-section"))
        .arg("--out-dir")
        .arg(&out)
        .arg(&wasm))?;
    let wasm = out.join("mobilepay_checkout_bg.wasm");
    let glue = out.join("mobilepay_checkout.js");
    drop_unused_exports(&bin, &glue, &wasm, keep_names)?;
    // Flattening and re-running the relooper before `-Oz` finds more to shrink: −0.7 KB brotli
    // over `-Oz --converge` alone (measured). `--low-memory-unused` would save 0.3 KB more but
    // assumes the wasm never touches its first 1 KB, where Rust's stack ends: left out.
    run(Command::new(bin.join("wasm-opt"))
        .args(["--flatten", "--rereloop", "-Oz", "-Oz", "--converge"])
        .args(keep_names)
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    shorten_names(&bin, &glue, &wasm, keep_names)?;
    let minified = minify(&bin, &glue)?;
    std::fs::write(&glue, minified).context("writing the minified glue")?;
    for (file, name) in WWW_FILES {
        let from = root.join("www").join(file);
        let to = out.join(name);
        if file.ends_with(".js") {
            std::fs::write(&to, minify(&bin, &from)?)
        } else {
            std::fs::copy(&from, &to).map(|_| ())
        }
        .with_context(|| format!("copying www/{file}"))?;
    }
    package_for_script_tag(&bin, &out)?;
    Ok(out)
}

/// Shapes `out` for a phone on a slow link, where each round trip costs ~0.4 s:
/// - one module to load instead of a chain of four: the entry, `index.js` and the glue bundled
///   by esbuild, as `mobilepay-checkout.<hash>.js` and as the stable `mobilepay-checkout.js`
///   that merchants' `<script>` tags name (served short-lived, so a release reaches shoppers);
/// - the wasm as `mobilepay_checkout_bg.<hash>.wasm`, the name the bundle fetches; hashed
///   names never change content, so the backend serves them `immutable` and a repeat visit
///   downloads nothing;
/// - [`MANIFEST`] (`{"entry": …, "wasm": …}`), naming both, for pages that write preload
///   hints;
/// - a `.br` (brotli -q 11) and a `.gz` (gzip -9) beside every `.js`, `.wasm` and `.json`
///   file, which the backend picks
///   by `Accept-Encoding` (compressing at build time costs the server nothing per request).
///
/// The npm package keeps the unhashed, unbundled modules: a merchant's bundler does that part.
pub fn package_for_script_tag(bin: &Path, out: &Path) -> anyhow::Result<()> {
    // Earlier builds' hashed files and compressed siblings: gone, so the folder holds one build.
    for entry in std::fs::read_dir(out).context("listing the widget's folder")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".br") || name.ends_with(".gz") || hash_in(name).is_some() {
            std::fs::remove_file(&path).with_context(|| format!("removing {name}"))?;
        }
    }
    let wasm_bytes =
        std::fs::read(out.join("mobilepay_checkout_bg.wasm")).context("reading the wasm")?;
    let wasm = format!("mobilepay_checkout_bg.{}.wasm", content_hash(&wasm_bytes));
    std::fs::write(out.join(&wasm), &wasm_bytes).context("writing the hashed wasm")?;

    let bundle = stdout_of(
        Command::new(bin.join("esbuild"))
            .arg(out.join("auto.js"))
            .args([
                "--bundle",
                "--format=esm",
                "--minify",
                "--log-level=warning",
            ]),
    )?;
    let bundle = String::from_utf8(bundle).context("esbuild's bundle is not UTF-8")?;
    // `index.js` names the wasm once, relative to the module (`new URL(…, import.meta.url)`,
    // which esbuild leaves as it is); the bundle fetches the hashed name instead.
    let unhashed = "\"./mobilepay_checkout_bg.wasm\"";
    anyhow::ensure!(
        bundle.matches(unhashed).count() == 1,
        "the bundle does not name {unhashed} once: update xtask/src/widget.rs"
    );
    let bundle = bundle.replace(unhashed, &format!("\"./{wasm}\""));
    let entry = format!("mobilepay-checkout.{}.js", content_hash(bundle.as_bytes()));
    for name in [entry.as_str(), "mobilepay-checkout.js"] {
        std::fs::write(out.join(name), &bundle).with_context(|| format!("writing {name}"))?;
    }
    let manifest = serde_json::json!({ "entry": entry, "wasm": wasm });
    std::fs::write(out.join(MANIFEST), format!("{manifest:#}\n"))
        .context("writing the manifest")?;

    for entry in std::fs::read_dir(out).context("listing the widget's folder")? {
        let path = entry?.path();
        // What a page fetches; the package's other files are for npm and editors.
        let fetched = ["js", "wasm", "json"]
            .iter()
            .any(|ext| path.extension().is_some_and(|e| e == *ext));
        if !path.is_file() || !fetched {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for (ext, compressed) in [("br", brotli(&bytes)?), ("gz", gzip(&bytes)?)] {
            let mut sibling = path.clone().into_os_string();
            sibling.push(".");
            sibling.push(ext);
            std::fs::write(&sibling, compressed)
                .with_context(|| format!("writing {}", Path::new(&sibling).display()))?;
        }
    }
    Ok(())
}

/// The first 16 hex digits of the SHA-256 of `bytes`: a new name for every new content.
fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The content hash in a file name made by [`package_for_script_tag`] (`name.<16 hex>.ext`):
/// the rule by which the backend serves a name `immutable` (`routes::assets::hash_in`).
fn hash_in(name: &str) -> Option<&str> {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next()?, parts.next()?);
    (parts.next().is_some() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(hash)
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
fn drop_unused_exports(
    bin: &Path,
    glue: &Path,
    wasm: &Path,
    keep_names: &[&str],
) -> anyhow::Result<()> {
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
        .args(keep_names)
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .stdout(Stdio::null()))?;
    std::fs::remove_file(&graph_file).context("removing the wasm-metadce graph")?;
    Ok(())
}

/// Gives the wasm's imports, exports and import module one- or two-letter names
/// (`wasm-opt --minify-imports-and-exports-and-modules`) and the glue the same names.
/// wasm-bindgen names every import after its JS function plus a 16-hex-digit hash, and every
/// name is written twice, in the wasm and in the glue; that hash is noise brotli cannot
/// compress (measured: docs/widget.md).
fn shorten_names(bin: &Path, glue: &Path, wasm: &Path, keep_names: &[&str]) -> anyhow::Result<()> {
    let mapping = stdout_of(
        Command::new(bin.join("wasm-opt"))
            .arg(wasm)
            .arg("--minify-imports-and-exports-and-modules")
            .args(keep_names)
            .arg("-o")
            .arg(wasm),
    )?;
    // `{"imports": [[module, old, new], …], "exports": [[old, new], …]}`.
    let renames: serde_json::Value = serde_json::from_slice(&mapping)
        .context("wasm-opt printed no mapping of names: update xtask/src/widget.rs")?;
    let pairs = |key: &str| -> anyhow::Result<Vec<(String, String)>> {
        renames[key]
            .as_array()
            .context("wasm-opt's mapping of names changed shape")?
            .iter()
            .map(|entry| {
                let entry = entry
                    .as_array()
                    .context("wasm-opt's mapping changed shape")?;
                let name = |at: usize| entry.get(at).and_then(|n| n.as_str()).map(str::to_owned);
                let (old, new) = match entry.len() {
                    3 => (name(1), name(2)),
                    _ => (name(0), name(1)),
                };
                old.zip(new).context("wasm-opt's mapping changed shape")
            })
            .collect()
    };
    let mut js = std::fs::read_to_string(glue).context("reading wasm-bindgen's glue")?;
    // Every import is a key of the one import object, `name: function(…)`, written once.
    for (old, new) in pairs("imports")? {
        let key = format!("{old}: function(");
        anyhow::ensure!(
            js.matches(&key).count() == 1,
            "the glue does not define the import {old} once: update xtask/src/widget.rs"
        );
        js = js.replace(&key, &format!("\"{new}\": function("));
    }
    // The glue reads every export as `wasm.name`.
    for (old, new) in pairs("exports")? {
        js = replace_word(&js, &format!("wasm.{old}"), &format!("wasm[\"{new}\"]"));
    }
    if let Some(left) = js.split("wasm.").nth(1) {
        bail!(
            "the glue still reads an export by its long name (wasm.{}): update xtask/src/widget.rs",
            left.chars().take(40).collect::<String>()
        );
    }
    // wasm-opt puts every import in one module, `a`.
    let text = stdout_of(Command::new(bin.join("wasm-dis")).arg(wasm))?;
    let text = String::from_utf8_lossy(&text);
    anyhow::ensure!(
        text.contains("(import \"a\" ")
            && text
                .split("(import \"")
                .skip(1)
                .all(|import| import.starts_with("a\" ")),
        "wasm-opt named the import module otherwise than `a`: update xtask/src/widget.rs"
    );
    let module = "\"./mobilepay_checkout_bg.js\": import0";
    anyhow::ensure!(
        js.matches(module).count() == 1,
        "the glue names its import module differently: update xtask/src/widget.rs"
    );
    js = js.replace(module, "\"a\": import0");
    std::fs::write(glue, js).context("writing wasm-bindgen's glue")
}

/// `text` with every `word` that is not followed by more of an identifier replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let after = &rest[at + word.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        out.push_str(&rest[..at]);
        out.push_str(if whole { with } else { word });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `file` (an ES module or a stylesheet, by its extension) minified by esbuild.
fn minify(bin: &Path, file: &Path) -> anyhow::Result<String> {
    let output = stdout_of(
        Command::new(bin.join("esbuild"))
            .arg(file)
            .args(["--minify", "--log-level=warning"]),
    )?;
    String::from_utf8(output).context("esbuild's output is not UTF-8")
}

/// Runs `cmd`, echoing it, and returns what it printed; fails unless it succeeds.
fn stdout_of(cmd: &mut Command) -> anyhow::Result<Vec<u8>> {
    eprintln!("$ {}", crate::render(cmd));
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {}", crate::render(cmd)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", crate::render(cmd), output.status);
    }
    Ok(output.stdout)
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

/// `bytes` compressed by gzip -9.
pub fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// `bytes` compressed by brotli -q 11 (window 22), as `brotli` on the command line does.
pub fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}
