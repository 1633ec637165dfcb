//! waitgroup's promises, the same for both ways of waiting (`--style waitgroup`, crossbeam's
//! WaitGroup, and `--style scope`, `std::thread::scope`): each a run of the real binary checked
//! against the invariants I1–I5 (`harness`), every summary naming the style it ran, and Ctrl-C
//! ending either style in 130 with every job accounted for.

use harness::{CtrlC, OutputRule, Run, Scenario, ctrl_c, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_waitgroup"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// The summary's `style` is the one asked for.
fn style_is_reported(style: &'static str) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| match run.events()?.summary.extra.get("style").and_then(|v| v.as_str()) {
        Some(s) if s == style => Ok(()),
        other => Err(format!("expected style {style}, got {other:?}")),
    }
}

/// A run with `--style <style>`, named `<style>/<name>`.
fn run(style: &'static str, name: &str, args: &str, exit_code: i32) -> Scenario {
    let line = format!("--style {style} {args}");
    Scenario::run(&format!("{style}/{name}"), &words(&line), exit_code).check(style_is_reported(style))
}

fn defaults(style: &'static str) {
    check(run(style, "defaults", "", 0).outputs(OutputRule::Double));
}

/// Many jobs of 1 ms through a 4-slot buffer: every job accounted for, never more than 8 in
/// flight. All 8 at once is not promised: it needs the producer and 8 workers to overlap within
/// one job's millisecond, which a busy machine does not always schedule.
fn many(style: &'static str) {
    check(
        run(style, "many", "--jobs 300 --workers 8 --work-ms 1 --buffer 4", 0)
            .outputs(OutputRule::Double)
            .partial_concurrency(),
    );
}

fn zero_jobs(style: &'static str) {
    check(run(style, "zero-jobs", "--jobs 0", 0));
}

fn failures(style: &'static str) {
    check(run(style, "failures", "--jobs 9 --work-ms 5 --fail-every 3", 1).outputs(OutputRule::Double));
}

/// One Ctrl-C case on 40 jobs of 100 ms (jobs remain after the 4th has started), named
/// `<style>/ctrl-c/...`. A double Ctrl-C exits at once, without a summary to name the style.
fn ctrl_c_case(style: &'static str, case: CtrlC) {
    let long = format!("--style {style} --jobs 40 --work-ms 100");
    let mut scenario = ctrl_c(case, &long, 4, true, &long);
    scenario.name = format!("{style}/{}", scenario.name);
    if scenario.expect.as_ref().is_some_and(|e| e.summary) {
        scenario = scenario.check(style_is_reported(style));
    }
    check(scenario);
}

/// `--style waitgroup`: crossbeam's WaitGroup, like Go's sync.WaitGroup.
mod waitgroup {
    use harness::CtrlC;

    const STYLE: &str = "waitgroup";

    #[test]
    fn defaults() {
        super::defaults(STYLE);
    }

    #[test]
    fn many_jobs_small_buffer() {
        super::many(STYLE);
    }

    #[test]
    fn zero_jobs() {
        super::zero_jobs(STYLE);
    }

    #[test]
    fn failures() {
        super::failures(STYLE);
    }

    #[test]
    fn ctrl_c_sigint_mid_run() {
        super::ctrl_c_case(STYLE, CtrlC::SigintMidRun);
    }

    #[test]
    fn ctrl_c_sigterm_mid_run() {
        super::ctrl_c_case(STYLE, CtrlC::SigtermMidRun);
    }

    #[test]
    fn ctrl_c_sigint_first_instant() {
        super::ctrl_c_case(STYLE, CtrlC::SigintFirstInstant);
    }

    #[test]
    fn ctrl_c_double_sigint_exits_at_once() {
        super::ctrl_c_case(STYLE, CtrlC::DoubleSigint);
    }
}

/// `--style scope`: `std::thread::scope` joins every thread spawned in it.
mod scope {
    use harness::CtrlC;

    const STYLE: &str = "scope";

    #[test]
    fn defaults() {
        super::defaults(STYLE);
    }

    #[test]
    fn many_jobs_small_buffer() {
        super::many(STYLE);
    }

    #[test]
    fn zero_jobs() {
        super::zero_jobs(STYLE);
    }

    #[test]
    fn failures() {
        super::failures(STYLE);
    }

    #[test]
    fn ctrl_c_sigint_mid_run() {
        super::ctrl_c_case(STYLE, CtrlC::SigintMidRun);
    }

    #[test]
    fn ctrl_c_sigterm_mid_run() {
        super::ctrl_c_case(STYLE, CtrlC::SigtermMidRun);
    }

    #[test]
    fn ctrl_c_sigint_first_instant() {
        super::ctrl_c_case(STYLE, CtrlC::SigintFirstInstant);
    }

    #[test]
    fn ctrl_c_double_sigint_exits_at_once() {
        super::ctrl_c_case(STYLE, CtrlC::DoubleSigint);
    }
}
