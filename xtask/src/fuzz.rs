//! `cargo xtask fuzz [SECONDS]`: coverage-guided fuzzing with AFL++ through cargo-afl (stable
//! Rust), of the crate in `fuzz/` (outside the workspace): the webhook verifier and the JSON
//! bodies. Each target runs `SECONDS` (default 120) under `nice`, from the seeds in
//! `fuzz/seeds/<target>/`; the task prints AFL's own figures (executions a second, corpus
//! entries found, crashes, hangs) and fails on any crash or hang.
//!
//! Installs what is missing: `cargo-afl` at [`CARGO_AFL`] (`cargo install`) and AFL++ itself
//! (`cargo afl config --build`, which compiles it with the system's C compiler).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};

use xtask::{cargo, output, run, target_dir};

/// The cargo-afl release the fuzz crate's `afl` dependency is pinned to.
const CARGO_AFL: &str = "0.18.2";
const TARGETS: [&str; 2] = ["webhook_verifier", "json_bodies"];

pub fn run_fuzz(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let seconds: u64 = args
        .first()
        .map(|s| s.parse())
        .transpose()
        .context("fuzz takes a number of seconds per target")?
        .unwrap_or(120);
    ensure!(seconds > 0, "fuzz: at least 1 second per target");
    let have = output(cargo().args(["afl", "--version"])).unwrap_or_default();
    if !have.contains(CARGO_AFL) {
        run(cargo().args(["install", "cargo-afl", "--version", CARGO_AFL, "--locked"]))?;
    }
    // AFL++ is built once per rustc and cargo-afl version (under ~/.local/share/afl.rs);
    // `config --build` refuses, saying so, when it already is.
    eprintln!("$ cargo afl config --build");
    let config = cargo()
        .args(["afl", "config", "--build"])
        .output()
        .context("running cargo afl config --build")?;
    let said = String::from_utf8_lossy(&config.stderr);
    ensure!(
        config.status.success() || said.contains("already built"),
        "cargo afl config --build failed: {said}"
    );
    let fuzz = root.join("fuzz");
    let target = target_dir(root).join("fuzz");
    run(cargo()
        .current_dir(&fuzz)
        .args(["afl", "build", "--release"])
        .env("CARGO_TARGET_DIR", &target))?;
    let mut failures = Vec::new();
    for name in TARGETS {
        let out = target.join("out").join(name);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(target.join("out"))?;
        // AFL++'s progress lines, for when it stops early.
        let log = std::fs::File::create(target.join("out").join(format!("{name}.log")))?;
        let mut afl = Command::new("nice");
        afl.args(["-n", "10"])
            .arg(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["afl", "fuzz", "-V", &seconds.to_string(), "-i"])
            .arg(fuzz.join("seeds").join(name))
            .arg("-o")
            .arg(&out)
            .arg("--")
            .arg(target.join("release").join(name))
            // No screen to draw on; the machine's CPU frequency and core-dump settings are
            // not ours to change.
            .env("AFL_NO_UI", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
            .env("AFL_NO_AFFINITY", "1")
            .stdout(log);
        run(&mut afl)?;
        let stats = std::fs::read_to_string(out.join("default/fuzzer_stats"))
            .with_context(|| format!("AFL++ left no fuzzer_stats for {name}"))?;
        let stats: HashMap<&str, &str> = stats
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let stat = |key: &str| stats.get(key).copied().unwrap_or("?");
        println!(
            "fuzz {name}: {} s, {} executions ({} a second), corpus {} entries ({} found), \
             {} crashes, {} hangs, edges {}",
            stat("run_time"),
            stat("execs_done"),
            stat("execs_per_sec"),
            stat("corpus_count"),
            stat("corpus_found"),
            stat("saved_crashes"),
            stat("saved_hangs"),
            stat("edges_found"),
        );
        if stat("saved_crashes") != "0" || stat("saved_hangs") != "0" {
            failures.push(format!(
                "{name}: crashes and hangs are in {}",
                out.join("default").display()
            ));
        }
    }
    if !failures.is_empty() {
        bail!("fuzz: {}", failures.join("; "));
    }
    Ok(())
}
