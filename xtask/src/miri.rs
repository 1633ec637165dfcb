//! `cargo xtask miri`: the pool code under Miri, the interpreter that catches undefined behaviour
//! and data races, with several scheduler seeds (`-Zmiri-many-seeds`) so different thread
//! interleavings are explored.
//!
//! - struct-pool's library tests (`WorkerPool`: submit, try_submit, close, drop, panics, batches);
//! - common's concurrency parts: the in-flight gauge, the `Stop` of `signal`, the thread helpers.
//!
//! Tests Miri cannot run (reading `/proc`, the O(n) prime check on millions) are marked
//! `#[cfg_attr(miri, ignore)]` where they live. Needs the nightly toolchain with the `miri` and
//! `rust-src` components; `rustup` adds them where missing. If they cannot be installed, the step
//! says so in one line and counts as SKIPPED, never as passed.

use std::process::Command;
use std::time::Instant;

use crate::workspace_root;

/// Miri's scheduler seeds for `cargo xtask miri`.
pub const SEEDS: &str = "0..8";
/// verify's seeds: fewer, so CI stays within its budget (8 seeds take about 10 minutes on a
/// busy 2-core machine; `cargo xtask miri` runs all 8).
pub const VERIFY_SEEDS: &str = "0..4";

/// How the Miri step ended.
#[derive(Debug)]
pub enum Outcome {
    Passed,
    /// Nightly or its miri component is missing and could not be installed: the reason.
    Skipped(String),
    /// One line per failed suite.
    Failed(Vec<String>),
}

/// The suites: a name and the `cargo miri test` arguments after `test`.
fn suites() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("struct-pool (lib)", vec!["-p", "struct-pool", "--lib"]),
        (
            "common: gauge, signal, threads",
            vec!["-p", "common", "--lib", "--", "gauge::", "signal::", "threads::"],
        ),
    ]
}

/// `cargo xtask miri`: runs the suites, prints how long each took; an error if one failed.
pub fn miri() -> anyhow::Result<()> {
    match run(SEEDS) {
        Outcome::Passed => Ok(()),
        Outcome::Skipped(why) => {
            println!("SKIPPED miri: {why}");
            Ok(())
        }
        Outcome::Failed(why) => anyhow::bail!("miri failed: {}", why.join("; ")),
    }
}

/// For `cargo xtask verify`: the same suites with [`VERIFY_SEEDS`].
pub fn for_verify() -> Outcome {
    run(VERIFY_SEEDS)
}

/// The suites with these seeds; prints one indented line per suite with its time.
fn run(seeds: &str) -> Outcome {
    let root = workspace_root();
    if let Err(why) = ensure_miri() {
        return Outcome::Skipped(why);
    }
    // Miri builds into its own target subfolder (`target/miri`); a separate one keeps the
    // interpreted build from invalidating the normal one.
    let flags = format!("-Zmiri-many-seeds={seeds}");
    let mut failed = Vec::new();
    let begin = Instant::now();
    for (name, args) in suites() {
        let t = Instant::now();
        // Captured: the interpreter's test chatter is shown only when a suite fails.
        let output = Command::new("cargo")
            .args(["+nightly", "miri", "test"])
            .args(&args)
            .env("MIRIFLAGS", &flags)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .current_dir(&root)
            .output();
        let ok = matches!(&output, Ok(o) if o.status.success());
        if let (false, Ok(o)) = (ok, &output) {
            print!("{}", String::from_utf8_lossy(&o.stdout));
            print!("{}", String::from_utf8_lossy(&o.stderr));
        }
        println!(
            "       miri {name} (MIRIFLAGS={flags}): {} in {:.1} s",
            if ok { "ok" } else { "failed" },
            t.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(format!(
                "{name}: MIRIFLAGS={flags} cargo +nightly miri test {}",
                args.join(" ")
            ));
        }
    }
    println!("       miri: {:.1} s in all", begin.elapsed().as_secs_f64());
    if failed.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(failed)
    }
}

/// Nightly with miri and rust-src, installed with rustup where missing.
fn ensure_miri() -> Result<(), String> {
    let has_miri = || {
        Command::new("cargo")
            .args(["+nightly", "miri", "--version"])
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("CARGO")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_miri() {
        return Ok(());
    }
    let added = Command::new("rustup")
        .args(["toolchain", "install", "nightly", "--profile", "minimal"])
        .args(["--component", "miri", "--component", "rust-src"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("rustup")
            .args(["component", "add", "--toolchain", "nightly", "miri", "rust-src"])
            .status()
            .is_ok_and(|s| s.success());
    if added && has_miri() {
        Ok(())
    } else {
        Err("nightly's miri component is not installed and `rustup component add --toolchain nightly miri rust-src` could not fetch it".to_owned())
    }
}
