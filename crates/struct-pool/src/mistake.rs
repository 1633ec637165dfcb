//! `--mistake nested-submit`: a job that submits a job to the pool it runs on and waits for it
//! (pond#56, conc#88, rayon#446), reproduced on purpose so that a reader can watch every worker
//! wait (docs/mistakes.md). The lesson is the correct use of the pool in `main.rs`.
//!
//! Each job runs its work as a child job: it submits the child to its own pool, then waits for
//! the child's outcome. Once every worker runs such a job, the children sit in the queue behind
//! the jobs no worker can take, and nothing moves again. The no-progress watchdog cuts the hang:
//! it names which thread waits on what, and sets the stop; the pool is then closed (a `submit`
//! blocked on the full queue gets its job back), the waiting jobs end `cancelled`, and the queued
//! ones are handed back as `not_started`. Every thread is joined: the mistake leaks none.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::thread;

use anyhow::Context as _;
use clap::ValueEnum;
use common::watchdog::{MISTAKE_LIMIT, Verdict, Watchdog};
use common::{Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally};
use crossbeam::channel::{self, Sender};
use struct_pool::WorkerPool;

/// A mistake to reproduce (each one is caught: see docs/mistakes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mistake {
    /// A job submits a child job to its own pool and waits for it: once every worker runs such a
    /// job, the children wait in the queue for a worker that never comes.
    NestedSubmit,
}

impl Mistake {
    pub fn name(self) -> &'static str {
        match self {
            Mistake::NestedSubmit => "nested-submit",
        }
    }
}

/// What the pool runs under the mistake: a job, or the child a job submitted (its work), with
/// the channel its parent waits on.
#[derive(Debug)]
enum Task {
    Job(Job),
    Child { job: Job, done: Sender<Outcome> },
}

impl Task {
    fn job(&self) -> Job {
        match self {
            Task::Job(job) | Task::Child { job, .. } => *job,
        }
    }
}

type Pool = WorkerPool<Task, Outcome>;

/// What a worker inside a job waits on, for the watchdog's line.
#[derive(Debug, Clone, Copy)]
enum Waits {
    /// To queue the child of this job (the queue is full).
    Queue(u64),
    /// For the child of this job to run.
    Child(u64),
}

/// The run's state, read by the watchdog on its own thread.
#[derive(Debug, Default)]
struct State {
    /// Grows whenever a job or a child starts or ends.
    moves: AtomicU64,
    /// Workers inside a job, by id, and what each waits on.
    waiting: Mutex<BTreeMap<usize, Waits>>,
    /// Jobs and children in the queue (counted up once queued, down when a worker takes one, so
    /// for an instant either may be -1).
    jobs_queued: AtomicI64,
    children_queued: AtomicI64,
    /// The submitter is inside `submit` (the queue is full).
    submitter_blocked: AtomicBool,
    /// The submitter (until it returns) and the jobs submitted that have not ended.
    open: AtomicU64,
    /// Dropped when `open` reaches 0: nothing will be submitted any more.
    ended: Mutex<Option<Sender<()>>>,
}

impl State {
    /// One of `open` has ended; the last one drops `ended`.
    fn end_one(&self) {
        if self.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            drop(self.ended.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
    }

    fn moved(&self) {
        self.moves.fetch_add(1, Ordering::SeqCst);
    }

    fn waits(&self, worker: usize, on: Option<Waits>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match on {
            Some(on) => waiting.insert(worker, on),
            None => waiting.remove(&worker),
        };
    }

    /// One line: which threads wait on what, the mistake, and the fix.
    fn diagnose(&self, workers: usize) -> String {
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut line = String::new();
        for (worker, on) in &waiting {
            let sep = if line.is_empty() { "" } else { ", " };
            let _ = match on {
                Waits::Child(job) => {
                    write!(line, "{sep}pool-worker-{worker} waits on the child of job {job}")
                }
                Waits::Queue(job) => write!(
                    line,
                    "{sep}pool-worker-{worker} waits to queue the child of job {job} (the queue is full)"
                ),
            };
        }
        let (children, jobs) = (
            self.children_queued.load(Ordering::SeqCst),
            self.jobs_queued.load(Ordering::SeqCst),
        );
        let _ = write!(
            line,
            " ({} of {workers} worker(s)); the queue holds {jobs} job(s) and {children} child \
             job(s), and no worker is free to take them",
            waiting.len()
        );
        if self.submitter_blocked.load(Ordering::SeqCst) {
            line.push_str("; the submitter waits on the full queue");
        }
        line.push_str(
            " — nested-submit: a job waits on a job it submitted to its own pool; run the child \
             inline in the job, or give the children a pool of their own",
        );
        line
    }
}

/// The whole `--mistake nested-submit` run: the same pool, submitter and results reader as
/// `main.rs`, with jobs that submit their work to the pool and wait for it. `unused`: the flags
/// given that this run does not use (`--ordered`, `--try-submit`, `--batch`, `--panic-every`:
/// one plain `submit` per job), named in the summary.
pub fn nested_submit(
    args: &PoolArgs,
    report: &Arc<Reporter>,
    gauge: &Arc<InFlight>,
    stop: &Stop,
    unused: &[&str],
) -> anyhow::Result<ExitCode> {
    // `open`: the submitter and every job submitted and not yet ended; the last to end drops
    // `ended`'s sender, and the closer thread then closes the pool.
    let (ended_tx, ended) = channel::bounded::<()>(0);
    let state = Arc::new(State {
        open: AtomicU64::new(1),
        ended: Mutex::new(Some(ended_tx)),
        ..State::default()
    });
    // The jobs reach their own pool through a weak handle: a strong one inside the pool would keep
    // it (and its workers) alive forever.
    let own_pool: Arc<OnceLock<Weak<Pool>>> = Arc::default();
    let pool = {
        let (report, gauge, stop, state, own_pool) = (
            Arc::clone(report),
            Arc::clone(gauge),
            stop.clone(),
            Arc::clone(&state),
            Arc::clone(&own_pool),
        );
        let work = args.work();
        Arc::new(
            WorkerPool::new(
                args.workers,
                args.buffer(),
                move |worker, task: &Task| match task {
                    Task::Job(job) => {
                        state.jobs_queued.fetch_sub(1, Ordering::SeqCst);
                        if stop.is_set() {
                            report.not_started(job);
                            state.end_one();
                            return Outcome::NotStarted;
                        }
                        let in_flight = gauge.enter();
                        report.started(job, worker);
                        state.moved();
                        let outcome = run_job(worker, *job, &own_pool, &state, &stop);
                        report.ended(job, worker, &outcome, || match outcome {
                            Outcome::Cancelled => Detail::default().human(format!(
                                "Worker {worker} cancelled job {}: it still waited on its child job",
                                job.id
                            )),
                            _ => Detail::default(),
                        });
                        drop(in_flight);
                        state.moved();
                        state.end_one();
                        outcome
                    }
                    Task::Child { job, done } => {
                        state.children_queued.fetch_sub(1, Ordering::SeqCst);
                        if stop.is_set() {
                            return Outcome::NotStarted; // its parent has stopped waiting
                        }
                        state.moved();
                        let outcome = work.run(job);
                        state.moved();
                        let _ = done.send(outcome.clone()); // the parent may have stopped waiting
                        outcome
                    }
                },
            )
            .context("cannot start the pool's worker threads")?,
        )
    };
    let _ = own_pool.set(Arc::downgrade(&pool));

    let watchdog = {
        let (moves, diagnosis, workers) = (Arc::clone(&state), Arc::clone(&state), args.workers);
        Watchdog::arm(
            Some(MISTAKE_LIMIT),
            stop,
            move || moves.moves.load(Ordering::SeqCst),
            move || diagnosis.diagnose(workers),
        )?
    };

    let mut tally = Tally::new(args.jobs);
    let unsent = thread::scope(|s| -> anyhow::Result<u64> {
        // The pool stays open until every job has ended (a job submits into it), and is closed
        // at once on a stop (the watchdog, Ctrl-C), which wakes every `submit` blocked on it.
        let closer = thread::Builder::new()
            .name("closer".into())
            .spawn_scoped(s, || {
                crossbeam::select! {
                    recv(stop.channel()) -> _ => {},
                    recv(ended) -> _ => {},
                }
                pool.close();
            })
            .context("cannot start the closer thread")?;
        let submitter = thread::Builder::new()
            .name("submitter".into())
            .spawn_scoped(s, || {
                let mut unsent = 0u64;
                for job in args.job_list() {
                    if stop.is_set() {
                        report.not_started(&job);
                        unsent += 1;
                        continue;
                    }
                    state.open.fetch_add(1, Ordering::SeqCst);
                    state.submitter_blocked.store(true, Ordering::SeqCst);
                    match pool.submit(Task::Job(job)) {
                        Ok(_) => _ = state.jobs_queued.fetch_add(1, Ordering::SeqCst),
                        Err(back) => {
                            state.end_one();
                            report.not_started(&back.into_job().job());
                            unsent += 1;
                        }
                    }
                    state.submitter_blocked.store(false, Ordering::SeqCst);
                }
                state.end_one(); // the submitter's own count: no more jobs come
                unsent
            })
            .inspect_err(|_| state.end_one()) // no submitter: the closer may close the pool
            .context("cannot start the submitter thread")?;

        // Every result, until the pool is closed and every queued task has been handed back.
        for done in pool.results() {
            let Task::Job(job) = done.job else {
                continue; // a child: its parent reports the job
            };
            let outcome = done
                .result
                .unwrap_or_else(|panic| Outcome::Failed(format!("panic: {panic}")));
            let result = JobResult {
                job,
                worker: done.worker,
                outcome,
            };
            report.received(&result);
            tally.record(&result.outcome);
        }
        let unsent = submitter.join().unwrap_or(0);
        let _ = closer.join();
        Ok(unsent)
    })?;
    tally.not_started += unsent;
    let verdict = Verdict {
        mistake: Some(Mistake::NestedSubmit.name()),
        no_progress: watchdog.finish(),
        ..Verdict::default()
    };
    // Every job has ended, so no worker holds the pool any more: `join` joins the workers (it
    // returns no result: the loop above read them all).
    if let Ok(pool) = Arc::try_unwrap(pool) {
        drop(pool.join());
    }
    let summary = Summary::new("struct-pool", tally, args.workers, gauge.peak(), report.elapsed())
        .with_interrupted_at(common::signal::interrupted_at())
        .field("queue_capacity", args.buffer());
    let summary = if unused.is_empty() {
        summary
    } else {
        summary.line(format!(
            "not used by --mistake nested-submit: {}",
            unused.join(", ")
        ))
    };
    let summary = verdict.apply(summary);
    let _ = report.summary(&summary);
    Ok(verdict.exit_code(&summary))
}

/// MISTAKE nested-submit: the job's work goes to the pool this job runs on, as a child job, and
/// the job waits for it. It gives up (cancelled) only when the run stops.
fn run_job(worker: usize, job: Job, own_pool: &OnceLock<Weak<Pool>>, state: &State, stop: &Stop) -> Outcome {
    let Some(pool) = own_pool.get().and_then(Weak::upgrade) else {
        return Outcome::Failed("the pool is gone".into());
    };
    let (done, outcome) = channel::bounded(1);
    state.waits(worker, Some(Waits::Queue(job.id)));
    let queued = pool.submit(Task::Child { job, done });
    drop(pool);
    if queued.is_err() {
        state.waits(worker, None);
        return Outcome::Cancelled; // closed while it waited for room in the queue
    }
    state.children_queued.fetch_add(1, Ordering::SeqCst);
    state.waits(worker, Some(Waits::Child(job.id)));
    let outcome = crossbeam::select! {
        recv(outcome) -> outcome => outcome.unwrap_or(Outcome::Cancelled),
        recv(stop.channel()) -> _ => Outcome::Cancelled,
    };
    state.waits(worker, None);
    outcome
}
