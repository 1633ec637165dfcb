//! `--mix delay` has an ideal time (every URL waits `--work-ms` on the server): it counts only the
//! URLs that got their answer, so `efficiency` stays at most 1 (the shared check, I1, also
//! looks). A URL that timed out held its worker for the timeout, not for the delay.

use harness::{Scenario, expect_eq};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_http-fetch"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

#[test]
fn answered_urls_are_the_ideal() {
    // 8 URLs of 40 ms on 4 workers: two rounds, 80 ms.
    check(
        Scenario::run(
            "efficiency-answered",
            &harness::words("--mix delay --jobs 8 --workers 4 --work-ms 40"),
            0,
        )
        .check(|run| expect_eq("ideal_ms", run.summary()?.ideal_ms, Some(80.0))),
    );
}

#[test]
fn urls_that_timed_out_are_not_the_ideal() {
    // 8 URLs of 400 ms on 4 workers with a 50 ms timeout: none is answered, so no ideal (it was
    // 2 × 400 ms against a wall time of about 100 ms: an efficiency of 8).
    check(
        Scenario::run(
            "efficiency-timeouts",
            &harness::words("--mix delay --jobs 8 --workers 4 --work-ms 400 --timeout-ms 50"),
            1,
        )
        .check(|run| {
            let s = run.summary()?;
            expect_eq("timeout", run.count("timeout")?, 8)?;
            expect_eq("(ideal_ms, efficiency)", (s.ideal_ms, s.efficiency), (None, None))
        }),
    );
}
