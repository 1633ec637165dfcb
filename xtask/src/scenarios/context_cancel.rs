use std::time::Duration;

use serde_json::Value;

use super::{Interrupt, Run, Scenario};
use crate::check::OutputRule;

/// A summary field as a number of milliseconds.
fn ms(run: &Run<'_>, key: &str) -> Result<f64, String> {
    run.summary(key)?
        .as_f64()
        .ok_or_else(|| format!("summary field \"{key}\" is not a number"))
}

fn count(run: &Run<'_>, key: &str) -> Result<u64, String> {
    run.summary(key)?
        .as_u64()
        .ok_or_else(|| format!("summary field \"{key}\" is not a count"))
}

fn cancelled_by(run: &Run<'_>, expected: Option<&str>) -> Result<(), String> {
    let by = run.summary("cancelled_by")?;
    let got = by.as_str();
    if got == expected && (expected.is_some() || by.is_null()) {
        Ok(())
    } else {
        Err(format!("expected cancelled_by {expected:?}, got {by}"))
    }
}

/// After a cancellation: the cancel instant and the latency are reported, the abort came no
/// sooner than cancel + grace, and no job ended ok or failed after the abort.
fn cancel_was_kept(run: &Run<'_>) -> Result<(), String> {
    let cancelled_at = ms(run, "cancelled_at_ms")?;
    let grace = ms(run, "grace_ms")?;
    let latency = ms(run, "cancel_latency_ms")?;
    if latency < 0.0 {
        return Err(format!("negative cancel latency {latency}"));
    }
    let aborted_at = match run.summary("aborted_at_ms")? {
        Value::Null => None,
        v => Some(
            v.as_f64()
                .ok_or_else(|| format!("aborted_at_ms is not a number: {v}"))?,
        ),
    };
    if let Some(aborted_at) = aborted_at
        && aborted_at + 0.002 < cancelled_at + grace
    {
        return Err(format!(
            "aborted at {aborted_at} ms, before cancel {cancelled_at} ms + grace {grace} ms"
        ));
    }
    // Without an abort every worker exited within the grace.
    let limit = aborted_at.unwrap_or(cancelled_at + grace);
    for e in run.events()?.named("finished") {
        let outcome = e["outcome"].as_str().unwrap_or_default();
        let t = e["t_ms"].as_f64().unwrap_or(f64::INFINITY);
        if outcome != "cancelled" && t > limit {
            return Err(format!(
                "job {} ended {outcome} at {t} ms, after cancel + grace ({limit} ms)",
                e["job"]
            ));
        }
    }
    Ok(())
}

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // The Go original's numbers: 3 workers, 20 jobs, 100 ms, a 2 s deadline that is not reached.
        Scenario::run("defaults-finish-before-deadline", &[], 0)
            .outputs(OutputRule::Double)
            .check(|run| cancelled_by(run, None)),
        // The header's command line: the deadline falls in the third round of jobs.
        Scenario::run("deadline-cuts-run-short", &["--deadline-ms", "250"], 1)
            .outputs(OutputRule::Double)
            .partial_concurrency()
            .check(|run| cancelled_by(run, Some("deadline")))
            .check(cancel_was_kept)
            .check(|run| {
                let ok = count(run, "ok")?;
                let not_started = count(run, "not_started")?;
                if ok < 20 && not_started > 0 {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a run cut short, got ok {ok}, not_started {not_started}"
                    ))
                }
            }),
        // Jobs of 300 ms, a deadline at 100 ms and 30 ms of grace: the jobs in flight cannot
        // finish in time and are cancelled, the rest never start.
        Scenario::run(
            "grace-too-short",
            &[
                "--jobs",
                "9",
                "--work-ms",
                "300",
                "--deadline-ms",
                "100",
                "--grace-ms",
                "30",
            ],
            1,
        )
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept)
        .check(|run| {
            let ok = count(run, "ok")?;
            let cancelled = count(run, "cancelled")?;
            if ok == 0 && cancelled >= 1 && !run.summary("aborted_at_ms")?.is_null() {
                Ok(())
            } else {
                Err(format!(
                    "expected the jobs in flight to be aborted, got ok {ok}, cancelled {cancelled}"
                ))
            }
        }),
        // A grace longer than the jobs: the jobs in flight finish, none is cancelled.
        Scenario::run(
            "grace-lets-jobs-finish",
            &[
                "--jobs",
                "9",
                "--work-ms",
                "100",
                "--deadline-ms",
                "50",
                "--grace-ms",
                "5000",
            ],
            1,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept)
        .check(|run| {
            let cancelled = count(run, "cancelled")?;
            let not_started = count(run, "not_started")?;
            if cancelled == 0 && not_started > 0 {
                Ok(())
            } else {
                Err(format!(
                    "expected no job cancelled in flight and some never started, got cancelled {cancelled}, not_started {not_started}"
                ))
            }
        }),
        // SIGINT after 4 jobs started: the same token is cancelled, exit 130, threads joined.
        Scenario::run(
            "ctrl-c-mid-run",
            &["--jobs", "30", "--work-ms", "200", "--deadline-ms", "60000"],
            130,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .interrupt(Interrupt::AfterStarted(4))
        .check(|run| cancelled_by(run, Some("ctrl-c")))
        .check(cancel_was_kept)
        .check(|run| match run.summary("interrupted")? {
            Value::Bool(true) => Ok(()),
            v => Err(format!("expected interrupted: true, got {v}")),
        }),
        // A deadline of 0: nothing may complete.
        Scenario::run("deadline-0", &["--jobs", "10", "--deadline-ms", "0"], 1)
            .partial_concurrency()
            .check(|run| cancelled_by(run, Some("deadline")))
            .check(cancel_was_kept)
            .check(|run| {
                let (ok, failed) = (count(run, "ok")?, count(run, "failed")?);
                if ok + failed == 0 {
                    Ok(())
                } else {
                    Err(format!("expected no job done, got ok {ok}, failed {failed}"))
                }
            }),
        // CPU-bound jobs are interrupted too (the prime check looks at the token every 2^16 steps).
        Scenario::run(
            "cpu-jobs-are-interrupted",
            &[
                "--jobs",
                "400",
                "--workers",
                "2",
                "--workload",
                "cpu",
                "--deadline-ms",
                "150",
            ],
            1,
        )
        .outputs(OutputRule::IsPrime)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept),
        // A rendezvous jobs channel: the producer itself is stopped while blocked on a send.
        Scenario::run(
            "rendezvous-channel-cancelled",
            &["--jobs", "50", "--work-ms", "50", "--buffer", "0", "--deadline-ms", "120"],
            1,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| cancelled_by(run, Some("deadline")))
        .check(cancel_was_kept),
        Scenario::bad_input("bad-input/deadline-abc", &["--deadline-ms", "abc"]),
        Scenario::bad_input("bad-input/grace-negative", &["--grace-ms", "-5"]),
    ]
}
