//! How long the cancellation takes to reach a job in flight: for every job that ends `cancelled`,
//! its `finished` event's `t_ms` minus the `group_cancel` event's, in each style, over many runs
//! of the example's own binary (`--json`, release build). A figure for docs/errgroup.md, not a
//! test: the tests check the order of the events, never their times.
//!
//! Two kinds of job in flight:
//! - `sleep`: `--workload sleep --jobs 3 --limit 3 --work-ms 100 --fail-at 1`: job 1 fails halfway
//!   through its sleep; jobs 2 and 3 are waiting (a select on the cancellation, or the token);
//! - `cpu`: `--workload cpu --jobs 2 --limit 2 --fail-at 1` on a seed where job 1's prime check is
//!   short and job 2's much longer, so job 2 is checking when job 1 fails: it polls the
//!   cancellation every 4,096 divisions.
//!
//! The interval includes reporting the end (the job takes the group's lock to print its
//! `finished` event), so it is an upper bound on the moment the job saw the cancellation; and the
//! failing job holds that lock from its `group_cancel` to its own `failed` event, so a second
//! figure counts from the later of the two: the cancelled job's own part. `--style rayon` cannot
//! cancel a job in flight: its jobs run to their end and count `finished_after_cancel`.
//!
//! Set `ERRGROUP_GO` to the Go reference's binary (`reference/go/cmd/errgroup`, built by compare
//! under `target/<profile>/go/errgroup`) to measure its `ctx` the same way.
//!
//! Run with: cargo bench -p errgroup --bench cancel_latency [-- RUNS]

use std::path::PathBuf;
use std::process::Command;

use common::Workload;
use common::event::{Event, OutcomeKind};

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let seed = cpu_seed().to_string();
    let sleep_args = words("--workload sleep --jobs 3 --limit 3 --work-ms 100 --fail-at 1");
    let cpu_args = [
        words("--workload cpu --jobs 2 --limit 2 --fail-at 1 --seed"),
        vec![seed.clone()],
    ]
    .concat();
    let mut programs: Vec<(String, PathBuf, Vec<String>)> = ["scope", "tokio", "rayon"]
        .iter()
        .map(|style| {
            (
                (*style).to_owned(),
                PathBuf::from(env!("CARGO_BIN_EXE_errgroup")),
                words(&format!("--task simulated --style {style}")),
            )
        })
        .collect();
    if let Some(go) = std::env::var_os("ERRGROUP_GO") {
        programs.push(("go".to_owned(), PathBuf::from(go), Vec::new()));
    }
    println!(
        "cancel latency: group_cancel to each cancelled job's finished event, {runs} runs per row (cpu seed {seed})"
    );
    println!("(from group_cancel | from the later of group_cancel and the failing job's own event; ms)");
    println!(
        "{:<6} {:<6} {:>8} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>9}",
        "style", "job", "samples", "median", "p90", "max", "median", "p90", "max", "ran on"
    );
    for (kind, args) in [("sleep", &sleep_args), ("cpu", &cpu_args)] {
        for (style, program, style_args) in &programs {
            let (mut whole, mut own) = (Vec::new(), Vec::new());
            let mut after_cancel = 0;
            for _ in 0..runs {
                let run = one_run(program, &[style_args.as_slice(), args].concat());
                whole.extend(run.whole);
                own.extend(run.own);
                after_cancel += run.finished_after_cancel;
            }
            let (w, o) = (quantiles(&mut whole), quantiles(&mut own));
            println!(
                "{style:<6} {kind:<6} {:>8} {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} | {after_cancel:>9}",
                whole.len(),
                w[0],
                w[1],
                w[2],
                o[0],
                o[1],
                o[2]
            );
        }
    }
}

/// Median, p90 and max of `samples`, formatted.
fn quantiles(samples: &mut [f64]) -> [String; 3] {
    samples.sort_by(f64::total_cmp);
    [0.5, 0.9, 1.0].map(|q| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
    })
}

/// One run's figures.
struct RunLatency {
    /// Each cancelled job's `finished` minus the `group_cancel`.
    whole: Vec<f64>,
    /// The same from the later of the `group_cancel` and the failing job's own `failed` event.
    own: Vec<f64>,
    /// Jobs that ran to their end after the cancel (rayon's).
    finished_after_cancel: u64,
}

fn one_run(program: &PathBuf, args: &[String]) -> RunLatency {
    let out = Command::new(program)
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let events = harness::check::parse(&stdout).unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let cancel_at = events
        .events
        .iter()
        .find(|e| e.name() == "group_cancel")
        .and_then(Event::t_ms)
        .unwrap_or_else(|| panic!("{}: no group_cancel event", program.display()));
    let first = events.summary.count("first_error_job");
    let failed_at = events
        .events
        .iter()
        .find_map(|e| match e {
            Event::Finished(f) if Some(f.job) == first => Some(f.t_ms),
            _ => None,
        })
        .unwrap_or(cancel_at);
    let cancelled: Vec<f64> = events
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Finished(f) if f.outcome == OutcomeKind::Cancelled => Some(f.t_ms),
            _ => None,
        })
        .collect();
    RunLatency {
        whole: cancelled.iter().map(|t| t - cancel_at).collect(),
        own: cancelled.iter().map(|t| t - cancel_at.max(failed_at)).collect(),
        finished_after_cancel: events.summary.count("finished_after_cancel").unwrap_or(0),
    }
}

/// Divisions the Go original's prime check makes for `n` (from n−1 down to the first divisor).
fn divisions(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    let smallest_factor = (2..).take_while(|p| p * p <= n).find(|p| n.is_multiple_of(*p));
    match smallest_factor {
        Some(p) => n - n / p,
        None => n - 2,
    }
}

/// The first seed whose job 1 makes between 200,000 and 1,000,000 divisions (enough for job 2 to
/// have started when it fails) and whose job 2 makes at least five times as many (it is still
/// checking then).
fn cpu_seed() -> u64 {
    (1..)
        .find(|&seed| {
            let mut jobs = common::work::jobs(2, seed, Workload::Cpu);
            let (Some(first), Some(second)) = (jobs.next(), jobs.next()) else {
                return false;
            };
            let (a, b) = (divisions(first.value), divisions(second.value));
            (200_000..=1_000_000).contains(&a) && b >= 5 * a
        })
        .unwrap_or(1)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}
