//! Model checks of the `dynamic` scheduler's hand-off (`src/dynamic.rs`) with loom: each model
//! runs a tiny queue (2 workers, 2–3 jobs over 1–2 keys) under every interleaving of its threads
//! that loom's scheduler can tell apart, up to a bound on preemptions, and checks what must hold
//! in all of them:
//! - a key becomes ready exactly once per turn: each job is taken exactly once (none lost, none
//!   twice), the jobs of a key in submission order, and never two jobs of a key at once;
//! - no lost wake-up: a worker parked while a key becomes ready is handed it, a `submit` blocked
//!   on a full queue is woken when a job leaves it, and `close` releases every parked worker (a
//!   thread left waiting is reported by loom as a deadlock);
//! - no worker idles while a key is ready: the queue's own check saw no such state.
//!
//! Run with `cargo xtask loom` (it builds with `RUSTFLAGS="--cfg loom"` into its own target
//! folder). The preemption bound is `LOOM_MAX_PREEMPTIONS`, 2 if unset: the bugs looked for (a
//! key made ready between a worker's look at the ready-queue and its parking, a wake-up sent to
//! nobody, a key queued while a worker sleeps) need one thread preempted inside a critical window
//! and another acting there, which two preemptions already cover.
//!
//! What the models do not cover:
//! - more workers, keys or jobs than loom can enumerate (three threads, three jobs here);
//! - spurious wake-ups: loom's condvar never wakes a thread without a notify, so the loop that
//!   puts a spuriously woken worker back to sleep is not explored (the unit tests do not reach
//!   it either);
//! - `main.rs`: the jobs' own run, the reporter, Ctrl-C (a worker hands jobs back through the
//!   same `done`), `--turn` counting and the collector.

#![cfg(loom)]

use std::sync::atomic::{AtomicBool, Ordering};

use harness::loom_model::model;
use keyed_pool::dynamic::KeyedQueue;
use loom::sync::Arc;
use loom::thread;

/// What the workers of one execution saw. Plain std types: loom runs one thread at a time, so
/// they need no model of their own, and they add no interleavings.
struct Seen {
    /// Per key (0 and 1): is a job of it running now?
    running: [AtomicBool; 2],
    /// (key, job) in the order the jobs started.
    started: std::sync::Mutex<Vec<(u64, u64)>>,
}

/// Submits `jobs` (key, job) in order from the calling thread while `workers` workers run them,
/// each worker keeping its key for the key's next job if `keep`; closes, joins, and checks every
/// promise of the module header.
fn run_jobs(workers: usize, capacity: usize, keep: bool, jobs: &[(u64, u64)]) {
    let queue = Arc::new(KeyedQueue::<u64>::new(workers, capacity));
    let seen = std::sync::Arc::new(Seen {
        running: [AtomicBool::new(false), AtomicBool::new(false)],
        started: std::sync::Mutex::new(Vec::new()),
    });
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let (queue, seen) = (Arc::clone(&queue), std::sync::Arc::clone(&seen));
            thread::spawn(move || {
                while let Some((key, first)) = queue.take(worker) {
                    let mut next = Some(first);
                    while let Some(job) = next {
                        let running = &seen.running[key as usize];
                        assert!(!running.swap(true, Ordering::SeqCst), "key {key} on two workers");
                        seen.started.lock().expect("not poisoned").push((key, job));
                        running.store(false, Ordering::SeqCst);
                        next = queue.done(key, keep);
                    }
                }
            })
        })
        .collect();
    for &(key, job) in jobs {
        queue.submit(key, job);
    }
    queue.close();
    for handle in handles {
        handle.join().expect("a worker panicked");
    }
    let mut started = seen.started.lock().expect("not poisoned").clone();
    for key in 0..2 {
        let of_key = |list: &[(u64, u64)]| -> Vec<u64> {
            list.iter().filter(|(k, _)| *k == key).map(|(_, j)| *j).collect()
        };
        assert_eq!(
            of_key(&started),
            of_key(jobs),
            "key {key}: each job once, in order"
        );
    }
    started.sort_unstable();
    let mut all = jobs.to_vec();
    all.sort_unstable();
    assert_eq!(started, all, "every job taken exactly once");
    let check = queue.idle_check();
    assert_eq!(
        check.idle_while_ready, 0,
        "a worker idled while a key was ready: {check:?}"
    );
}

#[test]
fn a_key_handed_back_after_every_job_is_taken_once() {
    // Two workers, no keeping: after each job the key goes back through the hand-off (to a
    // parked worker, or to the ready-queue), while the other key and the producer race it.
    model("a_key_handed_back_after_every_job_is_taken_once", || {
        run_jobs(2, 3, false, &[(0, 1), (0, 2), (1, 3)]);
    });
}

#[test]
fn a_kept_key_and_a_full_queue_lose_no_wake_up() {
    // A one-job queue: the producer blocks until a worker takes a job (its wake-up), the key is
    // kept by its worker while it has jobs, and the other worker may park and be handed key 1.
    model("a_kept_key_and_a_full_queue_lose_no_wake_up", || {
        run_jobs(2, 1, true, &[(0, 1), (0, 2), (1, 3)]);
    });
}

#[test]
fn close_releases_every_parked_worker() {
    // Two jobs of one key for two workers, the key kept: one worker may park with nothing to do
    // while the other runs the key, and must leave once the queue is closed and empty, whether
    // the close or the kept key's last job comes first (nothing is ever handed to it).
    model("close_releases_every_parked_worker", || {
        run_jobs(2, 2, true, &[(1, 1), (1, 2)]);
    });
}

#[test]
fn two_keys_taking_turns_on_two_workers() {
    // Two keys of two jobs each, interleaved, no keeping: every job after a key's first is made
    // ready by `done`, racing the other worker's `take` and the producer's `submit` of the key.
    model("two_keys_taking_turns_on_two_workers", || {
        run_jobs(2, 2, false, &[(0, 1), (1, 2), (0, 3), (1, 4)]);
    });
}
