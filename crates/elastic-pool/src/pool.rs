//! The elastic pool itself, after tokio's blocking pool (`runtime/blocking/pool.rs`): one mutex
//! over the queue and the counts, one condvar the idle workers wait on (with a timeout: the
//! keep-alive), one the blocked submitters wait on, one for "nothing queued or running".
//!
//! - `idle` counts the workers waiting for a job; `notified` those of them a submit has already
//!   woken for a job it queued. `idle > notified` means a worker is free to take the next one.
//! - A submit that finds no free worker spawns one while fewer than `max` are alive (or, with
//!   `queue-first`, only once the queue is full: Java's rule), else queues the job, else applies
//!   the `--on-full` policy.
//! - An idle worker whose wait times out exits if more than `min` are alive and nothing is queued;
//!   the decision is taken under the lock, so a submit either sees it idle or sees it gone. A job
//!   handed to it is taken before the timeout is looked at: a worker woken for a job never retires.
//! - [`Pool::resize`] moves `min` and `max` while the pool runs (pond's `Resize`, ants' `Tune`,
//!   Java's `setMaximumPoolSize`). Growing wakes every blocked submitter, which may now spawn
//!   (ants forgot that: panjf2000/ants#205), and gives each waiting job a new worker up to the new
//!   `max` (spawn-first). Shrinking retires a worker over the new `max` when it next finishes a job
//!   or wakes idle, never one with a job in hand, and at least `max` workers stay to run the queue.

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::time::Duration;

use clap::ValueEnum;
use common::{Job, Reporter};

use crate::sync::{Arc, Condvar, Instant, Mutex, MutexGuard, thread};
use crate::{WorkerRetired, WorkerSpawned};

/// When the pool grows past the workers it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Grow {
    /// No idle worker: spawn one while fewer than `--max` are alive; queue only at `--max`
    /// (tokio's blocking pool, pond, ants).
    SpawnFirst,
    /// No idle worker: queue while the queue has room; spawn only when it is full (Java's
    /// `ThreadPoolExecutor`: with a large queue it never grows past `--min`).
    QueueFirst,
}

/// What a submit does when no worker is free, none may be spawned and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFull {
    /// Wait until there is room (Go's blocking send on a full channel).
    Block,
    /// Return the job to the caller as an error (Java's `AbortPolicy`).
    Abort,
    /// The caller runs the job itself, on its own thread (Java's `CallerRunsPolicy`).
    CallerRuns,
    /// Drop the oldest queued job to make room for this one (Java's `DiscardOldestPolicy`).
    DropOldest,
    /// Drop this job (Java's `DiscardPolicy`; here it is reported, not silent).
    DropNewest,
}

impl OnFull {
    pub fn name(self) -> &'static str {
        match self {
            OnFull::Block => "block",
            OnFull::Abort => "abort",
            OnFull::CallerRuns => "caller-runs",
            OnFull::DropOldest => "drop-oldest",
            OnFull::DropNewest => "drop-newest",
        }
    }
}

/// The pool's bounds and policies.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub min: usize,
    pub max: usize,
    pub keep_alive: Duration,
    /// Jobs that may wait in the queue (jobs handed to a woken idle worker do not count).
    pub queue: usize,
    pub grow: Grow,
    pub on_full: OnFull,
}

/// What [`Pool::submit`] did with a job it did not refuse.
#[derive(Debug)]
pub enum Submitted {
    /// Handed to an idle worker, queued, or given to a new worker as its first job.
    Taken,
    /// The pool is full and the policy is caller-runs: run it yourself, now.
    RunHere(Job),
    /// The pool is full and the policy is drop-newest: this job was dropped.
    Dropped(Job),
    /// The pool is full and the policy is drop-oldest: this new job was queued, and the oldest
    /// waiting job was taken out to make room.
    DroppedOldest(Job),
    /// The pool was stopped (Ctrl-C) or closed: the job was not taken.
    Stopped(Job),
    /// No worker could be started for it (the OS refused a thread): the job was not taken.
    NoThread(Job, String),
}

/// The abort policy's error: the pool is full, and here is your job back.
#[derive(Debug)]
pub struct Full(pub Job);

/// Counts the summary reports, read once every worker has exited.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub peak_workers: usize,
    /// Live workers when the pool was closed or stopped.
    pub final_workers: usize,
    pub spawned: u64,
    pub retired_idle: u64,
    /// Every worker's lifetime, added up.
    pub worker_time: Duration,
    /// Submits that had to wait (policy block).
    pub blocked_submits: u64,
    /// The most jobs waiting in the queue at once.
    pub peak_queued: usize,
    /// Workers that left because a resize put them over `max`.
    pub retired_resize: u64,
    /// The largest `max` the pool had (the start's, or a resize's): the bound on live workers.
    pub largest_max: usize,
}

/// What [`Pool::resize`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resized {
    /// Workers started by the resize (up to the new `min`, and for waiting jobs).
    pub spawned: usize,
    /// Live workers right after it (workers over the new `max` leave later, when free).
    pub workers: usize,
    /// Set when a worker could not be started (the OS refused a thread): the pool runs on with
    /// the workers it has.
    pub error: Option<&'static str>,
}

type Run = dyn Fn(usize, Job) + Send + Sync;

struct State {
    queue: VecDeque<Job>,
    /// The bounds now (`Config`'s at the start, moved by [`Pool::resize`]).
    min: usize,
    max: usize,
    /// Live worker threads.
    workers: usize,
    /// Workers waiting for a job.
    idle: usize,
    /// Idle workers woken for a queued job that have not taken it yet.
    notified: usize,
    /// Jobs being run by workers.
    running: usize,
    /// Submitters waiting on `space` (policy block): a worker wakes them only when there are any
    /// (a condvar's notify is a system call even with no one waiting).
    blocked: usize,
    /// No more submits; the workers drain the queue and exit.
    closed: bool,
    next_id: usize,
    handles: Vec<thread::JoinHandle<()>>,
    panicked: usize,
    stats: Stats,
}

impl State {
    /// Jobs waiting for a worker: the queue minus those an idle worker was woken for.
    fn waiting(&self) -> usize {
        self.queue.len().saturating_sub(self.notified)
    }

    /// Wakes the blocked submitters, if any (called with the lock held, so none can be between
    /// its check and its wait).
    fn wake_blocked(&self, inner: &Inner) {
        if self.blocked > 0 {
            inner.space.notify_all();
        }
    }

    fn push(&mut self, job: Job) {
        self.queue.push_back(job);
        self.stats.peak_queued = self.stats.peak_queued.max(self.waiting());
    }
}

struct Inner {
    cfg: Config,
    state: Mutex<State>,
    /// Idle workers wait here, at most the keep-alive.
    work_ready: Condvar,
    /// Submitters blocked on a full pool wait here.
    space: Condvar,
    /// The bursts' producer waits here until nothing is queued or running.
    quiet: Condvar,
    run: Box<Run>,
    /// std's `Arc` even under loom: the reporter is output, not synchronization the model checks.
    report: std::sync::Arc<Reporter>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker never panics while holding the lock (jobs run outside it), so a poisoned lock
        // still holds consistent counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An elastic pool of worker threads.
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    /// Starts `cfg.min` workers. `run(worker, job)` runs one job (and reports it).
    pub fn start(
        cfg: Config,
        report: std::sync::Arc<Reporter>,
        run: impl Fn(usize, Job) + Send + Sync + 'static,
    ) -> anyhow::Result<Pool> {
        let pool = Pool {
            inner: Arc::new(Inner {
                cfg,
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    min: cfg.min,
                    max: cfg.max,
                    workers: 0,
                    idle: 0,
                    notified: 0,
                    running: 0,
                    blocked: 0,
                    closed: false,
                    next_id: 1,
                    handles: Vec::new(),
                    panicked: 0,
                    stats: Stats {
                        largest_max: cfg.max,
                        ..Stats::default()
                    },
                }),
                work_ready: Condvar::new(),
                space: Condvar::new(),
                quiet: Condvar::new(),
                run: Box::new(run),
                report,
            }),
        };
        let mut st = pool.inner.lock();
        for _ in 0..cfg.min {
            if let Err(e) = spawn(&pool.inner, &mut st, None, "start") {
                drop(st);
                pool.close();
                pool.join();
                return Err(anyhow::anyhow!("cannot start a worker thread: {e}"));
            }
        }
        drop(st);
        Ok(pool)
    }

    /// Submits `job`: hands it to an idle worker, spawns a worker for it, queues it, or applies
    /// the `--on-full` policy (abort returns it as [`Full`]).
    pub fn submit(&self, job: Job) -> Result<Submitted, Full> {
        let inner = &self.inner;
        let cfg = inner.cfg;
        let mut st = inner.lock();
        let mut counted_block = false;
        loop {
            if st.closed {
                return Ok(Submitted::Stopped(job));
            }
            // 1. A free idle worker: queue the job and wake exactly one worker for it.
            if st.idle > st.notified {
                st.push(job);
                st.notified += 1;
                inner.work_ready.notify_one();
                return Ok(Submitted::Taken);
            }
            // 2. Grow, or queue, in the order the growth policy says.
            let can_spawn = st.workers < st.max;
            let has_room = st.waiting() < cfg.queue;
            let spawn_now = match cfg.grow {
                Grow::SpawnFirst => can_spawn,
                Grow::QueueFirst => can_spawn && !has_room,
            };
            if spawn_now {
                return Ok(match spawn(inner, &mut st, Some(job), "grow") {
                    Ok(()) => Submitted::Taken,
                    Err(e) => Submitted::NoThread(job, e.to_string()),
                });
            }
            if has_room {
                st.push(job);
                // Java's one exception to queue-first: a queue with no worker at all gets one.
                if st.workers == 0
                    && let Err(e) = spawn(inner, &mut st, None, "grow")
                {
                    let job = st.queue.pop_back().unwrap_or(job);
                    return Ok(Submitted::NoThread(job, e.to_string()));
                }
                return Ok(Submitted::Taken);
            }
            // 3. Full: no free worker, none may be spawned, no room in the queue.
            return match cfg.on_full {
                OnFull::Block => {
                    if !counted_block {
                        st.stats.blocked_submits += 1;
                        counted_block = true;
                    }
                    // Woken when a worker frees a slot, takes a job or leaves, when the pool
                    // grows (resize), and when it closes: each time, all of the above again.
                    st.blocked += 1;
                    st = inner.space.wait(st).unwrap_or_else(PoisonError::into_inner);
                    st.blocked -= 1;
                    continue;
                }
                OnFull::Abort => Err(Full(job)),
                OnFull::CallerRuns => Ok(Submitted::RunHere(job)),
                OnFull::DropNewest => Ok(Submitted::Dropped(job)),
                // The oldest *waiting* job: the first `notified` are promised to woken workers.
                OnFull::DropOldest if st.queue.len() > st.notified => {
                    let index = st.notified;
                    let oldest = st.queue.remove(index).unwrap_or(job);
                    st.push(job);
                    Ok(Submitted::DroppedOldest(oldest))
                }
                OnFull::DropOldest => Ok(Submitted::Dropped(job)),
            };
        }
    }

    /// Moves the bounds to `min..=max` (`min <= max`, `max >= 1`; the caller checks) while the
    /// pool runs; `None` once it is closed. Starts workers up to the new `min` and, with
    /// spawn-first, one per waiting job up to the new `max`; wakes every blocked submitter (the
    /// pool may have room now) and every idle worker (one over the new `max` leaves). Workers over
    /// the new `max` that are running a job leave when it ends; no job is dropped.
    pub fn resize(&self, min: usize, max: usize) -> Option<Resized> {
        let inner = &self.inner;
        let mut st = inner.lock();
        if st.closed {
            return None;
        }
        st.min = min;
        st.max = max;
        st.stats.largest_max = st.stats.largest_max.max(max);
        let mut spawned = 0;
        let mut error = None;
        while st.workers < st.max {
            let for_waiting = inner.cfg.grow == Grow::SpawnFirst && st.waiting() > 0;
            if !for_waiting && st.workers >= st.min {
                break;
            }
            // The oldest waiting job (the first `notified` are promised to woken workers).
            let first = if for_waiting {
                let index = st.notified;
                st.queue.remove(index)
            } else {
                None
            };
            if spawn(inner, &mut st, first, "resize").is_err() {
                if let Some(job) = first {
                    let index = st.notified;
                    st.queue.insert(index, job);
                }
                error = Some("a worker thread could not be started");
                break;
            }
            spawned += 1;
        }
        let workers = st.workers;
        drop(st);
        inner.space.notify_all();
        inner.work_ready.notify_all();
        Some(Resized {
            spawned,
            workers,
            error,
        })
    }

    /// Under loom: `d` passes on the model clock, and every timed wait wakes to look at it (the
    /// notify under the lock, so that, like an OS timeout, it cannot fall between a worker's
    /// check of the clock and its wait).
    #[cfg(loom)]
    pub fn time_passes(&self, d: Duration) {
        let st = self.inner.lock();
        crate::sync::clock::advance(d);
        self.inner.work_ready.notify_all();
        drop(st);
    }

    /// Waits until nothing is queued or running (or the pool is closed).
    pub fn wait_quiet(&self) {
        let inner = &*self.inner;
        let mut st = inner.lock();
        while !st.closed && (st.running > 0 || !st.queue.is_empty()) {
            st = inner.quiet.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Live workers right now.
    pub fn workers(&self) -> usize {
        self.inner.lock().workers
    }

    /// Closes the pool: no more submits; the workers run what is queued, then exit.
    pub fn close(&self) {
        let mut st = self.inner.lock();
        if !st.closed {
            st.closed = true;
            st.stats.final_workers = st.workers;
        }
        drop(st);
        self.wake_all();
    }

    /// Ctrl-C: closes the pool and takes back every job still waiting in the queue (the jobs in
    /// flight finish). A blocked submitter wakes and gets its job back as [`Submitted::Stopped`].
    pub fn stop(&self) -> Vec<Job> {
        let mut st = self.inner.lock();
        if !st.closed {
            st.closed = true;
            st.stats.final_workers = st.workers;
        }
        st.notified = 0;
        let left: Vec<Job> = st.queue.drain(..).collect();
        drop(st);
        self.wake_all();
        left
    }

    fn wake_all(&self) {
        self.inner.work_ready.notify_all();
        self.inner.space.notify_all();
        self.inner.quiet.notify_all();
    }

    /// Joins every worker (call after [`Pool::close`] or [`Pool::stop`]); returns the stats and
    /// how many workers panicked.
    pub fn join(&self) -> (Stats, usize) {
        loop {
            let handles = std::mem::take(&mut self.inner.lock().handles);
            if handles.is_empty() {
                break;
            }
            let panicked = crate::sync::join_all(handles);
            self.inner.lock().panicked += panicked;
        }
        let st = self.inner.lock();
        (st.stats, st.panicked)
    }
}

/// Starts worker number `next_id` (with `first` as its first job), counted before it runs.
fn spawn(
    inner: &Arc<Inner>,
    st: &mut State,
    first: Option<Job>,
    reason: &'static str,
) -> std::io::Result<()> {
    // Join the workers that retired since the last spawn: their threads are gone or going.
    let (done, alive): (Vec<_>, Vec<_>) = st.handles.drain(..).partition(crate::sync::is_finished);
    st.handles = alive;
    st.panicked += crate::sync::join_all(done);

    let id = st.next_id;
    // The event's time is when the spawn was asked for (std's clock, the reporter's), so that
    // spawn-to-first-start latency includes starting the thread.
    let asked = std::time::Instant::now();
    let pool = Arc::clone(inner);
    let handle = thread::Builder::new()
        .name(format!("worker-{id}"))
        .spawn(move || worker(&pool, id, first))?;
    st.next_id += 1;
    st.workers += 1;
    if first.is_some() {
        st.running += 1;
    } else {
        st.idle += 1; // it starts idle (see `worker`)
    }
    st.handles.push(handle);
    st.stats.spawned += 1;
    st.stats.peak_workers = st.stats.peak_workers.max(st.workers);
    // Printed under the lock, so the events' `workers` counts appear in the order they happened
    // (the new worker's first `started` may come before it).
    inner.report.example_event(
        || format!("Worker {id} spawned ({reason}): {} alive", st.workers),
        |_| WorkerSpawned {
            worker: id,
            reason: reason.to_owned(),
            workers: st.workers,
            t_ms: inner.report.t_ms_at(asked),
        },
    );
    Ok(())
}

/// One worker: run its first job, then take jobs from the queue; idle, wait at most the
/// keep-alive for one, and exit if more than `min` are alive. A worker spawned without a job
/// starts idle: [`spawn`] counted it so, so a submit can hand it a job before it runs. Over `max`
/// (after a resize), it leaves as soon as it has no job in hand.
fn worker(inner: &Inner, id: usize, first: Option<Job>) {
    let born = Instant::now();
    let mut counted_idle = first.is_none();
    let mut next = first;
    let (mut st, reason) = loop {
        if let Some(job) = next.take() {
            (inner.run)(id, job);
            let mut st = inner.lock();
            st.running -= 1;
            if st.running == 0 && st.queue.is_empty() {
                inner.quiet.notify_all();
            }
            drop(st);
        }
        let mut st = inner.lock();
        if !counted_idle {
            if st.workers > st.max {
                // The pool shrank: leave. The queue stays with the `max` or more workers left,
                // each of which comes back to it (see `resize`).
                break (st, "resize");
            }
            if let Some(job) = st.queue.pop_front() {
                st.running += 1;
                st.wake_blocked(inner); // a slot in the queue is free
                next = Some(job);
                continue;
            }
            if st.closed {
                break (st, "closed");
            }
            st.idle += 1;
            st.wake_blocked(inner); // a blocked submitter may hand its job over
        }
        counted_idle = false;
        // Idle: wait for a submit to pick this worker, at most the keep-alive. Each check comes
        // before the wait, so a wake-up sent before this worker began waiting is not lost.
        let mut deadline = Instant::now() + inner.cfg.keep_alive;
        let retire = loop {
            if st.notified > 0 {
                st.notified -= 1; // woken for a job: take it (or find it taken, and wait again)
                break None;
            }
            if st.closed || st.waiting() > 0 {
                break None; // go drain the queue, or take a job no one was woken for
            }
            if st.workers > st.max {
                break Some("resize");
            }
            let now = Instant::now();
            if now >= deadline {
                if st.workers > st.min && st.queue.is_empty() {
                    break Some("idle");
                }
                deadline = now + inner.cfg.keep_alive; // one of the `min`: stay
            }
            let timeout = deadline.saturating_duration_since(now);
            st = inner
                .work_ready
                .wait_timeout(st, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        st.idle -= 1;
        if let Some(reason) = retire {
            break (st, reason);
        }
        drop(st);
    };
    st.workers -= 1;
    st.stats.worker_time += born.elapsed();
    match reason {
        "idle" => st.stats.retired_idle += 1,
        "resize" => st.stats.retired_resize += 1,
        _ => {}
    }
    inner.report.example_event(
        || format!("Worker {id} retired ({reason}): {} alive", st.workers),
        |t_ms| WorkerRetired {
            worker: id,
            reason: reason.to_owned(),
            workers: st.workers,
            t_ms,
        },
    );
    st.wake_blocked(inner); // below `max` again: a blocked submitter may spawn
}
