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
//! For tiny jobs the per-job channel operations dominate, so `submit_batch` sends a `Vec` of jobs
//! as one message; the worker that takes it runs them one by one (each panic still fails only its
//! own job) and sends their results back as one message too. `results()` hands them out one by
//! one either way, with consecutive submission numbers for the jobs of a batch.
//!
//! ```
//! use struct_pool::WorkerPool;
//!
//! let pool = WorkerPool::new(2, 4, |_worker, &n: &u64| n * 2).expect("threads start");
//! assert_eq!(pool.submit_batch((0..100).collect()).expect("the pool is open"), 0..100);
//! assert_eq!(pool.submit(100).expect("the pool is open"), 100);
//! let mut outputs: Vec<u64> = pool.join().into_iter().filter_map(|done| done.result.ok()).collect();
//! outputs.sort();
//! assert_eq!(outputs, (0..=100).map(|n| n * 2).collect::<Vec<_>>());
//! ```
//!
//! Backpressure works at both ends: `submit` blocks while the job queue is full, and workers block
//! while the results queue is full. So read results while you submit (from another thread, as
//! `main.rs` does) unless everything fits in the two queues.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam::channel::{self, Receiver, Sender, TrySendError};
use crossbeam::utils::Backoff;

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
    /// The job's output, or the panic it raised (boxed: a panic is rare, and a small result keeps
    /// each message on the results queue small).
    pub result: Result<R, Box<Panicked>>,
}

/// A panic caught on a worker: its message, and when it happened.
///
/// Only a panic carries a time. Reading the clock costs more than a trivial job (about 40 ns on
/// this virtual machine, against 10 ns of dispatch), so the pool does not time jobs that return;
/// a job function that wants their times reads the clock itself (as `main.rs`'s reporter does).
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
    pub fn into_job(self) -> J {
        match self {
            SubmitError::Full(job) | SubmitError::Closed(job) => job,
        }
    }
}

/// One message on the job queue: a single job, or a batch whose jobs are numbered `first..`.
enum Task<J> {
    One { seq: u64, job: J },
    Batch { first: u64, jobs: Vec<J> },
}

/// One message on the results queue: the result of a single job, or of a whole batch.
enum Done<J, R> {
    One(Completed<J, R>),
    Batch(Vec<Completed<J, R>>),
}

/// The submitting end: the queue's only `Sender` and the next submission number, under one lock
/// so that numbers follow queue order even with several submitting threads. The lock is held only
/// for a `try_send`, never while a submitter waits (see [`WorkerPool::submit`]).
struct Queue<J> {
    /// `None` once closed: dropping the only `Sender` closes the queue (Go's `close(jobs)`).
    tx: Option<Sender<Task<J>>>,
    next_seq: u64,
    /// A submitter found the queue full and waits, outside the lock, to send the message it has
    /// already numbered. Until it is done nobody else sends, so numbers still follow queue order.
    sending: bool,
    /// Submitters waiting for that one to finish (on `WorkerPool::turn`).
    queued: usize,
    /// Dropped by `close`: wakes that waiting submitter (nothing is ever sent on it).
    closing: Option<Sender<()>>,
}

/// A fixed set of worker threads running `job_fn` on submitted jobs.
pub struct WorkerPool<J, R> {
    queue: Mutex<Queue<J>>,
    /// Notified when `sending` ends or the pool closes: wakes submitters waiting for their turn.
    turn: Condvar,
    /// Ready (disconnected) once the pool is closed: a blocked submitter selects on it.
    closed: Receiver<()>,
    results: Receiver<Done<J, R>>,
    workers: Vec<JoinHandle<()>>,
    /// Submitters blocked on a full queue (tests use it to know a `submit` is blocked).
    #[cfg(test)]
    waiting: std::sync::atomic::AtomicUsize,
}

impl<J: Send + 'static, R: Send + 'static> WorkerPool<J, R> {
    /// Starts `workers` threads that run `job_fn(worker_id, &job)`; at most `queue_capacity` jobs wait
    /// in the queue while every worker is busy (0 makes every `submit` a hand-over to a free
    /// worker). The capacity counts messages: a batch takes one slot, whatever its length.
    pub fn new<F>(workers: usize, queue_capacity: usize, job_fn: F) -> std::io::Result<Self>
    where
        F: Fn(usize, &J) -> R + Send + Sync + 'static,
    {
        let (jobs_tx, jobs_rx) = channel::bounded::<Task<J>>(queue_capacity);
        let (closing, closed) = channel::bounded::<()>(0);
        let (results_tx, results) = channel::bounded(queue_capacity.max(workers));
        let job_fn = Arc::new(job_fn);
        let mut handles = Vec::with_capacity(workers);
        for id in 1..=workers {
            let (jobs_rx, results_tx, job_fn) = (jobs_rx.clone(), results_tx.clone(), Arc::clone(&job_fn));
            let spawned = std::thread::Builder::new()
                .name(format!("pool-worker-{id}"))
                .spawn(move || worker_loop(id, &jobs_rx, &results_tx, &*job_fn));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Close the queue so the workers already started exit, then join them.
                    drop(jobs_tx);
                    drop(results);
                    for handle in handles {
                        let _ = handle.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(WorkerPool {
            queue: Mutex::new(Queue {
                tx: Some(jobs_tx),
                next_seq: 0,
                sending: false,
                queued: 0,
                closing: Some(closing),
            }),
            turn: Condvar::new(),
            closed,
            results,
            workers: handles,
            #[cfg(test)]
            waiting: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn queue(&self) -> MutexGuard<'_, Queue<J>> {
        // Nothing panics while holding the lock, so a poisoned lock still holds a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers and queues one message, waiting while the queue is full, and returns its first
    /// number; gives the message back if the pool is closed (also while it waits).
    ///
    /// The fast path takes the lock, numbers the message and `try_send`s it: one uncontended lock
    /// and one channel operation, as cheap as a plain `send` when there is room. On a full queue
    /// the submitter keeps its numbers, marks the queue `sending`, and waits *outside* the lock
    /// for room or for `close`. While it waits, other submitters wait for their turn (also
    /// without the lock) and `try_submit` answers `Full`, so nobody overtakes the numbered message.
    fn enqueue(&self, count: u64, make: impl FnOnce(u64) -> Task<J>) -> Result<u64, Task<J>> {
        let mut queue = self.queue();
        while queue.sending && queue.tx.is_some() {
            queue.queued += 1;
            queue = self.turn.wait(queue).unwrap_or_else(PoisonError::into_inner);
            queue.queued -= 1;
        }
        let first = queue.next_seq;
        let task = make(first);
        let Some(tx) = &queue.tx else {
            return Err(task);
        };
        let task = match tx.try_send(task) {
            Ok(()) => {
                queue.next_seq += count;
                return Ok(first);
            }
            // Every worker is gone (they exit only once the queue is closed).
            Err(TrySendError::Disconnected(task)) => return Err(task),
            Err(TrySendError::Full(task)) => task,
        };
        let tx = tx.clone();
        queue.sending = true;
        queue.next_seq += count;
        drop(queue);
        let sent = self.send_when_room(&tx, task);
        drop(tx); // a closed pool's queue ends only once every `Sender` is gone
        let mut queue = self.queue();
        queue.sending = false;
        if sent.is_err() {
            // Nobody took a number meanwhile (they waited for this turn), so give them back.
            queue.next_seq -= count;
        }
        // (A notify is a system call even with nobody waiting: skip it then.)
        if queue.queued > 0 {
            self.turn.notify_all();
        }
        drop(queue);
        sent.map(|()| first)
    }

    /// Sends `task` on the full queue once a worker makes room, or gives it back if the pool is
    /// closed first. Called without the lock.
    fn send_when_room(&self, tx: &Sender<Task<J>>, mut task: Task<J>) -> Result<(), Task<J>> {
        // A worker usually makes room within microseconds: retry a few times, spinning and then
        // yielding (what crossbeam's own blocking `send` does before it sleeps).
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            task = match tx.try_send(task) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(task)) => return Err(task),
                Err(TrySendError::Full(task)) => task,
            };
        }
        #[cfg(test)]
        self.waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sent = crossbeam::select! {
            send(tx, task) -> sent => sent.map_err(|e| e.into_inner()),
            recv(self.closed) -> _ => Err(task),
        };
        #[cfg(test)]
        self.waiting.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        sent
    }

    /// Queues a job, blocking while the queue is full (backpressure), and returns its submission
    /// number. Gives the job back if the pool is closed, also while it waits.
    ///
    /// The wait happens *outside* the lock (see `enqueue`): `try_submit` and `close` on other
    /// threads never wait behind a blocked `submit` (a reader that closes the pool while a
    /// submitter waits cannot deadlock), and numbers still follow queue order.
    pub fn submit(&self, job: J) -> Result<u64, SubmitError<J>> {
        self.enqueue(1, |seq| Task::One { seq, job })
            .map_err(|task| SubmitError::Closed(task.into_one()))
    }

    /// Queues `jobs` as one message, blocking while the queue is full, and returns their
    /// submission numbers (consecutive, in the `Vec`'s order). One worker runs the whole batch and
    /// sends its results back as one message, so a batch costs one channel operation at each end
    /// instead of one per job. An empty `Vec` queues nothing. Gives the jobs back if the pool is
    /// closed.
    pub fn submit_batch(&self, jobs: Vec<J>) -> Result<Range<u64>, SubmitError<Vec<J>>> {
        if jobs.is_empty() {
            let queue = self.queue();
            return match queue.tx {
                Some(_) => Ok(queue.next_seq..queue.next_seq),
                None => Err(SubmitError::Closed(jobs)),
            };
        }
        let count = jobs.len() as u64;
        self.enqueue(count, |first| Task::Batch { first, jobs })
            .map(|first| first..first + count)
            .map_err(|task| SubmitError::Closed(task.into_jobs()))
    }

    /// Queues a job if there is room now; otherwise gives it back at once (also while another
    /// thread is blocked in `submit`).
    pub fn try_submit(&self, job: J) -> Result<u64, SubmitError<J>> {
        let mut queue = self.queue();
        let Some(tx) = &queue.tx else {
            return Err(SubmitError::Closed(job));
        };
        if queue.sending {
            // A submitter waits for room: the queue is full, and it goes first.
            return Err(SubmitError::Full(job));
        }
        let seq = queue.next_seq;
        match tx.try_send(Task::One { seq, job }) {
            Ok(()) => {
                queue.next_seq += 1;
                Ok(seq)
            }
            Err(TrySendError::Full(task)) => Err(SubmitError::Full(task.into_one())),
            Err(TrySendError::Disconnected(task)) => Err(SubmitError::Closed(task.into_one())),
        }
    }

    /// Closes the queue: no more jobs are accepted; the workers finish the queued ones and exit.
    /// A `submit` blocked on a full queue wakes and gets its job back (`SubmitError::Closed`).
    pub fn close(&self) {
        let mut queue = self.queue();
        queue.tx.take();
        queue.closing.take();
        drop(queue);
        self.turn.notify_all();
    }

    /// Results as they complete. The iterator ends once the pool is closed and every submitted job
    /// has been reported (so close the pool, from any thread, or it waits forever).
    /// The results of a batch come out one by one, together.
    pub fn results(&self) -> impl Iterator<Item = Completed<J, R>> + '_ {
        Results {
            rx: &self.results,
            batch: Vec::new().into_iter(),
        }
    }

    /// Results in submission order, held back in a reorder buffer until their turn comes.
    pub fn ordered_results(&self) -> Ordered<impl Iterator<Item = Completed<J, R>> + '_, J, R> {
        Ordered::new(self.results())
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
    /// Closes the pool, drains the results into `unread`, and joins every worker. Draining is what
    /// lets a worker blocked on a full results queue finish and exit; the results end when the
    /// last worker has dropped its results sender.
    fn shutdown(&mut self, mut unread: impl FnMut(Completed<J, R>)) {
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.tx.take();
            queue.closing.take();
        }
        self.turn.notify_all();
        Results {
            rx: &self.results,
            batch: Vec::new().into_iter(),
        }
        .for_each(&mut unread);
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
        let done = match task {
            Task::One { seq, job } => Done::One(Completed {
                seq,
                worker: id,
                result: run(&job),
                job,
            }),
            Task::Batch { first, jobs } => Done::Batch(
                (first..)
                    .zip(jobs)
                    .map(|(seq, job)| Completed {
                        seq,
                        worker: id,
                        result: run(&job),
                        job,
                    })
                    .collect(),
            ),
        };
        if results.send(done).is_err() {
            break; // the pool is gone
        }
    }
}

impl<J> Task<J> {
    /// The job of a message sent by `submit`/`try_submit` (which only send `Task::One`).
    fn into_one(self) -> J {
        match self {
            Task::One { job, .. } => job,
            // Cannot happen: a send error hands back the very message that was sent.
            Task::Batch { .. } => unreachable!("submit and try_submit only send Task::One"),
        }
    }

    /// The jobs of a message sent by `submit_batch`.
    fn into_jobs(self) -> Vec<J> {
        match self {
            Task::One { job, .. } => vec![job],
            Task::Batch { jobs, .. } => jobs,
        }
    }
}

/// The results queue, one result at a time: a single job's result as it comes, a batch's one by
/// one. (A plain loop rather than `flat_map`: the reader pays this per job.)
struct Results<'a, J, R> {
    rx: &'a Receiver<Done<J, R>>,
    /// What is left of the batch being handed out.
    batch: std::vec::IntoIter<Completed<J, R>>,
}

impl<J, R> Iterator for Results<'_, J, R> {
    type Item = Completed<J, R>;

    fn next(&mut self) -> Option<Completed<J, R>> {
        loop {
            if let Some(done) = self.batch.next() {
                return Some(done);
            }
            match self.rx.recv().ok()? {
                Done::One(done) => return Some(done),
                Done::Batch(batch) => self.batch = batch.into_iter(),
            }
        }
    }
}

/// Puts completed jobs back into submission order (a reorder buffer keyed by `seq`).
pub struct Ordered<I, J, R> {
    inner: I,
    next: u64,
    held: BTreeMap<u64, Completed<J, R>>,
}

impl<I: Iterator<Item = Completed<J, R>>, J, R> Ordered<I, J, R> {
    pub fn new(inner: I) -> Self {
        Ordered {
            inner,
            next: 0,
            held: BTreeMap::new(),
        }
    }

    /// How many results are waiting for an earlier one.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

impl<I: Iterator<Item = Completed<J, R>>, J, R> Iterator for Ordered<I, J, R> {
    type Item = Completed<J, R>;

    fn next(&mut self) -> Option<Completed<J, R>> {
        loop {
            if let Some(done) = self.held.remove(&self.next) {
                self.next += 1;
                return Some(done);
            }
            match self.inner.next() {
                Some(done) => {
                    self.held.insert(done.seq, done);
                }
                // The source is exhausted: whatever is held (only if numbers were skipped) comes
                // out in order rather than being lost.
                None => return self.held.pop_first().map(|(_, done)| done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

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
    fn a_blocked_submit_does_not_hold_up_try_submit_or_close() {
        let (started_tx, started_rx) = channel::unbounded::<u32>();
        let (gate_tx, gate_rx) = channel::bounded::<()>(0);
        let pool = WorkerPool::new(1, 1, move |_, &n: &u32| {
            let _ = started_tx.send(n);
            let _ = gate_rx.recv(); // blocks until the test lets it go
            n
        })
        .expect("start");
        pool.submit(0).expect("open");
        assert_eq!(started_rx.recv(), Ok(0), "the worker holds job 0");
        pool.submit(1).expect("open"); // the queue's one slot: now it is full
        std::thread::scope(|s| {
            let blocked = s.spawn(|| pool.submit(2));
            // Wait until that submit is inside its blocking wait (no clock: it either gets there
            // or returns, which would be a failure).
            while pool.waiting.load(Ordering::SeqCst) == 0 {
                assert!(!blocked.is_finished(), "submit on a full queue did not block");
                std::thread::yield_now();
            }
            // With the lock held across the blocking send, both of these would wait for ever.
            assert_eq!(pool.try_submit(3), Err(SubmitError::Full(3)));
            pool.close();
            // Closing wakes the blocked submit, which gets its job back.
            assert_eq!(
                blocked.join().expect("submit does not panic"),
                Err(SubmitError::Closed(2))
            );
        });
        assert_eq!(pool.try_submit(4), Err(SubmitError::Closed(4)));
        drop(gate_tx); // release the worker
        let mut seqs: Vec<u64> = pool.join().into_iter().map(|c| c.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, [0, 1], "the refused and the closed-out jobs took no number");
    }

    #[test]
    fn numbers_follow_queue_order_with_several_submitters() {
        // One worker and a one-slot queue: jobs run in queue order, so with every submitter
        // blocking in turn, the numbers the worker sees must rise one by one.
        let pool = WorkerPool::new(1, 1, |_, &n: &u64| n).expect("start");
        std::thread::scope(|s| {
            let reader = s.spawn(|| pool.results().map(|c| c.seq).collect::<Vec<u64>>());
            let submitters: Vec<_> = (0..4u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        for n in 0..50 {
                            pool.submit(t * 100 + n).expect("open");
                        }
                    })
                })
                .collect();
            for submitter in submitters {
                submitter.join().expect("no panic");
            }
            pool.close();
            let order = reader.join().expect("no panic");
            assert_eq!(order, (0..200).collect::<Vec<_>>());
        });
    }

    #[test]
    fn close_while_several_submitters_wait_leaves_no_gap_in_the_numbers() {
        // One worker held on its first job and a one-slot queue: every other submit waits, one
        // for room and the rest for their turn. Closing hands each its job back; the numbers
        // given out (by submit and in the results) are exactly 0, 1, ... with none skipped.
        let (gate_tx, gate_rx) = channel::bounded::<()>(0);
        let pool = WorkerPool::new(1, 1, move |_, &n: &u64| {
            let _ = gate_rx.recv();
            n
        })
        .expect("start");
        let numbers = std::thread::scope(|s| {
            let submitters: Vec<_> = (0..4u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        (0..5)
                            .filter_map(|n| pool.submit(t * 10 + n).ok())
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            while pool.waiting.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            pool.close();
            drop(gate_tx); // release the worker
            let mut numbers: Vec<u64> = submitters
                .into_iter()
                .flat_map(|submitter| submitter.join().expect("no panic"))
                .collect();
            numbers.sort_unstable();
            numbers
        });
        let mut seqs: Vec<u64> = pool.join().into_iter().map(|c| c.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, numbers, "every number given out ran, and only those");
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "no gap");
        assert!(
            !seqs.is_empty() && seqs.len() < 20,
            "the first job ran; the queue held back the rest"
        );
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
    fn ordered_results_come_in_submission_order() {
        let pool = WorkerPool::new(4, 64, |_, &n: &u64| {
            // Later jobs finish sooner, so completion order is scrambled.
            std::thread::sleep(Duration::from_millis(20 - n));
            n
        })
        .expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                for n in 0..20 {
                    pool.submit(n).expect("open");
                }
                pool.close();
            });
            let order: Vec<u64> = pool.ordered_results().map(|c| c.seq).collect();
            assert_eq!(order, (0..20).collect::<Vec<_>>());
        });
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

    #[test]
    fn batches_are_numbered_in_order_and_every_job_runs_once() {
        let pool = WorkerPool::new(3, 2, |worker, &n: &u64| (worker, n * 2)).expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(pool.submit(1000).expect("open"), 0);
                assert_eq!(pool.submit_batch((0..10).collect()).expect("open"), 1..11);
                assert_eq!(pool.submit_batch(Vec::new()).expect("open"), 11..11);
                for chunk in 0..50u64 {
                    let first = 11 + chunk * 7;
                    let jobs: Vec<u64> = (0..7).map(|k| 100 + chunk * 7 + k).collect();
                    assert_eq!(pool.submit_batch(jobs).expect("open"), first..first + 7);
                }
                assert_eq!(pool.submit(2000).expect("open"), 361);
                pool.close();
            });
            let mut seen: Vec<(u64, u64)> = Vec::new();
            for done in pool.results() {
                let (worker, output) = done.result.expect("no job panics");
                assert_eq!(worker, done.worker);
                assert!((1..=3).contains(&worker));
                seen.push((done.seq, output));
            }
            seen.sort_unstable();
            let seqs: Vec<u64> = seen.iter().map(|&(seq, _)| seq).collect();
            assert_eq!(seqs, (0..362).collect::<Vec<_>>(), "each job exactly once");
            assert_eq!(seen[0].1, 2000);
            assert_eq!(seen[1].1, 0);
            assert_eq!(seen[11].1, 200);
            assert_eq!(seen[361].1, 4000);
        });
        assert!(pool.join().is_empty());
    }

    #[test]
    fn a_panic_inside_a_batch_fails_only_its_job() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let pool = WorkerPool::new(1, 1, |_, &n: &u32| {
            assert!(n % 4 != 3, "job {n} exploded");
            n
        })
        .expect("start");
        pool.submit_batch((0..8).collect()).expect("open");
        let results = pool.join();
        std::panic::set_hook(previous);
        let failed: Vec<u64> = results
            .iter()
            .filter(|c| c.result.is_err())
            .map(|c| c.seq)
            .collect();
        assert_eq!(failed, [3, 7]);
        assert_eq!(results.iter().filter(|c| c.result.is_ok()).count(), 6);
    }

    #[test]
    fn submit_batch_after_close_gives_the_jobs_back() {
        let pool = WorkerPool::new(1, 1, |_, &n: &u8| n).expect("start");
        pool.close();
        assert_eq!(
            pool.submit_batch(vec![1, 2, 3]),
            Err(SubmitError::Closed(vec![1, 2, 3]))
        );
        assert!(pool.join().is_empty());
    }

    #[test]
    fn ordered_results_work_across_batches() {
        let pool = WorkerPool::new(4, 8, |_, &n: &u64| {
            std::thread::sleep(Duration::from_millis(n % 3));
            n
        })
        .expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                for chunk in 0..20u64 {
                    pool.submit_batch((chunk * 5..chunk * 5 + 5).collect())
                        .expect("open");
                }
                pool.close();
            });
            let order: Vec<(u64, u64)> = pool
                .ordered_results()
                .map(|c| (c.seq, c.result.unwrap_or(u64::MAX)))
                .collect();
            assert_eq!(order, (0..100).map(|n| (n, n)).collect::<Vec<_>>());
        });
    }

    #[test]
    fn dropping_with_unread_batches_joins_every_thread() {
        let witness = Arc::new(());
        {
            let witness = Arc::clone(&witness);
            let pool = WorkerPool::new(2, 1, move |_, &n: &u64| {
                let _keep = &witness;
                n
            })
            .expect("start");
            // More batches than both queues hold: Drop must drain results for workers to finish.
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..3 {
                        pool.submit_batch((0..100).collect()).expect("open");
                    }
                });
            });
        }
        assert_eq!(Arc::strong_count(&witness), 1);
    }

    #[test]
    fn the_reorder_buffer_flushes_what_it_holds() {
        let done = |seq| Completed {
            job: (),
            seq,
            worker: 1,
            result: Ok(seq),
        };
        let order: Vec<u64> = Ordered::new([done(2), done(0), done(3)].into_iter())
            .map(|c| c.seq)
            .collect();
        assert_eq!(order, [0, 2, 3]);
    }
}
