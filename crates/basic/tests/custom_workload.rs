//! Your own workload through basic: `--workload custom` runs `common::custom::job` on every job
//! (each output checked against the function itself, I3), and `--work-dist pareto` spreads the
//! sleeps over a heavy tail while the standard invariants (efficiency at most 1 included) hold.

use common::event::{Event, OutcomeKind};
use harness::{OutputRule, Scenario, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(env!("CARGO_BIN_EXE_basic"), env!("CARGO_TARGET_TMPDIR"), scenario);
}

#[test]
fn custom_workload_outputs_are_the_custom_job() {
    check(
        Scenario::run(
            "custom",
            &words("--workload custom --jobs 300 --workers 3 --seed 7"),
            0,
        )
        // Jobs of a few microseconds end before a third worker wakes: the peak may stay below
        // the bound (never above it, which is still checked).
        .partial_concurrency()
        .check(|run| {
            let mut finished = 0;
            for event in &run.events()?.events {
                let Event::Finished(f) = event else { continue };
                finished += 1;
                expect_eq("outcome", f.outcome, OutcomeKind::Ok)?;
                let value = f.value.ok_or_else(|| format!("job {} has no value", f.job))?;
                let want = common::custom::job(value).map_err(|e| format!("value {value}: {e}"))?;
                expect_eq(&format!("job {} output", f.job), f.output, Some(want))?;
            }
            expect_eq("finished events", finished, 300)
        }),
    );
}

#[test]
fn pareto_durations_keep_the_invariants() {
    check(
        Scenario::run(
            "work-dist-pareto",
            &words("--jobs 60 --workers 4 --work-ms 5 --work-dist pareto --seed 3"),
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| {
            let s = run.summary()?;
            let ideal = s.ideal_ms.ok_or("a complete pareto run has an ideal")?;
            // The drawn durations over the workers, as common computes them.
            let work = common::Work {
                workload: common::Workload::Sleep,
                duration: std::time::Duration::from_millis(5),
                fail_every: 0,
                dist: common::WorkDist::Pareto,
                seed: 3,
            };
            let want = work.total_sleep(60, 0).as_secs_f64() * 1000.0 / 4.0;
            if (ideal - want).abs() > 0.01 {
                return Err(format!("ideal_ms {ideal}, want {want}"));
            }
            Ok(())
        }),
    );
}
