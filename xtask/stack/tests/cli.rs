//! The command line that `cargo xtask` forwards to this binary unchanged: its answers to a
//! wrong task or flag, before it builds or starts anything. Being an integration test, this
//! file also makes `cargo test --workspace` build the binary itself, with the features it
//! builds everything else with — the binary the gate then runs (xtask/src/main.rs, `test`).

use std::process::{Command, Output};

fn stack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask-stack"))
        .args(args)
        .output()
        .expect("xtask-stack starts")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_unknown_task_is_refused_with_the_list_of_tasks_and_exit_code_2() {
    let output = stack(&["surface"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "usage: cargo xtask <demo|bench|bench-streams|bench-notify|chaos|schemathesis|fuzz-api>"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_flag_a_task_does_not_know_fails_with_its_usage_before_anything_is_built() {
    for (args, usage) in [
        (
            &["chaos", "--frobnicate"][..],
            "chaos [--checkouts N] [--seconds S] [--seed X] [--release] [--no-build]; not --frobnicate",
        ),
        (
            &["bench-streams", "--help"][..],
            "bench-streams [--against nchan] [--shape N/C]… [--rate R] [--runs K] [--ingest W] [--postgres] [--instances I]; not --help",
        ),
    ] {
        let output = stack(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = stderr(&output);
        assert!(stderr.contains(usage), "{args:?}: {stderr}");
        // `run` echoes every command it starts with `$ `: nothing was.
        assert!(
            !stderr.contains("$ "),
            "{args:?} started something: {stderr}"
        );
    }
}
