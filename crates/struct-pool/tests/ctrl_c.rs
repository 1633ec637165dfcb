//! struct-pool under Ctrl-C, with each way of submitting (blocking `submit`, `try_submit` on a
//! one-slot queue, batches): the submitter stops, queued jobs are handed back untouched
//! (`not_started`), and so are the jobs it never submitted; the run ends in 130 with a summary
//! (a second SIGINT ends it at once) and no thread alive.

use harness::{CtrlC, Scenario, ctrl_c};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_struct-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// 40 jobs of 100 ms on 3 workers: jobs remain after the 4th has started, and none can end
/// within the first instant.
const LONG: &str = "--jobs 40 --work-ms 100";

/// One Ctrl-C case: the signal comes after 4 jobs started, during `mid`; `prefix` names the way
/// of submitting in the scenario's name.
fn ctrl_c_case(case: CtrlC, prefix: &str, mid: &str) {
    let mut scenario = ctrl_c(case, mid, 4, true, LONG);
    scenario.name = format!("{prefix}{}", scenario.name);
    check(scenario);
}

fn submit(case: CtrlC) {
    ctrl_c_case(case, "", LONG);
}

fn try_submit(case: CtrlC) {
    ctrl_c_case(
        case,
        "try-submit/",
        "--jobs 40 --work-ms 100 --buffer 1 --try-submit",
    );
}

fn batch(case: CtrlC) {
    ctrl_c_case(case, "batch/", "--jobs 40 --work-ms 100 --batch 4 --ordered");
}

#[test]
fn ctrl_c_sigint_mid_run() {
    submit(CtrlC::SigintMidRun);
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    submit(CtrlC::SigtermMidRun);
}

#[test]
fn ctrl_c_sigint_first_instant() {
    submit(CtrlC::SigintFirstInstant);
}

#[test]
fn ctrl_c_double_sigint_exits_at_once() {
    submit(CtrlC::DoubleSigint);
}

#[test]
fn try_submit_ctrl_c_sigint_mid_run() {
    try_submit(CtrlC::SigintMidRun);
}

#[test]
fn try_submit_ctrl_c_sigterm_mid_run() {
    try_submit(CtrlC::SigtermMidRun);
}

#[test]
fn try_submit_ctrl_c_sigint_first_instant() {
    try_submit(CtrlC::SigintFirstInstant);
}

#[test]
fn try_submit_ctrl_c_double_sigint_exits_at_once() {
    try_submit(CtrlC::DoubleSigint);
}

#[test]
fn batch_ctrl_c_sigint_mid_run() {
    batch(CtrlC::SigintMidRun);
}

#[test]
fn batch_ctrl_c_sigterm_mid_run() {
    batch(CtrlC::SigtermMidRun);
}

#[test]
fn batch_ctrl_c_sigint_first_instant() {
    batch(CtrlC::SigintFirstInstant);
}

#[test]
fn batch_ctrl_c_double_sigint_exits_at_once() {
    batch(CtrlC::DoubleSigint);
}
