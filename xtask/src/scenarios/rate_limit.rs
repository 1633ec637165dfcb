//! rate-limit: the semaphore's cap is reached and never exceeded (I2 with `max_in_flight`), job
//! starts keep to `burst + rate × window`, a panicking job still releases its permit, and Ctrl-C
//! wakes workers waiting for a permit or for the rate limiter.

use std::time::Duration;

use super::basic::{ctrl_c, words};
use super::{Interrupt, Run, Scenario, Signal, expect_eq};
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
    let mut starts: Vec<f64> = events.started().map(|e| e.t_ms).collect();
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
        let reported = events.summary.number(key);
        if reported != Some(expected) {
            return Err(format!("summary {key} is {reported:?}, expected {expected}"));
        }
    }
    Ok(())
}

/// Every permit was given back (`permits_in_use_at_exit` = 0), and every job that panicked is a
/// failed result with the panic's message (the ids that are multiples of `panic_every`).
fn permits_released_and_panics_failed(panic_every: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        run.expect_count("permits_in_use_at_exit", 0)?;
        let events = run.events()?;
        let mut panicked = 0;
        for e in events.finished() {
            let by_panic = e.reason.as_deref().is_some_and(|r| r.contains("--panic-every"));
            if (e.job % panic_every == 0) != by_panic {
                return Err(format!("job {} ended {:?} ({:?})", e.job, e.outcome, e.reason));
            }
            panicked += u64::from(by_panic);
        }
        if panicked != events.summary.failed {
            return Err(format!(
                "{} jobs failed, {panicked} of them by a panic: expected all",
                events.summary.failed
            ));
        }
        if !run.output.stderr.lines().all(|l| l.starts_with("interrupted")) {
            return Err(format!("expected a quiet stderr, got {:?}", run.output.stderr));
        }
        Ok(())
    }
}

pub fn scenarios() -> Vec<Scenario> {
    let run = |name: &str, args: &str, code: i32| Scenario::run(name, &words(args), code);
    let mut list = vec![
        // Go's RateLimitedPool: 5 workers, 2 permits, 10 jobs of 100 ms. I2 checks that the peak
        // (reported and rebuilt from the events) is exactly max_in_flight = 2.
        run("defaults", "", 0).outputs(OutputRule::Double).check(|run| {
            expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(2))?;
            expect_eq("workers", run.summary()?.workers, 5)
        }),
        run(
            "cap-below-workers",
            "--jobs 60 --workers 12 --concurrency 4 --work-ms 10",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(4))),
        // The emails use case in small: many jobs, a cap of 50 among 64 workers, every event checked.
        run(
            "many-jobs-cap-50",
            "--jobs 5000 --workers 64 --concurrency 50 --work-ms 5",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(50))),
        // More permits than workers: the reachable cap is the number of workers.
        run(
            "concurrency-above-workers",
            "--jobs 12 --workers 3 --concurrency 8 --work-ms 10",
            0,
        )
        .check(|run| {
            expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(3))?;
            run.expect_count("concurrency", 8)
        }),
        run(
            "rate-with-burst",
            "--jobs 30 --workers 4 --concurrency 4 --work-ms 5 --rate 50/s --burst 5",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| starts_keep_the_rate(run, 50.0, 5.0)),
        // `--rate 100` (no "/s") with the default burst of 1; 30 ms jobs at 10 ms spacing would
        // overlap 3 deep, so the cap of 2 is what binds the peak.
        run(
            "rate-without-burst",
            "--jobs 25 --workers 5 --work-ms 30 --rate 100",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| starts_keep_the_rate(run, 100.0, 1.0)),
        // One permit and a panic every second job: a leaked permit would hang the run (watchdog).
        run(
            "panic-releases-permit",
            "--jobs 12 --workers 3 --concurrency 1 --work-ms 5 --panic-every 2",
            1,
        )
        .outputs(OutputRule::Double)
        .timeout(Duration::from_secs(20))
        .check(|run| {
            expect_eq("failed", run.summary()?.failed, 6)?;
            expect_eq("ok", run.summary()?.ok, 6)
        })
        .check(permits_released_and_panics_failed(2)),
        // Failures and panics together: jobs 3, 4, 6, 8, 9, 12 fail.
        run(
            "failures-and-panics",
            "--jobs 12 --work-ms 5 --fail-every 4 --panic-every 3",
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("failed", run.summary()?.failed, 6)),
        run("zero-jobs", "--jobs 0", 0),
        // Ctrl-C while jobs hold permits and others wait for one.
        run(
            "ctrl-c/panics-while-signalled",
            "--jobs 60 --workers 4 --concurrency 1 --work-ms 20 --panic-every 3",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 10))
        .check(super::basic::stopped(true))
        .check(permits_released_and_panics_failed(3)),
        // A slow rate (one start a second; the whole run would take 100 s, over the watchdog):
        // the workers waiting on the limiter wake at the signal.
        run("ctrl-c/slow-rate", "--jobs 100 --work-ms 10 --rate 1/s", 130)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 2))
            .check(super::basic::stopped(true))
            .check(|run| run.expect_count("permits_in_use_at_exit", 0)),
        run(
            "ctrl-c/slow-rate-with-burst",
            "--jobs 100 --work-ms 10 --rate 1/s --burst 3",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 4))
        .check(super::basic::stopped(true)),
        Scenario::bad_input("bad-input/rate-0", &["--rate", "0"]),
        Scenario::bad_input("bad-input/rate-0-per-s", &["--rate", "0/s"]),
        Scenario::bad_input("bad-input/rate-negative", &["--rate", "-5"]),
        Scenario::bad_input("bad-input/rate-abc", &["--rate", "fast"]),
        Scenario::bad_input("bad-input/concurrency-0", &["--concurrency", "0"]),
        Scenario::bad_input("bad-input/panic-every-negative", &["--panic-every", "-1"]),
        Scenario::bad_input("bad-input/burst-0", &["--rate", "10/s", "--burst", "0"]),
        Scenario::bad_input("bad-input/burst-without-rate", &["--burst", "5"]),
    ];
    let long = "--jobs 40 --work-ms 50";
    list.extend(ctrl_c("", long, 4, true, "--jobs 40 --work-ms 50 --rate 1/s"));
    list
}
