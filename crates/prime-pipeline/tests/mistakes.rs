//! prime-pipeline's `--mistake leak-generator` (docs/mistakes.md): `take` returns, the stages
//! are never told to stop, main's join is cut by the watchdog, and the summary names the broken
//! invariant (I5) and counts the leaked threads, which the harness accepts only for a run that
//! names its mistake.

use harness::{Scenario, expect_eq, words};

#[test]
fn leak_generator_leaks_the_generator_and_every_finder() {
    let scenario = Scenario::run(
        "mistake-leak-generator",
        &words("--mistake leak-generator --finders 3 --check sqrt"),
        3,
    )
    .partial_concurrency()
    .check(|run| {
        let line = run
            .output
            .stderr
            .lines()
            .find(|l| l.starts_with("no progress for"));
        let line = line.ok_or_else(|| format!("no watchdog line: {:?}", run.output.stderr))?;
        if !line.contains("stage thread(s) (generator, finder-1, finder-2, finder-3) blocked on sends") {
            return Err(format!(
                "the watchdog's line does not name the stuck stages: {line}"
            ));
        }
        let s = run.summary()?;
        let broken = s
            .extra
            .get("broken_invariant")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !broken.starts_with("I5 threads: 4 stage thread(s) never returned") {
            return Err(format!("the summary does not name the broken I5: {broken:?}"));
        }
        expect_eq("threads alive at exit", s.threads_alive_at_exit, Some(4))?;
        expect_eq("delivered", s.ok, 13)?;
        run.expect_count("threads_leaked", 4)
    });
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_prime-pipeline"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

#[test]
fn an_explicit_watchdog_does_not_fire_on_a_healthy_run() {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_prime-pipeline"),
        env!("CARGO_TARGET_TMPDIR"),
        Scenario::run(
            "watchdog-quiet",
            &words("--finders 2 --check sqrt --watchdog-ms 1500"),
            0,
        )
        .partial_concurrency(),
    );
}
