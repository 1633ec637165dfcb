//! A reusable, generic worker pool: Go original 000/003's `WorkerPool` struct, made safe to
//! drop. See `main.rs` for it in use.
//!
//! ```
//! use struct_pool::WorkerPool;
//!
//! let pool = WorkerPool::new(2, 8, |_worker, &n: &u64| n * 2).expect("threads start");
//! for n in 0..4 {
//!     pool.submit(n).expect("the pool is open");
//! }
//! let mut outputs: Vec<u64> = pool.join().into_iter().filter_map(|done| done.result.ok()).collect();
//! outputs.sort();
//! assert_eq!(outputs, [0, 2, 4, 6]);
//! ```
//!
//! Backpressure works at both ends: `submit` blocks while the job queue is full, and workers block
//! while the results queue is full. So read results while you submit (from another thread, as
//! `main.rs` does) unless everything fits in the two queues.
//!
//! Beside the Rust Book's `ThreadPool` (ch. 21: any boxed closure, sent to workers that share one
//! `mpsc::Receiver` behind `Arc<Mutex<_>>`), this pool runs one job function on typed jobs and
//! adds what a program feeding it thousands of jobs needs:
//! - a bounded queue: `submit` waits (backpressure), `try_submit` refuses; the Book's channel is
//!   unbounded, so a fast producer grows it without limit;
//! - results, each with its job and submission number; the Book's `execute` returns nothing;
//! - panics as results: the worker keeps serving; in the Book a panic ends its worker's thread,
//!   and `Drop`'s `join().unwrap()` then panics too;
//! - `close` apart from drop: intake stops while the results are still read, and `join` returns
//!   the unread ones; the Book's pool only stops when dropped;
//! - an error from `new` if a thread cannot start (the Book's `thread::spawn` panics), and
//!   crossbeam's multi-consumer channel instead of the lock (the benches compare both).
//!
//! Beyond the lesson, each in its own module: `submit_batch` (`batch.rs`: one message for many
//! tiny jobs), the turn-taking that lets a `submit` blocked on a full queue hold no lock
//! (`slots.rs`), and `ordered_results` (`ordered.rs`: a reorder buffer).

mod batch;
mod ordered;
mod slots;
// std and crossbeam, or loom's types for the model in `tests/loom.rs` (`cargo xtask loom`).
mod sync;
#[cfg(test)]
mod tests;

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use batch::{Done, Results, Task};
pub use ordered::Ordered;
use slots::Slots;
use sync::channel::{self, Receiver, Sender, TrySendError};
use sync::{Arc, thread};

/// A job that has been run: its submission number, the worker that ran it, the job itself (handed
/// back, like Go's `Result{JobID}`, so a result always names its job, even after a panic), and its
/// output or the panic it raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed<J, R> {
    /// 0 for the first job submitted, 1 for the next, and so on.
    pub seq: u64,
    /// 1-based id of the worker that ran the job.
    pub worker: usize,
    /// The job, handed back.
    pub job: J,
    /// The job's output, or the panic it raised (boxed: rare, and it keeps results small).
    pub result: Result<R, Box<Panicked>>,
}

/// A panic caught on a worker: its message, and when it happened. Only a panic carries a time:
/// reading the clock costs more than a trivial job's whole dispatch, so a job function that wants
/// its jobs' times reads the clock itself (as `main.rs`'s reporter does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// The panic's message (`"Box<dyn Any>"` if it was not a string).
    pub message: String,
    /// When the job panicked, on the worker.
    pub at: Instant,
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why `submit` or `try_submit` gave the job back.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError<J> {
    /// The queue is full (only from `try_submit`).
    Full(J),
    /// The pool has been closed.
    Closed(J),
}

impl<J> SubmitError<J> {
    /// The job handed back, whatever the reason.
    pub fn into_job(self) -> J {
        match self {
            SubmitError::Full(job) | SubmitError::Closed(job) => job,
        }
    }
}

/// A fixed set of worker threads running `job_fn` on submitted jobs.
pub struct WorkerPool<J, R> {
    /// The job queue's sending end; numbers each job in queue order (see `slots.rs`).
    jobs: Slots<Task<J>>,
    results: Receiver<Done<J, R>>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl<J: Send + 'static, R: Send + 'static> WorkerPool<J, R> {
    /// Starts `workers` threads that run `job_fn(worker_id, &job)`; at most `queue_capacity` jobs
    /// wait in the queue while every worker is busy (0 makes every `submit` a hand-over to a free
    /// worker). The capacity counts messages: a batch takes one slot, whatever its length.
    pub fn new<F>(workers: usize, queue_capacity: usize, job_fn: F) -> std::io::Result<Self>
    where
        F: Fn(usize, &J) -> R + Send + Sync + 'static,
    {
        let (jobs_tx, jobs_rx) = channel::bounded::<Task<J>>(queue_capacity);
        let (results_tx, results) = channel::bounded(queue_capacity.max(workers));
        let job_fn = Arc::new(job_fn);
        let mut handles = Vec::with_capacity(workers);
        for id in 1..=workers {
            let (jobs_rx, results_tx, job_fn) = (jobs_rx.clone(), results_tx.clone(), Arc::clone(&job_fn));
            let spawned = thread::Builder::new()
                .name(format!("pool-worker-{id}"))
                .spawn(move || worker_loop(id, &jobs_rx, &results_tx, &*job_fn));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Close the queue so the workers already started exit, then join them.
                    drop((jobs_tx, results));
                    for handle in handles {
                        let _ = handle.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(WorkerPool {
            jobs: Slots::new(jobs_tx),
            results,
            workers: handles,
        })
    }

    /// Queues a job, blocking while the queue is full (backpressure), and returns its submission
    /// number. Gives the job back if the pool is closed, also while it waits. A blocked `submit`
    /// holds no lock: `try_submit` and `close` on other threads answer at once (see `slots.rs`).
    pub fn submit(&self, job: J) -> Result<u64, SubmitError<J>> {
        self.jobs
            .send(1, |seq| Task::One { seq, job })
            .map_err(|task| SubmitError::Closed(task.into_one()))
    }

    /// Queues a job if there is room now; otherwise gives it back at once (also while another
    /// thread is blocked in `submit`).
    pub fn try_submit(&self, job: J) -> Result<u64, SubmitError<J>> {
        self.jobs
            .try_send(|seq| Task::One { seq, job })
            .map_err(|e| match e {
                TrySendError::Full(task) => SubmitError::Full(task.into_one()),
                TrySendError::Disconnected(task) => SubmitError::Closed(task.into_one()),
            })
    }

    /// Closes the queue: no more jobs are accepted; the workers finish the queued ones and exit.
    /// A `submit` blocked on a full queue wakes and gets its job back (`SubmitError::Closed`).
    pub fn close(&self) {
        self.jobs.close();
    }

    /// Results as they complete. The iterator ends once the pool is closed and every submitted job
    /// has been reported (so close the pool, from any thread, or it waits forever).
    pub fn results(&self) -> impl Iterator<Item = Completed<J, R>> + '_ {
        Results::new(&self.results)
    }

    /// Closes the pool, waits for every queued job, joins every worker, and returns the results
    /// nobody has read yet.
    pub fn join(mut self) -> Vec<Completed<J, R>> {
        let mut unread = Vec::new();
        self.shutdown(|done| unread.push(done));
        unread
    }
}

impl<J, R> WorkerPool<J, R> {
    /// Closes the pool, drains the results into `unread` (so that a worker blocked on a full
    /// results queue can finish; they end when the last worker exits), and joins every worker.
    fn shutdown(&mut self, unread: impl FnMut(Completed<J, R>)) {
        self.jobs.close();
        Results::new(&self.results).for_each(unread);
        for handle in self.workers.drain(..) {
            // A worker never panics: job panics are caught in `worker_loop`.
            let _ = handle.join();
        }
    }
}

impl<J, R> Drop for WorkerPool<J, R> {
    /// Closes the pool and joins every worker, so no thread outlives the pool. Jobs already queued
    /// still run; their results are discarded.
    fn drop(&mut self) {
        self.shutdown(drop);
    }
}

/// One worker: run jobs until the queue is closed and empty. A panicking job becomes an `Err`
/// result carrying the panic message, and the worker keeps serving (Go 002 "Handle Panics").
fn worker_loop<J, R>(
    id: usize,
    jobs: &Receiver<Task<J>>,
    results: &Sender<Done<J, R>>,
    job_fn: &impl Fn(usize, &J) -> R,
) {
    let run = |job: &J| {
        catch_unwind(AssertUnwindSafe(|| job_fn(id, job))).map_err(|p| {
            Box::new(Panicked {
                message: common::panic_message(&*p),
                at: Instant::now(),
            })
        })
    };
    for task in jobs {
        if results.send(task.run(id, run)).is_err() {
            break; // the pool is gone
        }
    }
}
