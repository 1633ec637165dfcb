//! # struct-pool — a reusable `WorkerPool` type
//!
//! ## What it shows
//! The pool as a value (`src/lib.rs`): `WorkerPool::new(workers, queue_capacity, job_fn)` starts the
//! workers; `submit` blocks while the queue is full (backpressure), `try_submit` hands the job back
//! instead, `close` stops intake, `results()` yields results as they come, `join` waits for it all,
//! and dropping the pool closes it and joins every worker. Each result hands its job back, so it
//! names its job even after a panic. This file uses it the way Go 003 does: a submitter thread, a
//! results printer, and the pool.
//!
//! ## What to watch for
//! - `--panic-every 4`: the panic is caught, reported as a failed job with its message, and the
//!   worker keeps serving (exit code 1).
//! - `--ordered`: results print in submission order though jobs complete out of order (a reorder
//!   buffer holds early arrivals: `held_max`). `--try-submit`: a full queue hands the job back, and
//!   the submitter retries and counts the refusals.
//! - `--batch 256 --workload dispatch --jobs 1000000 --quiet` against the same without `--batch`:
//!   one channel message per 256 jobs each way shows what per-job channel operations cost.
//! - Ctrl-C: queued jobs are handed back untouched, the jobs in flight finish, exit code 130.
//! - `--mistake nested-submit`: jobs that wait on jobs they submit to their own pool (see `--help`).
//!
//! ## Go original and what differs
//! 000 and 003 (`NewWorkerPool`/`Start`/`AddJob`/`Wait`/`CollectResults`, 3 workers × 10 jobs,
//! 1 s of work; the default here is 001's 500 ms, `--work-ms 1000` gives 000's).
//! - Go's pool leaks its goroutines if the caller forgets `Wait`; here `Drop` closes and joins.
//! - Go's `AddJob` after `Wait` panics on a closed channel; here `submit` hands the job back in
//!   `SubmitError::Closed`. A panicking job kills a Go program unless every worker `recover`s;
//!   here the pool catches it (`catch_unwind`) and turns it into a result.
//! - 003 needs two WaitGroups; here `thread::scope` joins submitter and printer, `join` the workers.
//!
//! ## How to run
//! ```sh
//! cargo run -p struct-pool
//! cargo run -p struct-pool -- --panic-every 4 --ordered
//! ```

mod mistake;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use common::{Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Summary, Tally};
use struct_pool::SubmitError::{Closed, Full};
use struct_pool::{Completed, WorkerPool};

/// A reusable generic WorkerPool: submit with backpressure, try_submit, close, results, join.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// Print results in submission order (through a reorder buffer).
    #[arg(long)]
    ordered: bool,

    /// Submit with try_submit: a full queue hands the job back instead of blocking.
    #[arg(long)]
    try_submit: bool,

    /// Submit the jobs in chunks of N with submit_batch (1: one submit per job). The queue then
    /// holds up to --buffer / N chunks, so at most about --buffer jobs wait, as without batches.
    #[arg(long, value_name = "N", default_value_t = 1, conflicts_with = "try_submit",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch: u64,

    /// Make every Nth job (by id) panic, to show the pool turning panics into failed results.
    #[arg(long, value_name = "N", default_value_t = 0)]
    panic_every: u64,

    /// Reproduce a common mistake on purpose, and watch it caught (docs/mistakes.md).
    #[arg(long, value_enum, value_name = "NAME")]
    mistake: Option<mistake::Mistake>,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults::default());
    let args = &cli.pool;
    let report = Arc::new(Reporter::new(&args.output));
    let gauge = Arc::new(InFlight::new());
    if cli.mistake == Some(mistake::Mistake::NestedSubmit) {
        // MISTAKE nested-submit: jobs that submit to their own pool and wait (src/mistake.rs).
        let unused: Vec<_> = [
            ("--ordered", cli.ordered),
            ("--try-submit", cli.try_submit),
            ("--batch", cli.batch > 1),
            ("--panic-every", cli.panic_every > 0),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        return mistake::nested_submit(args, &report, &gauge, &stop, &unused);
    }
    let work = args.work();
    let panic_every = cli.panic_every;
    if panic_every > 0 {
        // The pool catches these panics and reports them as failed jobs; keep the default hook's
        // message and backtrace note off stderr.
        std::panic::set_hook(Box::new(|_| {}));
    }

    // The job function runs on the pool's workers. Reporting happens here, on the worker, so the
    // events show exactly when each job was in flight.
    let pool = {
        let (report, gauge, stop) = (Arc::clone(&report), Arc::clone(&gauge), stop.clone());
        // With batches the capacity counts chunks: keep about --buffer jobs waiting either way.
        let capacity = if cli.batch > 1 {
            args.buffer().div_ceil(usize::try_from(cli.batch)?)
        } else {
            args.buffer()
        };
        WorkerPool::new(args.workers, capacity, move |worker, &job: &Job| {
            // After Ctrl-C a job still queued is handed back untouched.
            if stop.is_set() {
                report.not_started(&job);
                return Outcome::NotStarted;
            }
            let _in_flight = gauge.enter();
            report.started(&job, worker);
            if panic_every > 0 && job.id % panic_every == 0 {
                panic!("job {} panics on purpose (--panic-every {panic_every})", job.id);
            }
            let result = JobResult {
                job,
                worker,
                outcome: work.run(&job),
            };
            report.finished(&result);
            result.outcome
        })
        .context("cannot start the pool's worker threads")?
    };

    let mut tally = Tally::new(args.jobs);
    let mut refused = 0u64;
    let mut panicked_jobs = 0u64; // they panic before their work, so the ideal leaves them out
    let mut held_max = 0usize;
    // `batch` is at most 1,000,000 (the parser's range), so it fits a usize.
    let batch = usize::try_from(cli.batch).unwrap_or(usize::MAX);

    let unsent = thread::scope(|s| -> anyhow::Result<u64> {
        // The submitter: feeds the pool, then closes it (Go 003's `AddJob` loop + close). Each
        // submit returns an error only once the pool is closed, which happens below.
        let submitter = thread::Builder::new()
            .name("submitter".into())
            .spawn_scoped(s, || {
                let mut jobs = args.job_list().peekable();
                let mut unsent = 0u64;
                // After Ctrl-C the submitter stops submitting.
                while jobs.peek().is_some() && !stop.is_set() {
                    if batch > 1 {
                        let _ = pool.submit_batch(jobs.by_ref().take(batch).collect());
                    } else if let Some(mut job) = jobs.next() {
                        if !cli.try_submit {
                            let _ = pool.submit(job);
                            continue;
                        }
                        // try_submit: a full queue hands the job back; retry after a pause.
                        while let Err(Full(back) | Closed(back)) = pool.try_submit(job) {
                            refused += 1;
                            if stop.is_set() {
                                report.not_started(&back);
                                unsent += 1;
                                break;
                            }
                            job = back;
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                }
                pool.close();
                // The jobs it never submitted (after Ctrl-C) are reported here.
                unsent + jobs.map(|job| report.not_started(&job)).count() as u64
            })
            .context("cannot start the submitter thread")?;

        // The results printer (Go 003's second goroutine), here on the scope's main thread.
        // The pool hands each job back with its result, so even a panicked job is named.
        let mut print = |done: Completed<Job, Outcome>| {
            let job = done.job;
            let result = match done.result {
                Ok(outcome) => JobResult {
                    job,
                    worker: done.worker,
                    outcome,
                },
                Err(panic) => {
                    panicked_jobs += 1;
                    let result = JobResult {
                        job,
                        worker: done.worker,
                        outcome: Outcome::Failed(format!("panic: {panic}")),
                    };
                    // The job's own `finished` never ran: report it with the time it panicked.
                    report.ended(&job, done.worker, &result.outcome, || {
                        Detail::default().at(panic.at)
                    });
                    result
                }
            };
            report.received(&result);
            tally.record(&result.outcome);
        };
        if cli.ordered {
            let mut ordered = pool.ordered_results();
            while let Some(done) = ordered.next() {
                held_max = held_max.max(ordered.held());
                print(done);
            }
        } else {
            pool.results().for_each(print);
        }
        // The submitter has already finished (the results ended only after it closed the pool).
        Ok(submitter.join().unwrap_or(0))
    })?;
    tally.not_started += unsent;
    let unread = pool.join(); // joins every worker; empty, since the printer read every result

    let mut summary = Summary::new("struct-pool", tally, args.workers, gauge.peak(), report.elapsed())
        .with_sleep_ideal(args.work(), args.workers)
        .with_failed_at_once(panicked_jobs)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("queue_capacity", args.buffer())
        .field("batch", cli.batch);
    if cli.try_submit {
        summary = summary
            .field("try_submit_refusals", refused)
            .line(format!("try_submit refused {refused} time(s): queue full"));
    }
    if cli.ordered {
        summary = summary
            .field("held_max", held_max)
            .line(format!("reorder buffer held at most {held_max} result(s)"));
    }
    if !unread.is_empty() {
        summary = summary.line(format!("{} result(s) were never read", unread.len()));
    }
    Ok(report.summary(&summary))
}
