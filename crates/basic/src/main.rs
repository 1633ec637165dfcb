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
//! - `--mistake NAME` reproduces a Go mistake (see `--help`, docs/mistakes.md) and catches it.
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
//! cargo run -p basic -- --mistake keep-sender
//! ```

mod mistake;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use common::watchdog::{Verdict, WatchdogArgs};
use common::{
    Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally, Work,
};
use crossbeam::channel::{self, Receiver, SendTimeoutError, Sender};

use crate::mistake::{Mistake, Progress, SharedCount};

/// The worker pool in its simplest form: a jobs channel, N workers, a results channel.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// After the results, print which jobs each worker processed (Go original 004).
    #[arg(long)]
    group_by_worker: bool,

    /// Reproduce a common mistake on purpose, and watch it caught (docs/mistakes.md).
    #[arg(long, value_enum, value_name = "NAME")]
    mistake: Option<Mistake>,

    #[command(flatten)]
    watchdog: WatchdogArgs,
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker: take jobs until the channel is closed and drained (Go: `for j := range jobs`).
#[allow(clippy::too_many_arguments)] // the last one is only for `--mistake lost-update`
fn worker(
    id: usize,
    jobs: Receiver<Job>,
    results: Sender<JobResult>,
    work: Work,
    gauge: &InFlight,
    report: &Reporter,
    stop: &Stop,
    lost_update: Option<&SharedCount>,
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
        let loaded = lost_update.map(SharedCount::load); // MISTAKE lost-update: a load ...
        let result = JobResult {
            job,
            worker: id,
            outcome: work.run(&job),
        };
        if let (Some(count), Some(loaded)) = (lost_update, loaded) {
            count.store_after(loaded, &result.outcome); // ... and a separate store of load + 1
        }
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
    if cli.mistake == Some(Mistake::ThreadPerJob) {
        return thread_per_job(args, &report, &gauge);
    }

    // 1. The two channels.
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    // 2. Start the workers. Each gets its own handle on both channels.
    // MISTAKE lost-update: the workers also count their ok jobs in one shared counter.
    let lost_update = (cli.mistake == Some(Mistake::LostUpdate)).then(|| Arc::new(SharedCount::default()));
    let mut workers = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
        let (gauge, report, stop) = (Arc::clone(&gauge), Arc::clone(&report), stop.clone());
        let count = lost_update.clone();
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                worker(
                    id,
                    jobs_rx,
                    results_tx,
                    work,
                    &gauge,
                    &report,
                    &stop,
                    count.as_deref(),
                );
            })
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    // Main keeps only the receiving end of `results`: once every worker has exited, the results
    // channel is closed too and `recv` below returns an error instead of waiting forever.
    drop(results_tx);

    // The no-progress watchdog: armed only by --mistake or --watchdog-ms.
    // MISTAKE keep-sender: main keeps a clone of `jobs_tx` and never drops it (Go: no close(jobs)).
    let kept_sender = (cli.mistake == Some(Mistake::KeepSender)).then(|| jobs_tx.clone());
    let progress = Arc::new(Progress::default());
    let limit = cli.watchdog.limit(cli.mistake.is_some());
    let queues = (&jobs_rx, &results_rx);
    let watchdog = mistake::watch(
        limit,
        &stop,
        args.workers,
        queues,
        &gauge,
        &progress,
        kept_sender.is_some(),
    )?;
    drop(jobs_rx);

    // 3. Submit the jobs; dropping `jobs_tx` at the end of the thread closes the channel.
    let mut tally = Tally::new(args.jobs);
    let mut expected = args.jobs;
    let job_list = args.job_list();
    let producer = if cli.mistake == Some(Mistake::ResultsAfterSubmit) {
        // MISTAKE results-after-submit: main itself sends every job before it reads any result.
        for job in submit_until_stopped(job_list, jobs_tx, &progress, &stop) {
            let reason = "never submitted: main was still waiting on the full jobs queue";
            report.not_started_detail(&job, || Detail::default().reason(reason));
            tally.record(&Outcome::NotStarted);
            expected -= 1;
        }
        progress.jobs_closed.store(true, Ordering::SeqCst);
        None
    } else {
        let progress = Arc::clone(&progress);
        let producer = thread::Builder::new()
            .name("producer".into())
            .spawn(move || {
                for job in job_list {
                    if jobs_tx.send(job).is_err() {
                        break; // every worker is gone
                    }
                    progress.submitted.fetch_add(1, Ordering::SeqCst);
                }
                progress.jobs_closed.store(true, Ordering::SeqCst);
            })
            .context("cannot start the producer thread")?;
        Some(producer)
    };

    // 4. Collect exactly one result per job.
    let mut by_worker: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    progress.reading.store(true, Ordering::SeqCst);
    for _ in 0..expected {
        let Ok(result) = results_rx.recv() else {
            break; // every worker exited early: the summary shows the jobs that are missing
        };
        progress.received.fetch_add(1, Ordering::SeqCst);
        report.received(&result);
        tally.record(&result.outcome);
        if cli.group_by_worker {
            by_worker.entry(result.worker).or_default().push(result.job.id);
        }
    }
    progress.reading.store(false, Ordering::SeqCst);

    if let Some(kept) = kept_sender {
        // MISTAKE keep-sender: joining the workers now would wait forever, as Go's wg.Wait() does.
        // Wait for the watchdog (or Ctrl-C) instead, then do the close the code forgot.
        let _ = stop.channel().recv();
        drop(kept);
    }

    // Every thread is joined before the summary counts the threads still alive.
    let panicked = common::join_all(workers) + common::join_all(producer);
    let counted = lost_update.map(|count| count.verdict(tally.ok));
    let verdict = Verdict {
        mistake: cli.mistake.map(Mistake::name),
        no_progress: watchdog.finish(),
        broken_invariant: counted.as_ref().and_then(|(_, broken)| broken.clone()),
        ..Verdict::default()
    };

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
    if let Some((counted, _)) = counted {
        summary = summary.field("counted_ok", counted);
    }
    let summary = verdict.apply(summary);
    let _ = report.summary(&summary);
    Ok(verdict.exit_code(&summary))
}

/// The results-after-submit mistake's submit loop: sends each job, giving up once the stop is set
/// (the watchdog fires while main waits on the full jobs queue). Returns the jobs never sent.
fn submit_until_stopped(
    job_list: impl Iterator<Item = Job>,
    jobs_tx: Sender<Job>,
    progress: &Progress,
    stop: &Stop,
) -> Vec<Job> {
    let mut unsent = Vec::new();
    for mut job in job_list {
        if !unsent.is_empty() {
            unsent.push(job);
            continue;
        }
        loop {
            match jobs_tx.send_timeout(job, Duration::from_millis(20)) {
                Ok(()) => {
                    progress.submitted.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Err(SendTimeoutError::Timeout(back)) if !stop.is_set() => job = back,
                Err(SendTimeoutError::Timeout(back) | SendTimeoutError::Disconnected(back)) => {
                    unsent.push(back);
                    break;
                }
            }
        }
    }
    unsent // `jobs_tx` is dropped here: the jobs channel closes
}

/// MISTAKE thread-per-job (Go: `go worker(job)` for every job): no pool, so no bound. Every job
/// gets a thread of its own; when the OS refuses one, the rest never start.
fn thread_per_job(
    args: &PoolArgs,
    report: &Arc<Reporter>,
    gauge: &Arc<InFlight>,
) -> anyhow::Result<ExitCode> {
    let (work, mut tally) = (args.work(), Tally::new(args.jobs));
    let mut handles = Vec::new();
    let mut refused: Option<String> = None;
    for (job, id) in args.job_list().zip(1..) {
        if let Some(reason) = &refused {
            report.not_started_detail(&job, || Detail::default().reason(reason.as_str()));
            tally.record(&Outcome::NotStarted);
            continue;
        }
        let (reporter, job_gauge) = (Arc::clone(report), Arc::clone(gauge));
        let spawned = thread::Builder::new().name(format!("job-{id}")).spawn(move || {
            let in_flight = job_gauge.enter();
            reporter.started(&job, id);
            let result = JobResult {
                job,
                worker: id,
                outcome: work.run(&job),
            };
            reporter.finished(&result);
            drop(in_flight);
            result.outcome
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                let reason = format!("cannot start thread {id}: {e}");
                report.not_started_detail(&job, || Detail::default().reason(reason.as_str()));
                tally.record(&Outcome::NotStarted);
                refused = Some(reason);
            }
        }
    }
    let threads = handles.len();
    let mut panicked = 0;
    for handle in handles {
        match handle.join() {
            Ok(outcome) => tally.record(&outcome),
            Err(_) => panicked += 1,
        }
    }
    let peak = gauge.peak();
    let mut broken = format!(
        "I2 bound: {peak} jobs ran at once on {threads} threads, one per job, where --workers is {}",
        args.workers
    );
    if let Some(reason) = &refused {
        broken += &format!("; then the OS refused a thread ({reason})");
    }
    let verdict = Verdict {
        mistake: Some(Mistake::ThreadPerJob.name()),
        broken_invariant: Some(broken),
        ..Verdict::default()
    };
    // Without a pool the only bound is the number of jobs; the summary says so (`max_in_flight`).
    let summary = Summary::new("basic", tally, args.workers, peak, report.elapsed())
        .with_max_in_flight(usize::try_from(args.jobs).unwrap_or(usize::MAX))
        .with_interrupted_at(common::signal::interrupted_at())
        .field("threads_started", threads)
        .field("threads_panicked", panicked);
    let summary = verdict.apply(summary);
    let _ = report.summary(&summary);
    Ok(verdict.exit_code(&summary))
}
