//! `cargo xtask verify [EXAMPLE...]`: the test command.
//!
//! 1. `cargo fmt --check`, `cargo clippy --workspace --all-targets -- -D warnings`,
//!    `cargo test --workspace` (skipped when examples are named, for a quick loop);
//! 2. builds the examples and runs each one through its scenarios (`scenarios/`) with `--json`
//!    under a watchdog, checking the invariants of `check.rs` and each scenario's own checks;
//! 3. prints one line per step and per scenario, then every failure with the command that re-runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;

use crate::check::{self, Output};
use crate::scenarios::{self, Run, Scenario};
use crate::{cargo, examples, workspace_root};

struct Failure {
    what: String,
    why: Vec<String>,
    rerun: String,
}

pub fn verify(names: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let all = examples(&root)?;
    for name in names {
        anyhow::ensure!(
            all.contains(name),
            "no example named {name:?} in crates/ (have: {})",
            all.join(", ")
        );
    }
    let selected: Vec<String> = if names.is_empty() { all } else { names.to_vec() };
    let mut failures = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);

    if names.is_empty() {
        let steps: [(&str, &[&str]); 3] = [
            ("fmt", &["fmt", "--all", "--check"]),
            (
                "clippy",
                &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
            ),
            ("test", &["test", "--workspace"]),
        ];
        for (label, args) in steps {
            let t = Instant::now();
            let status = Command::new(cargo()).args(args).current_dir(&root).status();
            let ok = matches!(status, Ok(s) if s.success());
            line(ok, label, t);
            if ok {
                passed += 1;
            } else {
                failed += 1;
                failures.push(Failure {
                    what: label.to_owned(),
                    why: vec![format!("cargo {} failed (output above)", args.join(" "))],
                    rerun: format!("cargo {}", args.join(" ")),
                });
            }
        }
    }

    let t = Instant::now();
    let mut build = Command::new(cargo());
    build.args(["build", "--quiet"]).current_dir(&root);
    for name in &selected {
        build.args(["-p", name]);
    }
    let built = build.status().map(|s| s.success()).unwrap_or(false);
    line(built, "build examples", t);
    if !built {
        failures.push(Failure {
            what: "build".into(),
            why: vec!["cargo build failed".into()],
            rerun: "cargo build --workspace".into(),
        });
        return report(passed, failed + 1, &failures);
    }
    let target = target_dir(&root)?;
    let bin_dir = target.join("debug");
    let scratch_root = target.join("xtask-verify");

    for name in &selected {
        let Some(mut list) = scenarios::for_example(name) else {
            failed += 1;
            println!("FAIL {name}: no scenarios");
            failures.push(Failure {
                what: name.clone(),
                why: vec![format!(
                    "crates/{name} has no scenarios: add them in xtask/src/scenarios/"
                )],
                rerun: format!("cargo xtask verify {name}"),
            });
            continue;
        };
        list.extend(scenarios::standard_bad_input());
        for scenario in &list {
            let t = Instant::now();
            let program = bin_dir.join(name);
            let dir = scratch_root.join(name).join(scenario.name.replace('/', "-"));
            let (why, rerun) = run_scenario(&program, scenario, &dir, &root);
            let ok = why.is_empty();
            line(ok, &format!("{name}/{}", scenario.name), t);
            if ok {
                passed += 1;
            } else {
                failed += 1;
                for reason in &why {
                    println!("       {reason}");
                }
                failures.push(Failure {
                    what: format!("{name}/{}", scenario.name),
                    why,
                    rerun,
                });
            }
        }
    }
    if names.is_empty() {
        // `cargo xtask compare` on a tiny workload with the debug binaries built above (plus the
        // baselines binary): every row must complete with every job accounted for; no timings.
        let t = Instant::now();
        let built = Command::new(cargo())
            .args(["build", "--quiet", "-p", "xtask", "--bin", "baselines"])
            .current_dir(&root)
            .status()
            .is_ok_and(|s| s.success());
        let why = if built {
            crate::compare::smoke(&root, &bin_dir)
        } else {
            vec!["cargo build -p xtask --bin baselines failed".to_owned()]
        };
        line(why.is_empty(), "compare (tiny workload)", t);
        if why.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            failures.push(Failure {
                what: "compare".into(),
                why,
                rerun: "cargo xtask compare --runs 1 --jobs 300 --workload dispatch".into(),
            });
        }
    }
    report(passed, failed, &failures)
}

fn run_scenario(program: &Path, scenario: &Scenario, dir: &Path, root: &Path) -> (Vec<String>, String) {
    let dir_text = dir.display().to_string();
    let mut args: Vec<String> = scenario
        .args
        .iter()
        .map(|a| a.replace("{dir}", &dir_text))
        .collect();
    if scenario.expect.is_some() {
        args.push("--json".into());
    }
    let rerun = format!(
        "(cd {} && {} {})",
        root.display(),
        program.strip_prefix(root).unwrap_or(program).display(),
        args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    );
    let prepared = std::fs::remove_dir_all(dir)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .and_then(|()| std::fs::create_dir_all(dir))
        .map_err(anyhow::Error::from)
        .and_then(|()| scenario.setup.as_ref().map_or(Ok(()), |setup| setup(dir)));
    if let Err(e) = prepared {
        return (vec![format!("setup failed: {e:#}")], rerun);
    }
    let output = match crate::process::run_watched(program, &args, root, scenario.timeout, scenario.interrupt)
    {
        Ok(output) => output,
        Err(e) => return (vec![format!("could not run: {e:#}")], rerun),
    };
    let Some(expect) = &scenario.expect else {
        return (check::check_bad_input(&output), rerun);
    };
    let (events, mut why) = check::check_run(&output, expect);
    let run = Run {
        output: &output,
        events: events.as_ref(),
        dir,
    };
    for check in &scenario.checks {
        if let Err(reason) = check(&run) {
            why.push(format!("scenario check: {reason}"));
        }
    }
    if !why.is_empty() {
        why.push(stderr_tail(&output));
    }
    (why, rerun)
}

fn stderr_tail(output: &Output) -> String {
    let lines: Vec<&str> = output.stderr.lines().collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(
        "stderr (last lines): {}",
        if tail.is_empty() {
            "(empty)".to_owned()
        } else {
            tail.join(" | ")
        }
    )
}

fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn line(ok: bool, what: &str, since: Instant) {
    println!(
        "{} {what} ({:.1} s)",
        if ok { "pass" } else { "FAIL" },
        since.elapsed().as_secs_f64()
    );
}

fn report(passed: usize, failed: usize, failures: &[Failure]) -> anyhow::Result<()> {
    println!();
    if !failures.is_empty() {
        println!("Failures:");
        for f in failures {
            println!("- {}", f.what);
            for reason in &f.why {
                println!("    {reason}");
            }
            println!("    re-run: {}", f.rerun);
        }
        println!();
    }
    println!("verify: {passed} passed, {failed} failed");
    anyhow::ensure!(failed == 0, "{failed} check(s) failed");
    Ok(())
}

/// The workspace's target folder (`cargo metadata`, so `CARGO_TARGET_DIR` is honoured).
pub fn target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .context("cargo metadata")?;
    anyhow::ensure!(out.status.success(), "cargo metadata failed");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let dir = meta["target_directory"]
        .as_str()
        .context("cargo metadata has no target_directory")?;
    Ok(PathBuf::from(dir))
}
