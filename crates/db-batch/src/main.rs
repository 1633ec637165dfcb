//! # db-batch — a pool of workers batch-inserting into a real SQLite database
//!
//! A producer generates `--rows` order records (id, customer, amount, created_at) from `--seed`
//! and cuts them into batches of `--batch-size` rows. Each batch is one job: `--workers`
//! threads, each with its own database connection, take batches from the jobs channel and
//! insert each one in ONE transaction, through one cached prepared statement with bound
//! parameters (the SQL lives in `src/db.rs`, never built from strings). The database is a real
//! file (default `target/db-batch/orders.sqlite`, see `--db`) that you can open afterwards with
//! `sqlite3 target/db-batch/orders.sqlite 'select count(*) from orders'`.
//!
//! The mechanics, all in this file:
//! 1. a bounded `jobs` channel of batches and a `results` channel back to main (crossbeam);
//! 2. `--workers` threads, each owning a connection, looping `for batch in jobs`;
//! 3. a producer thread that generates the batches lazily and sends them, then drops its
//!    `Sender` (Go's `close(jobs)`), which ends the workers' loops;
//! 4. main collects one result per batch, joins every thread, and asks the database itself how
//!    many rows it now holds (`SELECT count(*)`).
//!
//! What to observe:
//! - `cargo run -p db-batch` inserts 100,000 rows in 100 batches on 5 workers and prints rows per
//!   second. SQLite admits ONE writer at a time (WAL mode, a busy timeout: the workers queue for
//!   the write lock instead of failing with "database is locked"), so 5 workers do not insert 5×
//!   faster; what the pool buys is that the next batch is generated and waiting while one commits.
//!   `--mode single-tx` (one connection, one transaction for every row, timed without the row
//!   generation: SQLite's ceiling) shows how close the pool gets; `--batch-size 1` (a transaction
//!   per row) shows why batching matters. Add `--fresh` when comparing: on a filled file every row
//!   is already there and nothing is inserted.
//! - Run it twice: the second run inserts 0 rows. The insert is `ON CONFLICT (id) DO NOTHING` and
//!   the rows are the same for the same `--seed`, so nothing is inserted twice; rows already there
//!   are counted as `existing` (from SQLite's change count, not assumed). `--fresh` drops the table.
//! - `--bad-rows 3` makes 3 rows violate `CHECK (amount_cents >= 0)`. Their batch fails and rolls
//!   back as a whole; the worker then retries it row by row, a savepoint per row, so the good rows
//!   land and each bad row is reported (`row_rejected`, with its id and SQLite's reason). Such a
//!   batch ends `failed` (with a reason saying how many rows were rejected and how many landed),
//!   so the exit code is 1: some data did not make it. Always: inserted + existing + rejected +
//!   not written = generated.
//! - Ctrl-C stops dispatching. A batch already in a transaction commits as a whole (a transaction
//!   cannot half-happen: it commits or rolls back); batches not yet taken are `not_started`. The
//!   summary's `durable_rows` is `SELECT count(*)` after every worker has finished, and equals the
//!   rows there before plus the rows reported inserted. Exit code 130.
//!
//! Go original: 002 "Use Cases: 2. Database Batch Processing" (5 workers, `db.Exec(job.Query,
//! job.Params...)` per job, errors only logged). What differs, and why:
//! - a job is a batch in one transaction, not one `Exec`: a transaction per row is what makes
//!   naive bulk inserts slow (compare `--batch-size 1`);
//! - each worker owns its connection and a prepared statement; the Go version shares a `*sql.DB`
//!   pool and sends the SQL text with every job;
//! - errors are results: a bad row is rejected with its reason and counted, the rest of its batch
//!   still lands; Go logs and moves on, so nobody knows which rows are missing;
//! - the run ends with the number of rows that are really in the database, counted by it.
//!
//! Shared flags: `--workers`, `--seed`, `--buffer` (jobs channel capacity, default 2 × workers),
//! `--json`, `--quiet` work as everywhere. `--work-ms` adds simulated preparation time per batch
//! before its transaction (0 by default; Ctrl-C cancels it, nothing is written). `--jobs`,
//! `--workload` and `--fail-every` are not used: `--rows` and `--batch-size` define the jobs, the
//! work is the insert, and `--bad-rows` injects the failures.
//!
//! Run with: cargo run -p db-batch

mod db;
mod orders;

use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use common::progress::ProgressBar;
use common::{Defaults, InFlight, Job, Outcome, PoolArgs, Reporter, Summary, Tally, UsageError};
use crossbeam::channel::{self, Receiver, Sender};
use serde_json::json;

use crate::db::{Rejected, Sink, Sqlite, Written};
use crate::orders::{Batch, Plan};

/// The most rows one run generates (`--mode single-tx` holds them all in memory).
const MAX_ROWS: u64 = 10_000_000;
/// The largest batch: one transaction of a million rows is already far past the point where
/// bigger batches help.
const MAX_BATCH: u64 = 1_000_000;

/// A pool of workers batch-inserting generated orders into a real SQLite database.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// The SQLite database file (created if missing; its folder must exist).
    /// Default: $CARGO_TARGET_DIR/db-batch/orders.sqlite, else ./target/db-batch/orders.sqlite.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,

    /// How many order records to generate from --seed (ids 1..=rows).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_rows)]
    rows: u64,

    /// Rows per batch: one job, one transaction.
    #[arg(long, value_name = "N", default_value_t = 1_000, value_parser = parse_batch_size)]
    batch_size: u64,

    /// Make K rows violate the table's CHECK (amount_cents >= 0) constraint.
    #[arg(long, value_name = "K", default_value_t = 0, value_parser = common::cli::parse_count)]
    bad_rows: u64,

    /// Drop the table before inserting (otherwise rows already there are kept and skipped).
    #[arg(long)]
    fresh: bool,

    /// `pool`: the worker pool. `single-tx`: no pool, one connection inserts every row in one
    /// transaction (SQLite's ceiling, to compare with).
    #[arg(long, value_enum, default_value_t = Mode::Pool)]
    mode: Mode,

    /// Only count the rows in the database (a summary with `durable_rows`) and exit.
    #[arg(long)]
    count_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Pool,
    SingleTx,
}

fn parse_rows(s: &str) -> Result<u64, String> {
    let n = common::cli::parse_count(s)?;
    if n > MAX_ROWS {
        return Err(format!("rows must be at most {MAX_ROWS}, got {n}"));
    }
    Ok(n)
}

fn parse_batch_size(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a batch size (1 to {MAX_BATCH} rows)"))?;
    if !(1..=MAX_BATCH).contains(&n) {
        return Err(format!(
            "batch size must be between 1 and {MAX_BATCH} rows, got {n}"
        ));
    }
    Ok(n)
}

/// `$CARGO_TARGET_DIR/db-batch/orders.sqlite`, or `target/db-batch/orders.sqlite` relative to the
/// current folder (the workspace root under `cargo run`). The folder is created if needed.
fn default_db_path() -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let dir = target.join("db-batch");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
    Ok(dir.join("orders.sqlite"))
}

fn main() -> ExitCode {
    common::main(run)
}

/// What a worker sends back for one batch.
#[derive(Debug)]
struct BatchResult {
    job: Job,
    outcome: Outcome,
    written: Written,
}

/// What the workers share (borrowed: the threads are scoped).
struct Shared<'a> {
    report: &'a Reporter,
    gauge: &'a InFlight,
    bar: &'a ProgressBar,
    /// Becomes ready (its sender is dropped) on Ctrl-C.
    cancel: &'a Receiver<()>,
    /// Simulated preparation per batch (`--work-ms`).
    prepare: Duration,
}

/// One worker: take batches until the channel is closed and drained, each in one transaction.
fn worker(
    id: usize,
    jobs: Receiver<Batch>,
    results: Sender<BatchResult>,
    mut sink: impl Sink,
    shared: &Shared<'_>,
) {
    for batch in jobs {
        if common::work::is_cancelled(shared.cancel) {
            continue; // Ctrl-C: leave the queued batches untouched (main reports them not_started)
        }
        let job = Job {
            id: batch.id,
            value: batch.rows.len() as u64,
        };
        let in_flight = shared.gauge.enter();
        started(shared, &job, id, &batch);
        let (outcome, written) = if prepare(shared) {
            write_batch(&mut sink, &batch, id, shared)
        } else {
            (Outcome::Cancelled, Written::default())
        };
        finished(shared, &job, id, &outcome, &written);
        drop(in_flight);
        if results
            .send(BatchResult {
                job,
                outcome,
                written,
            })
            .is_err()
        {
            break; // main is gone, so there is nobody left to report to
        }
    }
}

/// `--work-ms` of simulated preparation; false if Ctrl-C came first (the batch is not written).
fn prepare(shared: &Shared<'_>) -> bool {
    if shared.prepare.is_zero() {
        return true;
    }
    crossbeam::select! {
        recv(shared.cancel) -> _ => false,
        default(shared.prepare) => true,
    }
}

/// Inserts one batch in one transaction; if that fails, rolls it back and inserts the rows one by
/// one (a savepoint each), so the good rows land and each bad row is reported with its reason.
fn write_batch(
    sink: &mut impl Sink,
    batch: &Batch,
    worker: usize,
    shared: &Shared<'_>,
) -> (Outcome, Written) {
    let rows = batch.rows.len();
    let err = match sink.insert_batch(&batch.rows) {
        Ok(written) => return (Outcome::Ok(written.inserted), written),
        Err(err) => format!("{err:#}"),
    };
    shared.bar.suspend(|| {
        shared.report.event(
            || {
                format!(
                    "Worker {worker}: batch {} rolled back ({err}); retrying row by row",
                    batch.id
                )
            },
            || json!({"event": "batch_retry", "job": batch.id, "worker": worker, "reason": err}),
        );
    });
    let written = sink.insert_each(&batch.rows).unwrap_or_else(|err| {
        // The row-by-row transaction itself failed: nothing of this batch landed.
        let reason = format!("{err:#}");
        Written {
            rejected: batch
                .rows
                .iter()
                .map(|o| Rejected {
                    row: o.id,
                    reason: reason.clone(),
                })
                .collect(),
            ..Written::default()
        }
    });
    for rejected in &written.rejected {
        shared.bar.suspend(|| {
            shared.report.event(
                || format!("Worker {worker}: row {} rejected: {}", rejected.row, rejected.reason),
                || json!({"event": "row_rejected", "job": batch.id, "worker": worker, "row": rejected.row, "reason": rejected.reason}),
            );
        });
    }
    let outcome = match written.rejected.first() {
        None => Outcome::Ok(written.inserted),
        Some(first) => Outcome::Failed(format!(
            "{} of {rows} rows rejected (first: row {}: {}); {} inserted row by row, {} already there",
            written.rejected.len(),
            first.row,
            first.reason,
            written.inserted,
            written.existing
        )),
    };
    (outcome, written)
}

fn started(shared: &Shared<'_>, job: &Job, worker: usize, batch: &Batch) {
    let (first, last) = match (batch.rows.first(), batch.rows.last()) {
        (Some(f), Some(l)) => (f.id, l.id),
        _ => (0, 0),
    };
    shared.bar.suspend(|| {
        shared.report.event(
            || format!("Worker {worker} started batch {} (rows {first}..={last})", job.id),
            || json!({"event": "started", "job": job.id, "worker": worker, "value": job.value, "rows": job.value}),
        );
    });
}

fn finished(shared: &Shared<'_>, job: &Job, worker: usize, outcome: &Outcome, written: &Written) {
    let rejected = written.rejected.len();
    shared.bar.suspend(|| {
        shared.report.event(
            || match outcome {
                Outcome::Ok(_) if written.existing > 0 => format!(
                    "Worker {worker} finished batch {}: {} inserted, {} already there",
                    job.id, written.inserted, written.existing
                ),
                Outcome::Ok(_) => format!(
                    "Worker {worker} finished batch {}: {} inserted",
                    job.id, written.inserted
                ),
                Outcome::Failed(reason) => format!("Worker {worker} failed batch {}: {reason}", job.id),
                Outcome::Cancelled => format!("Worker {worker} cancelled batch {}: nothing written", job.id),
            },
            || {
                let mut event = json!({
                    "event": "finished", "job": job.id, "worker": worker, "value": job.value,
                    "outcome": outcome.name(), "rows": job.value,
                    "inserted": written.inserted, "existing": written.existing, "rejected": rejected,
                });
                match outcome {
                    Outcome::Ok(output) => event["output"] = json!(output),
                    Outcome::Failed(reason) => event["reason"] = json!(reason),
                    Outcome::Cancelled => {}
                }
                event
            },
        );
    });
}

/// Row counts over the whole run.
#[derive(Debug, Default)]
struct Totals {
    inserted: u64,
    existing: u64,
    rejected: u64,
    /// Rows of batches that were cancelled or never started.
    not_written: u64,
}

impl Totals {
    fn add(&mut self, written: &Written, rows: u64, outcome: &Outcome) {
        self.inserted += written.inserted;
        self.existing += written.existing;
        self.rejected += written.rejected.len() as u64;
        if *outcome == Outcome::Cancelled {
            self.not_written += rows;
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 100, // not used: --rows / --batch-size define the batches (100 by default)
        workers: 5,
        work_ms: 0,
    });
    let args = &cli.pool;
    if cli.bad_rows > cli.rows {
        return Err(UsageError(format!(
            "--bad-rows {} is more than --rows {}",
            cli.bad_rows, cli.rows
        ))
        .into());
    }
    let db = Sqlite::new(match &cli.db {
        Some(path) => path.clone(),
        None => default_db_path()?,
    });
    // One connection for the run itself: it creates the table and counts the rows before and after.
    let mut control = db.setup(cli.fresh)?;
    let report = Reporter::new(&args.output);

    if cli.count_only {
        let rows = control.count()?;
        let summary = Summary::new("db-batch", Tally::default(), args.workers, 0, report.elapsed())
            .field("mode", "count-only")
            .field("db", db.path().display().to_string())
            .field("durable_rows", rows)
            .line(format!("{rows} rows in {}", db.path().display()));
        return Ok(report.summary(&summary));
    }

    let plan = Plan::new(cli.rows, cli.batch_size, args.seed, cli.bad_rows);
    let rows_before = control.count()?;
    let gauge = InFlight::new();
    let bar = common::progress::bar(plan.rows, args.json, args.quiet);

    // Ctrl-C drops the only sender of `cancel`: from then on it is ready for every receiver.
    let (cancel_tx, cancel_rx) = channel::bounded::<()>(0);
    let mut cancel_tx = Some(cancel_tx);
    common::signal::on_ctrlc(move || drop(cancel_tx.take()))?;

    let shared = Shared {
        report: &report,
        gauge: &gauge,
        bar: &bar,
        cancel: &cancel_rx,
        prepare: args.work().duration,
    };
    let mut tally = Tally {
        submitted: plan.batches(),
        ..Tally::default()
    };
    let mut totals = Totals::default();
    let mut panicked = 0;
    let workers;
    let mut insert_start = Instant::now();

    match cli.mode {
        Mode::SingleTx => {
            // The ceiling: no pool, no channels: one connection, one transaction, one statement,
            // every row generated before the clock starts.
            workers = 1;
            if plan.rows > 0 {
                let mut sink = db.connect()?;
                let batch = Batch {
                    id: 1,
                    rows: plan.all_rows(),
                };
                // Time the insert alone: this is the ceiling the pool is compared with.
                insert_start = Instant::now();
                let job = Job {
                    id: 1,
                    value: plan.rows,
                };
                tally.submitted = 1;
                let in_flight = gauge.enter();
                started(&shared, &job, 1, &batch);
                let (outcome, written) = write_batch(&mut sink, &batch, 1, &shared);
                finished(&shared, &job, 1, &outcome, &written);
                drop(in_flight);
                bar.inc(plan.rows);
                tally.record(&outcome);
                totals.add(&written, plan.rows, &outcome);
            }
        }
        Mode::Pool => {
            workers = args.workers;
            // Every connection is opened before any thread starts, so a database that cannot be
            // opened is one clear error, not five failing workers.
            let sinks = (0..workers)
                .map(|_| db.connect())
                .collect::<anyhow::Result<Vec<_>>>()?;

            // 1. The two channels.
            let buffer = args.buffer.unwrap_or(2 * workers);
            let (jobs_tx, jobs_rx) = channel::bounded::<Batch>(buffer);
            let (results_tx, results_rx) = channel::bounded::<BatchResult>(buffer.max(workers));
            let mut done = vec![false; usize::try_from(plan.batches())?];

            thread::scope(|scope| -> anyhow::Result<()> {
                // 2. The workers, each owning one connection.
                let mut handles = Vec::with_capacity(workers);
                for (id, sink) in (1..=workers).zip(sinks) {
                    let (jobs_rx, results_tx, shared) = (jobs_rx.clone(), results_tx.clone(), &shared);
                    let handle = thread::Builder::new()
                        .name(format!("worker-{id}"))
                        .spawn_scoped(scope, move || worker(id, jobs_rx, results_tx, sink, shared))?;
                    handles.push(handle);
                }
                // Main keeps only the receiving end of `results`: it closes when the workers exit.
                drop(results_tx);
                drop(jobs_rx);

                // 3. The producer generates the batches lazily and stops dispatching on Ctrl-C.
                //    Dropping `jobs_tx` when it returns closes the channel.
                let batches = plan.generate();
                let cancel = &cancel_rx;
                let producer =
                    thread::Builder::new()
                        .name("producer".into())
                        .spawn_scoped(scope, move || {
                            for batch in batches {
                                if common::work::is_cancelled(cancel) {
                                    break;
                                }
                                crossbeam::select! {
                                    send(jobs_tx, batch) -> sent => if sent.is_err() { break },
                                    recv(cancel) -> _ => break,
                                }
                            }
                        })?;

                // 4. Collect one result per batch that ran.
                for result in &results_rx {
                    bar.inc(result.job.value);
                    tally.record(&result.outcome);
                    totals.add(&result.written, result.job.value, &result.outcome);
                    if let Some(slot) = usize::try_from(result.job.id - 1)
                        .ok()
                        .and_then(|i| done.get_mut(i))
                    {
                        *slot = true;
                    }
                }
                for handle in handles.into_iter().chain([producer]) {
                    if handle.join().is_err() {
                        panicked += 1;
                    }
                }
                Ok(())
            })?;

            // Batches no worker took (after Ctrl-C) never started.
            for (id, _) in (1u64..).zip(&done).filter(|(_, ran)| !**ran) {
                let rows = plan.batch_len(id);
                bar.suspend(|| report.not_started(&Job { id, value: rows }));
                tally.not_started += 1;
                totals.not_written += rows;
            }
        }
    }
    let insert_time = insert_start.elapsed();
    bar.finish_and_clear();

    // Every worker has finished: each batch committed or rolled back as a whole. Ask the database.
    let durable = control.count()?;
    let secs = insert_time.as_secs_f64();
    let rows_per_sec = if secs > 0.0 {
        (totals.inserted as f64 / secs).round()
    } else {
        0.0
    };
    let mut summary = Summary::new("db-batch", tally, workers, gauge.peak(), report.elapsed())
        .with_interrupted(common::signal::interrupted())
        .field(
            "mode",
            if cli.mode == Mode::Pool {
                "pool"
            } else {
                "single-tx"
            },
        )
        .field("db", db.path().display().to_string())
        .field("rows_generated", plan.rows)
        .field("rows_inserted", totals.inserted)
        .field("rows_existing", totals.existing)
        .field("rows_rejected", totals.rejected)
        .field("rows_not_written", totals.not_written)
        .field("batches", tally.submitted)
        .field(
            "batch_size",
            if cli.mode == Mode::Pool {
                plan.batch_size
            } else {
                plan.rows
            },
        )
        .field("rows_before", rows_before)
        .field("durable_rows", durable)
        .field("insert_ms", (secs * 1e6).round() / 1e3)
        .field("rows_per_sec", rows_per_sec)
        .line(format!(
            "rows: {} generated, {} inserted, {} already there, {} rejected, {} not written",
            plan.rows, totals.inserted, totals.existing, totals.rejected, totals.not_written
        ))
        .line(format!(
            "{} batches of up to {} rows: {rows_per_sec:.0} rows/s inserted in {:.1} ms",
            tally.submitted,
            if cli.mode == Mode::Pool {
                plan.batch_size
            } else {
                plan.rows
            },
            secs * 1e3
        ))
        .line(format!(
            "durable: SELECT count(*) = {durable} rows in {} ({rows_before} before this run)",
            db.path().display()
        ));
    if totals.inserted == 0 && totals.existing > 0 {
        summary = summary.line("every row was already there from an earlier run: --fresh starts over");
    }
    summary = summary.line(match (cli.mode, plan.batch_size) {
        (Mode::Pool, 1) => "hint: one transaction per row; the default --batch-size 1000 shows what batching saves",
        _ => "hint: --batch-size 1 (a transaction per row) shows why batching matters; --mode single-tx is the ceiling",
    });
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(report.summary(&summary))
}
