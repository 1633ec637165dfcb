//! The ideal time counts only the work that ran, so `efficiency` stays at most 1 (the shared
//! check, I1, also looks): a job that panics does no work, a job that fails after its work did it.

use harness::{Scenario, expect_eq};

#[test]
fn panicked_jobs_are_not_counted_as_work() {
    // 4 jobs on 3 tasks: job 3 panics at once, jobs 2 and 4 fail after their 10 ms. Three jobs
    // of work on three tasks: one round, 10 ms (not ceil(4 / 3) = 2 rounds).
    let scenario = Scenario::run(
        "efficiency-panics",
        &harness::words("--jobs 4 --work-ms 10 --fail-every 2 --panic-every 3"),
        1,
    )
    .check(|run| {
        let s = run.summary()?;
        expect_eq("(ok, failed)", (s.ok, s.failed), (1, 3))?;
        expect_eq("ideal_ms", s.ideal_ms, Some(10.0))?;
        match s.efficiency {
            Some(e) if e <= 1.0 => Ok(()),
            other => Err(format!("expected an efficiency of at most 1, got {other:?}")),
        }
    });
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_async-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}
