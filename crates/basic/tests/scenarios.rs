//! basic's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`): every job accounted for, never more in flight than `--workers`, every output
//! `value × 2`, the right exit code, no thread alive at exit. `cargo test -p basic ctrl_c` runs
//! the Ctrl-C cases.

use std::time::Duration;

use harness::{CtrlC, OutputRule, Scenario, ctrl_c, expect_eq, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(env!("CARGO_BIN_EXE_basic"), env!("CARGO_TARGET_TMPDIR"), scenario);
}

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

#[test]
fn defaults_of_the_go_original() {
    // 10 jobs, 3 workers, 500 ms each.
    check(run("defaults", "", 0).outputs(OutputRule::Double));
}

#[test]
fn more_workers_than_jobs() {
    check(run("more-workers-than-jobs", "--jobs 2 --workers 8 --work-ms 20", 0).outputs(OutputRule::Double));
}

#[test]
fn zero_jobs() {
    check(run("zero-jobs", "--jobs 0", 0));
}

#[test]
fn failures_are_results() {
    check(
        run("failures-are-results", "--jobs 12 --work-ms 10 --fail-every 4", 1)
            .outputs(OutputRule::Double)
            .check(|run| expect_eq("failed", run.summary()?.failed, 3)),
    );
}

#[test]
fn rendezvous_channel() {
    check(
        run(
            "rendezvous-channel",
            "--jobs 200 --workers 4 --work-ms 1 --buffer 0",
            0,
        )
        .outputs(OutputRule::Double),
    );
}

#[test]
fn cpu_workload() {
    check(
        run("cpu-workload", "--jobs 12 --workers 2 --workload cpu --seed 7", 0)
            .outputs(OutputRule::IsPrime)
            .timeout(Duration::from_secs(120)),
    );
}

#[test]
fn dispatch_quiet() {
    check(
        run(
            "dispatch-quiet",
            "--jobs 200000 --workers 2 --workload dispatch --quiet",
            0,
        )
        .summary_only()
        // Jobs that do nothing finish faster than a second worker wakes up: the peak may be 1.
        .partial_concurrency(),
    );
}

#[test]
fn group_by_worker() {
    check(run("group-by-worker", "--jobs 9 --work-ms 5 --group-by-worker", 0).outputs(OutputRule::Double));
}

/// 40 jobs of 100 ms on 3 workers: jobs remain after the 4th has started.
const MID: &str = "--jobs 40 --work-ms 100";

fn ctrl_c_case(case: CtrlC) {
    check(ctrl_c(case, MID, 4, true, MID));
}

harness::ctrl_c_tests!(ctrl_c_case);
