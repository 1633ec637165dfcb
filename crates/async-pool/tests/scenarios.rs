//! async-pool's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`, I2 rebuilding the concurrency cap from the events): each `--style` (`workers`,
//! `buffer_unordered`, `joinset` test-name prefixes) through the default, cpu and dispatch
//! workloads, the cap, a deadline, panicking jobs and Ctrl-C mid-run through the
//! `CancellationToken`; then many concurrent waits, SIGTERM, a signal at once and a second Ctrl-C.

use common::event::{CancelCause, Event, OutcomeKind};
use harness::{Interrupt, OutputRule, Run, Scenario, Signal};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_async-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// The cause of the one `cancel` event of a cancelled run.
fn cancel_event(run: &Run<'_>) -> Result<CancelCause, String> {
    let cancels: Vec<CancelCause> = run
        .events()?
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cancel(c) => Some(c.by),
            _ => None,
        })
        .collect();
    match cancels.as_slice() {
        [one] => Ok(*one),
        other => Err(format!("expected one cancel event, got {}", other.len())),
    }
}

/// A run cancelled by `by`: one cancel event, the summary names it, and nothing runs on past the
/// cancel. Judged by the order the lines were printed in, not by their `t_ms`: a timestamp is
/// taken before its line is printed, and a thread the OS pauses in between (a busy machine)
/// prints an early instant late. The example cancels the token before it prints the `cancel` line,
/// and a sleep job looks at the token first, so every job whose `started` line follows the
/// `cancel` line ended cancelled (at most one per task: each had passed its check just before the
/// cancel), and every job that ended ok or failed had started before it.
fn cancelled_by(run: &Run<'_>, by: CancelCause) -> Result<(), String> {
    let cause = cancel_event(run)?;
    if cause != by {
        return Err(format!(
            "cancel event by {}, expected {}",
            cause.name(),
            by.name()
        ));
    }
    let events = run.events()?;
    match events.summary.extra.get("cancelled_by").and_then(|v| v.as_str()) {
        Some(name) if name == by.name() => {}
        other => return Err(format!("summary cancelled_by {other:?}, expected {}", by.name())),
    }
    let at = events
        .events
        .iter()
        .position(|e| matches!(e, Event::Cancel(_)))
        .ok_or("no cancel event")?;
    let started_after: Vec<u64> = events.events[at..]
        .iter()
        .filter_map(|e| match e {
            Event::Started(s) => Some(s.job),
            _ => None,
        })
        .collect();
    if started_after.len() > events.summary.bound() {
        return Err(format!(
            "{} jobs started after the cancel line, more than the {} tasks: {started_after:?}",
            started_after.len(),
            events.summary.bound()
        ));
    }
    if let Some(f) = events
        .finished()
        .find(|f| f.outcome != OutcomeKind::Cancelled && started_after.contains(&f.job))
    {
        return Err(format!(
            "job {} started after the cancel line and ended {:?}",
            f.job, f.outcome
        ));
    }
    Ok(())
}

/// A run cut short: some jobs cancelled in flight and some never started.
fn cut_short(run: &Run<'_>) -> Result<(), String> {
    let s = &run.events()?.summary;
    if s.cancelled > 0 && s.not_started > 0 && s.ok < s.submitted {
        Ok(())
    } else {
        Err(format!(
            "expected a run cut short, got ok {}, cancelled {}, not_started {}",
            s.ok, s.cancelled, s.not_started
        ))
    }
}

/// `style/what` with `--style style` ahead of `extra`.
fn styled(style: &'static str, what: &str, extra: &[&str], exit_code: i32) -> Scenario {
    let mut args = vec!["--style", style];
    args.extend_from_slice(extra);
    Scenario::run(&format!("{style}/{what}"), &args, exit_code)
}

// The scenarios every style runs.

/// The Go original 001's numbers: 3 tasks, 10 jobs of 500 ms, output = value × 2.
fn defaults(style: &'static str) -> Scenario {
    styled(style, "defaults", &[], 0)
        .outputs(OutputRule::Double)
        .check(move |run| {
            let s = &run.events()?.summary;
            match s.extra.get("style").and_then(|v| v.as_str()) {
                Some(got) if got == style => Ok(()),
                got => Err(format!("summary style {got:?}, expected {style}")),
            }
        })
}

/// cpu work in spawn_blocking: the right primes, at most 3 in flight. (Whether 3 ever overlap
/// depends on how the OS schedules the threads: the `*_1000_concurrent_waits` tests show many
/// jobs in flight together without a race.)
fn cpu(style: &'static str) -> Scenario {
    styled(style, "cpu", &["--workload", "cpu", "--jobs", "30"], 0)
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
}

/// No work: the pool's own overhead; every job still accounted for exactly once. A job without
/// an `.await` runs start to end in one poll, so jobs overlap only across the runtime's threads
/// (the peak stays at or below the thread count, not at 8).
fn dispatch(style: &'static str) -> Scenario {
    styled(
        style,
        "dispatch",
        &["--workload", "dispatch", "--jobs", "5000", "--workers", "8"],
        0,
    )
    .outputs(OutputRule::Double)
    .partial_concurrency()
}

/// The cap rebuilt from the events (I2) with more tasks than runtime threads. (The cap is an upper
/// bound: whether all 7 jobs of 20 ms overlap depends on the OS scheduling the threads.)
fn cap_7_of_60(style: &'static str) -> Scenario {
    styled(
        style,
        "cap-7-of-60",
        &[
            "--jobs",
            "60",
            "--work-ms",
            "20",
            "--concurrency",
            "7",
            "--fail-every",
            "9",
        ],
        1,
    )
    .outputs(OutputRule::Double)
    .partial_concurrency()
    .check(|run| {
        let s = &run.events()?.summary;
        if s.workers == 7 && s.failed == 6 && s.ok == 54 {
            Ok(())
        } else {
            Err(format!(
                "expected 7 tasks, 6 failed, 54 ok; got {}, {}, {}",
                s.workers, s.failed, s.ok
            ))
        }
    })
}

/// The deadline in the second round: jobs waiting are cancelled, the rest never start.
fn deadline(style: &'static str) -> Scenario {
    styled(style, "deadline", &["--deadline-ms", "700"], 1)
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, CancelCause::Deadline))
        .check(cut_short)
}

/// Panicking jobs fail alone, with the panic as the reason; the others run.
fn panics(style: &'static str) -> Scenario {
    styled(style, "panics", &["--panic-every", "4", "--work-ms", "50"], 1)
        .outputs(OutputRule::Double)
        .check(|run| {
            let events = run.events()?;
            let failed: Vec<u64> = events
                .finished()
                .filter(|f| f.outcome == OutcomeKind::Failed)
                .filter(|f| f.reason.as_deref().is_some_and(|r| r.contains("panic")))
                .map(|f| f.job)
                .collect();
            if failed.len() == 2 && failed.contains(&4) && failed.contains(&8) && events.summary.ok == 8 {
                Ok(())
            } else {
                Err(format!(
                    "expected jobs 4 and 8 failed by a panic and 8 ok, got {failed:?}, ok {}",
                    events.summary.ok
                ))
            }
        })
}

/// Ctrl-C mid-run, through the token: 130, every job accounted for.
fn sigint(style: &'static str) -> Scenario {
    styled(style, "sigint", &["--jobs", "12", "--work-ms", "300"], 130)
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::AfterStarted(4))
        .check(|run| cancelled_by(run, CancelCause::CtrlC))
        .check(|run| {
            let s = &run.events()?.summary;
            if s.interrupted && s.interrupted_at_ms.is_some() && s.not_started > 0 {
                Ok(())
            } else {
                Err(format!(
                    "expected an interrupted run with jobs never started, got {s:?}"
                ))
            }
        })
}

#[test]
fn workers_defaults() {
    check(defaults("workers"));
}

#[test]
fn workers_cpu() {
    check(cpu("workers"));
}

#[test]
fn workers_dispatch() {
    check(dispatch("workers"));
}

#[test]
fn workers_cap_7_of_60() {
    check(cap_7_of_60("workers"));
}

#[test]
fn workers_deadline() {
    check(deadline("workers"));
}

#[test]
fn workers_panics() {
    check(panics("workers"));
}

#[test]
fn workers_sigint() {
    check(sigint("workers"));
}

#[test]
fn buffer_unordered_defaults() {
    check(defaults("buffer-unordered"));
}

#[test]
fn buffer_unordered_cpu() {
    check(cpu("buffer-unordered"));
}

#[test]
fn buffer_unordered_dispatch() {
    check(dispatch("buffer-unordered"));
}

#[test]
fn buffer_unordered_cap_7_of_60() {
    check(cap_7_of_60("buffer-unordered"));
}

#[test]
fn buffer_unordered_deadline() {
    check(deadline("buffer-unordered"));
}

#[test]
fn buffer_unordered_panics() {
    check(panics("buffer-unordered"));
}

#[test]
fn buffer_unordered_sigint() {
    check(sigint("buffer-unordered"));
}

#[test]
fn joinset_defaults() {
    check(defaults("joinset"));
}

#[test]
fn joinset_cpu() {
    check(cpu("joinset"));
}

#[test]
fn joinset_dispatch() {
    check(dispatch("joinset"));
}

#[test]
fn joinset_cap_7_of_60() {
    check(cap_7_of_60("joinset"));
}

#[test]
fn joinset_deadline() {
    check(deadline("joinset"));
}

#[test]
fn joinset_panics() {
    check(panics("joinset"));
}

#[test]
fn joinset_sigint() {
    check(sigint("joinset"));
}

// Many concurrent waits: 1,000 tasks waiting at once on a runtime of a thread per core.

/// 1,000 jobs waiting at once, shown by progress, not by a race: each job waits ten minutes, far
/// past the watchdog, so none can end on its own, and Ctrl-C comes once 1,000 have started. All
/// 1,000 are then in flight together on any machine however busy (a run of 50 ms jobs reaches
/// 1,000 only if the 1,000th task starts before the first one's wait is over: a thread the OS
/// pauses for a wait's length during the first round keeps the peak below the bound). Every one
/// ends cancelled and the other 2,000 never start.
fn waits_at_once(style: &'static str) -> Scenario {
    styled(
        style,
        "1000-waits-at-once",
        &["--jobs", "3000", "--work-ms", "600000", "--concurrency", "1000"],
        130,
    )
    .outputs(OutputRule::Double)
    .partial_concurrency()
    .interrupt(Interrupt::AfterStarted(1000))
    .check(|run| cancelled_by(run, CancelCause::CtrlC))
    .check(|run| {
        let s = run.summary()?;
        let got = (s.peak_in_flight, s.ok, s.cancelled, s.not_started);
        if got == (1000, 0, 1000, 2000) {
            Ok(())
        } else {
            Err(format!(
                "expected (peak_in_flight, ok, cancelled, not_started) = (1000, 0, 1000, 2000), got {got:?}"
            ))
        }
    })
}

/// 3,000 jobs of 50 ms through 1,000 slots, quietly: every job ok and accounted for, never more
/// than 1,000 at once. (How close the peak comes to 1,000 depends on the machine's load: see
/// [`waits_at_once`] for the 1,000 together.)
fn waits_in_rounds(style: &'static str) -> Scenario {
    styled(
        style,
        "3000-waits-in-rounds",
        &[
            "--jobs",
            "3000",
            "--work-ms",
            "50",
            "--concurrency",
            "1000",
            "--quiet",
        ],
        0,
    )
    .summary_only()
    .partial_concurrency()
    .check(|run| {
        let s = run.summary()?;
        if s.ok == 3000 {
            Ok(())
        } else {
            Err(format!("expected 3000 jobs ok, got {}", s.ok))
        }
    })
}

#[test]
fn workers_1000_concurrent_waits() {
    check(waits_at_once("workers"));
    check(waits_in_rounds("workers"));
}

#[test]
fn buffer_unordered_1000_concurrent_waits() {
    check(waits_at_once("buffer-unordered"));
    check(waits_in_rounds("buffer-unordered"));
}

#[test]
fn joinset_1000_concurrent_waits() {
    check(waits_at_once("joinset"));
    check(waits_in_rounds("joinset"));
}

#[test]
fn joinset_sigterm() {
    // SIGTERM is Ctrl-C too.
    check(
        Scenario::run(
            "joinset/sigterm",
            &["--style", "joinset", "--jobs", "12", "--work-ms", "300"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 4))
        .check(|run| cancelled_by(run, CancelCause::CtrlC)),
    );
}

// A signal in the first instants (before the runtime may even exist) still ends in a summary.

#[test]
fn workers_signal_at_once() {
    check(
        Scenario::run(
            "workers/signal-at-once",
            &["--jobs", "30", "--work-ms", "200"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterMs(Signal::Int, 1))
        .check(|run| {
            let s = &run.events()?.summary;
            if s.interrupted && s.ok < s.submitted {
                Ok(())
            } else {
                Err(format!(
                    "expected an interrupted run cut short, got interrupted {}, ok {}",
                    s.interrupted, s.ok
                ))
            }
        }),
    );
}

#[test]
fn buffer_unordered_signal_at_once() {
    check(
        Scenario::run(
            "buffer-unordered/signal-at-once",
            &["--style", "buffer-unordered", "--jobs", "30", "--work-ms", "200"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterMs(Signal::Term, 1)),
    );
}

#[test]
fn workers_double_sigint_exits_at_once() {
    // A second Ctrl-C exits at once.
    check(
        Scenario::exit_only(
            "workers/double-sigint",
            &["--jobs", "12", "--work-ms", "300"],
            130,
        )
        .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 2)),
    );
}
