//! rate-limit under Ctrl-C: the signal wakes workers waiting for a permit or for the rate
//! limiter, jobs that panic meanwhile still give their permits back, and the run ends in 130
//! with every job accounted for and no thread alive (I1–I5, `harness`); a second SIGINT exits
//! at once.

mod support;

use harness::{CtrlC, Interrupt, Scenario, Signal, ctrl_c, stopped, words};

use crate::support::{check, permits_released_and_panics_failed};

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

/// Ctrl-C while jobs hold permits and others wait for one.
#[test]
fn ctrl_c_panics_while_signalled() {
    check(
        run(
            "ctrl-c/panics-while-signalled",
            "--jobs 60 --workers 4 --concurrency 1 --work-ms 20 --panic-every 3",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 10))
        .check(stopped(true))
        .check(permits_released_and_panics_failed(3)),
    );
}

/// A slow rate (one start a second; the whole run would take 100 s, over the watchdog): the
/// workers waiting on the limiter wake at the signal.
#[test]
fn ctrl_c_slow_rate() {
    check(
        run("ctrl-c/slow-rate", "--jobs 100 --work-ms 10 --rate 1/s", 130)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 2))
            .check(stopped(true))
            .check(|run| run.expect_count("permits_in_use_at_exit", 0)),
    );
}

#[test]
fn ctrl_c_slow_rate_with_burst() {
    check(
        run(
            "ctrl-c/slow-rate-with-burst",
            "--jobs 100 --work-ms 10 --rate 1/s --burst 3",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 4))
        .check(stopped(true)),
    );
}

/// The standard cases: 40 jobs of 50 ms (jobs remain after the 4th has started); the first
/// instant's run starts one job a second, so it cannot end that soon.
fn ctrl_c_case(case: CtrlC) {
    check(ctrl_c(
        case,
        "--jobs 40 --work-ms 50",
        4,
        true,
        "--jobs 40 --work-ms 50 --rate 1/s",
    ));
}

harness::ctrl_c_tests!(ctrl_c_case);
