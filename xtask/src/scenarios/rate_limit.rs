//! rate-limit: the semaphore's cap is reached and never exceeded (I2 with `max_in_flight`), job
//! starts keep to `burst + rate × window`, and a panicking job still releases its permit.

use std::time::Duration;

use super::{Run, Scenario};
use crate::check::OutputRule;

/// Timer slack allowed by the rate check, in milliseconds. A start is stamped (`t_ms`) a little
/// after the limiter admitted it, and a worker descheduled in between (the machine is shared)
/// stamps it later still; late stamps can crowd into a window. The bound is therefore checked as
/// `starts ≤ burst + rate × (window + SLACK_MS)`: at 50/s, 20 ms is one extra start.
const SLACK_MS: f64 = 20.0;

/// For every window [t_i, t_j] of the sorted `started` timestamps, the starts in it stay within
/// `burst + rate × (window + slack)`.
fn starts_keep_the_rate(run: &Run<'_>, rate: f64, burst: f64) -> Result<(), String> {
    let events = run.events()?;
    let mut starts: Vec<f64> = events
        .named("started")
        .map(|e| {
            e["t_ms"]
                .as_f64()
                .ok_or_else(|| format!("a started event has no t_ms: {e}"))
        })
        .collect::<Result<_, _>>()?;
    starts.sort_by(f64::total_cmp);
    if starts.is_empty() {
        return Err("no started events".to_owned());
    }
    for i in 0..starts.len() {
        for j in i..starts.len() {
            let count = (j - i + 1) as f64;
            let window_ms = starts[j] - starts[i];
            let bound = burst + rate * (window_ms + SLACK_MS) / 1000.0;
            if count > bound {
                return Err(format!(
                    "{count} starts within {window_ms:.3} ms (from t = {:.3} ms), over burst {burst} + \
                     {rate}/s x (window + {SLACK_MS} ms) = {bound:.2}",
                    starts[i]
                ));
            }
        }
    }
    for (key, expected) in [("rate_per_s", rate), ("burst", burst)] {
        let reported = run.summary(key)?.as_f64();
        if reported != Some(expected) {
            return Err(format!("summary {key} is {reported:?}, expected {expected}"));
        }
    }
    Ok(())
}

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // Go's RateLimitedPool: 5 workers, 2 permits, 10 jobs of 100 ms. I2 checks that the peak
        // (reported and rebuilt from the events) is exactly max_in_flight = 2.
        Scenario::run("defaults", &[], 0)
            .outputs(OutputRule::Double)
            .check(|run| {
                run.expect_count("max_in_flight", 2)?;
                run.expect_count("workers", 5)
            }),
        Scenario::run(
            "cap-below-workers",
            &[
                "--jobs",
                "60",
                "--workers",
                "12",
                "--concurrency",
                "4",
                "--work-ms",
                "10",
            ],
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("max_in_flight", 4)),
        // The emails use case in small: many jobs, a cap of 50 among 64 workers, every event checked.
        Scenario::run(
            "many-jobs-cap-50",
            &[
                "--jobs",
                "5000",
                "--workers",
                "64",
                "--concurrency",
                "50",
                "--work-ms",
                "5",
            ],
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("max_in_flight", 50)),
        // More permits than workers: the reachable cap is the number of workers.
        Scenario::run(
            "concurrency-above-workers",
            &[
                "--jobs",
                "12",
                "--workers",
                "3",
                "--concurrency",
                "8",
                "--work-ms",
                "10",
            ],
            0,
        )
        .check(|run| {
            run.expect_count("max_in_flight", 3)?;
            run.expect_count("concurrency", 8)
        }),
        Scenario::run(
            "rate-with-burst",
            &[
                "--jobs",
                "30",
                "--workers",
                "4",
                "--concurrency",
                "4",
                "--work-ms",
                "5",
                "--rate",
                "50/s",
                "--burst",
                "5",
            ],
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| starts_keep_the_rate(run, 50.0, 5.0)),
        // `--rate 100` (no "/s") with the default burst of 1; 30 ms jobs at 10 ms spacing would
        // overlap 3 deep, so the cap of 2 is what binds the peak.
        Scenario::run(
            "rate-without-burst",
            &[
                "--jobs",
                "25",
                "--workers",
                "5",
                "--work-ms",
                "30",
                "--rate",
                "100",
            ],
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| starts_keep_the_rate(run, 100.0, 1.0)),
        // One permit and a panic every second job: a leaked permit would hang the run (watchdog).
        Scenario::run(
            "panic-releases-permit",
            &[
                "--jobs",
                "12",
                "--workers",
                "3",
                "--concurrency",
                "1",
                "--work-ms",
                "5",
                "--panic-every",
                "2",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .timeout(Duration::from_secs(20))
        .check(|run| {
            run.expect_count("failed", 6)?;
            run.expect_count("ok", 6)?;
            let events = run.events()?;
            let panicked = events
                .named("finished")
                .filter(|e| e["reason"].as_str().is_some_and(|r| r.contains("--panic-every")))
                .count();
            if panicked != 6 {
                return Err(format!(
                    "expected 6 jobs failed by a panic, the events show {panicked}"
                ));
            }
            if !run.output.stderr.trim().is_empty() {
                return Err(format!("expected a quiet stderr, got {:?}", run.output.stderr));
            }
            Ok(())
        }),
        // Failures and panics together: jobs 3, 4, 6, 8, 9, 12 fail.
        Scenario::run(
            "failures-and-panics",
            &[
                "--jobs",
                "12",
                "--work-ms",
                "5",
                "--fail-every",
                "4",
                "--panic-every",
                "3",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("failed", 6)),
        Scenario::run("zero-jobs", &["--jobs", "0"], 0),
        Scenario::bad_input("bad-input/rate-0", &["--rate", "0"]),
        Scenario::bad_input("bad-input/rate-0-per-s", &["--rate", "0/s"]),
        Scenario::bad_input("bad-input/rate-negative", &["--rate", "-5"]),
        Scenario::bad_input("bad-input/rate-abc", &["--rate", "fast"]),
        Scenario::bad_input("bad-input/concurrency-0", &["--concurrency", "0"]),
        Scenario::bad_input("bad-input/burst-0", &["--rate", "10/s", "--burst", "0"]),
        Scenario::bad_input("bad-input/burst-without-rate", &["--burst", "5"]),
    ]
}
