//! What the scenario and the Ctrl-C tests share: running a scenario on rate-limit, and the check
//! that a panicking job gives its permit back.

use harness::{Run, Scenario};

pub fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_rate-limit"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// Every permit was given back (`permits_in_use_at_exit` = 0), and every job that panicked is a
/// failed result with the panic's message (the ids that are multiples of `panic_every`).
pub fn permits_released_and_panics_failed(panic_every: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        run.expect_count("permits_in_use_at_exit", 0)?;
        let events = run.events()?;
        let mut panicked = 0;
        for e in events.finished() {
            let by_panic = e.reason.as_deref().is_some_and(|r| r.contains("--panic-every"));
            if (e.job % panic_every == 0) != by_panic {
                return Err(format!("job {} ended {:?} ({:?})", e.job, e.outcome, e.reason));
            }
            panicked += u64::from(by_panic);
        }
        if panicked != events.summary.failed {
            return Err(format!(
                "{} jobs failed, {panicked} of them by a panic: expected all",
                events.summary.failed
            ));
        }
        if !run.output.stderr.lines().all(|l| l.starts_with("interrupted")) {
            return Err(format!("expected a quiet stderr, got {:?}", run.output.stderr));
        }
        Ok(())
    }
}
