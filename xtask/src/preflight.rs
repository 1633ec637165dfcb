//! verify's first step: every external program the run needs is found, or installed (saying so
//! before it happens), before any test runs; otherwise the run stops at once with the exact
//! command to run.
//!
//! - Required (the tests need them): `redis-server` and `redis-cli` for queue-consumer, the
//!   PostgreSQL server binaries (`initdb`, `pg_ctl`) for db-batch.
//! - Optional extras: `go` (compare's `go:*` rows) and `valgrind` (`compare --instructions`):
//!   installed where this process may, else one SKIPPED line with the command.
//! - Miri: nightly's `miri` and `rust-src` components are added to the nightly toolchain that is
//!   installed (never a new nightly in its place); without a nightly, Miri is skipped, saying so.
//!
//! Debian's packages are installed with apt-get when running as root (as CI does), after one
//! `apt-get update`.

use std::process::Command;

use anyhow::Context as _;

use testbed::servers::postgres::postgres_dirs;
use testbed::servers::{find_binary, is_root};

/// One program the run may need, and the Debian package that brings it.
struct Need {
    binary: &'static str,
    package: &'static str,
    /// What needs it, for the messages.
    for_what: String,
    required: bool,
}

/// What `examples` need (their `needs` in `harness::registry`), and with `full` the extras:
/// `go` for compare's `go:*` rows and `valgrind` for `compare --instructions`.
fn needs(examples: &[String], full: bool) -> Vec<Need> {
    let mut list: Vec<Need> = Vec::new();
    for example in examples.iter().filter_map(|e| harness::registry::example(e)) {
        for &(binary, package) in example.needs {
            match list.iter_mut().find(|n| n.binary == binary) {
                Some(need) => need.for_what.push_str(&format!(", {}", example.name)),
                None => list.push(Need {
                    binary,
                    package,
                    for_what: format!("the tests of {}", example.name),
                    required: true,
                }),
            }
        }
    }
    if full {
        for (binary, package, for_what) in [
            ("go", "golang-go", "compare's go:* rows"),
            ("valgrind", "valgrind", "compare --instructions"),
        ] {
            list.push(Need {
                binary,
                package,
                for_what: for_what.to_owned(),
                required: false,
            });
        }
    }
    list
}

fn found(need: &Need) -> bool {
    let dirs = if need.package == "postgresql" {
        postgres_dirs()
    } else {
        Vec::new()
    };
    find_binary(need.binary, &dirs).is_some()
}

/// What the preflight could not provide: one line each, for SKIPPED lines.
#[derive(Debug, Default)]
pub struct Preflight {
    /// Why the Miri step cannot run, if it cannot.
    pub miri_unavailable: Option<String>,
    /// Optional programs missing, with the command that brings them.
    pub skipped: Vec<String>,
}

/// Finds or installs what `examples` (and, with `full`, the extras and Miri) need.
pub fn run(examples: &[String], full: bool) -> anyhow::Result<Preflight> {
    let wanted = needs(examples, full);
    let missing: Vec<&Need> = wanted.iter().filter(|n| !found(n)).collect();
    let mut report = Preflight::default();
    if !missing.is_empty() {
        let mut packages: Vec<&str> = missing.iter().map(|n| n.package).collect();
        packages.dedup();
        let install = format!("apt-get update && apt-get install -y {}", packages.join(" "));
        if is_root() && find_binary("apt-get", &[]).is_some() {
            for n in &missing {
                println!(
                    "preflight: {} is missing ({}): installing Debian's {} package",
                    n.binary, n.for_what, n.package
                );
            }
            println!("preflight: {install}");
            apt_install(&packages)?;
        }
        for n in missing.iter().filter(|n| !found(n)) {
            let command = format!("sudo sh -c '{install}'");
            if n.required {
                anyhow::bail!(
                    "preflight: {} is not installed and {} need it: run `{command}`, then re-run",
                    n.binary,
                    n.for_what
                );
            }
            report.skipped.push(format!(
                "{} is not installed, so {} do not run (`{command}` brings it)",
                n.binary, n.for_what
            ));
        }
    }
    for n in &wanted {
        if found(n) {
            println!("preflight: {} found ({})", n.binary, n.for_what);
        }
    }
    if full {
        report.miri_unavailable = ensure_miri().err();
        if report.miri_unavailable.is_none() {
            println!("preflight: nightly's miri found (the Miri step)");
        }
    }
    Ok(report)
}

/// `apt-get update`, then `apt-get install -y packages`, non-interactive; apt's output is shown
/// only when it fails.
pub fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let install: Vec<&str> = ["install", "-y", "-q"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    for args in [&["update", "-q"][..], &install] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .with_context(|| format!("apt-get {}", args.join(" ")))?;
        if !out.status.success() {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            print!("{}", String::from_utf8_lossy(&out.stderr));
            anyhow::bail!(
                "apt-get {} failed (output above): install {} by hand",
                args.join(" "),
                packages.join(" ")
            );
        }
    }
    Ok(())
}

/// `cargo +nightly` with rustup's and cargo's own variables removed, so `+nightly` is honoured.
pub fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC");
    cmd
}

/// Nightly's `miri` and `rust-src` components, added to the installed nightly where missing
/// (saying so first). Never installs or replaces a nightly toolchain: without one, the reason.
pub fn ensure_miri() -> Result<(), String> {
    let has_miri = || {
        nightly_cargo()
            .args(["miri", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_miri() {
        return Ok(());
    }
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_nightly {
        return Err("no nightly toolchain: `rustup toolchain install nightly --profile minimal --component miri,rust-src` brings one with Miri".to_owned());
    }
    let add = "rustup component add --toolchain nightly miri rust-src";
    println!("preflight: nightly has no miri component: adding it to the installed nightly ({add})");
    let added = Command::new("rustup")
        .args(["component", "add", "--toolchain", "nightly", "miri", "rust-src"])
        .status()
        .is_ok_and(|s| s.success());
    if added && has_miri() {
        Ok(())
    } else {
        Err(format!(
            "nightly's miri component is not installed and `{add}` could not add it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::needs;

    #[test]
    fn the_registry_gives_each_example_its_programs_and_the_full_run_its_extras() {
        let some = needs(&["basic".to_owned(), "queue-consumer".to_owned()], false);
        let names: Vec<&str> = some.iter().map(|n| n.binary).collect();
        assert_eq!(names, ["redis-server", "redis-cli"]);
        assert!(some.iter().all(|n| n.required));
        let full = needs(&[], true);
        assert!(full.iter().any(|n| n.binary == "go" && !n.required));
    }
}
