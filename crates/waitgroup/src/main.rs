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
//! cargo run -p waitgroup -- --mistake wait-too-early
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::watchdog::Verdict;
use common::{Defaults, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally, Work};
use crossbeam::channel::{self, Receiver, Sender};
use crossbeam::sync::WaitGroup;
use waitgroup::GoWaitGroup;

/// Waiting for workers: crossbeam WaitGroup (Go's sync.WaitGroup) or std::thread::scope.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// How main waits for the workers.
    #[arg(long, value_enum, default_value_t = Style::Waitgroup)]
    style: Style,

    /// Reproduce a common mistake on purpose, and watch it caught (docs/mistakes.md).
    #[arg(long, value_enum, value_name = "NAME")]
    mistake: Option<Mistake>,
}

/// A mistake to reproduce (waitgroup style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mistake {
    /// Go 002's Mistake 2: `wg.Add(1)` inside the goroutine. `wait` returns before any worker
    /// has counted itself, while every job is still to run.
    WaitTooEarly,
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
    let mistake = cli.mistake.is_some();
    let (tally, broken) = match cli.style {
        Style::Waitgroup => with_waitgroup(args, &report, &gauge, &stop, mistake)?,
        Style::Scope if mistake => anyhow::bail!("--mistake wait-too-early needs --style waitgroup"),
        Style::Scope => (with_scope(args, &report, &gauge, &stop)?, None),
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
    let verdict = Verdict {
        mistake: cli.mistake.map(|_| "wait-too-early"),
        broken_invariant: broken,
        ..Verdict::default()
    };
    let summary = verdict.apply(summary);
    let _ = report.summary(&summary);
    Ok(verdict.exit_code(&summary))
}

/// Go 003's shape: a WaitGroup for the workers and one for the results printer. With
/// `wait_too_early`, also the mistake; returns the tally and the invariant the mistake broke.
fn with_waitgroup(
    args: &PoolArgs,
    report: &Arc<Reporter>,
    gauge: &Arc<InFlight>,
    stop: &Stop,
    wait_too_early: bool,
) -> anyhow::Result<(Tally, Option<String>)> {
    let work = args.work();
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (results_tx, results_rx) = channel::bounded::<JobResult>(args.buffer());

    let workers_done = WaitGroup::new();
    // MISTAKE wait-too-early: a Go-style WaitGroup whose `add(1)` runs inside each worker. The
    // workers start only once main has called `wait` (`opened`), the order Go's scheduler usually
    // picks, so the race is lost every time.
    let (go_wg, (open, opened)) = (Arc::new(GoWaitGroup::new()), channel::bounded::<()>(0));
    let mut handles = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let done = workers_done.clone(); // Go: wg.Add(1), made before the thread exists
        let (jobs_rx, results_tx) = (jobs_rx.clone(), results_tx.clone());
        let (report, gauge, stop) = (Arc::clone(report), Arc::clone(gauge), stop.clone());
        let go_form = wait_too_early.then(|| (Arc::clone(&go_wg), opened.clone()));
        handles.push(
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || {
                    if let Some((go_wg, opened)) = &go_form {
                        let _ = opened.recv();
                        go_wg.add(1); // MISTAKE: Go's wg.Add(1) inside the goroutine
                    }
                    worker(id, jobs_rx, results_tx, work, &gauge, &report, &stop);
                    drop(done); // Go: defer wg.Done()
                    if let Some((go_wg, _)) = &go_form {
                        go_wg.done();
                    }
                })
                .context("cannot start a worker thread")?,
        );
    }
    // Main must drop its own `results` Sender, or the channel can never close and the printer
    // would wait forever. This is the only place where a Rust version of this pool can hang.
    drop(results_tx);
    drop(jobs_rx);

    let mut broken = None;
    if wait_too_early {
        go_wg.wait(); // MISTAKE: returns at once, as no worker has counted itself yet
        let running = handles.iter().filter(|h| !h.is_finished()).count();
        if running > 0 {
            broken = Some(format!(
                "wait returned while {running} of {} worker(s) still ran and all {} job(s) were still to do \
                 (Go: wg.Add(1) inside the goroutine; here the clone is made before spawn)",
                args.workers, args.jobs
            ));
        }
    }
    drop((open, opened)); // the workers start

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
    let tally = printer
        .join()
        .map_err(|_| anyhow::anyhow!("the printer thread panicked"))?;
    Ok((tally, broken))
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
