//! basic's `--mistake` runs (docs/mistakes.md): each reproduces its mistake, the watchdog or the
//! summary names the cause, the exit code is the documented one, and every job is still
//! accounted for (the standard invariants I1–I5 hold).

use std::time::Duration;

use harness::{Scenario, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(env!("CARGO_BIN_EXE_basic"), env!("CARGO_TARGET_TMPDIR"), scenario);
}

/// The watchdog cuts the hang (2 s), well inside the harness's own 60 s timeout.
fn cut_by_the_watchdog(name: &str, args: &str, cause: &'static str) -> Scenario {
    Scenario::run(name, &words(args), 3)
        .timeout(Duration::from_secs(60))
        .check(move |run| {
            let line = run
                .output
                .stderr
                .lines()
                .find(|l| l.starts_with("no progress for"));
            let line = line.ok_or_else(|| format!("no watchdog line on stderr: {:?}", run.output.stderr))?;
            if !line.contains(cause) {
                return Err(format!("the watchdog's line does not name {cause:?}: {line}"));
            }
            let summary = run.summary()?;
            let field = summary.extra.get("no_progress").and_then(|v| v.as_str());
            expect_eq("the summary's no_progress", field, Some(line))
        })
}

#[test]
fn keep_sender_is_cut_by_the_watchdog() {
    check(
        cut_by_the_watchdog(
            "mistake-keep-sender",
            "--mistake keep-sender --work-ms 10",
            "the jobs queue is empty and still has a sender — was it dropped (Go: close(jobs))?",
        )
        // Every job ran: the hang comes after the last one.
        .check(|run| expect_eq("ok", run.summary()?.ok, 10)),
    );
}

#[test]
fn results_after_submit_is_cut_by_the_watchdog() {
    check(
        cut_by_the_watchdog(
            "mistake-results-after-submit",
            "--mistake results-after-submit --buffer 1 --work-ms 10",
            "full results queue (1 of 1) that nobody reads, and the submitter waits on a full jobs queue",
        )
        // Jobs main never managed to send are not_started, with the reason.
        .check(|run| {
            let events = run.events()?;
            let n = events.summary.not_started;
            let with_reason = events
                .not_started()
                .filter(|e| e.reason.as_deref().is_some_and(|r| r.contains("never submitted")))
                .count() as u64;
            if n == 0 || with_reason == 0 {
                return Err(format!(
                    "expected jobs never submitted, got not_started {n}, {with_reason} with the reason"
                ));
            }
            Ok(())
        }),
    );
}

#[test]
fn thread_per_job_breaks_the_bound_and_says_so() {
    check(
        Scenario::run(
            "mistake-thread-per-job",
            &words("--mistake thread-per-job --jobs 60 --work-ms 100"),
            1,
        )
        // Spawning 60 threads on a busy machine may take longer than a job: the peak may fall short.
        .partial_concurrency()
        .check(|run| {
            let s = run.summary()?;
            let broken = s
                .extra
                .get("broken_invariant")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if !broken.starts_with("I2 bound:") || s.peak_in_flight <= s.workers {
                return Err(format!(
                    "expected a broken I2 with more than {} in flight: {broken:?}, peak {}",
                    s.workers, s.peak_in_flight
                ));
            }
            run.expect_count("threads_started", 60)
        }),
    );
}

#[test]
fn an_explicit_watchdog_does_not_fire_on_a_healthy_run() {
    check(Scenario::run(
        "watchdog-quiet",
        &words("--jobs 20 --work-ms 20 --watchdog-ms 1500"),
        0,
    ));
}

/// The workers' shared counter, updated with a separate load and store, loses counts: its
/// window is the job, so with 4 workers on 40 jobs every overlap of two jobs loses one. Every job
/// still ran and is counted by main.
#[test]
fn lost_update_loses_counts_and_says_how_many() {
    check(
        Scenario::run(
            "mistake-lost-update",
            &words("--mistake lost-update --workers 4 --jobs 40 --work-ms 20"),
            1,
        )
        .partial_concurrency()
        .check(|run| {
            let s = run.summary()?;
            expect_eq("ok", s.ok, 40)?;
            let counted = run.count("counted_ok")?;
            if counted == 0 || counted >= 40 {
                return Err(format!("expected between 1 and 39 counted, got {counted}"));
            }
            let broken = s
                .extra
                .get("broken_invariant")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let said = format!(
                "lost update: the workers' shared counter says {counted} job(s) ok, the results say 40: {} increment(s) lost",
                40 - counted
            );
            if !broken.starts_with(&said) {
                return Err(format!("expected {said:?}, got {broken:?}"));
            }
            Ok(())
        }),
    );
}
