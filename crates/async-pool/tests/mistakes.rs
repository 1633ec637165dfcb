//! async-pool's `--mistake block-runtime` (docs/mistakes.md): each job's CPU part runs in place on
//! a runtime thread. With more tasks than runtime threads, tasks whose timer is due wait for a
//! thread: the events show jobs longer than their wait and their CPU part by about the blocked
//! time, the summary names the broken invariant (timers on time) with the fix, exit code 1, and
//! every job is still accounted for (I1–I5). A run without sleeping jobs says the mistake did not
//! show; without the mistake, no run names one.

use harness::{OutputRule, Run, Scenario, words};

const WORK_MS: f64 = 200.0;
/// The CPU part of each job with 10 tasks on 1 runtime thread (the wait × 1 thread / 10 tasks).
const CPU_PART_MS: f64 = WORK_MS / 10.0;

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_async-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// Each finished job's overshoot from the events: its time from `started` to `finished` beyond
/// what it asked for (the wait, then its CPU part in place).
fn overshoots_ms(run: &Run<'_>, asked_ms: f64) -> Result<Vec<f64>, String> {
    let events = run.events()?;
    let started: std::collections::HashMap<u64, f64> = events.started().map(|s| (s.job, s.t_ms)).collect();
    events
        .finished()
        .map(|f| {
            let start = started
                .get(&f.job)
                .ok_or_else(|| format!("job {} finished without starting", f.job))?;
            Ok(f.t_ms - start - asked_ms)
        })
        .collect()
}

fn broken_invariant(run: &Run<'_>) -> Result<String, String> {
    Ok(run
        .summary()?
        .extra
        .get("broken_invariant")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned())
}

/// 10 tasks on 1 runtime thread: their first timers are due together, and the thread runs the
/// tasks' CPU parts (a tenth of a wait each) one after the other, so the last task runs again
/// about 9 CPU parts (0.9 of a wait) late. The check asks for half a wait: the tasks' first
/// starts may spread over 0.4 of a wait (a busy machine pausing the thread while it starts
/// them) and it still holds. (With 3 tasks on 2 threads, the last ran about 2/3 of a wait late,
/// and a spread of a sixth of a wait defeated the check.)
fn block_runtime(style: &str) -> Scenario {
    let args = format!(
        "--mistake block-runtime --style {style} --runtime-threads 1 --concurrency 10 --jobs 20 --work-ms {WORK_MS}"
    );
    Scenario::run(&format!("mistake-block-runtime-{style}"), &words(&args), 1)
        .outputs(OutputRule::Double)
        .check(|run| {
            let s = run.summary()?;
            if s.ok != 20 {
                return Err(format!("expected the 20 jobs ok, got {}", s.ok));
            }
            let broken = broken_invariant(run)?;
            if !broken.starts_with("timers on time:") || !broken.contains("spawn_blocking") {
                return Err(format!("expected the late timers and the fix named: {broken:?}"));
            }
            // Measured per job from the events: at least one job ran half a wait or more beyond
            // its wait and its CPU part, and the summary's own measure agrees.
            let worst = overshoots_ms(run, WORK_MS + CPU_PART_MS)?
                .into_iter()
                .fold(f64::NEG_INFINITY, f64::max);
            let measured = s.number("timers_late_max_ms").unwrap_or(0.0);
            if worst < WORK_MS / 2.0 || measured < WORK_MS / 2.0 {
                return Err(format!(
                    "expected a job late by half a wait or more: events {worst:.1} ms, summary {measured:.1} ms"
                ));
            }
            Ok(())
        })
}

#[test]
fn block_runtime_makes_timers_late_with_workers() {
    check(block_runtime("workers"));
}

#[test]
fn block_runtime_makes_timers_late_with_a_joinset() {
    check(block_runtime("joinset"));
}

#[test]
fn block_runtime_makes_timers_late_with_buffer_unordered() {
    check(block_runtime("buffer-unordered"));
}

#[test]
fn block_runtime_cancelled_by_a_deadline_still_accounts_for_every_job() {
    check(
        Scenario::run(
            "mistake-block-runtime-deadline",
            &words("--mistake block-runtime --runtime-threads 2 --concurrency 3 --jobs 30 --work-ms 100 --deadline-ms 450"),
            1,
        )
        .partial_concurrency()
        .check(|run| {
            let s = run.summary()?;
            if s.not_started == 0 {
                return Err("expected jobs never started after the deadline".to_owned());
            }
            Ok(())
        }),
    );
}

/// A cpu run under the mistake checks its primes in place on the runtime threads: no job sleeps,
/// so no timer can be late; the summary names the mistake and says it did not show (exit 0).
#[test]
fn without_sleeping_jobs_the_mistake_does_not_show_and_says_so() {
    check(
        Scenario::run(
            "mistake-block-runtime-cpu",
            &words("--mistake block-runtime --workload cpu --jobs 20 --concurrency 4"),
            0,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .check(|run| {
            let s = run.summary()?;
            let named = s.extra.get("mistake").and_then(|v| v.as_str());
            if named != Some("block-runtime") || s.extra.contains_key("broken_invariant") {
                return Err(format!(
                    "expected the mistake named and no broken invariant: {named:?}"
                ));
            }
            let not_shown = s.extra.get("mistake_not_shown").and_then(|v| v.as_str());
            if !not_shown.is_some_and(|l| l.starts_with("block-runtime did not show")) {
                return Err("expected the line saying the mistake did not show".to_owned());
            }
            Ok(())
        }),
    );
}

/// Without the mistake, many concurrent waits on the same 2 runtime threads: no broken
/// invariant and exit 0, whatever the timers' lateness on a busy machine. (The peak need not
/// reach 500: a first round of 500 tasks of 20 ms jobs overlaps fully only if no thread is paused
/// that long while they start.)
#[test]
fn without_the_mistake_nothing_is_named() {
    for style in ["workers", "buffer-unordered", "joinset"] {
        let args = format!("--style {style} --runtime-threads 2 --concurrency 500 --jobs 2000 --work-ms 20");
        check(
            Scenario::run(&format!("no-mistake-{style}"), &words(&args), 0)
                .outputs(OutputRule::Double)
                .partial_concurrency()
                .check(|run| {
                    let s = run.summary()?;
                    let named = ["mistake", "broken_invariant", "no_progress"]
                        .into_iter()
                        .filter(|k| s.extra.contains_key(*k))
                        .collect::<Vec<_>>();
                    if !named.is_empty() || s.number("timers_late_max_ms").is_none() {
                        return Err(format!("expected no verdict and the timers measured: {named:?}"));
                    }
                    Ok(())
                }),
        );
    }
}
