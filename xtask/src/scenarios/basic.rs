//! basic, plus the Ctrl-C scenarios the five teaching examples share ([`ctrl_c`]).

use std::time::Duration;

use super::{Interrupt, Run, Scenario, Signal, expect_eq};
use crate::check::OutputRule;

/// A command line written as one string (no argument here contains a space).
pub(super) fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The run was stopped by the signal: `interrupted` is true, and where jobs remained when it
/// arrived, some were reported `not_started`. (Exit 130, the summary, full accounting and no
/// thread alive are the checker's I1–I5.)
pub(super) fn stopped(jobs_remain: bool) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let s = &run.events()?.summary;
        if !s.interrupted {
            return Err("summary interrupted is not true".to_owned());
        }
        if jobs_remain && s.not_started == 0 {
            return Err("jobs remained when the signal came, but none was reported not_started".into());
        }
        Ok(())
    }
}

/// When the "first instant" signal is sent: this many ms after the process installed its
/// handler (`Interrupt::SignalAfterMs` counts from there; a signal before the handler exists, in
/// the loader or runtime start-up, kills any program), before any job of these runs could end.
pub(super) const FIRST_INSTANT_MS: u64 = 1;

/// Ctrl-C from the first instant (issue 11): SIGINT and SIGTERM after `after` jobs started (the
/// `mid` run must have jobs left then), a SIGINT [`FIRST_INSTANT_MS`] after the start (`first` must be a
/// run that cannot end that soon), and two SIGINTs, which exit 130 at once. Named `<prefix>ctrl-c/...`.
pub(super) fn ctrl_c(prefix: &str, mid: &str, after: usize, jobs_remain: bool, first: &str) -> Vec<Scenario> {
    let name = |n: &str| format!("{prefix}ctrl-c/{n}");
    let signalled = |n: &str, args: &str, when: Interrupt, remain: bool| {
        Scenario::run(&name(n), &words(args), 130)
            .partial_concurrency()
            .interrupt(when)
            .check(stopped(remain))
    };
    vec![
        signalled(
            "sigint-mid-run",
            mid,
            Interrupt::SignalAfterStarted(Signal::Int, after),
            jobs_remain,
        ),
        signalled(
            "sigterm-mid-run",
            mid,
            Interrupt::SignalAfterStarted(Signal::Term, after),
            jobs_remain,
        ),
        signalled(
            "sigint-first-instant",
            first,
            Interrupt::SignalAfterMs(Signal::Int, FIRST_INSTANT_MS),
            false,
        ),
        Scenario::exit_only(&name("double-sigint"), &words(mid), 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, after)),
    ]
}

pub fn scenarios() -> Vec<Scenario> {
    let run = |name: &str, args: &str, code: i32| Scenario::run(name, &words(args), code);
    let mut list = vec![
        // The Go original's numbers: 10 jobs, 3 workers, 500 ms.
        run("defaults", "", 0).outputs(OutputRule::Double),
        run("more-workers-than-jobs", "--jobs 2 --workers 8 --work-ms 20", 0).outputs(OutputRule::Double),
        run("zero-jobs", "--jobs 0", 0),
        run("failures-are-results", "--jobs 12 --work-ms 10 --fail-every 4", 1)
            .outputs(OutputRule::Double)
            .check(|run| expect_eq("failed", run.summary()?.failed, 3)),
        run(
            "rendezvous-channel",
            "--jobs 200 --workers 4 --work-ms 1 --buffer 0",
            0,
        )
        .outputs(OutputRule::Double),
        run("cpu-workload", "--jobs 12 --workers 2 --workload cpu --seed 7", 0)
            .outputs(OutputRule::IsPrime)
            .timeout(Duration::from_secs(120)),
        run(
            "dispatch-quiet",
            "--jobs 200000 --workers 2 --workload dispatch --quiet",
            0,
        )
        .summary_only()
        // Jobs that do nothing finish faster than a second worker wakes up: the peak may be 1.
        .partial_concurrency(),
        run("group-by-worker", "--jobs 9 --work-ms 5 --group-by-worker", 0).outputs(OutputRule::Double),
    ];
    list.extend(ctrl_c(
        "",
        "--jobs 40 --work-ms 100",
        4,
        true,
        "--jobs 40 --work-ms 100",
    ));
    list
}
