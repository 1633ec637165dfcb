//! struct-pool's `--mistake nested-submit` (docs/mistakes.md): jobs that submit a child job to
//! their own pool and wait for it. Once every worker runs one, nothing moves: the watchdog cuts
//! the hang (2 s, inside the harness's own timeout), names every waiting worker and the mistake
//! with its fix, and the run exits 3 with every job accounted for (the workers' jobs
//! `cancelled`, the queued ones `not_started`) and no thread alive (I1–I5).

use std::time::Duration;

use harness::{Interrupt, Run, Scenario, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_struct-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

const FIX: &str = "nested-submit: a job waits on a job it submitted to its own pool; run the child \
                   inline in the job, or give the children a pool of their own";

/// The watchdog's line on stderr, also the summary's `no_progress`, naming the mistake and fix.
fn watchdog_line(run: &Run<'_>) -> Result<String, String> {
    let line = run
        .output
        .stderr
        .lines()
        .find(|l| l.starts_with("no progress for"))
        .ok_or_else(|| format!("no watchdog line on stderr: {:?}", run.output.stderr))?;
    if !line.ends_with(FIX) {
        return Err(format!("the watchdog's line does not end with the fix: {line}"));
    }
    let summary = run.summary()?;
    expect_eq(
        "the summary's no_progress",
        summary.extra.get("no_progress").and_then(|v| v.as_str()),
        Some(line),
    )?;
    expect_eq(
        "the summary's mistake",
        summary.extra.get("mistake").and_then(|v| v.as_str()),
        Some("nested-submit"),
    )?;
    Ok(line.to_owned())
}

fn nested(name: &str, args: &str, code: i32) -> Scenario {
    Scenario::run(name, &words(&format!("--mistake nested-submit {args}")), code)
        .timeout(Duration::from_secs(60))
}

/// Room in the queue: each of the 3 workers waits on its child, queued behind the other jobs.
#[test]
fn every_worker_waits_on_its_child_and_the_watchdog_says_so() {
    check(nested("mistake-nested-submit", "--work-ms 20", 3).check(|run| {
        let line = watchdog_line(run)?;
        for worker in 1..=3 {
            let waits = format!("pool-worker-{worker} waits on the child of job ");
            if !line.contains(&waits) {
                return Err(format!("the line does not say {waits:?}: {line}"));
            }
        }
        // Before the queue holds every job, a free worker may run an early child, so its parent
        // ends ok: how many jobs are still queued depends on that race, not on the mistake. The
        // line must count exactly the jobs the summary then reports as never started.
        let s = run.summary()?;
        let queued = format!(
            "(3 of 3 worker(s)); the queue holds {} job(s) and 3 child job(s)",
            s.not_started
        );
        if !line.contains(&queued) {
            return Err(format!("the line does not count the queue ({queued:?}): {line}"));
        }
        expect_eq("cancelled (the 3 waiting jobs)", s.cancelled, 3)?;
        expect_eq("ok + not_started (the other 7 jobs)", s.ok + s.not_started, 7)
    }));
}

/// A one-slot queue: the workers also wait to queue their children, and so does the submitter
/// for its next job; the submitter's jobs never submitted are `not_started` too.
#[test]
fn with_a_full_queue_the_workers_and_the_submitter_wait_to_queue() {
    check(
        nested(
            "mistake-nested-submit-full",
            "--workers 4 --jobs 40 --buffer 1 --work-ms 5",
            3,
        )
        .partial_concurrency()
        .check(|run| {
            let line = watchdog_line(run)?;
            for part in [
                "waits to queue the child of job",
                "(4 of 4 worker(s))",
                "the submitter waits on the full queue",
            ] {
                if !line.contains(part) {
                    return Err(format!("the line does not say {part:?}: {line}"));
                }
            }
            let s = run.summary()?;
            expect_eq("cancelled (the 4 waiting jobs)", s.cancelled, 4)?;
            if s.not_started == 0 {
                return Err("expected jobs never started".into());
            }
            Ok(())
        }),
    );
}

/// More workers than jobs: a worker is free for every child, nothing hangs, the watchdog stays
/// quiet (a false alarm would be a failure).
#[test]
fn with_a_free_worker_for_every_child_it_does_not_hang() {
    check(
        nested(
            "mistake-nested-submit-no-hang",
            "--jobs 2 --workers 3 --work-ms 20",
            0,
        )
        .partial_concurrency()
        .check(|run| {
            if run.output.stderr.contains("no progress") {
                return Err(format!("the watchdog fired: {:?}", run.output.stderr));
            }
            expect_eq("ok", run.summary()?.ok, 2)
        }),
    );
}

/// Ctrl-C during the hang wins over the watchdog: exit 130, the waiting jobs cancelled.
#[test]
fn ctrl_c_during_the_hang_ends_in_130_not_in_the_watchdog() {
    check(
        nested("mistake-nested-submit-sigint", "--work-ms 20", 130)
            .interrupt(Interrupt::AfterStarted(3))
            .check(|run| {
                if run.output.stderr.contains("no progress") {
                    return Err(format!("the watchdog fired: {:?}", run.output.stderr));
                }
                // Each job waiting on its child when Ctrl-C came is cancelled: one per busy
                // worker. A free worker may have run an early child first (its parent then ended
                // ok), so fewer than the 3 workers may be waiting.
                let cancelled = run.summary()?.cancelled;
                if (1..=3).contains(&cancelled) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected 1 to 3 jobs cancelled (one per waiting worker), got {cancelled}"
                    ))
                }
            }),
    );
}
