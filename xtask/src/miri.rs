//! `cargo xtask miri`: the pool code under Miri, the interpreter that catches undefined behaviour
//! and data races, with several scheduler seeds (`-Zmiri-many-seeds`) so different thread
//! interleavings are explored.
//!
//! - struct-pool's library tests (`WorkerPool`: submit, try_submit, close, drop, panics, batches);
//! - common's concurrency parts: the in-flight gauge, the `Stop` of `signal`, the thread helpers.
//!
//! Tests Miri cannot run (reading `/proc`, the O(n) prime check on millions) are marked
//! `#[cfg_attr(miri, ignore)]` where they live. Needs the nightly toolchain with the `miri` and
//! `rust-src` components; the preflight adds them to the installed nightly where missing. If they cannot be installed, the step
//! says so in one line and counts as SKIPPED, never as passed.

use std::time::Instant;

use crate::workspace_root;

/// Miri's scheduler seeds for `cargo xtask miri`.
pub const SEEDS: &str = "0..8";
/// verify's seeds: fewer, so CI stays within its budget (`cargo xtask miri` runs all 8).
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
    match run(SEEDS, crate::preflight::ensure_miri().err().as_deref()) {
        Outcome::Passed => Ok(()),
        Outcome::Skipped(why) => {
            println!("SKIPPED miri: {why}");
            Ok(())
        }
        Outcome::Failed(why) => anyhow::bail!("miri failed: {}", why.join("; ")),
    }
}

/// For `cargo xtask verify`: the same suites with [`VERIFY_SEEDS`]; `unavailable` is why the
/// preflight could not provide Miri, if it could not.
pub fn for_verify(unavailable: Option<&str>) -> Outcome {
    run(VERIFY_SEEDS, unavailable)
}

/// The suites with these seeds; prints one indented line per suite with its time.
fn run(seeds: &str, unavailable: Option<&str>) -> Outcome {
    let root = workspace_root();
    if let Some(why) = unavailable {
        return Outcome::Skipped(why.to_owned());
    }
    // Miri builds into its own target subfolder (`target/miri`); a separate one keeps the
    // interpreted build from invalidating the normal one.
    let flags = format!("-Zmiri-many-seeds={seeds}");
    let mut failed = Vec::new();
    let begin = Instant::now();
    for (name, args) in suites() {
        let t = Instant::now();
        // Captured: the interpreter's test chatter is shown only when a suite fails.
        let output = crate::preflight::nightly_cargo()
            .args(["miri", "test"])
            .args(&args)
            .env("MIRIFLAGS", &flags)
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
