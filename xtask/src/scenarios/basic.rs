//! The Ctrl-C scenarios the teaching examples share ([`ctrl_c`]); basic's own scenarios are its
//! integration tests (`crates/basic/tests/`).

use super::{Interrupt, Run, Scenario, Signal};

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

/// Ctrl-C from the first instant: SIGINT and SIGTERM after `after` jobs started (the
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
