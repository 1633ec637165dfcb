//! prime-pipeline: generator → fan-out finders → fan-in → take(n). Each delivered prime is a job
//! (value = the prime, output = 1); the bound is `max_in_flight` = finders.

use std::time::Duration;

use super::{Run, Scenario};
use crate::check::OutputRule;

/// Exactly `n` primes were reported, each one prime (checked here, independently of the
/// example's own check) and below `max`.
fn primes_reported(n: u64, max: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = run.events()?;
        let values: Vec<u64> = events
            .named("finished")
            .map(|e| {
                e["value"]
                    .as_u64()
                    .ok_or_else(|| format!("a finished event has no value: {e}"))
            })
            .collect::<Result<_, _>>()?;
        if values.len() as u64 != n {
            return Err(format!("expected {n} primes, got {}", values.len()));
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
        let count = |key: &str| {
            run.summary(key)?
                .as_u64()
                .ok_or_else(|| format!("summary field {key} is not a count"))
        };
        let (started, joined) = (count("stage_threads_started")?, count("stage_threads_joined")?);
        if started != 2 * finders + 2 || joined != started {
            return Err(format!(
                "expected {} stage threads started and joined, got {started} started, {joined} joined",
                2 * finders + 2
            ));
        }
        if count("finders")? != finders || count("max_in_flight")? != finders {
            return Err(format!("expected finders = max_in_flight = {finders}"));
        }
        let (checked, found, ok) = (count("numbers_checked")?, count("primes_found")?, count("ok")?);
        if !(checked >= found && found >= ok) {
            return Err(format!(
                "expected checked {checked} >= primes found {found} >= delivered {ok}"
            ));
        }
        Ok(())
    }
}

pub fn scenarios() -> Vec<Scenario> {
    let naive = |name: &str, finders: u64, take: u64, extra: &[&str]| {
        let (f, t) = (finders.to_string(), take.to_string());
        let mut args = vec!["--finders", f.as_str(), "--take", t.as_str(), "--max", "200000"];
        args.extend_from_slice(extra);
        // Below 200,000 a naive check takes microseconds and a run a few milliseconds: on a busy
        // 2-core machine the finders may never be inside a check at the same moment.
        Scenario::run(name, &args, 0)
            .outputs(OutputRule::IsPrime)
            .partial_concurrency()
            .check(primes_reported(take, 200_000))
            .check(stages_joined(finders))
    };
    vec![
        // The Go original's numbers: take 13 primes below 5,000,000, one finder per CPU
        // (`common` is optimised in debug builds too, so the naive check stays quick).
        Scenario::run("defaults", &["--finders", "2"], 0)
            .outputs(OutputRule::IsPrime)
            .check(primes_reported(13, 5_000_000))
            .check(stages_joined(2))
            .timeout(Duration::from_secs(120)),
        naive("finders-1", 1, 13, &[]),
        naive("finders-4", 4, 20, &[]),
        naive("take-0", 2, 0, &[]),
        naive("take-1", 2, 1, &[]),
        // The same pipeline with buffered channels between the stages.
        naive("buffered", 2, 10, &["--buffer", "8"]),
        // Cheap checks: the finders may never be inside a check at the same moment.
        Scenario::run(
            "sqrt-take-1000",
            &["--check", "sqrt", "--take", "1000", "--finders", "2"],
            0,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .check(primes_reported(1000, 5_000_000))
        .check(stages_joined(2)),
        // --jobs is --take under its shared name, --workers is --finders.
        Scenario::run(
            "jobs-workers-aliases",
            &["--jobs", "5", "--workers", "3", "--max", "200000"],
            0,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency() // as in `naive` below
        .check(primes_reported(5, 200_000))
        .check(stages_joined(3)),
        Scenario::run(
            "quiet",
            &["--quiet", "--finders", "2", "--check", "sqrt", "--take", "50"],
            0,
        )
        .summary_only()
        .partial_concurrency()
        .check(stages_joined(2)),
        Scenario::bad_input("finders-0", &["--finders", "0"]),
        Scenario::bad_input("take-negative", &["--take", "-1"]),
        Scenario::bad_input("max-without-primes", &["--max", "2"]),
        Scenario::bad_input("unknown-check", &["--check", "fast"]),
        Scenario::bad_input("take-and-jobs", &["--take", "3", "--jobs", "4"]),
    ]
}
