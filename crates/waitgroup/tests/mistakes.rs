//! waitgroup's `--mistake wait-too-early` (docs/mistakes.md): Go's `wg.Add(1)` inside the
//! goroutine, reproduced with a Go-style WaitGroup (`waitgroup::GoWaitGroup`): `wait` returns
//! while every job is still to run, the summary names it, exit code 1, and every job is still
//! accounted for. The Go form with crossbeam's WaitGroup does not compile (src/lib.rs's
//! `compile_fail` doc tests).

use harness::{OutputRule, Scenario, words};

#[test]
fn wait_too_early_returns_before_any_job_ran() {
    let scenario = Scenario::run(
        "mistake-wait-too-early",
        &words("--mistake wait-too-early --work-ms 20"),
        1,
    )
    .outputs(OutputRule::Double)
    .check(|run| {
        let s = run.summary()?;
        let broken = s
            .extra
            .get("broken_invariant")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !broken.starts_with("wait returned while 3 of 3 worker(s) still ran") || s.ok != 10 {
            return Err(format!(
                "expected the early wait named and 10 jobs ok: {broken:?}, ok {}",
                s.ok
            ));
        }
        Ok(())
    });
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_waitgroup"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

#[test]
fn the_mistake_needs_the_waitgroup_style() {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_waitgroup"),
        env!("CARGO_TARGET_TMPDIR"),
        Scenario::bad_input(
            "mistake-with-scope",
            &["--mistake", "wait-too-early", "--style", "scope"],
        ),
    );
}
