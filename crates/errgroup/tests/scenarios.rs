//! errgroup's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`: every job accounted for, never more in flight than `--limit`, the exit code, no
//! thread alive at exit) and the group's own: after the `group_cancel` no job starts, the error
//! `wait` returns is the first `failed` by time, `--try` refuses only while every slot is busy,
//! and the styles agree. Orderings and counts only: no wall-clock threshold.
//! `cargo test -p errgroup ctrl_c` runs the Ctrl-C cases.

use std::time::Duration;

use common::event::{Event, OutcomeKind};
use errgroup::GroupCancel;
use harness::{CtrlC, OutputRule, Run, Scenario, ctrl_c, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_errgroup"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

/// The `group_cancel` event: its index among the events, and the event.
fn group_cancel(run: &Run<'_>) -> Result<(usize, GroupCancel), String> {
    let events = &run.events()?.events;
    let found: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].name() == "group_cancel")
        .collect();
    let [at] = found[..] else {
        return Err(format!("expected one group_cancel event, found {}", found.len()));
    };
    let Event::Other(other) = &events[at] else {
        return Err("group_cancel is not an example event".into());
    };
    let cancel = other
        .decode::<GroupCancel>()
        .ok_or("not a group_cancel")?
        .map_err(|e| format!("group_cancel does not fit its type: {e}"))?;
    Ok((at, cancel))
}

/// After the cancellation no job starts: every `started` comes before the `group_cancel`, in
/// the output's order and by time; the jobs not started say why.
fn no_start_after_cancel(run: &Run<'_>) -> Result<(), String> {
    let (at, cancel) = group_cancel(run)?;
    let events = run.events()?;
    for (i, e) in events.events.iter().enumerate() {
        if let Event::Started(s) = e
            && (i > at || s.t_ms > cancel.t_ms)
        {
            return Err(format!(
                "job {} started at {} ms, after the group_cancel at {} ms",
                s.job, s.t_ms, cancel.t_ms
            ));
        }
    }
    if let Some(n) = events.not_started().find(|n| n.reason.is_none()) {
        return Err(format!("job {} never started, without a reason", n.job));
    }
    // A job that ended ok after the cancel could not be stopped: the summary counts each one.
    let ok_after = events.events[at..]
        .iter()
        .filter(|e| matches!(e, Event::Finished(f) if f.outcome == OutcomeKind::Ok))
        .count() as u64;
    expect_eq(
        "finished_after_cancel",
        run.count("finished_after_cancel")?,
        ok_after,
    )?;
    expect_eq("running_after_wait", run.count("running_after_wait")?, 0)
}

/// The error `wait` returned (the summary's) is the first `failed` job by time and in order,
/// and the one that cancelled the group; a cancelled job never is.
fn first_error_is_first(run: &Run<'_>) -> Result<(), String> {
    let events = run.events()?;
    let first_job = run.count("first_error_job")?;
    let first = events
        .finished()
        .find(|f| f.outcome == OutcomeKind::Failed)
        .ok_or("no failed job")?;
    expect_eq("the first failed job", first.job, first_job)?;
    if let Some(earlier) = events
        .finished()
        .filter(|f| f.outcome == OutcomeKind::Failed)
        .find(|f| f.t_ms < first.t_ms)
    {
        return Err(format!("job {} failed earlier than job {first_job}", earlier.job));
    }
    let summary = run.summary()?;
    expect_eq(
        "first_error",
        summary.extra.get("first_error").and_then(|v| v.as_str()),
        first.reason.as_deref(),
    )?;
    let (_, cancel) = group_cancel(run)?;
    expect_eq("group_cancel by", cancel.by.as_str(), "first_error")?;
    expect_eq("group_cancel job", cancel.job, Some(first_job))
}

/// The http task's output: `PAGES` (4) bodies of `value` bytes each.
fn http_outputs(run: &Run<'_>) -> Result<(), String> {
    for f in run.events()?.finished().filter(|f| f.outcome == OutcomeKind::Ok) {
        let value = f.value.ok_or("a job without its value")?;
        expect_eq(&format!("job {}'s bytes", f.job), f.output, Some(4 * value))?;
    }
    Ok(())
}

/// The default run's shape, in any style: job 4's 500 is the error, nothing starts after it.
fn the_500_is_the_error(scenario: Scenario) -> Scenario {
    scenario
        .partial_concurrency()
        .check(no_start_after_cancel)
        .check(first_error_is_first)
        .check(http_outputs)
        .check(|run| {
            let s = run.summary()?;
            expect_eq("failed", s.failed, 1)?;
            if !run.summary()?.extra["first_error"]
                .as_str()
                .is_some_and(|e| e.ends_with("HTTP 500"))
            {
                return Err("the first error is not the 500".into());
            }
            expect_eq("first_error_job", run.count("first_error_job")?, 4)
        })
}

#[test]
fn defaults_fetch_until_the_500() {
    // 10 jobs of 4 pages, limit 3; job 4's second page answers 500: exit 1.
    check(the_500_is_the_error(run("defaults", "", 1)));
}

#[test]
fn style_tokio_ends_the_same_way() {
    check(the_500_is_the_error(run("style-tokio", "--style tokio", 1)));
}

#[test]
fn style_rayon_cannot_stop_a_job_in_flight() {
    // rayon has no token: the jobs in flight at the 500 finish (none is cancelled).
    check(
        the_500_is_the_error(run("style-rayon", "--style rayon", 1))
            .check(|run| expect_eq("cancelled", run.summary()?.cancelled, 0)),
    );
}

#[test]
fn every_style_gives_the_same_accounting() {
    // One slot: jobs 1-3 ok, job 4 fails, 5-8 never start, whatever the style.
    for style in ["scope", "tokio", "rayon"] {
        check(
            run(
                &format!("same-accounting-{style}"),
                &format!("--style {style} --limit 1 --jobs 8 --work-ms 20 --seed 9"),
                1,
            )
            .check(no_start_after_cancel)
            .check(first_error_is_first)
            .check(http_outputs)
            .check(|run| {
                let s = run.summary()?;
                expect_eq(
                    "ok, failed, cancelled, not_started",
                    (s.ok, s.failed, s.cancelled, s.not_started),
                    (3, 1, 0, 4),
                )
            }),
        );
    }
}

#[test]
fn the_limit_is_never_exceeded() {
    // I2 with the bound = --limit (the summary's max_in_flight), reached and never passed.
    for style in ["scope", "tokio", "rayon"] {
        check(
            run(
                &format!("limit-{style}"),
                &format!("--style {style} --task simulated --jobs 30 --work-ms 50 --limit 5 --fail-at 0"),
                0,
            )
            .outputs(OutputRule::Double)
            .check(|run| expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(5))),
        );
    }
}

/// Every refused job was refused while all `limit` slots were busy: counted from the events'
/// order (every event is printed under the group's lock, in the order of its decisions).
fn refused_only_when_full(limit: usize) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = &run.events()?.events;
        let mut open = std::collections::BTreeSet::new();
        let mut refused = 0;
        for e in events {
            match e {
                Event::Started(s) => {
                    open.insert(s.job);
                }
                Event::Finished(f) => {
                    open.remove(&f.job);
                }
                Event::NotStarted(n) if n.reason.as_deref().is_some_and(|r| r.starts_with("refused")) => {
                    refused += 1;
                    if open.len() != limit {
                        return Err(format!(
                            "job {} was refused with {} of {limit} slots busy",
                            n.job,
                            open.len()
                        ));
                    }
                }
                _ => {}
            }
        }
        expect_eq("refused", run.count("refused")?, refused)?;
        expect_eq("not_started", run.summary()?.not_started, refused)?;
        if refused == 0 {
            return Err("no job was refused".into());
        }
        Ok(())
    }
}

#[test]
fn try_reports_every_refused_job() {
    for style in ["scope", "tokio"] {
        check(
            run(
                &format!("try-{style}"),
                &format!(
                    "--style {style} --try --task simulated --jobs 12 --work-ms 300 --limit 3 --fail-at 0"
                ),
                1,
            )
            .outputs(OutputRule::Double)
            .check(refused_only_when_full(3)),
        );
    }
}

#[test]
fn no_job_starts_after_the_first_error() {
    // The sleep workload: job 10 fails halfway through; jobs in flight wake at the cancel.
    check(
        run(
            "no-start-after-cancel",
            "--task simulated --jobs 40 --work-ms 60 --limit 4 --fail-at 10",
            1,
        )
        .partial_concurrency()
        .outputs(OutputRule::Double)
        .check(no_start_after_cancel)
        .check(first_error_is_first),
    );
}

#[test]
fn the_error_returned_is_the_first_by_time() {
    // Every 3rd job fails at the end of its work: several may fail close together.
    check(
        run(
            "first-error-by-time",
            "--task simulated --jobs 30 --work-ms 30 --limit 6 --fail-every 3 --fail-at 0",
            1,
        )
        .partial_concurrency()
        .outputs(OutputRule::Double)
        .check(no_start_after_cancel)
        .check(first_error_is_first),
    );
}

#[test]
fn a_panic_is_the_jobs_error() {
    check(
        run(
            "panic-error",
            "--task simulated --jobs 8 --work-ms 100 --panic-at 2",
            1,
        )
        .partial_concurrency()
        .check(no_start_after_cancel)
        .check(first_error_is_first)
        .check(|run| {
            let first = run.summary()?.extra["first_error"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            expect_eq("first error", first.as_str(), "panic: job 2 panics (--panic-at)")
        }),
    );
}

#[test]
fn a_propagated_panic_is_re_raised_after_the_summary() {
    // Every job ends and is counted, the summary is printed, then main re-raises: exit 101.
    for style in ["scope", "tokio", "rayon"] {
        check(
            run(
                &format!("panic-propagate-{style}"),
                &format!("--style {style} --task simulated --jobs 8 --work-ms 100 --panic-at 2 --on-panic propagate"),
                101,
            )
            .partial_concurrency()
            .check(no_start_after_cancel)
            .check(first_error_is_first)
            .check(|run| {
                let stderr = &run.output.stderr;
                if !stderr.contains("re-raised in main") || stderr.lines().count() != 1 {
                    return Err(format!("expected one line naming the re-raise, got {stderr:?}"));
                }
                Ok(())
            }),
        );
    }
}

#[test]
fn cpu_workload() {
    check(
        run(
            "cpu-workload",
            "--task simulated --workload cpu --jobs 6 --limit 2 --seed 7 --fail-at 0",
            0,
        )
        .outputs(OutputRule::IsPrime)
        .timeout(Duration::from_secs(120)),
    );
}

#[test]
fn dispatch_quiet() {
    check(
        run(
            "dispatch-quiet",
            "--task simulated --workload dispatch --jobs 5000 --limit 2 --fail-at 0 --quiet",
            0,
        )
        .summary_only()
        // Jobs that do nothing end before a second one is admitted: the peak may be 1.
        .partial_concurrency(),
    );
}

#[test]
fn zero_jobs() {
    check(run("zero-jobs", "--jobs 0 --fail-at 0", 0));
}

/// 40 jobs of 100 ms on 3 slots, none failing: jobs remain after the 4th has started.
const MID: &str = "--task simulated --jobs 40 --work-ms 100 --fail-at 0";

fn ctrl_c_case(case: CtrlC) {
    let scenario = ctrl_c(case, MID, 4, true, MID);
    check(match case {
        CtrlC::DoubleSigint => scenario,
        _ => scenario.check(|run| {
            let (_, cancel) = group_cancel(run)?;
            expect_eq("group_cancel by", cancel.by.as_str(), "ctrl-c")?;
            no_start_after_cancel(run)
        }),
    });
}

harness::ctrl_c_tests!(ctrl_c_case);
