//! `cargo xtask verify [EXAMPLE...]`: the test command.
//!
//! 0. the preflight (`preflight.rs`): every external program the run needs is found or installed
//!    before anything runs, or the run stops at once with the command to run;
//! 1. `cargo fmt --check`, `cargo clippy --workspace --all-targets -- -D warnings`,
//!    `cargo test --workspace --no-fail-fast`: every example's scenarios are its own integration
//!    tests (`crates/<example>/tests/`, through `harness`); with examples named, only
//!    `cargo test -p <example>...`, for a quick loop. cargo's output is captured and shown only
//!    for a step that fails; the tests get one pass/FAIL line per test binary that ran tests;
//! 2. builds the examples and runs each under a rising limit on threads (`thread_limit.rs`: a
//!    refused thread must end in one error line, never a panic, a hang or a leftover process);
//! 3. a tiny compare (`bench`: every row must complete with every job accounted for), stress for
//!    a fixed budget, Miri, and the loom models at the smaller bound (`loom.rs`);
//! 4. prints every failure with the command that re-runs it, the time per phase, and the total
//!    (which counts exactly the pass/FAIL/SKIPPED lines).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{cargo, examples, target_dir, workspace_root};

struct Failure {
    what: String,
    why: Vec<String>,
    rerun: String,
}

/// Every pass/FAIL line printed, the failures to repeat at the end, and the time per phase.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    /// SKIPPED lines (a step this machine cannot run): never counted as passed.
    skipped: usize,
    failures: Vec<Failure>,
    phases: Vec<(String, Duration)>,
}

impl Tally {
    /// Prints one pass/FAIL line and counts it.
    fn line(&mut self, ok: bool, what: &str, took: Duration) {
        println!(
            "{} {what} ({:.1} s)",
            if ok { "pass" } else { "FAIL" },
            took.as_secs_f64()
        );
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    fn fail(&mut self, what: &str, why: Vec<String>, rerun: String) {
        self.failures.push(Failure {
            what: what.to_owned(),
            why,
            rerun,
        });
    }

    fn phase(&mut self, name: &str, since: Instant) {
        self.phases.push((name.to_owned(), since.elapsed()));
    }
}

/// A cargo command with its stdout and stderr captured together, in order.
struct Captured {
    ok: bool,
    text: String,
}

fn cargo_captured(root: &Path, args: &[&str]) -> Captured {
    // `sh -c 'exec "$0" "$@" 2>&1'` merges the two streams in the order cargo wrote them.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" 2>&1"#)
        .arg(cargo())
        .args(args)
        .current_dir(root)
        .output();
    match out {
        Ok(out) => Captured {
            ok: out.status.success(),
            text: String::from_utf8_lossy(&out.stdout).into_owned(),
        },
        Err(e) => Captured {
            ok: false,
            text: format!("cannot run cargo: {e}"),
        },
    }
}

/// The last `n` lines of `text`, indented, for a failure's report.
fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("| {l}"))
        .collect()
}

/// One cargo step: a start line, then one pass/FAIL line; cargo's output only if it failed.
fn step(t: &mut Tally, root: &Path, label: &str, args: &[&str]) -> bool {
    let command = format!("cargo {}", args.join(" "));
    println!("... {label}: {command}");
    let since = Instant::now();
    let run = cargo_captured(root, args);
    t.line(run.ok, label, since.elapsed());
    if !run.ok {
        let mut why = vec![format!("{command} failed; its output (last lines):")];
        why.extend(tail(&run.text, 60));
        t.fail(label, why, command);
    }
    t.phase(label, since);
    run.ok
}

/// `cargo test --no-fail-fast` on `packages` (`--workspace`, or `-p` each), one pass/FAIL line per
/// test binary that ran tests.
fn tests(t: &mut Tally, root: &Path, packages: &[&str]) {
    let names = test_binary_names(root, packages);
    let args = [&["test", "--no-fail-fast"][..], packages].concat();
    let command = format!("cargo {}", args.join(" "));
    println!("... test: {command} (builds the tests first; one line per test binary)");
    let since = Instant::now();
    let run = cargo_captured(root, &args);
    let results = test_results(&run.text, &names);
    for r in &results {
        t.line(
            r.ok,
            &format!("test {}: {} passed, {} failed", r.binary, r.passed, r.failed),
            r.took,
        );
        if !r.ok {
            let mut why = vec![format!("{} failed; its output:", r.binary)];
            why.extend(r.output.iter().map(|l| format!("| {l}")));
            t.fail(&format!("test {}", r.binary), why, command.clone());
        }
    }
    if !run.ok && results.iter().all(|r| r.ok) {
        // It failed before or outside the test binaries: a build error, most likely.
        t.line(false, "test (build)", since.elapsed());
        let mut why = vec![format!("{command} failed; its output (last lines):")];
        why.extend(tail(&run.text, 60));
        t.fail("test", why, command);
    }
    t.phase("test", since);
}

/// Each test binary's file name (`scenarios-0123abcd`) → `package (what)`, from cargo's JSON
/// messages of a `--no-run` build: an integration test's `Running` line names only its file, and
/// every example has a `tests/scenarios.rs`. Empty if that build fails (the run then shows why).
fn test_binary_names(root: &Path, packages: &[&str]) -> HashMap<String, String> {
    let args = [&["test", "--no-run", "--message-format=json"][..], packages].concat();
    let run = cargo_captured(root, &args);
    let mut names = HashMap::new();
    for line in run.text.lines().filter(|l| l.starts_with('{')) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(executable), Some(id), Some(target)) = (
            message["executable"].as_str(),
            message["package_id"].as_str(),
            message["target"]["name"].as_str(),
        ) else {
            continue;
        };
        // "path+file:///work/crates/basic#0.1.0" or "registry+…#name@version": the package name
        // is the last path segment before `#`, or the part before `@`.
        let spec = id.rsplit('#').next().unwrap_or(id);
        let package = match spec.split_once('@') {
            Some((name, _)) => name,
            None => id
                .split('#')
                .next()
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or(id),
        };
        let kinds = message["target"]["kind"].as_array().cloned().unwrap_or_default();
        let kind = kinds.first().and_then(|k| k.as_str()).unwrap_or("");
        let what = match kind {
            "lib" | "bin" if target == package.replace('-', "_") || target == package => {
                format!("unit tests, {kind}")
            }
            "test" => format!("tests/{target}.rs"),
            _ => format!("{kind} {target}"),
        };
        if let Some(file) = Path::new(executable).file_name() {
            names.insert(file.to_string_lossy().into_owned(), format!("{package} ({what})"));
        }
    }
    names
}

/// One test binary's result, from `cargo test`'s output.
#[derive(Debug)]
struct TestResult {
    binary: String,
    ok: bool,
    passed: usize,
    failed: usize,
    took: Duration,
    /// Its section of the output (shown when it failed).
    output: Vec<String>,
}

/// Splits `cargo test` output into test binaries (`Running …` / `Doc-tests …` headers) and reads
/// each one's `test result:` line; binaries that ran no test are left out.
fn test_results(text: &str, names: &HashMap<String, String>) -> Vec<TestResult> {
    let mut results = Vec::new();
    let mut binary = String::new();
    let mut section: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            // "Running unittests src/lib.rs (target/debug/deps/common-0123abcd)"
            let (what, path) = rest.split_once(" (").unwrap_or((rest, ""));
            let file = path.trim_end_matches(')').rsplit('/').next().unwrap_or("");
            binary = names.get(file).cloned().unwrap_or_else(|| {
                let target = file.rsplit_once('-').map_or(file, |(name, _hash)| name);
                format!("{target} ({what})")
            });
            section.clear();
        } else if let Some(package) = trimmed.strip_prefix("Doc-tests ") {
            binary = format!("{package} (doc-tests)");
            section.clear();
        } else if let Some(result) = trimmed.strip_prefix("test result: ") {
            let count = |key: &str| {
                result
                    .split(['.', ';'])
                    .find_map(|part| part.trim().strip_suffix(key)?.trim().parse::<usize>().ok())
                    .unwrap_or(0)
            };
            let (passed, failed) = (count(" passed"), count(" failed"));
            let took = result
                .rsplit("finished in ")
                .next()
                .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
                .map_or(Duration::ZERO, Duration::from_secs_f64);
            let ok = result.starts_with("ok");
            if passed + failed > 0 || !ok {
                results.push(TestResult {
                    binary: binary.clone(),
                    ok,
                    passed,
                    failed,
                    took,
                    output: std::mem::take(&mut section),
                });
            }
        } else {
            section.push(line.to_owned());
        }
    }
    results
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
    let full = names.is_empty();
    let selected: Vec<String> = if full { all } else { names.to_vec() };
    println!(
        "verify: {}{} example(s){}; cargo's output is shown only for a step that fails",
        if full {
            "fmt, clippy, the workspace's tests, "
        } else {
            "the tests of "
        },
        selected.len(),
        if full {
            ", thread-limit sweeps, a tiny compare, stress and Miri"
        } else {
            " and their thread-limit sweeps"
        },
    );
    let mut t = Tally::default();

    println!("... preflight: the programs this run needs");
    let since = Instant::now();
    let preflight = crate::preflight::run(&selected, full)?;
    for why in &preflight.skipped {
        println!("SKIPPED {why}");
        t.skipped += 1;
    }
    t.phase("preflight", since);

    if full {
        step(&mut t, &root, "fmt", &["fmt", "--all", "--check"]);
        step(
            &mut t,
            &root,
            "clippy",
            &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        );
        tests(&mut t, &root, &["--workspace"]);
    } else {
        let packages: Vec<&str> = selected.iter().flat_map(|n| ["-p", n.as_str()]).collect();
        tests(&mut t, &root, &packages);
    }

    let mut build: Vec<&str> = vec!["build"];
    for name in &selected {
        build.extend(["-p", name.as_str()]);
    }
    if full {
        // compare's tiny run below needs the baselines binary too.
        build.extend(["-p", "bench", "--bins"]);
    }
    if !step(&mut t, &root, "build", &build) {
        return report(&t);
    }
    let target = target_dir(&root)?;
    let bin_dir = target.join("debug");
    let thread_limit = crate::thread_limit::unavailable();
    if let Some(why) = &thread_limit {
        println!("SKIPPED thread-limit sweeps: {why}");
        t.skipped += 1;
    }
    for name in selected.iter().filter(|_| thread_limit.is_none()) {
        let since = Instant::now();
        thread_limit_sweep(&mut t, &bin_dir.join(name), name);
        t.phase(&format!("{name} thread-limit"), since);
    }
    if full {
        // `cargo xtask compare` on a tiny workload with the debug binaries built above (plus the
        // baselines binary): every row must complete with every job accounted for; no timings.
        let bin_dir = bin_dir.display().to_string();
        let compare = ["run", "--quiet", "-p", "bench", "--bin", "compare", "--"];
        let smoke = [&compare[..], &["smoke", "--bin-dir", &bin_dir]].concat();
        step(&mut t, &root, "compare (tiny workload)", &smoke);

        // Stress: random flags, signals at random moments and kill -9, checked like the
        // scenarios, for a fixed budget; the seed is printed so a failure can be repeated.
        println!(
            "... stress: about {} runs or {} minutes of random flags and signals",
            crate::stress::VERIFY_RUNS,
            crate::stress::VERIFY_MINUTES
        );
        let since = Instant::now();
        let why = crate::stress::for_verify(&selected);
        t.line(why.is_empty(), "stress (seed above)", since.elapsed());
        if !why.is_empty() {
            t.fail(
                "stress",
                why,
                "the command printed with each failed run above".into(),
            );
        }
        t.phase("stress", since);

        // The pool code under Miri; a machine where rustup cannot fetch Miri skips it, saying
        // so, and that is never counted as a pass.
        println!(
            "... miri: struct-pool's pool and common's concurrency parts, seeds {}",
            crate::miri::VERIFY_SEEDS
        );
        let since = Instant::now();
        match crate::miri::for_verify(preflight.miri_unavailable.as_deref()) {
            crate::miri::Outcome::Passed => t.line(true, "miri", since.elapsed()),
            crate::miri::Outcome::Skipped(why) => {
                println!("SKIPPED miri: {why}");
                t.skipped += 1;
            }
            crate::miri::Outcome::Failed(why) => {
                t.line(false, "miri", since.elapsed());
                t.fail("miri", why, "cargo xtask miri".into());
            }
        }
        t.phase("miri", since);

        // Every pool's loom models at the smaller preemption bound (`cargo xtask loom` runs the
        // larger one), built with `--cfg loom` in their own target folder.
        println!(
            "... loom: the pools' models, LOOM_MAX_PREEMPTIONS={}",
            crate::loom::VERIFY_BOUND
        );
        let since = Instant::now();
        let outcome = crate::loom::for_verify();
        t.line(outcome.is_ok(), "loom", since.elapsed());
        if let Err(e) = outcome {
            t.fail("loom", vec![format!("{e:#}")], "cargo xtask loom".into());
        }
        t.phase("loom", since);
    }
    report(&t)
}

/// The example under a rising limit on threads (`thread_limit.rs`): one line.
fn thread_limit_sweep(t: &mut Tally, program: &Path, name: &str) {
    let since = Instant::now();
    let what = format!("{name}/thread-limit");
    match crate::thread_limit::sweep(program, name) {
        crate::thread_limit::Outcome::Passed { refused, first_ok } => {
            t.line(
                true,
                &format!("{what}: {refused} limit(s) refused a thread, ran from {first_ok} on"),
                since.elapsed(),
            );
        }
        crate::thread_limit::Outcome::Skipped(why) => {
            println!("SKIPPED {what}: {why}");
            t.skipped += 1;
        }
        crate::thread_limit::Outcome::Failed(why) => {
            t.line(false, &what, since.elapsed());
            for reason in &why {
                println!("       {reason}");
            }
            t.fail(&what, why, format!("cargo xtask verify {name}"));
        }
    }
}

fn report(t: &Tally) -> anyhow::Result<()> {
    println!();
    if !t.failures.is_empty() {
        println!("Failures:");
        for f in &t.failures {
            println!("- {}", f.what);
            for reason in &f.why {
                println!("    {reason}");
            }
            println!("    re-run: {}", f.rerun);
        }
        println!();
    }
    let phases: Vec<String> = t
        .phases
        .iter()
        .map(|(name, took)| format!("{name} {:.1} s", took.as_secs_f64()))
        .collect();
    println!("time per phase: {}", phases.join(", "));
    if t.skipped > 0 {
        println!(
            "verify: {} passed, {} failed, {} skipped",
            t.passed, t.failed, t.skipped
        );
    } else {
        println!("verify: {} passed, {} failed", t.passed, t.failed);
    }
    anyhow::ensure!(t.failed == 0, "{} check(s) failed", t.failed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::test_results;

    #[test]
    fn test_output_becomes_one_result_per_binary_with_tests() {
        let text = "   Compiling common v0.1.0
     Running unittests src/lib.rs (target/debug/deps/common-0123abcd)

running 2 tests
test a ... ok
test b ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.25s

     Running unittests src/main.rs (target/debug/deps/basic-99aa)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests common

running 1 test
test src/lib.rs - x (line 3) ... FAILED

failures:
boom

test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.50s
";
        let r = test_results(text, &HashMap::new());
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].binary, "common (unittests src/lib.rs)");
        assert!(r[0].ok);
        assert_eq!((r[0].passed, r[0].failed), (2, 0));
        assert_eq!(r[0].took.as_millis(), 250);
        assert_eq!(r[1].binary, "common (doc-tests)");
        assert!(!r[1].ok);
        assert_eq!((r[1].passed, r[1].failed), (0, 1));
        assert!(r[1].output.iter().any(|l| l == "boom"));
    }
}
