//! `cargo xtask stress [--runs N | --minutes M] [--seed S] [EXAMPLE...]`: every promise held under
//! random flags, signals at random moments and `kill -9`.
//!
//! From a seed, each run picks an example and random valid flags (`plan.rs`), runs it with
//! `--json` under the watchdog of `process.rs`, sends it nothing, SIGINT, SIGTERM or two SIGINTs
//! (by time, a third of them in the first 5 ms, or after N `started` events), or kills it with
//! SIGKILL (db-batch, image-resize), and checks it (`checks.rs`): I1–I6 of `check.rs`, plus exit
//! 130 + summary + full accounting after a signal, the database against a second process, image
//! outputs that decode and fit, no panic text, no exit code outside {0, 1, 2, 130}.
//!
//! Run K of seed S depends on nothing but (S, K) and the example list, so every failure prints the
//! one command that repeats it: `cargo xtask stress --seed S --skip K --runs 1 EXAMPLE`.

mod checks;
mod plan;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::{cargo, examples, workspace_root};
use harness::{Interrupt, Signal};
use plan::Fault;

/// `cargo xtask stress`'s flags.
#[derive(clap::Args, Debug, Clone)]
pub struct StressArgs {
    /// How many runs (default 300 unless --minutes is given).
    #[arg(long, conflicts_with = "minutes")]
    pub runs: Option<u64>,
    /// Run for this many minutes instead of a number of runs.
    #[arg(long)]
    pub minutes: Option<f64>,
    /// The seed (default: from the clock; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start at run K (to repeat one run: `--seed S --skip K --runs 1 EXAMPLE`).
    #[arg(long, default_value_t = 0)]
    pub skip: u64,
    /// Keep the scratch folder of passing runs too (target/stress/).
    #[arg(long)]
    pub keep: bool,
    /// The examples to stress (default: every example in crates/).
    pub examples: Vec<String>,
}

/// The CI budget: about 300 runs or 4 minutes, whichever comes first.
pub const VERIFY_RUNS: u64 = 300;
#[allow(dead_code)] // used by for_verify
pub const VERIFY_MINUTES: f64 = 4.0;

/// `cargo xtask stress ...`: builds the examples, runs them, prints the tallies and every failure
/// with its repro command; an error if any run broke a promise.
pub fn stress(args: &StressArgs) -> anyhow::Result<()> {
    let root = workspace_root();
    let all = examples(&root)?;
    for name in &args.examples {
        anyhow::ensure!(
            all.contains(name),
            "no example named {name:?} in crates/ (have: {})",
            all.join(", ")
        );
    }
    let selected = if args.examples.is_empty() {
        all
    } else {
        args.examples.clone()
    };
    // Run on its own, stress needs what verify's preflight provides: the examples' servers
    // (redis-server for queue-consumer, PostgreSQL for db-batch and pg-queue), found or installed.
    crate::preflight::run(&selected, false)?;
    let mut build = Command::new(cargo());
    build.args(["build", "--quiet"]).current_dir(&root);
    for name in &selected {
        build.args(["-p", name]);
    }
    let built = build.status().context("cargo build")?;
    anyhow::ensure!(
        built.success(),
        "cargo build of {} failed: name the examples that build",
        selected.join(", ")
    );
    let target = crate::target_dir(&root)?;
    let budget = Budget {
        runs: args.runs.unwrap_or(if args.minutes.is_some() {
            u64::MAX
        } else {
            VERIFY_RUNS
        }),
        time: args.minutes.map(|m| Duration::from_secs_f64(m * 60.0)),
    };
    let seed = args.seed.unwrap_or_else(clock_seed);
    let failures = run_all(&root, &target, &selected, seed, args.skip, budget, args.keep)?;
    anyhow::ensure!(failures.is_empty(), "{} stress run(s) failed", failures.len());
    Ok(())
}

/// For `cargo xtask verify`: the CI budget (about [`VERIFY_RUNS`] runs or [`VERIFY_MINUTES`]
/// minutes, whichever first) on `examples`, whose debug binaries must already be built in
/// `<target>/debug`. The seed comes from the clock and is printed. Returns one line per failed
/// run, each with its repro command (empty = passed).
pub fn for_verify(examples: &[String]) -> Vec<String> {
    let root = workspace_root();
    let target = match crate::target_dir(&root) {
        Ok(t) => t,
        Err(e) => return vec![format!("stress: {e:#}")],
    };
    let budget = Budget {
        runs: VERIFY_RUNS,
        time: Some(Duration::from_secs_f64(VERIFY_MINUTES * 60.0)),
    };
    match run_all(&root, &target, examples, clock_seed(), 0, budget, false) {
        Ok(failures) => failures,
        Err(e) => vec![format!("stress: {e:#}")],
    }
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    runs: u64,
    time: Option<Duration>,
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() % 1_000_000)
}

/// Per-example tallies for the closing table.
#[derive(Default)]
struct Tally {
    runs: u64,
    signalled: u64,
    early: u64,
    twice: u64,
    kill9: u64,
    /// Signals that arrived after the run had decided its result (or after it exited).
    late: u64,
    /// Signals that killed the process before `main` installed its handler (see `checks::RunResult`).
    pre_main: u64,
    /// Runs that made one of the example's mistakes on purpose (`--mistake`).
    mistakes: u64,
    failed: u64,
    time: Duration,
}

fn run_all(
    root: &Path,
    target: &Path,
    examples: &[String],
    seed: u64,
    skip: u64,
    budget: Budget,
    keep: bool,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!(!examples.is_empty(), "no examples to stress");
    let bin_dir = target.join("debug");
    let mut flags = BTreeMap::new();
    for name in examples {
        let bin = bin_dir.join(name);
        let help = Command::new(&bin)
            .arg("--help")
            .output()
            .with_context(|| format!("{} --help (is it built?)", bin.display()))?;
        anyhow::ensure!(help.status.success(), "{} --help failed", bin.display());
        let help = String::from_utf8_lossy(&help.stdout);
        flags.insert(
            name.clone(),
            (plan::parse_help(&help), plan::parse_mistakes(&help)),
        );
    }
    let list = examples.join(" ");
    println!(
        "stress: seed {seed}, runs {}..{}{}, examples: {list}",
        skip,
        skip.saturating_add(budget.runs),
        budget
            .time
            .map(|t| format!(" or {:.1} min", t.as_secs_f64() / 60.0))
            .unwrap_or_default()
    );
    let scratch = target.join("stress");
    let begin = Instant::now();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut done = 0u64;
    for run in skip..skip.saturating_add(budget.runs) {
        if budget.time.is_some_and(|t| begin.elapsed() >= t) {
            break;
        }
        let example = &examples[plan::pick_example(seed, run, examples)];
        let dir = scratch.join(format!("{example}-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let (example_flags, mistakes) = &flags[example];
        let plan = plan::plan(seed, run, example, example_flags, mistakes, &dir);
        let t = Instant::now();
        let result = checks::execute(&bin_dir.join(example), &plan, root, &bin_dir);
        let tally = tallies.entry(example.clone()).or_default();
        tally.runs += 1;
        tally.time += t.elapsed();
        match plan.fault {
            Fault::None => {}
            Fault::Kill9 { .. } => tally.kill9 += 1,
            Fault::Signal(i) => {
                tally.signalled += 1;
                tally.early += u64::from(matches!(i, Interrupt::SignalAfterSpawnMs(_, ms) if ms <= 5));
                tally.twice += u64::from(i.signal() == Signal::IntTwice);
            }
        }
        tally.late += u64::from(result.late);
        tally.pre_main += u64::from(result.pre_main);
        tally.mistakes += u64::from(plan.mistake.is_some());
        done += 1;
        if result.errors.is_empty() {
            if !keep {
                let _ = std::fs::remove_dir_all(&dir);
            }
        } else {
            tally.failed += 1;
            let repro = format!("cargo xtask stress --seed {seed} --skip {run} --runs 1 {example}");
            println!("FAIL run {run} {} ({:?})", plan.example, plan.fault);
            println!(
                "     command: {}",
                command_line(root, &bin_dir.join(example), &plan.args)
            );
            for e in &result.errors {
                println!("     {e}");
            }
            println!("     repro:   {repro}");
            failures.push(format!(
                "stress run {run} {example}: {} — repro: {repro}",
                result.errors.join("; ")
            ));
        }
        if done.is_multiple_of(50) {
            println!(
                "stress: {done} runs, {} failed, {:.0} s",
                failures.len(),
                begin.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "{:<16} {:>5} {:>7} {:>6} {:>6} {:>6} {:>5} {:>8} {:>8} {:>6} {:>7}",
        "example",
        "runs",
        "signal",
        "≤5ms",
        "2×INT",
        "kill9",
        "late",
        "pre-main",
        "mistake",
        "failed",
        "time_s"
    );
    for (name, t) in &tallies {
        println!(
            "{name:<16} {:>5} {:>7} {:>6} {:>6} {:>6} {:>5} {:>8} {:>8} {:>6} {:>7.1}",
            t.runs,
            t.signalled,
            t.early,
            t.twice,
            t.kill9,
            t.late,
            t.pre_main,
            t.mistakes,
            t.failed,
            t.time.as_secs_f64()
        );
    }
    println!(
        "stress: seed {seed}: {done} runs, {} failed, {:.1} s (late: the signal came after the run had its result, checked as a normal run; pre-main: a signal that killed the process before main could install its handler, read from SigCgt when it was sent)",
        failures.len(),
        begin.elapsed().as_secs_f64()
    );
    Ok(failures)
}

/// The command as a shell line, relative to the workspace root.
fn command_line(root: &Path, program: &Path, args: &[String]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!(
        "{} {} --json",
        program.strip_prefix(root).unwrap_or(program).display(),
        quoted.join(" ")
    )
}
