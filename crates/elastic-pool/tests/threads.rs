//! The pool's OS threads, sampled from `/proc/<pid>/status` while bursts make workers come and
//! go: never more than `--max` workers beside the fixed helpers. The events' `workers` count
//! (`scenarios.rs`) is what the pool believes; this is what the kernel sees.

use std::time::Duration;

use harness::process;
use harness::{Expect, OutputRule, check, words};

/// Threads besides the workers: main, the Ctrl-C handler and the submitter.
const HELPERS: usize = 3;

/// A worker that has left the pool's count may still be finishing its last instructions (its
/// retired event printed, its thread not yet gone) when a sample is taken: one is allowed.
const ON_ITS_WAY_OUT: usize = 1;

fn peak_threads(args: &str, max: usize) {
    let program = env!("CARGO_BIN_EXE_elastic-pool");
    let mut args: Vec<String> = words(args).into_iter().map(str::to_owned).collect();
    args.push("--json".into());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let watched =
        process::run(program.as_ref(), &args, dir, Duration::from_secs(60), None).expect("the example runs");
    let expect = Expect {
        exit_code: 0,
        full_concurrency: false,
        outputs: Some(OutputRule::Double),
        events: true,
        summary: true,
    };
    let (events, why) = check::check_run(&watched.output, &expect);
    assert!(
        why.is_empty(),
        "elastic-pool {}: {}",
        args.join(" "),
        why.join("; ")
    );
    let events = events.expect("checked events");
    let spawned = events.summary.count("workers_spawned").expect("workers_spawned");
    assert!(spawned > max as u64, "no worker came and went: {spawned} spawned");
    let Some(peak) = watched.peak_threads else {
        eprintln!("/proc cannot be read here: the sampled check is skipped");
        return;
    };
    let bound = max + HELPERS + ON_ITS_WAY_OUT;
    assert!(
        peak <= bound,
        "{peak} OS threads sampled at once, over --max {max} + {HELPERS} helpers + {ON_ITS_WAY_OUT}"
    );
}

/// Bursts separated by gaps longer than the keep-alive: workers retire in each gap and are spawned
/// again by the next burst.
#[test]
fn bursts_never_run_more_threads_than_max() {
    peak_threads(
        "--jobs 120 --work-ms 5 --min 0 --max 3 --keep-alive-ms 10 --arrivals bursts --burst 20 --gap-ms 40",
        3,
    );
}

/// The same, with a job on the submitting thread when the pool is full (`caller-runs`): the
/// submitter is already a helper, so the bound does not move.
#[test]
fn caller_runs_adds_no_thread() {
    peak_threads(
        "--jobs 120 --work-ms 5 --min 1 --max 2 --queue 0 --on-full caller-runs --keep-alive-ms 10 \
         --arrivals bursts --burst 20 --gap-ms 40",
        2,
    );
}
