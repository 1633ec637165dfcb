//! `cargo xtask compare --instructions`: what each variant executes per job, counted, not timed.
//!
//! Each variant runs the dispatch workload twice under valgrind's callgrind, with N and 2N jobs
//! (same seed, workers and queue). The difference of the two counts, divided by N, is the
//! instructions per job, with start-up and exit (the same in both runs) taken out. A count does
//! not depend on what else the machine is doing: it compares variants, and one version of a
//! variant with the next, on a busy machine where wall times cannot.
//!
//! For the thread pools, the busiest thread's count per job is given too: every job goes through
//! the producer and the collector, so the busiest thread bounds the rate however many cores there
//! are. (Not for tasks and goroutines, which move between a runtime's threads.)
//!
//! callgrind's files stay in `target/compare/instructions/` (one per thread and run), for
//! `callgrind_annotate` to say which functions the instructions are in.
//!
//! A variant valgrind cannot run is skipped with valgrind's own words, not failed: Debian's
//! valgrind 3.19 aborts inside Go's runtime (an assertion of callgrind's signal handling) for every
//! `go:*` row. Every other way a run can go wrong (an exit code, a job not accounted for, a
//! timeout) stays a failure.
//!
//! What a count does not show: the kernel's instructions (a thread blocking and being woken
//! through a futex), time spent waiting, cache misses, cores contending for one cache line. And
//! callgrind runs one thread at a time, so a thread that spins while it waits (crossbeam's
//! backoff, Go's scheduler) spins as callgrind schedules it, not as the cores would.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::runner::{Ctx, Wrapper};
use super::workloads::{DISPATCH, Spec, Variant, runs_on, skip_reason};

/// N when `--jobs` is not given: callgrind runs a program 20–100× slower.
pub const DEFAULT_JOBS: u64 = 100_000;

/// One variant's counts.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    pub variant: String,
    /// Instructions per job, all threads together.
    pub per_job: Option<f64>,
    /// Instructions per job on the thread whose count grew most from N to 2N jobs.
    pub busiest: Option<f64>,
    /// Threads callgrind saw in the 2N run (every thread the program ever started).
    pub threads: Option<usize>,
    pub problems: Vec<String>,
    pub skipped: Option<String>,
}

/// Counts every variant of `variants` that runs the dispatch workload; prints the table (or JSON
/// rows) and returns how many rows did not complete.
pub fn compare(
    ctx: &Ctx<'_>,
    variants: &[Variant],
    jobs: Option<u64>,
    workers: usize,
    json: bool,
    out_dir: &Path,
) -> anyhow::Result<usize> {
    let valgrind = testbed::servers::require_binary("valgrind", "valgrind", &[])?;
    let dir = out_dir.join("instructions");
    std::fs::create_dir_all(&dir)?;
    let spec = Spec {
        jobs: jobs.unwrap_or(DEFAULT_JOBS),
        ..DISPATCH
    };
    let mut rows = Vec::new();
    for v in variants.iter().filter(|v| runs_on(v, &spec)) {
        if ctx.progress {
            eprint!("\rcompare: instructions: {:<40}", v.name);
        }
        rows.push(count(ctx, &valgrind, &dir, v, spec, workers));
    }
    if ctx.progress {
        eprint!("\r{:100}\r", "");
    }
    for (name, why) in ctx.skipped {
        rows.push(Counted {
            variant: name.clone(),
            skipped: Some(why.clone()),
            ..Counted::default()
        });
    }
    print(&rows, &spec, workers, json);
    Ok(rows
        .iter()
        .filter(|r| r.skipped.is_none() && !r.problems.is_empty())
        .count())
}

/// verify's check of `--instructions`: `basic` (already built in `ctx.bin_dir`) with 300 and 600
/// jobs under callgrind, where valgrind is installed. Returns what went wrong, if anything.
pub fn smoke(ctx: &Ctx<'_>, basic: &Variant) -> Vec<String> {
    let Some(valgrind) = testbed::servers::find_binary("valgrind", &[]) else {
        println!("... compare --instructions: not checked, valgrind is not installed");
        return Vec::new();
    };
    let dir = std::env::temp_dir().join(format!("bench-instructions-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return vec![format!("cannot create {}: {e}", dir.display())];
    }
    let spec = Spec {
        jobs: 300,
        ..DISPATCH
    };
    let row = count(ctx, &valgrind, &dir, basic, spec, 2);
    let _ = std::fs::remove_dir_all(&dir);
    let mut why: Vec<String> = row
        .problems
        .iter()
        .chain(&row.skipped)
        .map(|p| format!("compare --instructions, basic: {p} (re-run: cargo xtask compare --instructions --only basic --jobs 300)"))
        .collect();
    match row.per_job {
        Some(n) if why.is_empty() && n > 0.0 => {
            println!("... compare --instructions: basic (this build) counts {n:.0} instructions a job");
        }
        _ if why.is_empty() => why.push(format!(
            "compare --instructions, basic: no count per job ({:?}) (re-run: cargo xtask compare --instructions --only basic --jobs 300)",
            row.per_job
        )),
        _ => {}
    }
    why
}

/// Runs `v` with N and 2N jobs under callgrind and works out its counts per job.
fn count(ctx: &Ctx<'_>, valgrind: &Path, dir: &Path, v: &Variant, spec: Spec, workers: usize) -> Counted {
    let mut row = Counted {
        variant: v.name.clone(),
        ..Counted::default()
    };
    let sizes = [spec.jobs, spec.jobs * 2];
    if let Some(why) = sizes
        .iter()
        .find_map(|&jobs| skip_reason(v, &Spec { jobs, ..spec }, workers))
    {
        row.skipped = Some(why);
        return row;
    }
    let mut counts = Vec::new();
    for jobs in sizes {
        let base = dir.join(format!("{}-{jobs}.callgrind", file_stem(&v.name)));
        if let Err(e) = remove_parts(&base) {
            row.problems
                .push(format!("cannot clear {}: {e:#}", base.display()));
            return row;
        }
        let wrapper = Wrapper {
            program: valgrind.to_path_buf(),
            args: vec![
                "--tool=callgrind".into(),
                "--separate-threads=yes".into(),
                format!("--callgrind-out-file={}", base.display()),
            ],
            gave_up: valgrind_gave_up,
        };
        let run = ctx.run_wrapped(v, Spec { jobs, ..spec }, workers, Some(&wrapper));
        if let Some(why) = run.wrapper_gave_up {
            row.skipped = Some(format!("cannot count: {why}"));
            return row;
        }
        if let Some(why) = run.refused {
            row.skipped = Some(format!("refused: {why}"));
            return row;
        }
        if !run.problems.is_empty() {
            row.problems = run.problems;
            return row;
        }
        match thread_counts(&base) {
            Ok(threads) if !threads.is_empty() => counts.push(threads),
            Ok(_) => {
                row.problems
                    .push(format!("callgrind wrote no {}-NN file", base.display()));
                return row;
            }
            Err(e) => {
                row.problems.push(format!("{e:#}"));
                return row;
            }
        }
    }
    let (small, large) = (&counts[0], &counts[1]);
    let (per_job, busiest) = per_job(small, large, spec.jobs);
    row.per_job = Some(per_job);
    // Only where each thread keeps one role (producer, worker k, collector). Tasks and goroutines
    // move between a runtime's threads from run to run, so no thread of one run is a thread of
    // the other.
    row.busiest = busiest.filter(|_| v.thread_per_worker && !v.baseline);
    row.threads = Some(large.len());
    row
}

/// valgrind's own abort, read from a failed run's stderr, as one line: an assertion of its tool or
/// core failed, or "the 'impossible' happened" (both end in valgrind's "host stacktrace:"). `None`
/// when valgrind did not abort, so the failure is the program's.
pub fn valgrind_gave_up(stderr: &str) -> Option<String> {
    if !stderr.contains("host stacktrace:") {
        return None;
    }
    let version = stderr
        .split("Using Valgrind-")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map_or_else(String::new, |v| format!(" {v}"));
    let mut lines = stderr.lines().map(str::trim);
    let what = lines
        .find(|l| l.contains("Assertion '") || l.contains("the 'impossible' happened"))
        .map(|l| {
            if l.contains("the 'impossible' happened") {
                // The message is on the next line.
                format!("{l} {}", lines.next().unwrap_or_default())
            } else {
                l.to_owned()
            }
        })
        .unwrap_or_else(|| "no reason given".to_owned());
    Some(format!("valgrind{version} aborted: {what}"))
}

/// Instructions per job from the per-thread counts of an `n`-job and a `2n`-job run: all threads
/// together, and the thread that grew most (matched by the order they started in; `None` when the
/// two runs started different numbers of threads).
pub fn per_job(small: &[u64], large: &[u64], n: u64) -> (f64, Option<f64>) {
    let total = |c: &[u64]| c.iter().sum::<u64>() as f64;
    let per_job = (total(large) - total(small)) / n as f64;
    let busiest = (small.len() == large.len()).then(|| {
        small
            .iter()
            .zip(large)
            .map(|(&a, &b)| (b as f64 - a as f64) / n as f64)
            .fold(0.0, f64::max)
            .min(per_job)
    });
    (per_job, busiest)
}

/// The `summary:` count of each `<base>-NN` file callgrind wrote (one per thread, in the order the
/// threads started).
fn thread_counts(base: &Path) -> anyhow::Result<Vec<u64>> {
    let mut parts = parts(base)?;
    parts.sort();
    parts
        .into_iter()
        .map(|(_, path)| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            summary(&text).ok_or_else(|| anyhow::anyhow!("no summary line in {}", path.display()))
        })
        .collect()
}

/// The `summary: N` line of a callgrind output file.
pub fn summary(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The files callgrind wrote for `base`: `<base>-01`, `<base>-02`, … with their thread numbers.
fn parts(base: &Path) -> anyhow::Result<Vec<(u32, PathBuf)>> {
    let (Some(dir), Some(name)) = (base.parent(), base.file_name().and_then(|n| n.to_str())) else {
        anyhow::bail!("{} is not a file path", base.display());
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let thread = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(name))
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(thread) = thread {
            found.push((thread, path));
        }
    }
    Ok(found)
}

/// Removes what an earlier run wrote for `base`, so no old thread file is counted.
fn remove_parts(base: &Path) -> anyhow::Result<()> {
    if base.exists() {
        std::fs::remove_file(base)?;
    }
    for (_, path) in parts(base)? {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// A variant's name as a file name (`struct-pool --batch 256` → `struct-pool_--batch_256`).
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn print(rows: &[Counted], spec: &Spec, workers: usize, json: bool) {
    let basic = rows.iter().find(|r| r.variant == "basic").and_then(|r| r.per_job);
    let relative = |r: &Counted| Some(r.per_job? / basic.filter(|&b| b > 0.0)?);
    if json {
        for r in rows {
            let line = json!({
                "kind": "instructions",
                "workload": spec.workload,
                "variant": r.variant,
                "jobs": [spec.jobs, spec.jobs * 2],
                "workers": workers,
                "buffer": spec.buffer,
                "complete": r.skipped.is_none() && r.problems.is_empty(),
                "instructions_per_job": r.per_job.map(f64::round),
                "busiest_thread_per_job": r.busiest.map(f64::round),
                "threads": r.threads,
                "vs_basic": relative(r).map(|x| (x * 100.0).round() / 100.0),
                "skipped": r.skipped,
                "problems": r.problems,
            });
            println!("{line}");
        }
        return;
    }
    println!(
        "\ninstructions — {}: {} and {} jobs, {} workers, queue {}; per job = the difference / {} \
         (valgrind --tool=callgrind)",
        spec.workload,
        spec.jobs,
        spec.jobs * 2,
        workers,
        spec.buffer,
        spec.jobs
    );
    println!(
        "| {:<27} | {:>12} | {:>10} | {:>15} | {:>7} |",
        "variant", "instr / job", "× basic", "busiest thread", "threads"
    );
    println!("|{:-<29}|{:->14}|{:->12}|{:->17}|{:->9}|", "", ":", ":", ":", ":");
    for r in rows {
        if let Some(why) = &r.skipped {
            println!("| {:<27} | skipped: {why} |", r.variant);
            continue;
        }
        let dash = || "-".to_owned();
        println!(
            "| {:<27} | {:>12} | {:>10} | {:>15} | {:>7} |",
            r.variant,
            r.per_job.map_or_else(dash, |x| format!("{x:.0}")),
            relative(r).map_or_else(dash, |x| format!("{x:.2}")),
            r.busiest.map_or_else(dash, |x| format!("{x:.0}")),
            r.threads.map_or_else(dash, |t| t.to_string()),
        );
        for p in &r.problems {
            println!("|   ! {p}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_job_is_the_growth_from_n_to_2n_jobs() {
        // Start-up (1,000 on main, 50 on each worker) cancels out; main does 3 per job, each of
        // two workers 5 per job on half the jobs.
        let small = [1_000 + 3 * 100, 50 + 5 * 50, 50 + 5 * 50];
        let large = [1_000 + 3 * 200, 50 + 5 * 100, 50 + 5 * 100];
        assert_eq!(per_job(&small, &large, 100), (8.0, Some(3.0)));
        // A thread more in one run: no busiest thread, the total still stands.
        assert_eq!(per_job(&small[..2], &large, 100).1, None);
    }

    #[test]
    fn summary_line_is_read_from_a_callgrind_file() {
        let text = "# callgrind format\nversion: 1\nthread: 1\nevents: Ir\nsummary: 13082858\n\nob=(4) x\n";
        assert_eq!(summary(text), Some(13_082_858));
        assert_eq!(summary("events: Ir\n"), None);
    }

    #[test]
    fn thread_files_are_found_in_thread_order_and_old_ones_cleared() {
        let dir = std::env::temp_dir().join(format!("bench-instructions-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let base = dir.join("basic-100.callgrind");
        for (n, count) in [(2, 20), (10, 100), (1, 10)] {
            std::fs::write(
                format!("{}-{n:02}", base.display()),
                format!("summary: {count}\n"),
            )
            .expect("write");
        }
        std::fs::write(dir.join("basic-1000.callgrind-01"), "summary: 7\n").expect("write");
        assert_eq!(thread_counts(&base).expect("counts"), [10, 20, 100]);
        remove_parts(&base).expect("remove");
        assert_eq!(thread_counts(&base).expect("counts"), Vec::<u64>::new());
        assert!(
            dir.join("basic-1000.callgrind-01").exists(),
            "another run's file stays"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn valgrind_aborting_is_told_from_the_program_failing() {
        // Debian's valgrind 3.19 on a Go program (trimmed).
        let go = "==28208== Callgrind, a call-graph generating cache profiler
==28208== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info
==28208== Command: go/basic --workload dispatch
runtime.sigreturn.abi0
BB# 45304

Callgrind: threads.c:247 (vgCallgrind_post_signal): Assertion 'sigNum == vgCallgrind_current_state.sig' failed.

host stacktrace:
==28208==    at 0x5803B08A: ??? (in /usr/libexec/valgrind/callgrind-amd64-linux)

sched status:
If that doesn't help, please report this bug to: www.valgrind.org
";
        assert_eq!(
            valgrind_gave_up(go).as_deref(),
            Some(
                "valgrind 3.19.0 aborted: Callgrind: threads.c:247 (vgCallgrind_post_signal): \
                 Assertion 'sigNum == vgCallgrind_current_state.sig' failed."
            )
        );
        let impossible =
            "valgrind: the 'impossible' happened:\n   Killed by fatal signal\n\nhost stacktrace:\n";
        assert_eq!(
            valgrind_gave_up(impossible).as_deref(),
            Some("valgrind aborted: valgrind: the 'impossible' happened: Killed by fatal signal")
        );
        // A program that fails under valgrind is a failure of the program, not valgrind's.
        let panicked =
            "==1== Using Valgrind-3.19.0\nthread 'main' panicked at src/main.rs:3:5\nerror: boom\n";
        assert_eq!(valgrind_gave_up(panicked), None);
    }

    #[test]
    fn file_stems_have_no_spaces() {
        assert_eq!(file_stem("struct-pool --batch 256"), "struct-pool_--batch_256");
        assert_eq!(file_stem("go:basic"), "go_basic");
    }
}
