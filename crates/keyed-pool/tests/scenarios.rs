//! keyed-pool's promises, each a run of the real binary checked against the invariants I1–I5
//! (`harness`) and, from its events, the per-key promise: for every key, jobs start in submission
//! order and never overlap (`support::per_key_order_kept`). Ctrl-C is in `ctrl_c.rs`.

mod support;

use harness::{OutputRule, Scenario, expect_eq, words};

use crate::support::{check, no_worker_idle_while_a_key_is_ready, per_key_order_kept};

fn run(name: &str, args: &str) -> Scenario {
    Scenario::run(name, &words(args), 0)
        .outputs(OutputRule::Double)
        .check(per_key_order_kept)
        .check(no_worker_idle_while_a_key_is_ready)
}

fn strategy_is(want: &'static str) -> impl Fn(&harness::Run<'_>) -> Result<(), String> {
    move |run| {
        let got = run
            .summary()?
            .extra
            .get("strategy")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        expect_eq("strategy", got.as_deref(), Some(want))
    }
}

#[test]
fn defaults() {
    // 24 transfers of 100 ms over 6 accounts on 4 workers, dynamic.
    check(run("defaults", "").check(strategy_is("dynamic")));
}

#[test]
fn shards() {
    check(run("shards", "--strategy shards --jobs 40 --keys 8 --work-ms 20").check(strategy_is("shards")));
}

#[test]
fn dynamic() {
    check(run("dynamic", "--strategy dynamic --jobs 40 --keys 8 --work-ms 20").check(strategy_is("dynamic")));
}

/// A key goes back to the ready-queue after each job (`--turn 1`): the hand-off path.
#[test]
fn dynamic_turn_1() {
    check(run(
        "dynamic-turn-1",
        "--strategy dynamic --turn 1 --jobs 40 --keys 8 --work-ms 20",
    ));
}

/// A turn of 3 through a small buffer, with thousands of jobs that do nothing.
#[test]
fn dynamic_turn_3_many_jobs() {
    check(
        run(
            "dynamic-turn-3-many-jobs",
            "--strategy dynamic --turn 3 --jobs 5000 --keys 5 --workers 4 --workload dispatch --buffer 16",
        )
        .partial_concurrency(),
    );
}

/// Fewer keys than workers: never more jobs in flight than keys, whatever the strategy.
fn fewer_keys_than_workers(strategy: &'static str) {
    check(
        run(
            &format!("fewer-keys-than-workers/{strategy}"),
            &format!("--strategy {strategy} --jobs 120 --keys 3 --workers 6 --work-ms 2"),
        )
        .partial_concurrency()
        .check(|run| {
            let peak = run.summary()?.peak_in_flight;
            if peak > 3 {
                return Err(format!("{peak} jobs in flight at once with 3 keys"));
            }
            Ok(())
        }),
    );
}

#[test]
fn fewer_keys_than_workers_shards() {
    fewer_keys_than_workers("shards");
}

#[test]
fn fewer_keys_than_workers_dynamic() {
    fewer_keys_than_workers("dynamic");
}

/// Thousands of jobs that do nothing, through a small buffer: every one accounted for, once,
/// and the per-key promise kept while hand-offs are as fast as they get.
fn every_job_accounted_for(strategy: &'static str) {
    check(
        run(
            &format!("every-job-accounted-for/{strategy}"),
            &format!(
                "--strategy {strategy} --jobs 5000 --keys 20 --workers 4 --workload dispatch --buffer 16"
            ),
        )
        // Jobs that do nothing end before another worker wakes: the peak may stay below 4.
        .partial_concurrency(),
    );
}

#[test]
fn every_job_accounted_for_shards() {
    every_job_accounted_for("shards");
}

#[test]
fn every_job_accounted_for_dynamic() {
    every_job_accounted_for("dynamic");
}

#[test]
fn failures_are_results_and_keep_the_order() {
    check(
        Scenario::run(
            "failures-are-results",
            &words("--jobs 30 --keys 4 --work-ms 5 --fail-every 4"),
            1,
        )
        .outputs(OutputRule::Double)
        .check(per_key_order_kept)
        .check(no_worker_idle_while_a_key_is_ready)
        .check(|run| expect_eq("failed", run.summary()?.failed, 7)),
    );
}

/// A slow account under Zipf skew. Accounts 1 and 4 share a shard of 4 (`keys::shard_of`), and
/// every job is queued at once (`--buffer`): under `shards`, a job of account 4 queued behind
/// one of account 1 is ready before that slow job starts and can start only after it ends, so
/// the longest wait behind another key is at least one slow job (10 × 10 ms; a sleep never
/// ends early).
#[test]
fn skew_and_slow_key_shards() {
    check(
        run(
            "skew-and-slow-key/shards",
            "--strategy shards --skew zipf:0.5 --keys 4 --workers 4 --slow-key 1 --jobs 24 --work-ms 10 --buffer 100",
        )
        .partial_concurrency()
        .check(|run| {
            let wait = run
                .summary()?
                .number("longest_wait_behind_other_keys_ms")
                .ok_or("no longest_wait_behind_other_keys_ms")?;
            if wait < 100.0 {
                return Err(format!("longest wait behind other keys {wait} ms, below one slow job (100 ms)"));
            }
            expect_eq("slow_key", run.count("slow_key")?, 1)
        }),
    );
}

/// The same skewed run under `dynamic`: the promise holds, the hottest account is account 1,
/// and the summary carries the bound the hottest key sets.
#[test]
fn skew_and_slow_key_dynamic() {
    check(
        run(
            "skew-and-slow-key/dynamic",
            "--strategy dynamic --skew zipf:1.1 --keys 50 --workers 4 --slow-key 2 --jobs 60 --work-ms 5",
        )
        .partial_concurrency()
        .check(|run| {
            expect_eq("hottest_key", run.count("hottest_key")?, 1)?;
            let s = run.summary()?;
            let (ideal, key_bound) = (
                s.ideal_ms.ok_or("no ideal_ms")?,
                s.number("key_bound_ms").ok_or("no key_bound_ms")?,
            );
            if ideal < key_bound {
                return Err(format!("ideal {ideal} ms below the key bound {key_bound} ms"));
            }
            match s.extra.get("worker_busy_pct").and_then(|v| v.as_array()) {
                Some(busy) if busy.len() == 4 => Ok(()),
                other => Err(format!("worker_busy_pct should list 4 workers: {other:?}")),
            }
        }),
    );
}

/// No worker idles while a key is ready, where it is hardest to keep: eight workers, keys handed
/// back after every job (`--turn 1`), jobs that do nothing (workers park and are handed keys all
/// the time) and a skew that leaves few keys ready at once.
#[test]
fn no_worker_idle_while_a_key_is_ready_under_hand_offs() {
    check(
        run(
            "no-idle-while-ready/hand-offs",
            "--strategy dynamic --turn 1 --skew zipf:1.1 --keys 50 --workers 8 --jobs 20000 --workload dispatch --buffer 64",
        )
        .partial_concurrency(),
    );
}

/// The same check on sleeping jobs under the skew the speed figures use, scaled down.
#[test]
fn no_worker_idle_while_a_key_is_ready_under_skew() {
    check(
        run(
            "no-idle-while-ready/skew",
            "--strategy dynamic --skew zipf:1.1 --keys 1000 --workers 8 --jobs 1000 --work-ms 1",
        )
        .partial_concurrency(),
    );
}
