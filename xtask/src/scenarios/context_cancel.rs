use std::time::Duration;

use common::event::{Event, OutcomeKind};

use super::{Interrupt, Run, Scenario, Signal};
use crate::check::OutputRule;

/// A summary field as a number of milliseconds.
fn ms(run: &Run<'_>, key: &str) -> Result<f64, String> {
    run.summary()?
        .number(key)
        .ok_or_else(|| format!("summary field \"{key}\" is missing or not a number"))
}

fn cancelled_by(run: &Run<'_>, expected: Option<&str>) -> Result<(), String> {
    let by = run.summary()?.extra.get("cancelled_by");
    let got = by.and_then(|v| v.as_str());
    if got == expected && (expected.is_some() || by.is_some_and(|v| v.is_null())) {
        Ok(())
    } else {
        Err(format!("expected cancelled_by {expected:?}, got {by:?}"))
    }
}

/// After a cancellation: the cancel instant and the latency are reported, the abort came no
/// sooner than cancel + grace, and no job ended ok or failed after the abort. The `cancel` event
/// is printed once, with the summary's cause and grace.
fn cancel_was_kept(run: &Run<'_>) -> Result<(), String> {
    let cancelled_at = ms(run, "cancelled_at_ms")?;
    let grace = ms(run, "grace_ms")?;
    let latency = ms(run, "cancel_latency_ms")?;
    if latency < 0.0 {
        return Err(format!("negative cancel latency {latency}"));
    }
    let aborted_at = run.summary()?.number("aborted_at_ms");
    if let Some(aborted_at) = aborted_at
        && aborted_at + 0.002 < cancelled_at + grace
    {
        return Err(format!(
            "aborted at {aborted_at} ms, before cancel {cancelled_at} ms + grace {grace} ms"
        ));
    }
    // Without an abort every worker exited within the grace.
    let limit = aborted_at.unwrap_or(cancelled_at + grace);
    for e in run.events()?.finished() {
        if e.outcome != OutcomeKind::Cancelled && e.t_ms > limit {
            return Err(format!(
                "job {} ended {:?} at {} ms, after cancel + grace ({limit} ms)",
                e.job, e.outcome, e.t_ms
            ));
        }
    }
    let cancels: Vec<_> = run
        .events()?
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cancel(c) => Some(c),
            _ => None,
        })
        .collect();
    let by = run.summary()?.extra.get("cancelled_by").and_then(|v| v.as_str());
    match cancels.as_slice() {
        [c] if Some(c.by.name()) == by && c.grace_ms as f64 == grace => Ok(()),
        _ => Err(format!(
            "expected one cancel event by {by:?} with grace {grace}, got {cancels:?}"
        )),
    }
}

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
    Scenario::run(
        name,
        &["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000"],
        130,
    )
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

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // The Go original's numbers: 3 workers, 20 jobs, 100 ms, a 2 s deadline that is not reached.
        Scenario::run("defaults-finish-before-deadline", &[], 0)
            .outputs(OutputRule::Double)
            .check(|run| cancelled_by(run, None)),
        // The header's command line: the deadline falls in the third round of jobs.
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
        // `cargo xtask timeline` draws this real run: one bar per started job, coloured
        // by outcome, and the cancel marker (the SVG is parsed, never compared byte by byte).
        Scenario::run("timeline-of-a-deadline-run", &["--deadline-ms", "250"], 1)
            .partial_concurrency()
            .check(timeline_of_the_run),
        // Jobs of 300 ms, a deadline at 100 ms and 30 ms of grace: the jobs in flight cannot
        // finish in time and are cancelled, the rest never start.
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
        // A grace longer than the jobs: the jobs in flight finish, none is cancelled.
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
        // SIGINT after 4 jobs started: the same token is cancelled, exit 130, threads joined.
        Scenario::run(
            "ctrl-c-mid-run",
            &["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::AfterStarted(4))
        .check(stopped_by_ctrl_c),
        // SIGTERM (what `kill` and service managers send) is Ctrl-C too.
        Scenario::run(
            "sigterm-mid-run",
            &["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 4))
        .check(stopped_by_ctrl_c),
        // With a grace: the jobs in flight at the SIGINT may finish, then the run ends in 130.
        Scenario::run(
            "sigint-with-long-grace",
            &["--jobs", "30", "--work-ms", "100", "--deadline-ms", "60000", "--grace-ms", "5000"],
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
        // A signal in the first instants: the handler is installed first thing, so the run
        // still ends in a summary and 130.
        early_signal("sigint-at-1ms", Signal::Int, 1),
        early_signal("sigterm-at-3ms", Signal::Term, 3),
        // A second Ctrl-C exits at once, with 130 (no summary required).
        Scenario::exit_only(
            "double-sigint-exits-at-once",
            &["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000", "--grace-ms", "60000"],
            130,
        )
        .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 2)),
        // A deadline of 0: nothing may complete.
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
        // CPU-bound jobs are interrupted too (the prime check looks at the token every 2^16 steps).
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
        // A rendezvous jobs channel: the producer itself is stopped while blocked on a send.
        Scenario::run(
            "rendezvous-channel-cancelled",
            &["--jobs", "50", "--work-ms", "50", "--buffer", "0", "--deadline-ms", "120"],
            1,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept),
        Scenario::bad_input("bad-input/deadline-abc", &["--deadline-ms", "abc"]),
        Scenario::bad_input("bad-input/grace-negative", &["--grace-ms", "-5"]),
    ]
}

/// Draws the run with `cargo xtask timeline`'s renderer and reads the SVG back.
fn timeline_of_the_run(run: &Run<'_>) -> Result<(), String> {
    use crate::timeline::{self, CANCELLED, FAILED, OK, svg};
    let events = run.events()?;
    let out = run.dir.join("timeline.svg");
    let stats = timeline::render(&run.output.stdout, &out, None).map_err(|e| format!("timeline: {e:#}"))?;
    let picture = std::fs::read_to_string(&out).map_err(|e| format!("timeline: {e}"))?;
    let started = events.started().count();
    let bars: usize = [OK, FAILED, CANCELLED]
        .into_iter()
        .map(|colour| svg::rects_filled(&picture, colour))
        .sum();
    if bars != started || stats.bars != started {
        return Err(format!(
            "timeline: {bars} bars in the SVG ({} counted by the renderer) for {started} started jobs",
            stats.bars
        ));
    }
    let cancels = events.count_named("cancel");
    let labels = svg::texts(&picture)
        .iter()
        .filter(|(_, text)| text.starts_with("cancel"))
        .count();
    if cancels == 0 || labels != cancels {
        return Err(format!(
            "timeline: {labels} cancel marker(s) in the SVG for {cancels} cancel event(s)"
        ));
    }
    Ok(())
}
