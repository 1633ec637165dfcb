//! # async-pool — the same worker pool with tokio tasks
//!
//! ## What it shows
//! The pool on async tasks instead of threads: a waiting task holds no thread, so thousands of jobs
//! can wait at once on two runtime threads. `--style` picks one of the three shapes people write:
//! `workers` (N tasks on one MPMC `async-channel`, the Go shape; tokio's `mpsc` has one receiver),
//! `buffer-unordered` (a `Stream` keeping N futures going inside ONE task: concurrency without
//! parallelism, for I/O), `joinset` (a task per job, a `Semaphore` of N permits, a `JoinSet`).
//!
//! ## What to watch for
//! - The default run: 3 tasks take 10 jobs of 500 ms, close to the ideal ceil(10/3) × 500 ms, like
//!   `basic`'s threads. `--jobs 20000 --work-ms 100 --concurrency 10000` keeps 10,000 jobs waiting
//!   at once on the runtime's threads, where a thread pool would need 10,000 threads.
//! - `--workload cpu` runs the prime check in `spawn_blocking`: called directly in an `async fn`,
//!   it would hold a runtime thread and stall every timer, every other task and the cancel.
//! - `--style joinset --panic-every 4`: jobs 4 and 8 fail alone (a `JoinError`), the rest run.
//! - `--deadline-ms 700` or Ctrl-C cancels one `CancellationToken` (Go's `ctx`): waiting jobs end
//!   cancelled, jobs not yet started are `not_started` (exit 1, or 130 after Ctrl-C).
//! - `--mistake block-runtime` (docs/mistakes.md): each job's CPU part called in the `async fn`
//!   holds its thread: a task whose timer is due waits for one and runs late, named in the summary.
//!
//! ## Go original and what differs
//! 001's numbers (3 workers, 10 jobs of 500 ms, output = value × 2), 002 "with Context" for the
//! cancel, 000's goroutine per job under a semaphore for `joinset`. Go's runtime hides the choice
//! between threads and tasks; Rust makes it (`thread::spawn` holds a thread per waiting job,
//! `tokio::spawn` does not), and the runtime is a value that main builds, shuts down and waits for,
//! so no thread outlives the summary. A cpu job in flight at the cancel finishes its check: a
//! blocking closure cannot be interrupted from outside.
//!
//! ## How to run
//! ```sh
//! cargo run -p async-pool
//! cargo run -p async-pool -- --style joinset --panic-every 4
//! cargo run -p async-pool -- --jobs 20000 --work-ms 100 --concurrency 10000 --quiet
//! ```

mod cli;
mod mistake;
mod task_ids;

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::BuildHasherDefault;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use common::event::{Cancel, CancelCause, Event};
use common::watchdog::Verdict;
use common::{Defaults, InFlight, Job, JobResult, Outcome, Reporter, Stop, Summary, Tally, Work, Workload};
use futures::{FutureExt as _, StreamExt as _, stream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{self, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use cli::{Cli, Style};
use mistake::{BlockRuntime, Lateness, Mistake};
use task_ids::IdHasher;

/// The end of the message of the panics `--panic-every` asks for.
const SIMULATED_PANIC: &str = "(--panic-every)";

/// The jobs, drawn as they are sent (a million jobs collected first would be 16 MB).
struct JobList {
    iter: Box<dyn Iterator<Item = Job> + Send>,
    len: u64,
}

/// What every job needs, shared by every task.
struct Pool {
    work: Work,
    panic_every: u64,
    /// Jobs that panicked before their work (`--panic-every`): the sleep ideal leaves them out.
    panicked: AtomicU64,
    /// Go's `ctx`: cancelled once, by the deadline or Ctrl-C; every task can wait on it.
    token: CancellationToken,
    cancelled_by: OnceLock<CancelCause>,
    report: Reporter,
    gauge: InFlight,
    /// Lane numbers (1..=N) for the styles without worker tasks, so events still say "worker".
    free_lanes: Mutex<Vec<usize>>,
    /// How late the sleep jobs' timers were, measured by each job.
    lateness: Lateness,
    /// `--mistake block-runtime`: the runtime's threads and the tasks that share them.
    block_runtime: Option<BlockRuntime>,
}

impl Pool {
    /// Cancels the run (the first cause wins and is reported once). The token is cancelled
    /// before the event is printed, so a job that prints `started` after the `cancel` line finds
    /// it cancelled at its first look and ends cancelled.
    fn cancel(&self, by: CancelCause) {
        if self.cancelled_by.set(by).is_ok() {
            self.token.cancel();
            self.report.event(
                || format!("Cancelled by {}", by.name()),
                |t_ms| {
                    Event::Cancel(Cancel {
                        by,
                        grace_ms: 0,
                        t_ms,
                    })
                },
            );
        }
    }

    /// Whether the run is cancelled: one atomic load. (`CancellationToken::is_cancelled` takes the
    /// token's mutex, and N tasks checking it for every job queue on that lock.)
    fn is_cancelled(&self) -> bool {
        self.cancelled_by.get().is_some() // set just before the token is cancelled
    }

    fn take_lane(&self) -> usize {
        let mut lanes = self.free_lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.pop().unwrap_or(0) // never empty: at most N jobs hold a lane at once
    }

    fn give_lane(&self, lane: usize) {
        self.free_lanes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(lane);
    }
}

/// The job's work, on the task that runs it. It may panic (`--panic-every`).
async fn work_on(pool: &Pool, job: Job) -> Outcome {
    if pool.panic_every > 0 && job.id.is_multiple_of(pool.panic_every) {
        pool.panicked.fetch_add(1, Ordering::Relaxed); // read after every task is joined
        panic!("job {} panics {SIMULATED_PANIC}", job.id);
    }
    // What a job whose wait is over produces: value × 2, unless --fail-every picks it.
    let no_wait = Work {
        workload: Workload::Dispatch,
        ..pool.work
    };
    match pool.work.workload {
        Workload::Dispatch => pool.work.run(&job),
        // Go's `select { case <-ctx.Done(): ... case <-time.After(d): ... }`. tokio's timer ticks
        // every millisecond and rounds a sleep up to the next tick, so a short job waits a little
        // longer than asked (a thread's sleep does not). The job measures how late it ran again.
        // `biased`: the cancel is looked at first, so a job that sees it ends cancelled even when
        // its timer is due too (unbiased, select! picks one of the ready branches at random).
        Workload::Sleep => {
            let wait = pool.work.duration_for(&job);
            let due = tokio::time::Instant::now() + wait;
            let on_timer = tokio::select! {
                biased;
                _ = pool.token.cancelled() => false,
                () = tokio::time::sleep_until(due) => true,
            };
            if !on_timer {
                return Outcome::Cancelled;
            }
            pool.lateness.record(due.elapsed());
            if let Some(mistake) = pool.block_runtime {
                // MISTAKE block-runtime: the job's CPU part (say, parsing what its wait brought)
                // called in place holds this runtime thread; tasks ready meanwhile wait for a
                // thread and their timers fire late. The fix is the arm below: spawn_blocking.
                mistake.cpu_work_in_place(wait);
            }
            no_wait.run(&job)
        }
        // MISTAKE block-runtime: the check called in place holds this runtime thread throughout.
        Workload::Cpu | Workload::Custom if pool.block_runtime.is_some() => pool.work.run(&job),
        // Off the runtime threads: they must stay free to poll every other task.
        Workload::Cpu | Workload::Custom => {
            let work = pool.work;
            task::spawn_blocking(move || work.run(&job))
                .await
                .unwrap_or_else(failed)
        }
    }
}

/// One job on a worker: started, the work, finished; the job counts as in flight throughout.
async fn run_job(pool: &Pool, job: Job, worker: usize) -> JobResult {
    let in_flight = pool.gauge.enter();
    pool.report.started(&job, worker);
    let outcome = work_on(pool, job).await;
    let result = JobResult { job, worker, outcome };
    pool.report.finished(&result);
    drop(in_flight);
    result
}

/// [`run_job`] with its panic caught (Go's `recover()`): the job fails, the task goes on.
async fn run_job_caught(pool: &Pool, job: Job, worker: usize) -> JobResult {
    match AssertUnwindSafe(run_job(pool, job, worker)).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let outcome = Outcome::Failed(format!("panicked: {}", common::panic_message(&*payload)));
            let result = JobResult { job, worker, outcome };
            pool.report.finished(&result);
            result
        }
    }
}

fn failed(e: JoinError) -> Outcome {
    if e.is_panic() {
        Outcome::Failed(format!("panicked: {}", common::panic_message(&*e.into_panic())))
    } else {
        Outcome::Failed(e.to_string())
    }
}

fn never_started(pool: &Pool, job: Job) -> JobResult {
    pool.report.not_started(&job);
    JobResult {
        job,
        worker: 0,
        outcome: Outcome::NotStarted,
    }
}

/// `workers`: N tasks share one jobs channel and send on one results channel (the Go shape).
async fn workers(pool: Arc<Pool>, jobs: JobList, n: usize, buffer: usize) -> anyhow::Result<Tally> {
    let mut tally = Tally::new(jobs.len);
    // async-channel cannot have 0 slots; 1 is the closest to a rendezvous.
    let (jobs_tx, jobs_rx) = async_channel::bounded::<Job>(buffer.max(1));
    let (results_tx, results_rx) = async_channel::bounded::<JobResult>(buffer.max(1));

    let mut tasks = Vec::with_capacity(n + 1);
    // The producer: sends every job, stops at the cancel, and closes `jobs` by dropping its Sender.
    // It starts first, so the queue fills while the workers are spawned and each worker finds a
    // job waiting (with 10,000 workers, spawning them all first delayed every job by that much).
    let producer_pool = Arc::clone(&pool);
    let producer_results = results_tx.clone();
    tasks.push(tokio::spawn(async move {
        let pool = producer_pool;
        for job in jobs.iter {
            // A free slot takes the job at once; only a full channel waits, beside the cancel.
            let sent = !pool.is_cancelled()
                && match jobs_tx.try_send(job) {
                    Ok(()) => true,
                    Err(async_channel::TrySendError::Closed(_)) => false,
                    Err(async_channel::TrySendError::Full(_)) => tokio::select! {
                        biased;
                        _ = pool.token.cancelled() => false,
                        sent = jobs_tx.send(job) => sent.is_ok(),
                    },
                };
            if !sent && producer_results.send(never_started(&pool, job)).await.is_err() {
                break;
            }
        }
    }));
    // The workers.
    for id in 1..=n {
        let (pool, jobs_rx, results_tx) = (Arc::clone(&pool), jobs_rx.clone(), results_tx.clone());
        tasks.push(tokio::spawn(async move {
            // Go: `for j := range jobs`; ends when the channel is closed and drained.
            while let Ok(job) = jobs_rx.recv().await {
                let result = if pool.is_cancelled() {
                    never_started(&pool, job) // taken after the cancel: handed back untouched
                } else {
                    run_job_caught(&pool, job, id).await
                };
                if results_tx.send(result).await.is_err() {
                    break; // the collector is gone
                }
            }
        }));
    }
    // Main keeps only the receiving end of `results`: it closes once every task has ended.
    drop((results_tx, jobs_rx));
    while let Ok(result) = results_rx.recv().await {
        pool.report.received(&result);
        tally.record(&result.outcome);
    }
    for t in tasks {
        t.await?; // a worker cannot panic (jobs' panics are caught), so this is only the join
    }
    Ok(tally)
}

/// `buffer-unordered`: a stream of jobs, N of them in flight, all inside this one task.
async fn buffer_unordered(pool: Arc<Pool>, jobs: JobList, n: usize) -> Tally {
    let mut tally = Tally::new(jobs.len);
    let pool = &pool;
    let mut results = stream::iter(jobs.iter)
        .map(|job| async move {
            if pool.is_cancelled() {
                return never_started(pool, job);
            }
            let lane = pool.take_lane();
            let result = run_job_caught(pool, job, lane).await;
            pool.give_lane(lane);
            result
        })
        .buffer_unordered(n);
    while let Some(result) = results.next().await {
        pool.report.received(&result);
        tally.record(&result.outcome);
    }
    tally
}

/// Each running task of `joinset`: its job, lane and permit (keyed by task id, hashed cheaply:
/// the map is touched twice per job on the pool's one loop).
type Running = HashMap<task::Id, (Job, usize, OwnedSemaphorePermit), BuildHasherDefault<IdHasher>>;

/// `joinset`: a task per job, at most N at once (a Semaphore's permits), collected by a JoinSet.
async fn joinset(pool: Arc<Pool>, jobs: JobList, n: usize) -> anyhow::Result<Tally> {
    let mut tally = Tally::new(jobs.len);
    let permits = Arc::new(Semaphore::new(n));
    let mut set = JoinSet::new();
    // The permit of a running task stays here and is released when the task has been joined, so
    // a task that panicked (and could not report its end) counts as in flight until its failure
    // is reported.
    let mut running = Running::default();
    for job in jobs.iter {
        // Take a permit (Go: `sem <- struct{}{}`). One frees only when a task is joined (below), so
        // waiting for a permit is joining the next task to end.
        let permit = loop {
            if pool.is_cancelled() {
                break None;
            }
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                break Some(permit);
            }
            tokio::select! {
                biased;
                Some(joined) = set.join_next_with_id() => tally.record(&joined_task(&pool, joined, &mut running).outcome),
                _ = pool.token.cancelled() => break None,
            }
        };
        let Some(permit) = permit else {
            tally.record(&never_started(&pool, job).outcome);
            continue;
        };
        let lane = pool.take_lane();
        let task_pool = Arc::clone(&pool);
        let handle = set.spawn(async move { run_job(&task_pool, job, lane).await });
        running.insert(handle.id(), (job, lane, permit));
    }
    while let Some(joined) = set.join_next_with_id().await {
        tally.record(&joined_task(&pool, joined, &mut running).outcome);
    }
    Ok(tally)
}

/// A `joinset` task has ended: its result, or its job failed if the task panicked (JoinError).
fn joined_task(
    pool: &Pool,
    joined: Result<(task::Id, JobResult), JoinError>,
    running: &mut Running,
) -> JobResult {
    let (id, result) = match joined {
        Ok((id, result)) => (id, Ok(result)),
        Err(e) => (e.id(), Err(e)),
    };
    // Every spawned task is in `running` until it is joined, exactly once.
    let (job, lane, permit) = running.remove(&id).expect("a joined task was running");
    let result = result.unwrap_or_else(|e| {
        let result = JobResult {
            job,
            worker: lane,
            outcome: failed(e),
        };
        pool.report.finished(&result); // the task could not report its own end
        result
    });
    pool.give_lane(lane);
    drop(permit); // only now may the next job start
    pool.report.received(&result);
    result
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C from the first instant is reported
    let cli: Cli = common::parse_args(&Defaults::default());
    let mut args = cli.pool.clone();
    let n = cli.concurrency.unwrap_or(args.workers);
    args.workers = n; // for the sleep ideal: ceil(jobs / N) × work
    if cli.panic_every > 0 {
        // The simulated panics are reported as failed jobs: keep the default hook's message and
        // backtrace off stderr for them, and only for them.
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let simulated = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.ends_with(SIMULATED_PANIC));
            if !simulated {
                default_hook(info);
            }
        }));
    }
    // One runtime thread per CPU this process may use: num_cpus counts a cgroup's CPU quota (a
    // container limited to 2 CPUs on a 64-core host gets 2), as every example's default does.
    let threads = cli.runtime_threads.unwrap_or_else(num_cpus::get);

    let pool = Arc::new(Pool {
        work: args.work(),
        panic_every: cli.panic_every,
        panicked: AtomicU64::new(0),
        token: CancellationToken::new(),
        cancelled_by: OnceLock::new(),
        report: Reporter::new(&args.output),
        gauge: InFlight::new(),
        free_lanes: Mutex::new((1..=n).rev().collect()),
        lateness: Lateness::new(args.work().duration),
        block_runtime: (cli.mistake == Some(Mistake::BlockRuntime)).then_some(BlockRuntime {
            runtime_threads: threads,
            tasks: n,
        }),
    });

    // 1. The runtime: one thread per core, and as many blocking threads for the cpu work.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(threads)
        .max_blocking_threads(threads)
        .enable_time()
        .thread_name("tokio");
    // tokio panics if the OS refuses one of its threads: make that the usual one-line error.
    let runtime =
        common::threads::exit_if_start_panics("cannot start the runtime's threads", || builder.build())?;

    // 2. Ctrl-C reaches the token through a plain thread: it waits for the process's stop (or the
    //    end of the run) and cancels the token, which wakes every task that waits on it.
    let (done_tx, done_rx) = crossbeam::channel::bounded::<Infallible>(0);
    let bridge = {
        let pool = Arc::clone(&pool);
        std::thread::Builder::new()
            .name("ctrl-c".into())
            .spawn(move || bridge_ctrl_c(&stop, &done_rx, &pool))
            .context("cannot start the ctrl-c thread")?
    };

    // 3. The pool, with the deadline as one more task that cancels the token. The pool is a task
    //    too: `block_on` polls its future on main's thread, outside the runtime, and a pool there
    //    would pay a cross-thread wakeup for every job it hands over or joins.
    let jobs = JobList {
        iter: Box::new(args.job_list()),
        len: args.jobs,
    };
    let (style, deadline_ms, buffer) = (cli.style, cli.deadline_ms, args.buffer());
    let run_pool = Arc::clone(&pool);
    let tally = runtime.block_on(runtime.spawn(async move {
        let deadline = deadline_ms.map(|ms| {
            let pool = Arc::clone(&run_pool);
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => pool.cancel(CancelCause::Deadline),
                    _ = pool.token.cancelled() => {}
                }
            })
        });
        let tally = match style {
            Style::Workers => workers(Arc::clone(&run_pool), jobs, n, buffer).await,
            Style::BufferUnordered => Ok(buffer_unordered(Arc::clone(&run_pool), jobs, n).await),
            Style::Joinset => joinset(Arc::clone(&run_pool), jobs, n).await,
        };
        if let Some(deadline) = deadline {
            deadline.abort();
        }
        tally
    }));

    // 4. Shut everything down and join it before the summary counts the threads still alive.
    drop(done_tx);
    let bridge_panicked = bridge.join().is_err();
    runtime.shutdown_timeout(Duration::from_secs(10));
    let tally = tally??; // the pool task's JoinError (it cannot panic), then the pool's error

    let mut summary = Summary::new("async-pool", tally, n, pool.gauge.peak(), pool.report.elapsed())
        .with_sleep_ideal(args.work(), args.workers)
        .with_failed_at_once(pool.panicked.load(Ordering::Relaxed))
        .with_interrupted_at(common::signal::interrupted_at())
        .field("style", cli.style.name())
        .field("runtime_threads", threads)
        .field("cancelled_by", pool.cancelled_by.get().map(|by| by.name()));
    if let Some(ms) = cli.deadline_ms {
        summary = summary.field("deadline_ms", ms);
    }
    if bridge_panicked {
        summary = summary.line("the Ctrl-C thread panicked");
    }
    if pool.lateness.timers() > 0 {
        summary = summary
            .field("timers_late_max_ms", pool.lateness.max_ms())
            .field("timers_late_mean_ms", pool.lateness.mean_ms());
    }
    // The block-runtime mistake is caught by the invariant it breaks: timers on time.
    let caught = pool
        .block_runtime
        .map(|mistake| pool.lateness.verdict(args.work().duration, mistake));
    if let Some(Err(not_shown)) = &caught {
        summary = summary
            .field("mistake_not_shown", not_shown.as_str())
            .line(not_shown);
    }
    let verdict = Verdict {
        mistake: cli.mistake.map(Mistake::name),
        broken_invariant: caught.and_then(Result::ok),
        ..Verdict::default()
    };
    let summary = verdict.apply(summary);
    let _ = pool.report.summary(&summary);
    Ok(verdict.exit_code(&summary))
}

/// The Ctrl-C bridge: cancels the run at the first Ctrl-C, or returns when the run is over.
fn bridge_ctrl_c(stop: &Stop, done: &crossbeam::channel::Receiver<Infallible>, pool: &Pool) {
    crossbeam::select! {
        recv(stop.channel()) -> _ => pool.cancel(CancelCause::CtrlC),
        recv(done) -> _ => {}
    }
}

fn main() -> ExitCode {
    common::main(run)
}

#[cfg(test)]
mod tests;
