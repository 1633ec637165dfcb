//! Per-job dispatch cost: the same 100,000 trivial jobs (output = value × 2) on 2 workers through
//! - `WorkerPool` with `submit` (one channel message per job each way),
//! - `WorkerPool` with `submit_batch` (one message per batch each way),
//! - a bare crossbeam pool (the `basic` example's channels without reporting or gauge),
//! - std `mpsc` with the receiver shared as `Arc<Mutex<Receiver>>` (the Rust Book's design).
//!
//! Each iteration starts the workers, feeds every job from a producer thread, collects every
//! result on the bench thread, and joins, so it is the whole cost of a run, per job.
//!
//! Run with: cargo bench -p struct-pool

use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use divan::{Bencher, black_box, counter::ItemsCount};
use struct_pool::WorkerPool;

const JOBS: u64 = 100_000;
const WORKERS: usize = 2;
const QUEUE: usize = 1024;

fn main() {
    divan::main();
}

fn job(n: u64) -> u64 {
    black_box(n) * 2
}

fn expected() -> u64 {
    (0..JOBS).map(|n| n * 2).sum()
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn worker_pool_submit(bencher: Bencher<'_, '_>) {
    bencher.counter(ItemsCount::new(JOBS)).bench_local(|| {
        let pool = WorkerPool::new(WORKERS, QUEUE, |_, &n: &u64| job(n)).expect("threads start");
        let sum: u64 = thread::scope(|s| {
            s.spawn(|| {
                for n in 0..JOBS {
                    pool.submit(n).expect("open");
                }
                pool.close();
            });
            pool.results().filter_map(|done| done.result.ok()).sum()
        });
        assert_eq!(sum, expected());
        pool.join();
    });
}

#[divan::bench(sample_count = 20, sample_size = 1, args = [16, 256, 4096])]
fn worker_pool_submit_batch(bencher: Bencher<'_, '_>, batch: u64) {
    bencher.counter(ItemsCount::new(JOBS)).bench_local(|| {
        let pool = WorkerPool::new(WORKERS, QUEUE.div_ceil(batch as usize).max(2), |_, &n: &u64| {
            job(n)
        })
        .expect("threads start");
        let sum: u64 = thread::scope(|s| {
            s.spawn(|| {
                let mut start = 0;
                while start < JOBS {
                    let end = (start + batch).min(JOBS);
                    pool.submit_batch((start..end).collect()).expect("open");
                    start = end;
                }
                pool.close();
            });
            pool.results().filter_map(|done| done.result.ok()).sum()
        });
        assert_eq!(sum, expected());
        pool.join();
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn bare_crossbeam(bencher: Bencher<'_, '_>) {
    use crossbeam::channel;
    bencher.counter(ItemsCount::new(JOBS)).bench_local(|| {
        let (jobs_tx, jobs_rx) = channel::bounded::<u64>(QUEUE);
        let (results_tx, results_rx) = channel::bounded::<u64>(QUEUE);
        let sum: u64 = thread::scope(|s| {
            for _ in 0..WORKERS {
                let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
                s.spawn(move || {
                    for n in jobs_rx {
                        if results_tx.send(job(n)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((jobs_rx, results_tx));
            s.spawn(move || {
                for n in 0..JOBS {
                    if jobs_tx.send(n).is_err() {
                        break;
                    }
                }
            });
            results_rx.iter().sum()
        });
        assert_eq!(sum, expected());
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn std_mpsc_arc_mutex_receiver(bencher: Bencher<'_, '_>) {
    bencher.counter(ItemsCount::new(JOBS)).bench_local(|| {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<u64>(QUEUE);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (results_tx, results_rx) = mpsc::sync_channel::<u64>(QUEUE);
        let sum: u64 = thread::scope(|s| {
            for _ in 0..WORKERS {
                let (jobs_rx, results_tx) = (Arc::clone(&jobs_rx), results_tx.clone());
                s.spawn(move || {
                    loop {
                        // The Book's worker: hold the lock only while receiving.
                        let next = jobs_rx.lock().expect("no worker panics holding the lock").recv();
                        let Ok(n) = next else { break };
                        if results_tx.send(job(n)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(results_tx);
            s.spawn(move || {
                for n in 0..JOBS {
                    if jobs_tx.send(n).is_err() {
                        break;
                    }
                }
            });
            results_rx.iter().sum()
        });
        assert_eq!(sum, expected());
    });
}
