//! What both binaries of `cargo xtask` share: the workspace's folders, running commands and
//! cargo, installing what a fresh machine lacks, and the widget's build ([`widget`]).
//!
//! Two crates hold the tasks. This one (`xtask`, its binary in `main.rs`) holds the light ones
//! and the gate; `xtask-stack` (`xtask/stack/`) holds those that run the servers — `demo`,
//! `bench`, `bench-streams`, `bench-notify`, `chaos`, `schemathesis`, `fuzz-api` — and depends
//! on this library; `cargo xtask` runs it through cargo for those tasks.
//!
//! **Invariant:** this crate links no server crate (no `mobilepay-*`, no sqlx, axum, tokio or
//! WebDriver client), so that `cargo xtask surface` and the other light tasks compile in
//! seconds; anything that needs a server goes to `xtask-stack`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub mod widget;

pub use widget::build_widget;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder: `CARGO_TARGET_DIR` if set (relative to the workspace root), else
/// `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// Where the built widget goes, as the merchant backend serves it under `/widget/`. It is also
/// the npm package's folder (`npm pack` runs there).
pub fn widget_dir(root: &Path) -> PathBuf {
    target_dir(root).join("widget")
}

/// Runs `cmd`, echoing it, and fails unless it succeeds.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {}", render(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", render(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", render(cmd));
    }
    Ok(())
}

/// `cmd` as a shell would show it.
pub fn render(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cargo that runs this task (`CARGO`), in the workspace root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(root());
    cmd
}

/// What `cmd` prints, if it starts and succeeds.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether this process runs as root (then it may install Debian packages).
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

/// The wasm target and `wasm-bindgen-cli` at Cargo.lock's version.
pub fn ensure_wasm_tools() -> anyhow::Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let wanted = locked_version("wasm-bindgen")?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(wanted.as_str()) {
        // Not `--locked`: one of the CLI's locked dependencies is missing from the registry
        // mirror here (docs/toolchain.md).
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }
    Ok(())
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .with_context(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').context("Cargo.lock is malformed")?;
    Ok(lock[start..start + end].to_owned())
}

/// Debian `packages`, installed unless `present` (then nothing is asked), which needs root:
/// otherwise fails with `hint`, the command a user would run.
pub fn ensure_debian(present: bool, packages: &[&str], hint: &str) -> anyhow::Result<()> {
    if present {
        return Ok(());
    }
    if !is_root() {
        bail!("{hint}");
    }
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    Ok(())
}

/// Chromium and chromedriver, from Debian's packages: installed when missing and we are root.
pub fn ensure_chromium() -> anyhow::Result<()> {
    ensure_debian(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        &["chromium", "chromium-driver"],
        "the browser tests need Debian's Chromium and its driver: \
         `sudo apt-get install chromium chromium-driver`",
    )
}

/// PostgreSQL's server binaries (the merchant backend's scale-out tests start one of their
/// own): from Debian's packages, installed when missing and we are root.
pub fn ensure_postgres() -> anyhow::Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .filter_map(Result::ok)
            .any(|v| v.path().join("bin/initdb").exists())
    });
    ensure_debian(
        installed,
        &["postgresql"],
        "the merchant backend's tests need PostgreSQL: `sudo apt-get install postgresql`",
    )
}

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
