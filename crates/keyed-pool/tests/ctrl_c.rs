//! keyed-pool under Ctrl-C, for both strategies: the jobs in flight finish, every other job is
//! handed back as never started, per key the jobs that ran are the key's first ones, and the run
//! ends in 130 with every job accounted for and no thread alive (I1–I5, `harness`); a second
//! SIGINT exits at once.

mod support;

use harness::{CtrlC, ctrl_c};

use crate::support::{check, no_worker_idle_while_a_key_is_ready, per_key_order_kept};

/// 40 jobs of 100 ms on 4 workers: jobs remain after the 4th has started.
fn ctrl_c_case(case: CtrlC, strategy: &str) {
    let mid = format!("--strategy {strategy} --jobs 40 --work-ms 100");
    let scenario = ctrl_c(case, &mid, 4, true, &mid);
    let scenario = if case == CtrlC::DoubleSigint {
        scenario
    } else {
        scenario
            .check(per_key_order_kept)
            .check(no_worker_idle_while_a_key_is_ready)
    };
    check(scenario);
}

#[test]
fn ctrl_c_sigint_mid_run_dynamic() {
    ctrl_c_case(CtrlC::SigintMidRun, "dynamic");
}

#[test]
fn ctrl_c_sigint_mid_run_shards() {
    ctrl_c_case(CtrlC::SigintMidRun, "shards");
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    ctrl_c_case(CtrlC::SigtermMidRun, "dynamic");
}

#[test]
fn ctrl_c_sigint_first_instant_dynamic() {
    ctrl_c_case(CtrlC::SigintFirstInstant, "dynamic");
}

#[test]
fn ctrl_c_sigint_first_instant_shards() {
    ctrl_c_case(CtrlC::SigintFirstInstant, "shards");
}

#[test]
fn ctrl_c_double_sigint_exits_at_once() {
    ctrl_c_case(CtrlC::DoubleSigint, "dynamic");
}
