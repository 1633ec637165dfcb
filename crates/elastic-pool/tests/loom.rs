//! Model checks of the elastic pool's spawn and reap decisions with loom: each model runs a tiny
//! pool (at most two workers, two or three jobs) under every interleaving of its threads that
//! loom's scheduler can tell apart, up to a bound on preemptions, and checks what must hold in all
//! of them: every job submitted runs exactly once (none stranded in the queue with no worker
//! left, none run twice), a submitter blocked on a full pool is woken when the pool grows (a lost
//! wake-up is reported by loom as a deadlock: every thread blocked), and a shrink loses no job.
//!
//! Time: loom has none (its `wait_timeout` never times out), so under `--cfg loom` the pool reads
//! a model clock (`src/sync.rs`) that a "timer" thread moves past the keep-alive with
//! `Pool::time_passes`, at any point of the interleaving; that is the keep-alive expiring.
//!
//! Run with `cargo xtask loom`, or this crate alone:
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS=2 cargo test -p
//! elastic-pool --release --test loom`. The bound is `LOOM_MAX_PREEMPTIONS`, 2 if unset.
//!
//! What the models do not cover:
//! - real time: the keep-alive expires once per model (one tick of the timer), never twice, and
//!   a worker's deadline is only ever "passed" or "not yet";
//! - more workers, jobs or submitters than loom can enumerate (at most five threads in all);
//! - the example's `main.rs` (reporter, resizer schedule, Ctrl-C, the `--on-full` policies
//!   other than `block`), and thread-spawn failures;
//! - weak memory effects: the pool's state is behind one mutex, which loom models as SeqCst.

#![cfg(loom)]

use std::time::Duration;

use common::{Job, Reporter};
use elastic_pool::pool::{Config, Grow, OnFull, Pool, Submitted};
use harness::loom_model::{Gate, model};
use loom::sync::{Arc, Mutex};
use loom::thread;

const KEEP_ALIVE: Duration = Duration::from_millis(10);

fn config(min: usize, max: usize, queue: usize) -> Config {
    Config {
        min,
        max,
        keep_alive: KEEP_ALIVE,
        queue,
        grow: Grow::SpawnFirst,
        on_full: OnFull::Block,
    }
}

fn job(id: u64) -> Job {
    Job { id, value: id }
}

/// A pool whose jobs record their ids (and run `also` first), with a reporter that prints
/// nothing.
fn pool(cfg: Config, also: impl Fn(u64) + Send + Sync + 'static) -> (Arc<Pool>, Arc<Mutex<Vec<u64>>>) {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&ran);
    let report = std::sync::Arc::new(Reporter::with_flags(false, true));
    let pool = Pool::start(cfg, report, move |_, job: Job| {
        also(job.id);
        record.lock().expect("no panic while held").push(job.id);
    })
    .expect("threads start");
    (Arc::new(pool), ran)
}

/// Closes and joins the pool, then checks that exactly `ids` ran, once each.
fn ran_exactly(pool: &Pool, ran: &Mutex<Vec<u64>>, ids: &[u64]) {
    pool.close();
    let (_stats, panicked) = pool.join();
    assert_eq!(panicked, 0);
    let mut ran = ran.lock().expect("no panic while held").clone();
    ran.sort_unstable();
    assert_eq!(ran, ids, "every job taken ran exactly once");
}

fn taken(submitted: Submitted) {
    assert!(
        matches!(submitted, Submitted::Taken),
        "the pool takes the job: {submitted:?}"
    );
}

#[test]
fn the_last_worker_above_min_retires_without_stranding_a_job() {
    // --min 0 --max 1: job 1 spawns the only worker. While it finishes, goes idle and its
    // keep-alive expires (the timer), job 2 is submitted: it is handed to the idle worker, or the
    // worker has retired and job 2 spawns a new one. It must never be queued for a worker that
    // then retires: with no worker left, nothing would ever run it.
    model(
        "the_last_worker_above_min_retires_without_stranding_a_job",
        || {
            let (pool, ran) = pool(config(0, 1, 1), |_| {});
            taken(pool.submit(job(1)).expect("block never aborts"));
            let timer = {
                let pool = Arc::clone(&pool);
                thread::spawn(move || pool.time_passes(KEEP_ALIVE))
            };
            taken(pool.submit(job(2)).expect("block never aborts"));
            timer.join().expect("the timer does not panic");
            ran_exactly(&pool, &ran, &[1, 2]);
            assert!(pool.workers() == 0, "closed and joined: no worker left");
        },
    );
}

#[test]
fn a_blocked_submitter_is_woken_when_the_pool_grows() {
    // --min 1 --max 1, no queue, --on-full block: job 1 holds the only worker until job 2 runs,
    // so job 2's submit blocks, and only the grow to --max 2 lets it spawn a second worker.
    // Whether the resize comes before the submit blocks or after, the submit must go through; a
    // grow that forgot to wake it leaves every thread blocked (loom: deadlock).
    model("a_blocked_submitter_is_woken_when_the_pool_grows", || {
        let gate = Gate::new();
        let held = gate.clone();
        let (pool, ran) = pool(config(1, 1, 0), move |id| match id {
            1 => held.wait(),
            _ => held.open(),
        });
        let submitter = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                taken(pool.submit(job(1)).expect("block never aborts"));
                taken(pool.submit(job(2)).expect("block never aborts"));
            })
        };
        let resized = pool.resize(1, 2).expect("the pool is open");
        assert!(resized.error.is_none());
        submitter.join().expect("the submitter does not panic");
        gate.open(); // already open by job 2; harmless
        ran_exactly(&pool, &ran, &[1, 2]);
    });
}

#[test]
fn a_shrink_while_jobs_wait_loses_no_job() {
    // --max 2, a one-job queue: jobs 1 and 2 spawn two workers, job 3 waits or goes to whichever
    // is free. Meanwhile another thread shrinks the pool to --max 1: one worker leaves when it
    // has no job in hand, and the one left runs what is queued. Each job runs exactly once.
    model("a_shrink_while_jobs_wait_loses_no_job", || {
        let (pool, ran) = pool(config(0, 2, 1), |_| {});
        let shrinker = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.resize(0, 1))
        };
        for id in 1..=3 {
            taken(pool.submit(job(id)).expect("block never aborts"));
        }
        shrinker.join().expect("the shrinker does not panic");
        ran_exactly(&pool, &ran, &[1, 2, 3]);
    });
}
