//! prime-pipeline's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`): each delivered prime is a job (value = the prime, output = 1), every one a prime
//! below `--max` and exactly `--take` of them, never more finders checking at once than
//! `--finders`, every stage thread (generator, finders, fan-in forwarders, take) started and
//! joined, also after Ctrl-C. `cargo test -p prime-pipeline ctrl_c` runs the Ctrl-C cases.

use std::time::Duration;

use harness::{FIRST_INSTANT_MS, Interrupt, OutputRule, Run, Scenario, Signal, stopped, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_prime-pipeline"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// Exactly `n` primes were reported (any number up to `--take` if `n` is `None`: a stopped run),
/// each one prime (checked here, independently of the example's own check) and below `max`.
fn primes_reported(n: Option<u64>, max: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = run.events()?;
        let values: Vec<u64> = events
            .finished()
            .map(|e| e.value.ok_or_else(|| format!("job {} has no value", e.job)))
            .collect::<Result<_, _>>()?;
        let got = values.len() as u64;
        if n.is_some_and(|n| n != got) || got != events.summary.submitted {
            return Err(format!(
                "expected {n:?} primes, got {got} (submitted {})",
                events.summary.submitted
            ));
        }
        if let Some(bad) = values
            .iter()
            .find(|&&v| !common::work::is_prime_sqrt(v) || v >= max)
        {
            return Err(format!("{bad} was reported, but it is not a prime below {max}"));
        }
        Ok(())
    }
}

/// Every stage thread (1 generator, F finders, F fan-in forwarders, 1 take) was started and joined,
/// and the counters are consistent: checked ≥ primes found ≥ delivered.
fn stages_joined(finders: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let s = &run.events()?.summary;
        let count = |key: &str| {
            s.count(key)
                .ok_or_else(|| format!("summary field {key} is not a count"))
        };
        let (started, joined) = (count("stage_threads_started")?, count("stage_threads_joined")?);
        if started != 2 * finders + 2 || joined != started {
            return Err(format!(
                "expected {} stage threads started and joined, got {started} started, {joined} joined",
                2 * finders + 2
            ));
        }
        if count("finders")? != finders || s.max_in_flight != Some(finders as usize) {
            return Err(format!("expected finders = max_in_flight = {finders}"));
        }
        let (checked, found) = (count("numbers_checked")?, count("primes_found")?);
        if !(checked >= found && found >= s.ok) {
            return Err(format!(
                "expected checked {checked} >= primes found {found} >= delivered {}",
                s.ok
            ));
        }
        Ok(())
    }
}

/// `--finders F --take N` with the naive check below 200,000.
fn naive(name: &str, finders: u64, take: u64, extra: &str) -> Scenario {
    let line = format!("--finders {finders} --take {take} --max 200000 {extra}");
    // Below 200,000 a naive check takes microseconds and a run a few milliseconds: on a busy
    // 2-core machine the finders may never be inside a check at the same moment.
    Scenario::run(name, &words(&line), 0)
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .check(primes_reported(Some(take), 200_000))
        .check(stages_joined(finders))
}

#[test]
fn defaults_of_the_go_original() {
    // Take 13 primes below 5,000,000, one finder per CPU (`common` is optimised in debug builds
    // too, so the naive check stays quick).
    check(
        Scenario::run("defaults", &["--finders", "2"], 0)
            .outputs(OutputRule::IsPrime)
            .check(primes_reported(Some(13), 5_000_000))
            .check(stages_joined(2))
            .timeout(Duration::from_secs(120)),
    );
}

#[test]
fn one_finder() {
    check(naive("finders-1", 1, 13, ""));
}

#[test]
fn four_finders() {
    check(naive("finders-4", 4, 20, ""));
}

#[test]
fn take_zero() {
    check(naive("take-0", 2, 0, ""));
}

#[test]
fn take_one() {
    check(naive("take-1", 2, 1, ""));
}

#[test]
fn buffered_channels_between_stages() {
    check(naive("buffered", 2, 10, "--buffer 8"));
}

#[test]
fn seeded() {
    check(naive("seeded", 3, 5, "--seed 7"));
}

#[test]
fn sqrt_check_takes_1000() {
    // Cheap checks: the finders may never be inside a check at the same moment.
    check(
        Scenario::run(
            "sqrt-take-1000",
            &words("--check sqrt --take 1000 --finders 2"),
            0,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .check(primes_reported(Some(1000), 5_000_000))
        .check(stages_joined(2)),
    );
}

#[test]
fn quiet() {
    check(
        Scenario::run("quiet", &words("--quiet --finders 2 --check sqrt --take 50"), 0)
            .summary_only()
            .partial_concurrency()
            .check(stages_joined(2)),
    );
}

/// A run that takes far longer than the watchdog unless the signal stops it.
const ENDLESS: &str = "--take 1000000 --finders 2";

fn signalled(name: &str, when: Interrupt) -> Scenario {
    Scenario::run(name, &words(ENDLESS), 130)
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .interrupt(when)
        // A job exists once its prime is delivered: nothing is left not_started.
        .check(stopped(false))
        .check(primes_reported(None, 5_000_000))
        .check(stages_joined(2))
}

#[test]
fn ctrl_c_sigint_mid_run() {
    check(signalled(
        "ctrl-c/sigint-mid-run",
        Interrupt::SignalAfterStarted(Signal::Int, 5),
    ));
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    check(signalled(
        "ctrl-c/sigterm-mid-run",
        Interrupt::SignalAfterStarted(Signal::Term, 5),
    ));
}

#[test]
fn ctrl_c_sigint_first_instant() {
    check(signalled(
        "ctrl-c/sigint-first-instant",
        Interrupt::SignalAfterMs(Signal::Int, FIRST_INSTANT_MS),
    ));
}

#[test]
fn ctrl_c_double_sigint_exits_at_once() {
    check(
        Scenario::exit_only("ctrl-c/double-sigint", &words(ENDLESS), 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 5)),
    );
}
