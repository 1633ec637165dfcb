//! elastic-pool's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`: every job accounted for, never more in flight than `max_in_flight`, every output
//! `value × 2`, the right exit code, no thread alive at exit), plus its own: workers come and go
//! within `--min`..=`--max`, each `--on-full` policy does what it says, queue-first with a large
//! queue never grows, `--resize-at` loses no job and wakes a blocked submitter. The checks read
//! counts and orders from the events, never the clock.
//! `cargo test -p elastic-pool ctrl_c` runs the Ctrl-C cases.

use std::time::Duration;

use common::event::Event;
use harness::{CtrlC, Interrupt, OutputRule, Run, Scenario, Signal, ctrl_c, expect_eq, stopped, words};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_elastic-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

fn run(name: &str, args: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &words(args), exit_code)
}

/// The live worker count never leaves `min..=max` while the pool is open: read from the
/// `workers` of every spawn and retire event (printed under the pool's lock, so in order).
fn workers_within(min: u64, max: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        for e in &run.events()?.events {
            let Event::Other(o) = e else { continue };
            let workers = o.count("workers");
            match (o.kind.as_str(), o.text("reason")) {
                ("worker_spawned", _) if workers > Some(max) => {
                    return Err(format!(
                        "a spawn left {workers:?} workers alive, over --max {max}"
                    ));
                }
                ("worker_retired", Some("idle")) if workers < Some(min) => {
                    return Err(format!(
                        "an idle retire left {workers:?} workers, under --min {min}"
                    ));
                }
                _ => {}
            }
        }
        let peak = run.count("peak_workers")?;
        if peak > max {
            return Err(format!("peak_workers {peak} is over --max {max}"));
        }
        Ok(())
    }
}

/// Every `not_started` job's reason contains `words`, and there are as many as the summary's
/// counter `key` says, at least one.
fn refused(key: &'static str, words: &'static str) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = run.events()?;
        let mut n = 0;
        for e in events.not_started() {
            let reason = e.reason.as_deref().unwrap_or("");
            if !reason.contains(words) {
                return Err(format!(
                    "job {} never started for {reason:?}, not {words:?}",
                    e.job
                ));
            }
            n += 1;
        }
        if n == 0 {
            return Err("no job was refused: the pool was never full".into());
        }
        run.expect_count(key, n)
    }
}

/// Jobs `ids` ran and ended ok.
fn ran_ok(ids: &'static [u64]) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = run.events()?;
        for id in ids {
            if !events.finished().any(|f| f.job == *id) {
                return Err(format!("job {id} did not run"));
            }
        }
        Ok(())
    }
}

#[test]
fn defaults() {
    // 24 jobs of 100 ms in bursts of 8, --min 1 --max 4: every burst grows the pool to 4.
    check(
        run("defaults", "", 0)
            .outputs(OutputRule::Double)
            .check(workers_within(1, 4))
            .check(|run| run.expect_count("peak_workers", 4)),
    );
}

/// Bursts separated by idle gaps 50 times the keep-alive.
const BURSTS: &str = "--jobs 24 --burst 8 --max 4 --work-ms 50 --keep-alive-ms 20 --gap-ms 1000";

/// Every burst after the first found the pool back at `min` workers, and workers retired idle in
/// each gap.
fn back_to(min: u64) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let events = run.events()?;
        let bursts: Vec<_> = events.other("burst").collect();
        expect_eq("bursts", bursts.len(), 3)?;
        for b in &bursts[1..] {
            expect_eq(
                &format!("workers alive as burst {:?} began", b.count("burst")),
                b.count("workers"),
                Some(min),
            )?;
        }
        // Each burst grew the pool to 4, and each of the two gaps retired it to `min`.
        let retired = run.count("workers_retired_idle")?;
        if retired < 2 * (4 - min) {
            return Err(format!("only {retired} workers retired idle over two gaps"));
        }
        Ok(())
    }
}

#[test]
fn bursts_retire_back_to_min() {
    check(
        run("bursts-retire-to-min", &format!("{BURSTS} --min 1"), 0)
            .outputs(OutputRule::Double)
            .check(workers_within(1, 4))
            .check(back_to(1)),
    );
}

#[test]
fn bursts_scale_to_zero() {
    // --min 0: no worker at all between bursts, and still no job lost.
    check(
        run("bursts-scale-to-zero", &format!("{BURSTS} --min 0"), 0)
            .outputs(OutputRule::Double)
            .check(workers_within(0, 4))
            .check(back_to(0)),
    );
}

/// One worker, room for one waiting job, 5 jobs submitted at once: jobs 3–5 find the pool full
/// while the worker runs job 1 (300 ms) and job 2 waits.
fn full(policy: &str) -> String {
    format!("--arrivals steady --min 1 --max 1 --queue 1 --jobs 5 --work-ms 300 --on-full {policy}")
}

#[test]
fn on_full_abort_returns_the_job_to_the_caller() {
    check(
        run("on-full/abort", &full("abort"), 1)
            .outputs(OutputRule::Double)
            .check(refused(
                "rejected",
                "rejected: the pool is full (--on-full abort)",
            ))
            .check(ran_ok(&[1, 2])),
    );
}

#[test]
fn on_full_drop_newest_drops_the_new_job() {
    check(
        run("on-full/drop-newest", &full("drop-newest"), 1)
            .outputs(OutputRule::Double)
            .check(refused(
                "dropped",
                "dropped: the pool is full (--on-full drop-newest)",
            ))
            // The jobs already taken stay; only newer ones are dropped.
            .check(ran_ok(&[1, 2]))
            .check(|run| {
                let dropped: Vec<u64> = run.events()?.not_started().map(|n| n.job).collect();
                match dropped.iter().find(|id| **id <= 2) {
                    Some(id) => Err(format!("job {id}, taken before the pool was full, was dropped")),
                    None => Ok(()),
                }
            }),
    );
}

#[test]
fn on_full_drop_oldest_drops_the_oldest_waiting_job() {
    check(
        run("on-full/drop-oldest", &full("drop-oldest"), 1)
            .outputs(OutputRule::Double)
            .check(refused("dropped", "dropped: the oldest waiting job, for job"))
            // Job 1 was running, never waiting; the last job submitted is never dropped.
            .check(ran_ok(&[1, 5]))
            .check(|run| {
                for n in run.events()?.not_started() {
                    let reason = n.reason.as_deref().unwrap_or("");
                    let by: u64 = reason
                        .split("for job ")
                        .nth(1)
                        .and_then(|rest| rest.split(' ').next())
                        .and_then(|id| id.parse().ok())
                        .ok_or_else(|| format!("no job named in {reason:?}"))?;
                    if by <= n.job {
                        return Err(format!("job {} was dropped for an older job {by}", n.job));
                    }
                }
                Ok(())
            }),
    );
}

#[test]
fn on_full_caller_runs_on_the_submitting_thread() {
    // The bound is --max + 1: the worker and the submitter (worker 0) both run a job (I2 checks
    // that the peak reached 2 and never passed it).
    check(
        run("on-full/caller-runs", &full("caller-runs"), 0)
            .outputs(OutputRule::Double)
            .check(|run| {
                let s = run.summary()?;
                expect_eq("max_in_flight", s.max_in_flight, Some(2))?;
                let on_caller = run.events()?.started().filter(|e| e.worker == 0).count() as u64;
                if on_caller == 0 {
                    return Err("no job ran on the submitting thread (worker 0)".into());
                }
                run.expect_count("ran_on_caller", on_caller)
            }),
    );
}

#[test]
fn on_full_block_waits_for_room() {
    // The submitter must reach job 4 before a worker ends its first job: 300 ms of margin.
    check(
        run(
            "on-full/block",
            "--arrivals steady --min 1 --max 2 --queue 1 --jobs 8 --work-ms 300 --on-full block",
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| {
            let blocked = run.count("blocked_submits")?;
            if blocked == 0 {
                return Err("no submit blocked, though 8 jobs met 2 workers and 1 slot".into());
            }
            expect_eq("not_started", run.summary()?.not_started, 0)
        }),
    );
}

/// 16 jobs at once on up to 8 workers. Growing to 8 needs the submitter to reach the 8th job (the
/// 10th with a queue of 2) before the first job ends: 300 ms of margin.
const GROW: &str = "--arrivals steady --min 1 --max 8 --jobs 16";

#[test]
fn queue_first_with_a_large_queue_never_grows() {
    // Java's trap: the queue is never full, so the pool never grows past --min; the bound of 8
    // is never reached (hence partial concurrency).
    check(
        run(
            "grow/queue-first-large-queue",
            // Never grows whatever the timing: shorter jobs keep the run short.
            &format!("{GROW} --grow queue-first --queue 1000 --work-ms 50"),
            0,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(|run| {
            run.expect_count("peak_workers", 1)?;
            run.expect_count("workers_spawned", 1)?;
            expect_eq("peak in flight", run.summary()?.peak_in_flight, 1)
        }),
    );
}

#[test]
fn spawn_first_with_the_same_queue_grows_to_max() {
    check(
        run(
            "grow/spawn-first-large-queue",
            &format!("{GROW} --grow spawn-first --queue 1000 --work-ms 300"),
            0,
        )
        .outputs(OutputRule::Double)
        .check(|run| run.expect_count("peak_workers", 8)),
    );
}

#[test]
fn queue_first_grows_once_the_queue_is_full() {
    check(
        run(
            "grow/queue-first-small-queue",
            &format!("{GROW} --grow queue-first --queue 2 --work-ms 300"),
            0,
        )
        .outputs(OutputRule::Double)
        .check(workers_within(1, 8))
        .check(|run| run.expect_count("peak_workers", 8)),
    );
}

/// 40 jobs of 100 ms, all at once, on up to 4 workers: jobs remain after the 4th has started.
const MID: &str = "--jobs 40 --work-ms 100 --arrivals steady";

fn ctrl_c_case(case: CtrlC) {
    check(ctrl_c(case, MID, 4, true, MID));
}

harness::ctrl_c_tests!(ctrl_c_case);

#[test]
fn ctrl_c_wakes_a_blocked_submitter() {
    // No queue, one worker: the submitter blocks on job 2 until the stop wakes it.
    check(
        run(
            "ctrl-c/blocked-submitter",
            "--arrivals steady --min 1 --max 1 --queue 0 --jobs 10 --work-ms 200",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 1))
        .check(stopped(true)),
    );
}

#[test]
fn ctrl_c_ends_an_idle_gap() {
    // A gap of an hour between bursts: only a stop that wakes the gap ends the run before the
    // watchdog.
    check(
        run(
            "ctrl-c/idle-gap",
            "--jobs 16 --burst 8 --work-ms 50 --gap-ms 3600000",
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 8))
        .timeout(Duration::from_secs(60))
        .check(stopped(true)),
    );
}

/// No job started twice (I1 already checks that each ends exactly once).
fn each_job_started_once(run: &Run<'_>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for e in run.events()?.started() {
        if !seen.insert(e.job) {
            return Err(format!("job {} started twice", e.job));
        }
    }
    Ok(())
}

/// The summary's `resizes`: how many were applied.
fn resizes_applied(run: &Run<'_>) -> Result<usize, String> {
    run.summary()?
        .extra
        .get("resizes")
        .and_then(|r| r.as_array())
        .map(Vec::len)
        .ok_or_else(|| "the summary has no resizes list".to_owned())
}

#[test]
fn resize_grow_shrink_grow_loses_no_job() {
    // 120 jobs of 50 ms cannot end before 1,000 ms even on 6 workers, so all three resizes land
    // mid-run on any machine: 1 worker, grown to 6 (the blocked submitter and the waiting jobs get
    // workers), shrunk to 2 (four leave as they come free, with jobs still queued), grown to 4
    // with a raised min.
    check(
        run(
            "resize/grow-shrink-grow",
            "--arrivals steady --min 1 --max 1 --jobs 120 --work-ms 50 --keep-alive-ms 200 \
             --resize-at 100:0:6 --resize-at 400:0:2 --resize-at 700:2:4",
            0,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(each_job_started_once)
        .check(workers_within(0, 6))
        .check(|run| {
            expect_eq("resizes applied", resizes_applied(run)?, 3)?;
            run.expect_count("largest_max", 6)?;
            expect_eq("not_started", run.summary()?.not_started, 0)?;
            // From 6 to a max of 2: exactly four leave over it.
            run.expect_count("workers_retired_resize", 4)
        }),
    );
}

#[test]
fn resize_shrink_below_busy_workers_loses_no_job() {
    // Eight workers busy (the submitter reaches the 8th job before the first ends: 300 ms of
    // margin) and jobs waiting when the max drops to 1: every worker but one leaves as its job
    // ends, and the one left runs the rest of the queue.
    check(
        run(
            "resize/shrink-to-one",
            "--arrivals steady --min 0 --max 8 --jobs 24 --work-ms 300 --resize-at 400:0:1",
            0,
        )
        .outputs(OutputRule::Double)
        .partial_concurrency()
        .check(each_job_started_once)
        .check(workers_within(0, 8))
        .check(|run| {
            expect_eq("resizes applied", resizes_applied(run)?, 1)?;
            expect_eq("not_started", run.summary()?.not_started, 0)?;
            run.expect_count("workers_retired_resize", 7)
        }),
    );
}

#[test]
fn a_blocked_submitter_wakes_when_the_pool_grows() {
    // One worker, no queue: the submitter blocks on job 2 while job 1 runs for 4 s. The resize at
    // 400 ms must wake it (panjf2000/ants#205): jobs 2 and 3 then start on new workers while job
    // 1 still runs. A pool that forgot the wake-up starts job 2 only after job 1 ends.
    check(
        run(
            "resize/wakes-blocked-submitter",
            "--arrivals steady --min 1 --max 1 --queue 0 --jobs 3 --work-ms 4000 \
             --resize-at 400:1:3",
            0,
        )
        .outputs(OutputRule::Double)
        .check(each_job_started_once)
        .check(|run| {
            if run.count("blocked_submits")? == 0 {
                return Err("no submit blocked before the resize".into());
            }
            expect_eq("resizes applied", resizes_applied(run)?, 1)?;
            let events = run.events()?;
            let job1_end = events
                .finished()
                .find(|f| f.job == 1)
                .map(|f| f.t_ms)
                .ok_or("job 1 did not finish")?;
            for id in [2, 3] {
                let start = events
                    .started()
                    .find(|s| s.job == id)
                    .map(|s| s.t_ms)
                    .ok_or_else(|| format!("job {id} did not start"))?;
                if start >= job1_end {
                    return Err(format!(
                        "job {id} started at {start} ms, after job 1 ended at {job1_end} ms: the \
                         grow did not wake the blocked submitter"
                    ));
                }
            }
            Ok(())
        }),
    );
}

#[test]
fn bursts_retire_back_to_a_raised_min() {
    // --min 0, raised to 2 at once: the two resize workers stay through every gap.
    check(
        run(
            "resize/bursts-raised-min",
            &format!("{BURSTS} --min 0 --resize-at 0:2:4"),
            0,
        )
        .outputs(OutputRule::Double)
        .check(workers_within(0, 4))
        .check(back_to(2)),
    );
}

#[test]
fn bursts_retire_back_to_a_lowered_min() {
    // --min 3, lowered to 1 at once: the idle workers above 1 retire in the first gap.
    check(
        run(
            "resize/bursts-lowered-min",
            &format!("{BURSTS} --min 3 --resize-at 0:1:4"),
            0,
        )
        .outputs(OutputRule::Double)
        .check(workers_within(1, 4))
        .check(back_to(1)),
    );
}
