//! # basic — the worker pool in its simplest form
//!
//! ## What it shows
//! A fixed number of worker threads take jobs from one channel and send results on another, like
//! bank tellers sharing one line, instead of one thread per job (which exhausts memory or file
//! descriptors once there are many). A producer sends every job and then drops its `Sender`:
//! dropping the last sender *is* Go's `close(jobs)`, and it is what ends the workers' `for job in
//! jobs` loops. Main collects exactly one result per job, then joins every thread.
//!
//! ## What to watch for
//! - "Worker 2 started job 5", "Result received: job 5 -> 84": 3 workers take the 10 jobs three at
//!   a time, and the wall time is close to the ideal ceil(10/3) × 500 ms = 2 s. Which worker takes
//!   which job changes from run to run; the results do not.
//! - `--fail-every 4`: failed jobs are results with a reason, counted in the summary (exit code 1).
//! - `--group-by-worker` adds 004's "Worker k processed jobs: [...]"; `--json` prints events.
//! - Ctrl-C (or SIGTERM): the jobs in flight finish, every queued job is handed back as "never
//!   started", the summary is printed, exit code 130 (a second Ctrl-C exits at once).
//!
//! ## Go original and what differs
//! 001 (the `Job`/`Result` structs, 3 workers × 10 jobs, 500 ms, output = value × 2), 002's simple
//! pool, 004 (results grouped by worker).
//! - Go's main sends every job before reading any result, which works only because both channels
//!   hold every job; here a producer thread feeds `jobs` while main collects, so the buffers stay
//!   bounded (`--buffer`) without a deadlock, also for a million jobs.
//! - Go's `Result.Err` is always nil; here a failed job is counted and sets the exit code.
//! - Go returns while its goroutines may still run; here every thread is joined (0 alive at exit).
//!
//! ## How to run
//! ```sh
//! cargo run -p basic
//! cargo run -p basic -- --fail-every 4 --group-by-worker
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use anyhow::Context as _;
use clap::Parser;
use common::{Defaults, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally, Work};
use crossbeam::channel::{self, Receiver, Sender};

/// The worker pool in its simplest form: a jobs channel, N workers, a results channel.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// After the results, print which jobs each worker processed (Go original 004).
    #[arg(long)]
    group_by_worker: bool,
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker: take jobs until the channel is closed and drained (Go: `for j := range jobs`).
fn worker(
    id: usize,
    jobs: Receiver<Job>,
    results: Sender<JobResult>,
    work: Work,
    gauge: &InFlight,
    report: &Reporter,
    stop: &Stop,
) {
    for job in jobs {
        // After Ctrl-C the producer keeps feeding, but no new job starts: each one is handed back
        // untouched, so every job still gets exactly one result.
        if stop.is_set() {
            report.not_started(&job);
            let result = JobResult {
                job,
                worker: id,
                outcome: Outcome::NotStarted,
            };
            if results.send(result).is_err() {
                break;
            }
            continue;
        }
        let in_flight = gauge.enter();
        report.started(&job, id);
        let result = JobResult {
            job,
            worker: id,
            outcome: work.run(&job),
        };
        report.finished(&result);
        drop(in_flight);
        if results.send(result).is_err() {
            break; // the collector is gone, so there is nobody left to report to
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults::default());
    let args = &cli.pool;
    let report = Arc::new(Reporter::new(&args.output));
    let gauge = Arc::new(InFlight::new());
    let work = args.work();

    // 1. The two channels.
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    // 2. Start the workers. Each gets its own handle on both channels.
    let mut workers = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
        let (gauge, report, stop) = (Arc::clone(&gauge), Arc::clone(&report), stop.clone());
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, jobs_rx, results_tx, work, &gauge, &report, &stop))
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    // Main keeps only the receiving end of `results`: once every worker has exited, the results
    // channel is closed too and `recv` below returns an error instead of waiting forever.
    drop(results_tx);
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
    let mut by_worker: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for _ in 0..args.jobs {
        let Ok(result) = results_rx.recv() else {
            break; // every worker exited early: the summary shows the jobs that are missing
        };
        report.received(&result);
        tally.record(&result.outcome);
        if cli.group_by_worker {
            by_worker.entry(result.worker).or_default().push(result.job.id);
        }
    }

    // Every thread is joined before the summary counts the threads still alive.
    let panicked = common::join_all(workers) + common::join_all([producer]);

    if cli.group_by_worker {
        for (worker, jobs) in &by_worker {
            report.note(format!("Worker {worker} processed jobs: {jobs:?}"));
        }
    }
    let mut summary = Summary::new("basic", tally, args.workers, gauge.peak(), report.elapsed())
        .with_sleep_ideal(args.work(), args.workers)
        .with_interrupted_at(common::signal::interrupted_at());
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(report.summary(&summary))
}
