//! The lesson's tests: panics as results, `try_submit` on a full queue, a queue of zero, `Drop`,
//! and `submit` after `close`. Batches, the turn-taking and the reorder buffer are tested in
//! their own modules.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam::channel;

use crate::{SubmitError, WorkerPool};

#[test]
fn a_panicking_job_becomes_a_failed_result_and_the_worker_keeps_serving() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the expected panics out of the test output
    let pool = WorkerPool::new(1, 4, |_, &n: &u32| {
        assert!(n != 2, "job {n} exploded");
        n
    })
    .expect("start");
    for n in 0..5 {
        pool.submit(n).expect("open");
    }
    let results = pool.join();
    std::panic::set_hook(previous);
    assert_eq!(results.len(), 5);
    let failed: Vec<_> = results.iter().filter(|c| c.result.is_err()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].seq, 2);
    assert!(
        failed[0]
            .result
            .as_ref()
            .err()
            .is_some_and(|p| p.message.contains("job 2 exploded"))
    );
    // The single worker ran every job, including those after the panic.
    assert!(results.iter().all(|c| c.worker == 1));
}

#[test]
fn try_submit_on_a_full_queue_gives_the_job_back() {
    let (gate_tx, gate_rx) = channel::bounded::<()>(0);
    let pool = WorkerPool::new(1, 1, move |_, &n: &u32| {
        let _ = gate_rx.recv(); // blocks until the test lets it go
        n
    })
    .expect("start");
    pool.submit(1).expect("taken by the worker");
    // Wait until the worker holds job 1, then the queue's one slot fills.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.try_submit(2).is_err() {
        assert!(Instant::now() < deadline, "the queue never had room");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pool.try_submit(3), Err(SubmitError::Full(3)));
    drop(gate_tx); // release the worker
    let mut seqs: Vec<u64> = pool.join().into_iter().map(|c| c.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [0, 1], "numbers have no gap for the refused job");
}

#[test]
fn a_queue_of_zero_hands_each_job_to_a_free_worker() {
    let pool = WorkerPool::new(2, 0, |_, &n: &u64| n * 2).expect("start");
    let sum: u64 = std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0..200 {
                pool.submit(n).expect("open");
            }
            pool.close();
        });
        pool.results().filter_map(|c| c.result.ok()).sum()
    });
    assert_eq!(sum, (0..200).map(|n| n * 2).sum::<u64>());
}

#[test]
fn drop_waits_for_queued_jobs_and_joins_every_thread() {
    let done = Arc::new(AtomicUsize::new(0));
    let witness = Arc::new(());
    {
        let (done, witness) = (Arc::clone(&done), Arc::clone(&witness));
        let pool = WorkerPool::new(3, 16, move |_, &n: &u64| {
            let _keep = &witness;
            std::thread::sleep(Duration::from_millis(10));
            done.fetch_add(1, Ordering::SeqCst);
            n
        })
        .expect("start");
        for n in 0..9 {
            pool.submit(n).expect("open");
        }
    } // dropped here, results unread
    assert_eq!(done.load(Ordering::SeqCst), 9);
    // The job function (and so every worker closure holding it) is gone: all threads ended.
    assert_eq!(Arc::strong_count(&witness), 1);
}

#[test]
fn submit_after_close_is_refused() {
    let pool = WorkerPool::new(2, 2, |_, &n: &u8| n).expect("start");
    pool.close();
    assert_eq!(pool.submit(7), Err(SubmitError::Closed(7)));
    assert!(pool.join().is_empty());
}

#[test]
fn zero_jobs_and_more_workers_than_jobs() {
    let empty = WorkerPool::new(4, 0, |_, &n: &u8| n).expect("start");
    assert!(empty.join().is_empty());
    let pool = WorkerPool::new(16, 4, |_, &n: &u8| n).expect("start");
    for n in 0..3 {
        pool.submit(n).expect("open");
    }
    let results = pool.join();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|c| (1..=16).contains(&c.worker)));
}
