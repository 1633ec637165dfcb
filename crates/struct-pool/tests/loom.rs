//! Model checks of `WorkerPool`'s synchronization with loom: each model runs a tiny pool (1–2
//! workers, 2–3 jobs) under every interleaving of its threads that loom's scheduler can tell
//! apart, up to a bound on preemptions, and checks what must hold in all of them: every job
//! submitted is delivered exactly once (no lost job, no double delivery), numbers are given out
//! without a gap, `close` wakes a `submit` blocked on a full queue (a lost wake-up or a deadlock
//! on close is reported by loom as a deadlock: every thread blocked), a panicking job is a result
//! and its worker keeps serving, batches and ordered results keep their numbers, and `Drop` joins
//! every worker.
//!
//! Run with `cargo xtask loom` (it builds with `RUSTFLAGS="--cfg loom"` into its own target
//! folder). The preemption bound is `LOOM_MAX_PREEMPTIONS`, 2 if unset: the bugs these models
//! look for (a wake-up sent between a check and a wait, a turn handed to nobody, a number taken
//! twice) need one thread preempted inside a critical window and another acting there, which two
//! preemptions already cover; loom's own documentation suggests 2–3 as enough in practice.
//!
//! What the models do not cover:
//! - crossbeam-channel itself: under loom the two queues are `src/sync.rs`'s Mutex-and-Condvar
//!   queue with the same contract (and a capacity-0 queue is only approximated there);
//! - the spinning `Backoff` before a blocked send (under loom it goes straight to the blocking
//!   send, which is the part that needs a wake-up);
//! - weak memory effects inside crossbeam, and more threads or jobs than loom can enumerate;
//! - `main.rs` (the example's reporter, Ctrl-C and flags).

#![cfg(loom)]

use harness::loom_model::{Gate, model};
use loom::sync::Arc;
use loom::thread;
use struct_pool::{SubmitError, WorkerPool};

/// The submission numbers of `results`, sorted.
fn seqs<J, R>(results: &[struct_pool::Completed<J, R>]) -> Vec<u64> {
    let mut seqs: Vec<u64> = results.iter().map(|done| done.seq).collect();
    seqs.sort_unstable();
    seqs
}

#[test]
fn every_job_is_delivered_exactly_once() {
    // Two workers and a one-slot queue: the second submit may find the queue full and wait for a
    // worker to make room; `join` closes, drains and joins.
    model("every_job_is_delivered_exactly_once", || {
        let pool = WorkerPool::new(2, 1, |_, &n: &u64| n * 10).expect("threads start");
        assert_eq!(pool.submit(0), Ok(0));
        assert_eq!(pool.submit(1), Ok(1));
        let results = pool.join();
        assert_eq!(seqs(&results), [0, 1], "each job delivered once");
        for done in &results {
            assert_eq!(done.result, Ok(done.job * 10));
            assert!((1..=2).contains(&done.worker));
        }
    });
}

#[test]
fn close_wakes_a_blocked_submit_and_leaves_no_gap() {
    // One worker held on its job until the pool is closed, a one-slot queue, three submits on one
    // thread while another closes the pool: the third submit can only return because `close`
    // wakes it (nothing else makes room), and whatever the order, every submit returns, the
    // numbers handed out are 0, 1, ... without a gap, and exactly those jobs run.
    model("close_wakes_a_blocked_submit_and_leaves_no_gap", || {
        let gate = Gate::new();
        let held = gate.clone();
        let pool = Arc::new(
            WorkerPool::new(1, 1, move |_, &n: &u64| {
                held.wait();
                n
            })
            .expect("threads start"),
        );
        let submitter = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let mut given = Vec::new();
                for job in 0..3u64 {
                    match pool.submit(job) {
                        Ok(seq) => given.push(seq),
                        Err(refused) => assert_eq!(refused, SubmitError::Closed(job)),
                    }
                }
                given
            })
        };
        pool.close();
        let given = submitter.join().expect("the submitter does not panic");
        gate.open();
        assert_eq!(given, (0..given.len() as u64).collect::<Vec<_>>(), "no gap");
        let pool = Arc::try_unwrap(pool).unwrap_or_else(|_| panic!("the submitter is gone"));
        assert_eq!(
            seqs(&pool.join()),
            given,
            "every number given out ran, and only those"
        );
    });
}

#[test]
fn try_submit_answers_while_a_submit_waits() {
    // Two submitting threads on a one-worker, one-slot pool: one submits twice (the second may
    // wait for room, holding its turn), the other try_submits once. try_submit never waits; the
    // numbers are 0.. without a gap whoever wins; each job is delivered once.
    model("try_submit_answers_while_a_submit_waits", || {
        let pool = Arc::new(WorkerPool::new(1, 1, |_, &n: &u64| n).expect("threads start"));
        let other = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || match pool.try_submit(9) {
                Ok(seq) => Some(seq),
                Err(refused) => {
                    assert_eq!(refused, SubmitError::Full(9));
                    None
                }
            })
        };
        let mut given = vec![pool.submit(0).expect("open"), pool.submit(1).expect("open")];
        given.extend(other.join().expect("try_submit does not panic"));
        given.sort_unstable();
        assert_eq!(given, (0..given.len() as u64).collect::<Vec<_>>(), "no gap");
        let pool = Arc::try_unwrap(pool).unwrap_or_else(|_| panic!("the other thread is gone"));
        assert_eq!(seqs(&pool.join()), given, "each job delivered once");
    });
}

#[test]
fn a_panicking_job_is_a_result_and_its_worker_keeps_serving() {
    // Quiet about the job's own panic only: loom's failures still print.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.to_string().contains("exploded") {
            previous(info);
        }
    }));
    model("a_panicking_job_is_a_result_and_its_worker_keeps_serving", || {
        let pool = WorkerPool::new(1, 1, |_, &n: &u64| {
            assert!(n != 0, "job {n} exploded");
            n
        })
        .expect("threads start");
        pool.submit(0).expect("open");
        pool.submit(1).expect("open");
        let results = pool.join();
        assert_eq!(seqs(&results), [0, 1]);
        for done in results {
            match done.seq {
                0 => assert_eq!(done.result.map_err(|p| p.message), Err("job 0 exploded".into())),
                _ => assert_eq!(done.result, Ok(1)),
            }
        }
    });
}

#[test]
fn batches_and_ordered_results_keep_their_numbers() {
    // A batch of two and a single job on two workers, read in order: 0, 1, 2 whatever order the
    // workers finish in. (Read after `close` on the submitting thread: both results messages fit
    // the results queue, and a separate reader thread would multiply the interleavings past what
    // a preemption bound of 3 can explore.)
    model("batches_and_ordered_results_keep_their_numbers", || {
        let pool = WorkerPool::new(2, 1, |_, &n: &u64| n).expect("threads start");
        assert_eq!(pool.submit_batch(vec![10, 11]), Ok(0..2));
        assert_eq!(pool.submit(12), Ok(2));
        pool.close();
        let order: Vec<(u64, u64)> = pool
            .ordered_results()
            .map(|done| (done.seq, done.result.unwrap_or(u64::MAX)))
            .collect();
        assert_eq!(order, [(0, 10), (1, 11), (2, 12)]);
        assert!(pool.join().is_empty(), "the reader had them all");
    });
}

#[test]
fn drop_with_unread_results_joins_every_worker() {
    // More results than the results queue holds and nobody reading: Drop must drain them for
    // the workers to finish, then join them (loom fails a model that leaves a thread blocked).
    model("drop_with_unread_results_joins_every_worker", || {
        let witness = Arc::new(());
        {
            let witness = Arc::clone(&witness);
            let pool = WorkerPool::new(1, 1, move |_, &n: &u64| {
                let _keep = &witness;
                n
            })
            .expect("threads start");
            for job in 0..3 {
                pool.submit(job).expect("open");
            }
        }
        assert_eq!(
            Arc::strong_count(&witness),
            1,
            "the worker and its job function are gone"
        );
    });
}
