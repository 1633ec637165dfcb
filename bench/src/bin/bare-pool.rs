//! # bare-pool — the plain pool a reader would write, without the examples' bookkeeping
//!
//! `compare` (`cargo xtask compare`) runs it as the `bare-pool` row beside `go:seed-003`
//! (`reference/go/cmd/seed003`), the same pool in Go: Go original 003's shape, N worker threads on
//! a bounded jobs channel (crossbeam), a submitter thread, a collector thread, and nothing per job
//! beyond what compare needs to count: no in-flight gauge, no events, no lock. The collector
//! counts how the jobs ended and sums their outputs (`output_sum`, the same for the same seed in
//! both languages). Set beside `basic` and `go:basic`, the two rows show what the examples'
//! observability costs in each language.
//!
//! It prints only the summary, always as JSON (`--json` and `--quiet` change nothing); its
//! `peak_in_flight` is 0 because nothing measures it (`"gauge": false`). No Ctrl-C handling: a
//! bare pool has none.
//!
//! Run with: cargo run --release -p bench --bin bare-pool -- --workload dispatch --jobs 1000000 --workers 2

use std::process::ExitCode;
use std::thread;

use anyhow::Context as _;
use clap::Parser;
use common::{Defaults, Job, Outcome, PoolArgs, Reporter, Summary, Tally};
use crossbeam::channel::bounded;

/// The plain pool, with the shared flags.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run() -> anyhow::Result<ExitCode> {
    let cli: Cli = common::parse_args(&Defaults::default());
    let args = &cli.pool;
    let report = Reporter::with_flags(true, true); // the summary only, as JSON
    let work = args.work();
    let (job_tx, job_rx) = bounded::<Job>(args.buffer());
    let (result_tx, result_rx) = bounded::<Outcome>(args.buffer());

    let (tally, output_sum) = thread::scope(|s| -> anyhow::Result<(Tally, u64)> {
        for i in 1..=args.workers {
            let (jobs, results) = (job_rx.clone(), result_tx.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn_scoped(s, move || {
                    for job in jobs {
                        if results.send(work.run(&job)).is_err() {
                            return;
                        }
                    }
                })
                .context("cannot start a worker thread")?;
        }
        // Only the workers hold these now: the results channel closes when the last one ends.
        drop((job_rx, result_tx));
        let jobs = args.job_list();
        thread::Builder::new()
            .name("submitter".into())
            .spawn_scoped(s, move || {
                for job in jobs {
                    if job_tx.send(job).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start the submitter thread")?;
        let submitted = args.jobs;
        let collector = thread::Builder::new()
            .name("collector".into())
            .spawn_scoped(s, move || {
                let mut tally = Tally::new(submitted);
                let mut sum = 0u64;
                for outcome in result_rx {
                    if let Outcome::Ok(output) = outcome {
                        sum = sum.wrapping_add(output);
                    }
                    tally.record(&outcome);
                }
                (tally, sum)
            })
            .context("cannot start the collector thread")?;
        collector
            .join()
            .map_err(|panic| anyhow::anyhow!("the collector panicked: {}", common::panic_message(&*panic)))
    })?;

    let summary = Summary::new("bare-pool", tally, args.workers, 0, report.elapsed())
        .with_sleep_ideal(work, args.workers)
        .field("gauge", false)
        .field("output_sum", output_sum);
    Ok(report.summary(&summary))
}
