//! rate-limit's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`): the semaphore's cap is reached and never exceeded (I2 with `max_in_flight`), job
//! starts keep to `burst + rate × window`, and a panicking job still releases its permit. The
//! Ctrl-C cases are in `ctrl_c.rs`.

mod support;

use std::time::Duration;

use harness::{OutputRule, Run, Scenario, expect_eq, words};

use crate::support::{check, permits_released_and_panics_failed};

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

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

/// Go's RateLimitedPool: 5 workers, 2 permits, 10 jobs of 100 ms. I2 checks that the peak
/// (reported and rebuilt from the events) is exactly max_in_flight = 2.
#[test]
fn defaults_of_the_go_original() {
    check(run("defaults", "", 0).outputs(OutputRule::Double).check(|run| {
        expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(2))?;
        expect_eq("workers", run.summary()?.workers, 5)
    }));
}

#[test]
fn cap_below_workers() {
    check(
        run(
            "cap-below-workers",
            "--jobs 60 --workers 12 --concurrency 4 --work-ms 10",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(4))),
    );
}

/// The emails use case in small: many jobs, a cap of 50 among 64 workers, every event checked.
#[test]
fn many_jobs_cap_50() {
    check(
        run(
            "many-jobs-cap-50",
            "--jobs 5000 --workers 64 --concurrency 50 --work-ms 5",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(50))),
    );
}

/// More permits than workers: the reachable cap is the number of workers.
#[test]
fn concurrency_above_workers() {
    check(
        run(
            "concurrency-above-workers",
            "--jobs 12 --workers 3 --concurrency 8 --work-ms 10",
            0,
        )
        .check(|run| {
            expect_eq("max_in_flight", run.summary()?.max_in_flight, Some(3))?;
            run.expect_count("concurrency", 8)
        }),
    );
}

/// A burst of 5, then one start every 20 ms. The cap of 4 is never exceeded, but it need not be
/// reached: after the burst the limiter lets one 5 ms job start at a time, so 4 in flight needs
/// 4 workers to start the burst's jobs within the same 5 ms, which a busy machine does not
/// promise (the cap is reached in the scenarios without a rate).
#[test]
fn rate_with_burst() {
    check(
        run(
            "rate-with-burst",
            "--jobs 30 --workers 4 --concurrency 4 --work-ms 5 --rate 50/s --burst 5",
            0,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| starts_keep_the_rate(run, 50.0, 5.0)),
    );
}

/// `--rate 100` (no "/s") with the default burst of 1; 30 ms jobs at 10 ms spacing would overlap
/// 3 deep, so the cap of 2 is what binds the peak.
#[test]
fn rate_without_burst() {
    check(
        run(
            "rate-without-burst",
            "--jobs 25 --workers 5 --work-ms 30 --rate 100",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| starts_keep_the_rate(run, 100.0, 1.0)),
    );
}

/// One permit and a panic every second job: a leaked permit would hang the run (watchdog).
#[test]
fn panic_releases_its_permit() {
    check(
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
    );
}

/// Failures and panics together: jobs 3, 4, 6, 8, 9, 12 fail.
#[test]
fn failures_and_panics() {
    check(
        run(
            "failures-and-panics",
            "--jobs 12 --work-ms 5 --fail-every 4 --panic-every 3",
            1,
        )
        .outputs(OutputRule::Double)
        .check(|run| expect_eq("failed", run.summary()?.failed, 6)),
    );
}

#[test]
fn zero_jobs() {
    check(run("zero-jobs", "--jobs 0", 0));
}
