//! The workspace's `rust-version` must be true: at least the `rust-version` every package in the
//! dependency graph declares (read from `cargo metadata`, so the lockfile's versions count).
//! clippy's `incompatible_msrv` lint checks the other half, the standard library APIs our own
//! code calls, against the same `rust-version`.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// A `major.minor[.patch]` version, compared numerically.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// The packages (name, version, rust-version) whose `rust-version` is above `declared`.
fn above(declared: &str, packages: &[(String, String, String)]) -> anyhow::Result<Vec<String>> {
    let ours = parse(declared).with_context(|| format!("rust-version {declared:?} is not a version"))?;
    Ok(packages
        .iter()
        .filter(|(_, _, needs)| parse(needs).is_some_and(|v| v > ours))
        .map(|(name, version, needs)| format!("{name} {version} needs Rust {needs}"))
        .collect())
}

/// Every package of the resolved graph that needs a newer Rust than the workspace declares;
/// empty when the claim is true.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = Command::new(crate::cargo())
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("cargo metadata")?;
    anyhow::ensure!(out.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let field = |p: &serde_json::Value, key: &str| p[key].as_str().unwrap_or_default().to_owned();
    let packages: Vec<(String, String, String)> = meta["packages"]
        .as_array()
        .context("cargo metadata has no packages")?
        .iter()
        .map(|p| (field(p, "name"), field(p, "version"), field(p, "rust_version")))
        .collect();
    let declared = packages
        .iter()
        .find(|(name, _, _)| name == "common")
        .map(|(_, _, rv)| rv.clone())
        .context("no common package in the workspace")?;
    let mut problems = above(&declared, &packages)?;
    for line in &mut problems {
        line.push_str(&format!(
            ", above the workspace's rust-version {declared} (Cargo.toml [workspace.package])"
        ));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_rust_version_covers_every_dependency() {
        let problems = check(&crate::workspace_root()).expect("cargo metadata runs");
        assert!(
            problems.is_empty(),
            "rust-version is false:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn a_dependency_above_the_claim_is_named() {
        let packages = vec![
            ("old".to_owned(), "1.0.0".to_owned(), "1.70".to_owned()),
            ("none".to_owned(), "1.0.0".to_owned(), String::new()),
            ("new".to_owned(), "0.42.0".to_owned(), "1.89.0".to_owned()),
        ];
        assert_eq!(
            above("1.88", &packages).expect("parses"),
            vec!["new 0.42.0 needs Rust 1.89.0"]
        );
        assert!(above("1.89", &packages).expect("parses").is_empty());
    }
}
