//! prime-pipeline: generator → fan-out finders → fan-in → take(n). Each delivered prime is a job
//! (value = the prime, output = 1); the bound is `max_in_flight` = finders.

use std::time::Duration;

use super::basic::{FIRST_INSTANT_MS, stopped, words};
use super::{Interrupt, Run, Scenario, Signal};
use crate::check::OutputRule;

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

pub fn scenarios() -> Vec<Scenario> {
    let naive = |name: &str, finders: u64, take: u64, extra: &str| {
        let line = format!("--finders {finders} --take {take} --max 200000 {extra}");
        // Below 200,000 a naive check takes microseconds and a run a few milliseconds: on a busy
        // 2-core machine the finders may never be inside a check at the same moment.
        Scenario::run(name, &words(&line), 0)
            .outputs(OutputRule::IsPrime)
            .partial_concurrency()
            .check(primes_reported(Some(take), 200_000))
            .check(stages_joined(finders))
    };
    // A run that takes far longer than the watchdog unless the signal stops it.
    let endless = "--take 1000000 --finders 2";
    let signalled = |name: &str, when: Interrupt| {
        Scenario::run(name, &words(endless), 130)
            .outputs(OutputRule::IsPrime)
            .partial_concurrency()
            .interrupt(when)
            // A job exists once its prime is delivered: nothing is left not_started.
            .check(stopped(false))
            .check(primes_reported(None, 5_000_000))
            .check(stages_joined(2))
    };
    vec![
        // The Go original's numbers: take 13 primes below 5,000,000, one finder per CPU
        // (`common` is optimised in debug builds too, so the naive check stays quick).
        Scenario::run("defaults", &["--finders", "2"], 0)
            .outputs(OutputRule::IsPrime)
            .check(primes_reported(Some(13), 5_000_000))
            .check(stages_joined(2))
            .timeout(Duration::from_secs(120)),
        naive("finders-1", 1, 13, ""),
        naive("finders-4", 4, 20, ""),
        naive("take-0", 2, 0, ""),
        naive("take-1", 2, 1, ""),
        // The same pipeline with buffered channels between the stages.
        naive("buffered", 2, 10, "--buffer 8"),
        naive("seeded", 3, 5, "--seed 7"),
        // Cheap checks: the finders may never be inside a check at the same moment.
        Scenario::run(
            "sqrt-take-1000",
            &words("--check sqrt --take 1000 --finders 2"),
            0,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .check(primes_reported(Some(1000), 5_000_000))
        .check(stages_joined(2)),
        Scenario::run("quiet", &words("--quiet --finders 2 --check sqrt --take 50"), 0)
            .summary_only()
            .partial_concurrency()
            .check(stages_joined(2)),
        signalled(
            "ctrl-c/sigint-mid-run",
            Interrupt::SignalAfterStarted(Signal::Int, 5),
        ),
        signalled(
            "ctrl-c/sigterm-mid-run",
            Interrupt::SignalAfterStarted(Signal::Term, 5),
        ),
        signalled(
            "ctrl-c/sigint-first-instant",
            Interrupt::SignalAfterMs(Signal::Int, FIRST_INSTANT_MS),
        ),
        Scenario::exit_only("ctrl-c/double-sigint", &words(endless), 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 5)),
        Scenario::bad_input("finders-0", &["--finders", "0"]),
        Scenario::bad_input("take-negative", &["--take", "-1"]),
        Scenario::bad_input("seed-negative", &["--seed", "-1"]),
        Scenario::bad_input("max-without-primes", &["--max", "2"]),
        Scenario::bad_input("unknown-check", &["--check", "fast"]),
        // The shared simulated-job flags do not apply to a pipeline.
        Scenario::bad_input("no-work-ms", &["--work-ms", "5"]),
    ]
}
