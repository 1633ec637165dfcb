//! context-cancel under Ctrl-C: SIGINT and SIGTERM cancel the same token a deadline does, so the
//! run ends in 130 with the cause `ctrl-c`, the grace kept, every worker's exit reported and
//! every job accounted for (I1–I5, `harness`), even when the signal comes in the first instants;
//! a second SIGINT exits at once.

mod support;

use harness::{Interrupt, OutputRule, Run, Scenario, Signal};

use crate::support::{cancel_was_kept, cancelled_by, check};

/// 30 jobs of 200 ms and a deadline that is never reached: only the signal ends the run early.
const LONG: [&str; 6] = ["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000"];

/// A run stopped by a signal: interrupted, cancelled by Ctrl-C, every worker reported its exit.
fn stopped_by_ctrl_c(run: &Run<'_>) -> Result<(), String> {
    let s = run.summary()?;
    if !s.interrupted || s.interrupted_at_ms.is_none() {
        return Err(format!(
            "expected interrupted with interrupted_at_ms, got {} / {:?}",
            s.interrupted, s.interrupted_at_ms
        ));
    }
    cancelled_by(run, Some("ctrl-c"))?;
    cancel_was_kept(run)?;
    let exits = run.events()?.count_named("worker_exit");
    if exits != s.workers {
        return Err(format!("{exits} worker_exit events for {} workers", s.workers));
    }
    Ok(())
}

/// A signal in the first instants (before, or just after, the first job started).
fn early_signal(name: &str, signal: Signal, ms: u64) -> Scenario {
    Scenario::run(name, &LONG, 130)
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterMs(signal, ms))
        .check(|run| {
            let s = run.summary()?;
            if s.interrupted && s.ok < s.submitted {
                Ok(())
            } else {
                Err(format!(
                    "expected an interrupted run cut short, got interrupted {}, ok {}",
                    s.interrupted, s.ok
                ))
            }
        })
}

/// SIGINT after 4 jobs started: the same token is cancelled, exit 130, threads joined.
#[test]
fn ctrl_c_mid_run() {
    check(
        Scenario::run("ctrl-c-mid-run", &LONG, 130)
            .outputs(OutputRule::Double)
            .partial_concurrency()
            .interrupt(Interrupt::AfterStarted(4))
            .check(stopped_by_ctrl_c),
    );
}

/// SIGTERM (what `kill` and service managers send) is Ctrl-C too.
#[test]
fn sigterm_mid_run() {
    check(
        Scenario::run("sigterm-mid-run", &LONG, 130)
            .outputs(OutputRule::Double)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 4))
            .check(stopped_by_ctrl_c),
    );
}

/// With a grace: the jobs in flight at the SIGINT may finish, then the run ends in 130.
#[test]
fn sigint_with_a_long_grace_lets_jobs_finish() {
    check(
        Scenario::run(
            "sigint-with-long-grace",
            &[
                "--jobs",
                "30",
                "--work-ms",
                "100",
                "--deadline-ms",
                "60000",
                "--grace-ms",
                "5000",
            ],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::AfterStarted(4))
        .check(stopped_by_ctrl_c)
        .check(|run| match run.summary()?.cancelled {
            0 => Ok(()),
            n => Err(format!("{n} job(s) cancelled although the grace outlasts them")),
        }),
    );
}

/// A signal in the first instants: the handler is installed first thing, so the run still ends
/// in a summary and 130.
#[test]
fn sigint_at_1ms() {
    check(early_signal("sigint-at-1ms", Signal::Int, 1));
}

#[test]
fn sigterm_at_3ms() {
    check(early_signal("sigterm-at-3ms", Signal::Term, 3));
}

/// A second Ctrl-C exits at once, with 130 (no summary required).
#[test]
fn double_sigint_exits_at_once() {
    check(
        Scenario::exit_only(
            "double-sigint-exits-at-once",
            &[
                "--jobs",
                "30",
                "--work-ms",
                "200",
                "--deadline-ms",
                "60000",
                "--grace-ms",
                "60000",
            ],
            130,
        )
        .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 2)),
    );
}
