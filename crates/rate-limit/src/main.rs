//! # rate-limit — a semaphore caps the jobs in flight, a rate limiter caps starts per second
//!
//! ## What it shows
//! Two limits on a pool, lower than its worker count or independent of it. A counting semaphore
//! (Go's `sem := make(chan struct{}, 2)`: a bounded channel of `--concurrency` tokens) whose permit
//! is released by its `Drop` however the job ends, so none can leak: "at most 100 requests at
//! once". A rate limiter (`--rate N/s --burst B`, `rate.rs`): in any span of `t` seconds at most
//! `B + N × t` jobs start: "at most 200 calls a second".
//!
//! ## What to watch for
//! - The default run (10 jobs of 100 ms, 5 workers, 2 permits): each "started" line shows the
//!   permits in use, never more than 2, and the run takes 5 rounds of 100 ms, not 2.
//! - `--rate 20/s --burst 5 --jobs 40 --work-ms 10`: 5 jobs start at once, then one every 50 ms
//!   (with `--json`, the `started` events' `t_ms` let anyone check the rate from outside).
//! - `--panic-every 3`: the panicking jobs fail with their message (exit code 1), and their permits
//!   are released, so the run still completes.
//! - Ctrl-C, even during a slow `--rate 1/s`: workers waiting for a permit or the limiter wake at
//!   once, and the summary shows `permits_in_use_at_exit: 0` (exit 130).
//!
//! ## Go original and what differs
//! 002's `RateLimitedPool` (5 workers, semaphore of 2, 10 jobs of 100 ms), and 000/001's "100,000
//! emails with at most 100 concurrent requests" (the third run below: 100 of 150 workers busy).
//! - Go calls its semaphore "rate limiting", but it caps concurrency, not a rate: 2 jobs of 1 ms
//!   each start 2,000 times a second. A real rate limiter is added (`--rate`).
//! - Go releases its semaphore with `<-p.semaphore` after the work: a panic kills the program and
//!   an early `return` leaks the slot; here the permit is a guard and a panic is the job's failure.
//! - Go's `main` sleeps 100 ms hoping the printer is done; here main collects every result.
//!
//! ## How to run
//! ```sh
//! cargo run -p rate-limit
//! cargo run -p rate-limit -- --rate 20/s --burst 5 --jobs 40 --work-ms 10
//! cargo run --release -p rate-limit -- --jobs 100000 --workers 150 --concurrency 100 --work-ms 20
//! ```

mod rate;
mod stats;

use std::num::NonZeroU32;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use anyhow::Context as _;
use clap::Parser;
use common::{Defaults, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Tally, Work};
use crossbeam::channel::{self, Receiver, Sender};

use crate::rate::{Limiter, Rate};
use crate::stats::{Limits, Starts};

/// Runs with more jobs than this show a progress bar (on a terminal) instead of per-job lines.
const PROGRESS_FROM_JOBS: u64 = 1000;

/// A worker pool whose jobs in flight are capped by a semaphore and whose starts are rate-limited.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// At most this many jobs in flight at once: the semaphore's permits (1..=4096).
    #[arg(long, value_name = "C", default_value_t = 2, allow_negative_numbers = true,
          value_parser = rate::parse_concurrency)]
    concurrency: usize,

    /// At most this many job starts per second: `200/s` or `200` (default: no rate limit).
    #[arg(long, value_name = "N/s", allow_negative_numbers = true, value_parser = rate::parse_rate)]
    rate: Option<Rate>,

    /// With --rate: how many jobs may start at once before the rate applies [default: 1].
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = rate::parse_burst)]
    burst: Option<NonZeroU32>,

    /// Make every Nth job (by id) panic, to show the permit is released anyway (0 = never).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true,
          value_parser = common::cli::parse_count)]
    panic_every: u64,
}

/// A counting semaphore, Go style: a bounded channel holds one token per permit in use.
struct Semaphore {
    slots: Sender<()>,
    taken: Receiver<()>,
}

impl Semaphore {
    fn new(permits: usize) -> Self {
        let (slots, taken) = channel::bounded(permits);
        Semaphore { slots, taken }
    }

    /// Blocks while every permit is in use (Go: `sem <- struct{}{}`); `None` if `stop` is set
    /// first (Ctrl-C): the wait selects on the stop too. A free permit is taken without the
    /// `select!` (which would also look at the stop's channel, a lock every worker contends for);
    /// the caller checks the stop after it anyway.
    fn acquire(&self, stop: &Stop) -> Option<Permit<'_>> {
        if self.slots.try_send(()).is_ok() {
            return Some(Permit { semaphore: self });
        }
        crossbeam::select! {
            // Sending fails only when every receiver is gone, and `self.taken` is one.
            send(self.slots, ()) -> _ => Some(Permit { semaphore: self }),
            recv(stop.channel()) -> _ => None,
        }
    }

    /// Permits in use right now.
    fn in_use(&self) -> usize {
        self.taken.len()
    }
}

/// A permit; dropping it (at the end of a scope, or while a panic unwinds) releases it.
struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for Permit<'_> {
    /// Go: `<-sem`. The token this permit sent is in the channel, so this never waits.
    fn drop(&mut self) {
        let _ = self.semaphore.taken.try_recv();
    }
}

/// Everything a worker shares with the others.
struct Shared {
    semaphore: Semaphore,
    limiter: Option<Limiter>,
    gauge: InFlight,
    report: Reporter,
    work: Work,
    panic_every: u64,
    starts: Starts,
    stop: Stop,
}

/// One worker: for each job, a permit, then a start from the rate limiter, then the job. The order
/// matters: a worker holding a rate "ticket" while it queues for a permit would start late, and
/// several late starts could land together, over the rate.
fn worker(id: usize, jobs: Receiver<Job>, results: Sender<JobResult>, shared: &Shared) {
    for job in jobs {
        let stop = &shared.stop;
        // After Ctrl-C (or while waiting for a permit or a start when it comes), the job is handed
        // back untouched: the producer keeps feeding, and every job still gets one result.
        let permit = shared.semaphore.acquire(stop);
        let ready = permit.is_some() && shared.limiter.as_ref().is_none_or(|l| l.until_ready(stop));
        if !ready || stop.is_set() {
            drop(permit);
            shared.report.not_started(&job);
            let not_started = JobResult {
                job,
                worker: id,
                outcome: Outcome::NotStarted,
            };
            if results.send(not_started).is_err() {
                break;
            }
            continue;
        }
        let in_flight = shared.gauge.enter();
        shared.starts.note();
        if shared.report.json() {
            shared.report.started(&job, id);
        } else {
            let (in_use, cap) = (shared.semaphore.in_use(), shared.semaphore.slots.capacity());
            let cap = cap.unwrap_or(in_use);
            shared.report.note(format!(
                "Worker {id} started job {} ({in_use}/{cap} permits in use)",
                job.id
            ));
        }
        let result = JobResult {
            job,
            worker: id,
            outcome: run_job(&shared.work, &job, shared.panic_every),
        };
        shared.report.finished(&result);
        drop(in_flight);
        drop(permit); // release the permit after `finished`, so no one starts before we end
        if results.send(result).is_err() {
            break; // the collector is gone, so there is nobody left to report to
        }
    }
}

/// Runs one job; a panic inside it becomes the job's failure instead of killing the worker.
fn run_job(work: &Work, job: &Job, panic_every: u64) -> Outcome {
    let attempt = panic::catch_unwind(AssertUnwindSafe(|| {
        if panic_every > 0 && job.id.is_multiple_of(panic_every) {
            // A panic that skips the panic hook (nothing on stderr); it unwinds like `panic!`.
            let message = format!("job {} is a multiple of --panic-every {panic_every}", job.id);
            panic::resume_unwind(Box::new(message));
        }
        work.run(job)
    }));
    attempt
        .unwrap_or_else(|payload| Outcome::Failed(format!("panicked: {}", common::panic_message(&*payload))))
}

fn main() -> ExitCode {
    common::main(run)
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 10,
        workers: 5,
        work_ms: 100,
    });
    let args = &cli.pool;
    let output = args.output;
    let progress = if args.jobs > PROGRESS_FROM_JOBS {
        common::progress::bar(args.jobs, output.json, output.quiet)
    } else {
        common::progress::ProgressBar::hidden()
    };
    // While the bar is drawn, it replaces the per-job lines (the summary is still printed).
    let report = Reporter::with_flags(output.json, output.quiet || !progress.is_hidden());
    let limiter = match (cli.rate, cli.burst) {
        (Some(rate), burst) => Some(Limiter::new(rate, burst.unwrap_or(NonZeroU32::MIN))?),
        (None, None) => None,
        (None, Some(_)) => anyhow::bail!("--burst needs --rate: a burst is part of a rate limit"),
    };
    let shared = Arc::new(Shared {
        semaphore: Semaphore::new(cli.concurrency),
        starts: Starts::new(limiter.is_some()),
        limiter,
        gauge: InFlight::new(),
        report,
        work: args.work(),
        panic_every: cli.panic_every,
        stop,
    });

    // 1. The two channels.
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    // 2. Start the workers: all of them take jobs, but only `--concurrency` hold a permit.
    let mut workers = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let (jobs_rx, results_tx, shared) = (jobs_rx.clone(), results_tx.clone(), Arc::clone(&shared));
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, jobs_rx, results_tx, &shared))
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    drop(results_tx); // once every worker has exited, the results channel closes
    drop(jobs_rx);

    // 3. Submit the jobs; dropping `jobs_tx` at the end of the thread closes the channel.
    let job_list = args.job_list();
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            for job in job_list {
                if jobs_tx.send(job).is_err() {
                    break; // every worker is gone
                }
            }
        })
        .context("cannot start the producer thread")?;

    // 4. Collect exactly one result per job.
    let mut tally = Tally::new(args.jobs);
    for _ in 0..args.jobs {
        let Ok(result) = results_rx.recv() else {
            break; // every worker exited early: the summary shows the jobs that are missing
        };
        shared.report.received(&result);
        tally.record(&result.outcome);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let panicked = common::join_all(workers) + common::join_all([producer]);

    let limits = Limits {
        concurrency: cli.concurrency,
        // The cap that can actually be reached: a permit does nothing without a worker to hold it.
        max_in_flight: cli.concurrency.min(args.workers),
        limiter: shared.limiter.as_ref(),
        permits_in_use_at_exit: shared.semaphore.in_use(),
        panic_every: cli.panic_every,
    };
    let (peak, wall) = (shared.gauge.peak(), shared.report.elapsed());
    let mut summary = stats::summary(tally, args, peak, wall, &limits, &shared.starts);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(shared.report.summary(&summary))
}

#[cfg(test)]
mod tests;
