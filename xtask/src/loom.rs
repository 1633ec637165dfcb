//! `cargo xtask loom`: every pool's loom models, the `tests/loom.rs` of each crate under
//! `crates/` that has one (struct-pool, and the new pools as their models land). Each runs a tiny
//! pool under every interleaving loom can tell apart, up to a preemption bound.
//!
//! The build uses `RUSTFLAGS="--cfg loom"` (each crate's `sync` shim then swaps in loom's types)
//! into its own target folder, `target/loom`, so the cfg invalidates neither the normal build
//! nor the other's. Only those crates and their dependencies are built that way: the cfg is not
//! applied to the whole workspace (tokio and others have loom code of their own).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;

use crate::{cargo, target_dir, workspace_root};

/// `cargo xtask loom`'s preemption bound (`LOOM_MAX_PREEMPTIONS`), unless set in the environment.
pub const BOUND: &str = "3";
/// verify's bound: the same models, fewer interleavings, so CI stays within its budget.
pub const VERIFY_BOUND: &str = "2";

/// `cargo xtask loom`: the models with [`BOUND`] (or `LOOM_MAX_PREEMPTIONS` if set).
pub fn loom() -> anyhow::Result<()> {
    let bound = std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| BOUND.to_owned());
    run(&bound, true)
}

/// For `cargo xtask verify`: the models with [`VERIFY_BOUND`], their chatter shown only on a
/// failure.
pub fn for_verify() -> anyhow::Result<()> {
    run(VERIFY_BOUND, false)
}

/// The crates with loom models: those under `crates/` with a `tests/loom.rs`, by name.
pub fn modelled(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("crates");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.join("tests/loom.rs").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Builds and runs each crate's models in turn (one test thread: each model already keeps a core
/// busy); prints how long each took. With `show`, each model's line (interleavings explored) is
/// printed as it ends; without, a crate's output is printed only when it fails.
fn run(bound: &str, show: bool) -> anyhow::Result<()> {
    let root = workspace_root();
    let target = target_dir(&root)?.join("loom");
    let crates = modelled(&root)?;
    anyhow::ensure!(!crates.is_empty(), "no crates/*/tests/loom.rs found");
    let mut failed = Vec::new();
    for name in &crates {
        let since = Instant::now();
        let mut command = Command::new(cargo());
        command
            .args(["test", "-p", name, "--release", "--test", "loom", "--"])
            .args(["--test-threads=1", "--nocapture"])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", &target)
            .env("LOOM_MAX_PREEMPTIONS", bound)
            .current_dir(&root);
        let ok = if show {
            command.status().context("cannot run cargo test")?.success()
        } else {
            let output = command.output().context("cannot run cargo test")?;
            if !output.status.success() {
                print!("{}", String::from_utf8_lossy(&output.stdout));
                print!("{}", String::from_utf8_lossy(&output.stderr));
            }
            output.status.success()
        };
        println!(
            "       loom {name} (LOOM_MAX_PREEMPTIONS={bound}): {} in {:.1} s",
            if ok { "ok" } else { "failed" },
            since.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(format!(
                "RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS={bound} \
                 CARGO_TARGET_DIR=target/loom cargo test -p {name} --release --test loom"
            ));
        }
    }
    anyhow::ensure!(failed.is_empty(), "loom models failed: {}", failed.join("; "));
    Ok(())
}
