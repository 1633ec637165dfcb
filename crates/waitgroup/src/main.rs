//! # waitgroup — knowing when every worker is done
//!
//! ## What it shows
//! The same pool as `basic`, written twice to show the two Rust answers to Go's `sync.WaitGroup`.
//! `--style waitgroup` (default) uses `crossbeam::sync::WaitGroup` (cloning it is `wg.Add(1)`,
//! dropping a clone is `wg.Done()`, `wait()` is `wg.Wait()`), one for the workers and one for the
//! results printer; `--style scope` uses `std::thread::scope`, where leaving the scope joins every
//! thread spawned in it: no counter to keep right at all.
//!
//! ## What to watch for
//! - Both styles print the same lines as `basic`, end with "All jobs completed!", and report 0
//!   threads alive at exit.
//! - In the waitgroup style, `wait()` returning means "every worker said it is done", not "every
//!   thread is gone": the threads are still joined afterwards (one may still be unwinding).
//! - Ctrl-C in either style: the jobs in flight finish, later jobs are handed back as "never
//!   started", exit code 130.
//!
//! ## Go original and what differs
//! 002 "Worker Pool with WaitGroup", 003 (two WaitGroups: workers and the results printer), 004's
//! "All jobs completed!"; 001/002's 10 jobs, 3 workers, 500 ms. Go's classic mistakes cannot be
//! written here:
//! - `wg.Add(1)` inside the goroutine, racing `wg.Wait()`: a crossbeam WaitGroup has no `add`; the
//!   clone that counts a worker is made *before* its thread exists and moved into it.
//! - Closing `results` too early or twice: a Rust channel closes when its *last* `Sender` is
//!   dropped, and every worker owns one, so the `go func() { wg.Wait(); close(results) }()`
//!   goroutine disappears. Forgetting to drop main's own `Sender` is the one way to hang.
//! - Forgetting the printer's WaitGroup lets Go's `main` return mid-print; here every thread is joined.
//!
//! ## How to run
//! ```sh
//! cargo run -p waitgroup
//! cargo run -p waitgroup -- --style scope
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::{Defaults, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally, Work};
use crossbeam::channel::{self, Receiver, Sender};
use crossbeam::sync::WaitGroup;

/// Waiting for workers: crossbeam WaitGroup (Go's sync.WaitGroup) or std::thread::scope.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// How main waits for the workers.
    #[arg(long, value_enum, default_value_t = Style::Waitgroup)]
    style: Style,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Style {
    /// crossbeam::sync::WaitGroup, like Go's sync.WaitGroup.
    Waitgroup,
    /// std::thread::scope: the scope joins every thread spawned in it.
    Scope,
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker (the same as `basic`'s): take jobs until the channel is closed and drained.
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
        // After Ctrl-C main keeps feeding, but no new job starts: each is handed back untouched.
        if stop.is_set() {
            report.not_started(&job);
            let outcome = Outcome::NotStarted;
            if results
                .send(JobResult {
                    job,
                    worker: id,
                    outcome,
                })
                .is_err()
            {
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
            break;
        }
    }
}

/// The results printer: read until every worker has dropped its `Sender`.
fn print_results(results: Receiver<JobResult>, submitted: u64, report: &Reporter) -> Tally {
    let mut tally = Tally::new(submitted);
    for result in results {
        report.received(&result);
        tally.record(&result.outcome);
    }
    tally
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults::default());
    let args = &cli.pool;
    let report = Arc::new(Reporter::new(&args.output));
    let gauge = Arc::new(InFlight::new());
    let tally = match cli.style {
        Style::Waitgroup => with_waitgroup(args, &report, &gauge, &stop)?,
        Style::Scope => with_scope(args, &report, &gauge, &stop)?,
    };
    if !stop.is_set() {
        report.note("All jobs completed!");
    }
    let style = match cli.style {
        Style::Waitgroup => "waitgroup",
        Style::Scope => "scope",
    };
    let summary = Summary::new("waitgroup", tally, args.workers, gauge.peak(), report.elapsed())
        .with_sleep_ideal(args.work(), args.workers)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("style", style);
    Ok(report.summary(&summary))
}

/// Go 003's shape: a WaitGroup for the workers and one for the results printer.
fn with_waitgroup(
    args: &PoolArgs,
    report: &Arc<Reporter>,
    gauge: &Arc<InFlight>,
    stop: &Stop,
) -> anyhow::Result<Tally> {
    let work = args.work();
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    let workers_done = WaitGroup::new();
    let mut handles = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let done = workers_done.clone(); // Go: wg.Add(1), made before the thread exists
        let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
        let (report, gauge, stop) = (Arc::clone(report), Arc::clone(gauge), stop.clone());
        handles.push(
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || {
                    worker(id, jobs_rx, results_tx, work, &gauge, &report, &stop);
                    drop(done); // Go: defer wg.Done()
                })
                .context("cannot start a worker thread")?,
        );
    }
    // Main must drop its own `results` Sender, or the channel can never close and the printer
    // would wait forever. This is the only place where a Rust version of this pool can hang.
    drop(results_tx);
    drop(jobs_rx);

    let printer_done = WaitGroup::new();
    let printer = {
        let (done, report, submitted) = (printer_done.clone(), Arc::clone(report), args.jobs);
        thread::Builder::new()
            .name("printer".into())
            .spawn(move || {
                let tally = print_results(results_rx, submitted, &report);
                drop(done);
                tally
            })
            .context("cannot start the printer thread")?
    };

    for job in args.job_list() {
        jobs_tx.send(job)?; // fails only if every worker is gone
    }
    drop(jobs_tx); // Go: close(jobs)

    workers_done.wait(); // Go: wg.Wait() — every worker has said it is done...
    // ...and Go would now `close(results)`; here the channel closed itself when the last worker
    // dropped its Sender.
    printer_done.wait();

    // "Done" is not "gone": join the threads so none is still alive at exit.
    for handle in handles {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
    }
    printer
        .join()
        .map_err(|_| anyhow::anyhow!("the printer thread panicked"))
}

/// The same pool with `std::thread::scope`: the scope joins every thread spawned in it.
fn with_scope(args: &PoolArgs, report: &Reporter, gauge: &InFlight, stop: &Stop) -> anyhow::Result<Tally> {
    let work = args.work();
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    thread::scope(|s| {
        for id in 1..=args.workers {
            let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
            // Scoped threads may borrow `gauge` and `report`: the scope outlives them.
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn_scoped(s, move || {
                    worker(id, jobs_rx, results_tx, work, gauge, report, stop)
                })
                .context("cannot start a worker thread")?;
        }
        drop(results_tx); // as above: only the workers may keep `results` open
        drop(jobs_rx);
        let printer = thread::Builder::new()
            .name("printer".into())
            .spawn_scoped(s, || print_results(results_rx, args.jobs, report))
            .context("cannot start the printer thread")?;
        for job in args.job_list() {
            jobs_tx.send(job)?;
        }
        drop(jobs_tx); // Go: close(jobs)
        printer
            .join()
            .map_err(|_| anyhow::anyhow!("the printer thread panicked"))
    }) // every worker is joined here, before the scope returns
}
