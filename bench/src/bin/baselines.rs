//! # baselines — what a user would write instead of a worker pool
//!
//! `compare` (`cargo xtask compare`) runs these next to the pool examples, on the identical seeded jobs
//! (`common::work`, `--workload dispatch|cpu|sleep`), so the table shows what a pool buys:
//! - `--strategy serial`: one loop on the main thread, the single-core limit (`--workers` ignored);
//! - `--strategy thread-per-job`: `thread::spawn` for every job, all at once. Above `--max-threads`
//!   (default 4,096, common's `--workers` cap) it refuses with exit code 2 instead of starting a
//!   million threads: that is the failure a pool exists to avoid;
//! - `--strategy rayon`: `par_iter` over the job list on a rayon pool of `--workers` threads
//!   (work stealing, no channels).
//!
//! Output follows the examples' contract: per-job `started`/`finished` events (or nothing with
//! `--quiet`) and the summary line, with `--json` as JSON. The rayon pool's threads end on their
//! own after the pool is dropped, so its `threads_alive_at_exit` may be above 0.
//!
//! Run with: cargo run --release -p bench --bin baselines -- --strategy rayon --workload cpu --jobs 200

use std::process::ExitCode;
use std::thread;

use clap::{Parser, ValueEnum};
use common::{Defaults, InFlight, Job, JobResult, PoolArgs, Reporter, Summary, Tally, UsageError, Work};
use rayon::prelude::*;

/// The strategies a worker pool is compared against.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// How to run the jobs.
    #[arg(long, value_enum)]
    strategy: Strategy,

    /// thread-per-job refuses to start more threads than this.
    #[arg(long, value_name = "N", default_value_t = common::cli::MAX_WORKERS)]
    max_threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Strategy {
    Serial,
    ThreadPerJob,
    Rayon,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::Serial => "serial",
            Strategy::ThreadPerJob => "thread-per-job",
            Strategy::Rayon => "rayon",
        }
    }
}

fn main() -> ExitCode {
    common::main(run)
}

/// One job, reported like the examples' workers do.
fn run_one(job: Job, worker: usize, work: &Work, gauge: &InFlight, report: &Reporter) -> JobResult {
    let _in_flight = gauge.enter();
    report.started(&job, worker);
    let result = JobResult {
        job,
        worker,
        outcome: work.run(&job),
    };
    report.finished(&result);
    result
}

fn run() -> anyhow::Result<ExitCode> {
    let cli: Cli = common::parse_args(&Defaults::default());
    let args = &cli.pool;
    if cli.strategy == Strategy::ThreadPerJob && args.jobs > cli.max_threads as u64 {
        return Err(UsageError(format!(
            "thread-per-job would start {} threads at once, above the cap of {} (--max-threads): \
             unbounded threads are what a worker pool avoids",
            args.jobs, cli.max_threads
        ))
        .into());
    }
    let report = Reporter::new(&args.output);
    let gauge = InFlight::new();
    let work = args.work();
    let mut tally = Tally::new(args.jobs);
    let mut workers = args.workers;

    match cli.strategy {
        Strategy::Serial => {
            workers = 1;
            for job in args.job_list() {
                let result = run_one(job, 1, &work, &gauge, &report);
                report.received(&result);
                tally.record(&result.outcome);
            }
        }
        Strategy::ThreadPerJob => {
            workers = usize::try_from(args.jobs)?;
            let (tx, rx) = crossbeam::channel::unbounded();
            thread::scope(|s| -> anyhow::Result<()> {
                for (i, job) in args.job_list().enumerate() {
                    let (tx, gauge, report) = (tx.clone(), &gauge, &report);
                    thread::Builder::new().spawn_scoped(s, move || {
                        let _ = tx.send(run_one(job, i + 1, &work, gauge, report));
                    })?;
                }
                drop(tx);
                for result in rx {
                    report.received(&result);
                    tally.record(&result.outcome);
                }
                Ok(())
            })?;
        }
        Strategy::Rayon => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(args.workers)
                .thread_name(|i| format!("rayon-{}", i + 1))
                .build()?;
            let jobs: Vec<Job> = args.job_list().collect();
            let results: Vec<JobResult> = pool.install(|| {
                jobs.par_iter()
                    .map(|&job| {
                        let worker = rayon::current_thread_index().map_or(0, |i| i + 1);
                        run_one(job, worker, &work, &gauge, &report)
                    })
                    .collect()
            });
            drop(pool);
            for result in &results {
                report.received(result);
                tally.record(&result.outcome);
            }
        }
    }

    let summary = Summary::new(
        cli.strategy.name(),
        tally,
        workers,
        gauge.peak(),
        report.elapsed(),
    )
    .with_sleep_ideal(args.work(), args.workers)
    .field("strategy", cli.strategy.name());
    Ok(report.summary(&summary))
}
