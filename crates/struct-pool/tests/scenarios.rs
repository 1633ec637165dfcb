//! struct-pool's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`): a panicking job is a failed result and the workers keep serving, `--ordered`,
//! `try_submit` on a full queue and batched submits lose nothing and report every job once.
//! The Ctrl-C cases are in `ctrl_c.rs`.

use common::event::OutcomeKind;
use harness::{OutputRule, Scenario, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_struct-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

#[test]
fn defaults_of_the_go_original() {
    check(run("defaults", "", 0).outputs(OutputRule::Double));
}

/// A panicking job is a failed result with its message; the workers keep serving.
#[test]
fn panicking_jobs_are_failed_results() {
    check(
        run("panicking-jobs", "--jobs 12 --work-ms 5 --panic-every 4", 1)
            .outputs(OutputRule::Double)
            .check(|run| expect_eq("failed", run.summary()?.failed, 3))
            .check(|run| {
                let reasons = run
                    .events()?
                    .finished()
                    .filter(|e| e.outcome == OutcomeKind::Failed)
                    .filter(|e| {
                        e.reason
                            .as_deref()
                            .is_some_and(|r| r.contains("panics on purpose"))
                    })
                    .count();
                if reasons == 3 {
                    Ok(())
                } else {
                    Err(format!("expected 3 panic reasons, got {reasons}"))
                }
            }),
    );
}

#[test]
fn ordered_results() {
    check(run("ordered", "--jobs 30 --workers 4 --work-ms 3 --ordered", 0).outputs(OutputRule::Double));
}

/// A queue of one slot and try_submit: the submitter is refused, retries, and nothing is lost.
#[test]
fn try_submit_on_a_full_queue_loses_nothing() {
    check(
        run(
            "try-submit-full-queue",
            "--jobs 40 --work-ms 5 --buffer 1 --try-submit",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| match run.events()?.summary.count("try_submit_refusals") {
            Some(n) if n > 0 => Ok(()),
            other => Err(format!(
                "expected try_submit to be refused at least once, got {other:?}"
            )),
        }),
    );
}

#[test]
fn zero_jobs() {
    check(run("zero-jobs", "--jobs 0", 0));
}

#[test]
fn more_workers_than_jobs() {
    check(run("more-workers-than-jobs", "--jobs 3 --workers 16 --work-ms 20", 0).outputs(OutputRule::Double));
}

#[test]
fn failures_are_results() {
    check(
        run("failures-are-results", "--jobs 10 --work-ms 5 --fail-every 5", 1)
            .check(|run| expect_eq("failed", run.summary()?.failed, 2)),
    );
}

/// Batched submit: jobs travel in chunks, results too; each job is still reported once, a panic
/// inside a chunk fails only its own job, and --ordered still holds.
#[test]
fn batched_submit() {
    check(
        run(
            "batched-submit",
            "--jobs 50 --workers 3 --work-ms 2 --batch 4 --panic-every 7 --ordered",
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("failed", run.summary()?.failed, 7))
        .check(|run| run.expect_count("batch", 4)),
    );
}

#[test]
fn batched_dispatch_quiet() {
    check(
        run(
            "batched-dispatch-quiet",
            "--jobs 100000 --workload dispatch --batch 256 --quiet",
            0,
        )
        .summary_only()
        .partial_concurrency(),
    );
}
