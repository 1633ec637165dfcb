//! # db-batch — a pool of workers batch-inserting into a real database
//!
//! ## What it shows
//! A producer cuts `--rows` generated orders into batches of `--batch-size`; each batch is a job.
//! `--workers` threads, each owning a connection and a prepared statement, insert each batch in ONE
//! transaction with bound parameters (SQL in `db.rs`, never built from strings). The database is a
//! SQLite file under `target/db-batch/`, or PostgreSQL with `--db postgres://…` (`postgres.rs`,
//! behind the same `Sink`). At the end the database itself counts the rows.
//!
//! ## What to watch for
//! - SQLite admits ONE writer at a time, so 5 workers do not insert 5× faster: the pool only keeps
//!   the next batch ready. PostgreSQL takes N writers at once: there the pool is the speed-up.
//!   Compare with `--mode single-tx` (no pool) and `--batch-size 1` (why batching matters).
//! - Run it twice: the second run inserts 0 rows (`ON CONFLICT (id) DO NOTHING`), all `existing`.
//! - `--bad-rows 3`: their batch rolls back and is retried row by row (a savepoint per row,
//!   `write.rs`); the good rows land, each bad row is reported with its reason (exit code 1).
//!   Always: inserted + existing + rejected + not written = generated.
//! - PostgreSQL faults fail alone: a lost connection's batch is retried on a new connection, unless
//!   its COMMIT landed and only the reply was lost (it is then found committed: `write.rs`).
//! - Ctrl-C: a batch in its transaction commits or rolls back whole, the rest are `not_started`.
//!
//! ## Go original and what differs
//! 002 "Use Cases: 2. Database Batch Processing" (5 workers, `db.Exec` per job, errors only
//! logged). Here a job is a batch in one transaction, not one `Exec` (a transaction per row is
//! what makes naive bulk inserts slow); each worker owns a connection and a prepared statement
//! instead of sending SQL text with every job; a bad row is rejected with its reason while the
//! rest of its batch lands (Go logs and moves on: nobody knows which rows are missing).
//!
//! ## How to run
//! ```sh
//! cargo run -p db-batch
//! cargo run -p db-batch -- --bad-rows 3
//! cargo run -p db-batch -- --fresh --mode single-tx
//! ```

mod ceiling;
mod cli;
mod db;
mod orders;
mod postgres;
mod stats;
mod write;

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::progress::ProgressBar;
use common::{InFlight, Job, Outcome, Reporter, Stop};
use crossbeam::channel::{self, Receiver, Sender};

use crate::cli::{Cli, Mode};
use crate::db::{Database, Sink, Written};
use crate::orders::{Batch, Plan};
use crate::stats::Stats;

fn main() -> ExitCode {
    common::main(run)
}

/// What a worker sends back for one batch: the job, how it ended, what happened to its rows.
type BatchResult = (Job, Outcome, Written);

/// What the workers share (borrowed: the threads are scoped).
struct Shared<'a> {
    report: &'a Reporter,
    gauge: &'a InFlight,
    bar: &'a ProgressBar,
    /// Set by the first Ctrl-C, or by a worker that cannot reconnect (`write.rs`).
    stop: &'a Stop,
    /// Simulated preparation per batch (`--work-ms`).
    prepare: Duration,
}

fn run() -> anyhow::Result<ExitCode> {
    // First thing, before any file or connection exists: from now on a Ctrl-C ends in a summary.
    let stop = common::signal::ctrl_c()?;
    let cli = cli::parse()?;
    let db = cli.database(&stop)?;
    let report = Reporter::new(&cli.output);
    if cli.count_only {
        let rows = db.existing()?.count()?;
        return Ok(report.summary(&stats::count_only(&db, rows, report.elapsed())));
    }
    // One connection for the run itself: it creates the table and counts the rows before and after.
    let mut control = db.setup(cli.fresh)?;
    let rows_before = control.count()?;
    let plan = Plan::new(cli.rows, cli.batch_size, cli.seed, cli.bad_rows);
    let gauge = InFlight::new();
    let bar = common::progress::bar(plan.rows, cli.output.json, cli.output.quiet);
    let shared = Shared {
        report: &report,
        gauge: &gauge,
        bar: &bar,
        stop: &stop,
        prepare: Duration::from_millis(cli.work_ms),
    };
    let stats = match cli.mode {
        Mode::SingleTx => ceiling::run(&db, &plan, &shared)?,
        Mode::Pool => pool(&db, &plan, &cli, &shared)?,
    };
    bar.finish_and_clear();
    // Every batch committed or rolled back as a whole: ask the database (SQLite's checkpoint puts
    // its log into the file, once for the run).
    let end = stats::End {
        db: &db,
        mode: cli.mode,
        plan: &plan,
        rows_before,
        durable: control.checkpoint().and_then(|()| control.count()),
        peak: gauge.peak(),
        wall: report.elapsed(),
    };
    Ok(report.summary(&stats::summary(&stats, &end)))
}

/// The pool: a producer, `--workers` workers each owning a connection, and main collecting.
fn pool(db: &Database, plan: &Plan, cli: &Cli, shared: &Shared<'_>) -> anyhow::Result<Stats> {
    let workers = cli.workers;
    let mut stats = Stats::new(plan.batches(), workers, plan.batch_size);
    // Every connection is opened before any thread starts, so a database that cannot be opened
    // is one clear error, not five failing workers.
    let sinks = (0..workers)
        .map(|_| db.connect())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();

    // 1. The two channels.
    let buffer = cli.buffer.unwrap_or(2 * workers);
    let (jobs_tx, jobs_rx) = channel::bounded::<Batch>(buffer);
    let (results_tx, results_rx) = channel::bounded::<BatchResult>(buffer.max(workers));
    let mut ran = vec![false; usize::try_from(plan.batches())?];

    thread::scope(|scope| -> anyhow::Result<()> {
        // 2. The workers, each owning one connection.
        let mut handles = Vec::with_capacity(workers + 1);
        for (id, sink) in (1..=workers).zip(sinks) {
            let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
            let handle = thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn_scoped(scope, move || worker(id, jobs_rx, results_tx, sink, shared))
                .context("cannot start a worker thread")?;
            handles.push(handle);
        }
        // Main keeps only the receiving end of `results`: it closes when the workers exit.
        drop((results_tx, jobs_rx));

        // 3. The producer generates the batches lazily and stops dispatching on Ctrl-C.
        //    Dropping `jobs_tx` when it returns closes the channel (Go's `close(jobs)`).
        let (batches, stop) = (plan.generate(), shared.stop);
        let producer = move || {
            for batch in batches {
                if stop.is_set() {
                    break;
                }
                crossbeam::select! {
                    send(jobs_tx, batch) -> sent => if sent.is_err() { break },
                    recv(stop.channel()) -> _ => break,
                }
            }
        };
        handles.push(
            thread::Builder::new()
                .name("producer".into())
                .spawn_scoped(scope, producer)
                .context("cannot start the producer thread")?,
        );

        // 4. Collect one result per batch that ran, then join every thread.
        for (job, outcome, written) in &results_rx {
            shared.bar.inc(job.value);
            stats.record(&outcome, job.value, &written);
            ran[usize::try_from(job.id - 1)?] = true; // batch ids run 1..=batches
        }
        stats.panicked = handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_err)
            .count();
        Ok(())
    })?;
    stats.insert_time = start.elapsed();

    // Batches no worker took (after Ctrl-C) never started.
    for (id, _) in (1u64..).zip(&ran).filter(|(_, ran)| !**ran) {
        let job = plan.job(id);
        shared.bar.suspend(|| shared.report.not_started(&job));
        stats.record(&Outcome::NotStarted, job.value, &Written::default());
    }
    Ok(stats)
}

/// One worker: take batches until the channel is closed and drained, each in one transaction.
fn worker(
    id: usize,
    jobs: Receiver<Batch>,
    results: Sender<BatchResult>,
    mut sink: Box<dyn Sink>,
    shared: &Shared<'_>,
) {
    for batch in jobs {
        if shared.stop.is_set() {
            continue; // Ctrl-C: leave the queued batches untouched (main reports them not_started)
        }
        let job = batch.job();
        let in_flight = shared.gauge.enter();
        let report = shared.report;
        shared.bar.suspend(|| {
            report.started_detail(&job, id, || stats::started(&batch, id));
        });
        let (outcome, written) = if prepare(shared) {
            write::batch(sink.as_mut(), &batch, id, shared)
        } else {
            (Outcome::Cancelled, Written::default())
        };
        shared.bar.suspend(|| {
            report.ended(&job, id, &outcome, || {
                stats::finished(&job, id, &outcome, &written)
            });
        });
        drop(in_flight);
        if results.send((job, outcome, written)).is_err() {
            break; // main is gone, so there is nobody left to report to
        }
    }
}

/// `--work-ms` of simulated preparation; false if Ctrl-C came first (the batch is not written).
fn prepare(shared: &Shared<'_>) -> bool {
    shared.prepare.is_zero()
        || crossbeam::select! {
            recv(shared.stop.channel()) -> _ => false,
            default(shared.prepare) => true,
        }
}
