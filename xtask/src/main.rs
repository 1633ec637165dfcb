//! Workspace automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask verify [EXAMPLE...]`: fmt, clippy, tests, then every example through its
//!   scenarios with the invariant checker (the CI command);
//! - `cargo xtask compare [--workload ...] [--sweep ...]`: every variant and the baselines on
//!   the same seeded jobs, tabled and charted (`compare.rs`);
//! - `cargo xtask tidy`: the house rules (also a test).

mod check;
mod compare;
mod process;
mod scenarios;
mod tidy;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <verify [EXAMPLE...] | compare [--help] | tidy>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("verify") => verify::verify(&args[1..]),
        Some("compare") => compare::compare(&args[1..]),
        Some("tidy") => tidy::tidy(),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs us (`$CARGO`), so the same toolchain builds everything.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The example crates: the folders of `crates/`, sorted.
pub fn examples(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}
