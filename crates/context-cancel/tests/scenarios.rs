//! context-cancel's deadline: each a run of the real binary checked against the invariants I1–I5
//! (`harness`) and against the cancellation's own promises: the cause is reported, the grace is
//! kept (jobs in flight may finish within it, are cancelled after it), the rest never start, and
//! CPU-bound jobs and a producer blocked on a send are stopped too. Ctrl-C is in `ctrl_c.rs`.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{OutputRule, Run, Scenario};

use crate::support::{cancel_was_kept, cancelled_by, check};

/// The Go original's numbers: 3 workers, 20 jobs, 100 ms, a 2 s deadline that is not reached.
#[test]
fn defaults_finish_before_the_deadline() {
    check(
        Scenario::run("defaults-finish-before-deadline", &[], 0)
            .outputs(OutputRule::Double)
            .check(|run| cancelled_by(run, None)),
    );
}

/// The header's command line: the deadline falls in the third round of jobs.
#[test]
fn deadline_cuts_the_run_short() {
    check(
        Scenario::run("deadline-cuts-run-short", &["--deadline-ms", "250"], 1)
            .outputs(OutputRule::Double)
            .partial_concurrency()
            .check(|run| cancelled_by(run, Some("deadline")))
            .check(cancel_was_kept)
            .check(|run| {
                let (ok, not_started) = (run.summary()?.ok, run.summary()?.not_started);
                if ok < 20 && not_started > 0 {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a run cut short, got ok {ok}, not_started {not_started}"
                    ))
                }
            }),
    );
}

/// A deadline run as `cargo xtask timeline` draws it: every started job ended with an outcome
/// (one coloured bar each, none left unfinished), and the cancel is an event (its marker).
#[test]
fn timeline_of_a_deadline_run() {
    check(
        Scenario::run("timeline-of-a-deadline-run", &["--deadline-ms", "250"], 1)
            .partial_concurrency()
            .check(what_the_timeline_draws),
    );
}

/// Jobs of 300 ms, a deadline at 100 ms and 30 ms of grace: the jobs in flight cannot finish in
/// time and are cancelled, the rest never start.
#[test]
fn grace_too_short_cancels_the_jobs_in_flight() {
    check(
        Scenario::run(
            "grace-too-short",
            &[
                "--jobs",
                "9",
                "--work-ms",
                "300",
                "--deadline-ms",
                "100",
                "--grace-ms",
                "30",
            ],
            1,
        )
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept)
        .check(|run| {
            let s = run.summary()?;
            let (ok, cancelled) = (s.ok, s.cancelled);
            if ok == 0 && cancelled >= 1 && s.number("aborted_at_ms").is_some() {
                Ok(())
            } else {
                Err(format!(
                    "expected the jobs in flight to be aborted, got ok {ok}, cancelled {cancelled}"
                ))
            }
        }),
    );
}

/// A grace longer than the jobs: the jobs in flight finish, none is cancelled.
#[test]
fn grace_lets_the_jobs_in_flight_finish() {
    check(
        Scenario::run(
            "grace-lets-jobs-finish",
            &[
                "--jobs",
                "9",
                "--work-ms",
                "100",
                "--deadline-ms",
                "50",
                "--grace-ms",
                "5000",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept)
        .check(|run| {
            let (cancelled, not_started) = (run.summary()?.cancelled, run.summary()?.not_started);
            if cancelled == 0 && not_started > 0 {
                Ok(())
            } else {
                Err(format!(
                    "expected no job cancelled in flight and some never started, got cancelled {cancelled}, not_started {not_started}"
                ))
            }
        }),
    );
}

/// A deadline of 0: nothing may complete.
#[test]
fn deadline_0_completes_nothing() {
    check(
        Scenario::run("deadline-0", &["--jobs", "10", "--deadline-ms", "0"], 1)
            .partial_concurrency()
            .check(|run| cancelled_by(run, Some("deadline")))
            .check(cancel_was_kept)
            .check(|run| {
                let (ok, failed) = (run.summary()?.ok, run.summary()?.failed);
                if ok + failed == 0 {
                    Ok(())
                } else {
                    Err(format!("expected no job done, got ok {ok}, failed {failed}"))
                }
            }),
    );
}

/// CPU-bound jobs are interrupted too (the prime check looks at the token every 2^16 steps).
#[test]
fn cpu_jobs_are_interrupted() {
    check(
        Scenario::run(
            "cpu-jobs-are-interrupted",
            &[
                "--jobs",
                "400",
                "--workers",
                "2",
                "--workload",
                "cpu",
                "--deadline-ms",
                "150",
            ],
            1,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept),
    );
}

/// A rendezvous jobs channel: the producer itself is stopped while blocked on a send.
#[test]
fn rendezvous_channel_cancelled() {
    check(
        Scenario::run(
            "rendezvous-channel-cancelled",
            &[
                "--jobs",
                "50",
                "--work-ms",
                "50",
                "--buffer",
                "0",
                "--deadline-ms",
                "120",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept),
    );
}

/// What `cargo xtask timeline` draws of a run, read from its events: one bar per started job,
/// coloured by the outcome of its `finished` event (a job without one would be a grey
/// "unfinished" bar), and one marker per `cancel` event, of which there is at least one.
fn what_the_timeline_draws(run: &Run<'_>) -> Result<(), String> {
    let events = run.events()?;
    let ended: BTreeSet<u64> = events.finished().map(|f| f.job).collect();
    let unfinished: Vec<u64> = events
        .started()
        .map(|s| s.job)
        .filter(|job| !ended.contains(job))
        .collect();
    if !unfinished.is_empty() {
        return Err(format!(
            "timeline: started jobs without an outcome would be drawn unfinished: {unfinished:?}"
        ));
    }
    if events.count_named("cancel") == 0 {
        return Err("timeline: no cancel event to mark".to_owned());
    }
    Ok(())
}
