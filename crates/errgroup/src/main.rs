//! # errgroup — a group of jobs where the first error cancels the rest
//!
//! ## What it shows
//! Go's most used pool idiom is no pool: `errgroup` runs a fixed set of jobs, starts no new one
//! after the first error, tells the running ones to stop, and `Wait` returns that error. Here it is
//! `ErrGroup` below, on `std::thread::scope`: `spawn` (waits for one of `--limit` slots),
//! `try_spawn`, `wait`, a cancellation flag the jobs poll and a first-error slot. The default task
//! fetches 10 paginated URLs from a loopback server (`testbed`): job 4's second page answers 500.
//!
//! ## What to watch for
//! - After `group_cancel` no job starts: jobs in flight stop before their next page (`cancelled`),
//!   the rest are `not_started`, with why. `wait` returns the first real error, never "cancelled":
//!   a job that stops because of the cancel does not fill the slot.
//! - `--style tokio` (JoinSet, Semaphore, CancellationToken) ends the same way; `--style rayon`
//!   (`try_for_each`) stops handing out jobs but cannot stop one in flight: it finishes.
//! - `--try` refuses jobs while every slot is busy (reported, not lost); `--panic-at 2 --on-panic
//!   error|propagate`; `--task simulated` runs the shared `--workload`s.
//!
//! ## Go original and what differs
//! `golang.org/x/sync/errgroup`: `WithContext(ctx)`, `SetLimit(n)`, `Go(f)`, `TryGo(f)`, `Wait()`.
//! - Go's `Go` runs `f` even after the cancel (`f` must check `ctx`); here a job admitted after it
//!   never starts. `Go` blocks for a slot, so a job calling `Go` on its own full group deadlocks
//!   (golang/go#27837, where SetLimit was designed); `spawn` here too.
//! - A panic in a goroutine kills the process. golang/go#53757 made `Wait` re-panic instead; it was
//!   reverted (golang/go#74275): the panic then waited for `Wait`, which a long-lived group calls
//!   late or never, so crashes that were prompt became latent. Rust's `join` returns a panic as a
//!   value: with `--on-panic propagate` `wait` hands it to main, which re-raises it after the
//!   summary (exit 101); `--on-panic error` makes it the job's error.
//!
//! ## How to run
//! ```sh
//! cargo run -p errgroup
//! cargo run -p errgroup -- --style rayon --limit 2
//! cargo run -p errgroup -- --task simulated --fail-at 0 --try --jobs 20
//! ```

mod group;
mod styles;
mod task;

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::{self, Scope};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::{Defaults, Job, PoolArgs, Stop, Summary};
use testbed::http_server::Server;

use group::{Cause, FirstError, OnPanic, Shared, Wait};
use task::{JobEnd, Kind, Task};

/// A group of jobs where the first error cancels the rest (Go's errgroup).
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// How the group is built: `ErrGroup` on thread::scope, tokio (JoinSet, Semaphore,
    /// CancellationToken) or rayon (try_for_each).
    #[arg(long, value_enum, default_value_t = Style::Scope)]
    style: Style,

    /// SetLimit(N): at most N jobs in flight (1..=4096; default: --workers).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_limit)]
    limit: Option<usize>,

    /// TryGo: start a job only if a slot is free at once; a refused job is reported never started.
    #[arg(long = "try")]
    try_spawn: bool,

    /// Job K fails (its second page answers 500, or its simulated work fails); 0: none.
    /// Default: job 4 (or the last) with `--task http`, none with `--task simulated`.
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = common::cli::parse_count)]
    fail_at: Option<u64>,

    /// Job K panics as it starts; 0: none.
    #[arg(long, value_name = "K", default_value = "0", allow_negative_numbers = true, value_parser = common::cli::parse_count)]
    panic_at: u64,

    /// A job's panic is its error, or `wait` hands it to main, which re-raises it (exit 101).
    #[arg(long, value_enum, default_value_t = OnPanic::Error)]
    on_panic: OnPanic,

    /// What a job does: fetch 4 pages from the loopback test server (`--work-ms` is their total
    /// wait), or the simulated `--workload`.
    #[arg(long, value_enum, default_value_t = TaskKind::Http)]
    task: TaskKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Style {
    Scope,
    Tokio,
    Rayon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TaskKind {
    Http,
    Simulated,
}

fn parse_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=common::cli::MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "the limit must be between 1 and {}, got '{s}'",
            common::cli::MAX_WORKERS
        )),
    }
}

fn main() -> ExitCode {
    common::main(run)
}

/// Go's `errgroup.Group` after `WithContext` and `SetLimit`, on `std::thread::scope`: a thread
/// per job, at most `limit` at once, and every thread joined when the scope ends. The
/// cancellation flag, the first-error slot and the books are in [`Shared`] (`group.rs`).
struct ErrGroup<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    shared: &'env Shared,
}

impl<'scope, 'env> ErrGroup<'scope, 'env> {
    /// Go's `g.Go(f)`: waits for a free slot, then runs `f` on a thread of its own. After the
    /// first error `f` never starts (the job is reported never started, with why).
    fn spawn(&self, job: Job, f: impl FnOnce(&Stop) -> JobEnd + Send + 'scope) {
        if let Some(lane) = self.shared.admit(&job, Wait::Block) {
            self.start(job, lane, f);
        }
    }

    /// Go's `g.TryGo(f)`: runs `f` only if a slot is free now; false if the job was refused.
    fn try_spawn(&self, job: Job, f: impl FnOnce(&Stop) -> JobEnd + Send + 'scope) -> bool {
        match self.shared.admit(&job, Wait::Try) {
            Some(lane) => {
                self.start(job, lane, f);
                true
            }
            None => false,
        }
    }

    fn start(&self, job: Job, lane: usize, f: impl FnOnce(&Stop) -> JobEnd + Send + 'scope) {
        let shared = self.shared;
        let spawned = thread::Builder::new()
            .name(format!("job-{}", job.id))
            .spawn_scoped(self.scope, move || {
                // The job's panic is caught on its own thread: with `--on-panic error` it is the
                // job's error; with `propagate` the group keeps it for `wait`.
                let end = std::panic::catch_unwind(AssertUnwindSafe(|| f(shared.cancel())))
                    .unwrap_or_else(JobEnd::Panicked);
                shared.end(&job, lane, end); // the first error cancels the group, in here
            });
        if let Err(e) = spawned {
            shared.end(
                &job,
                lane,
                JobEnd::Failed(format!("cannot start its thread: {e}")),
            );
        }
    }

    /// Go's `g.Wait()`: returns once every job has ended, with the first real error. With
    /// `--on-panic propagate`, a job's panic comes back as a value, for the caller to re-raise.
    fn wait(&self) -> Result<(), Failure> {
        self.shared.wait_idle();
        failure(self.shared)
    }
}

/// Why a group failed.
enum Failure {
    Error(FirstError),
    Panic(Box<dyn std::any::Any + Send>),
}

fn run() -> anyhow::Result<ExitCode> {
    let ctrl_c = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 10,
        workers: 3,
        work_ms: 200,
    });
    let limit = cli.limit.unwrap_or(cli.pool.workers);
    anyhow::ensure!(
        !(cli.try_spawn && cli.style == Style::Rayon),
        "--try needs --style scope or tokio: rayon's try_for_each has no TryGo"
    );
    let fail_at = match (cli.fail_at, cli.task) {
        (Some(k), _) => k,
        (None, TaskKind::Http) => cli.pool.jobs.min(4),
        (None, TaskKind::Simulated) => 0,
    };
    for (flag, k) in [("--fail-at", fail_at), ("--panic-at", cli.panic_at)] {
        anyhow::ensure!(
            k <= cli.pool.jobs,
            "{flag} {k} is not one of the {} jobs (0: none)",
            cli.pool.jobs
        );
    }
    if cli.panic_at > 0 {
        quiet_simulated_panics();
    }
    let report = common::Reporter::new(&cli.pool.output);

    // The test server stands in for the hosts a real list would fetch from (not the lesson).
    let server = match cli.task {
        TaskKind::Http => Some(Server::start(limit)?),
        TaskKind::Simulated => None,
    };
    let kind = match &server {
        Some(server) => {
            report.note(format!("Test server at {}", server.base_url()));
            Kind::Http {
                agent: Task::http_agent(limit),
                base: server.base_url(),
                page_ms: cli.pool.work_ms / task::PAGES,
            }
        }
        None => Kind::Simulated(cli.pool.work()),
    };
    let task = Arc::new(Task {
        kind,
        fail_at,
        panic_at: cli.panic_at,
    });
    let jobs: Vec<Job> = cli.pool.job_list().collect();
    let shared = Arc::new(Shared::new(jobs.len() as u64, limit, cli.on_panic, report));

    // Ctrl-C is Go's parent context: a thread waits for it (or the end of the run) and cancels
    // the group, which every job and every waiting spawn sees.
    let (done_tx, done_rx) = crossbeam::channel::bounded::<Infallible>(0);
    let watcher = {
        let shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("ctrl-c".into())
            .spawn(move || {
                crossbeam::select! {
                    recv(ctrl_c.channel()) -> _ => shared.cancel_by_ctrl_c(),
                    recv(done_rx) -> _ => {}
                }
            })
            .context("cannot start the Ctrl-C thread")?
    };

    let waited = match cli.style {
        Style::Scope => thread::scope(|scope| {
            let group = ErrGroup {
                scope,
                shared: &shared,
            };
            for job in jobs {
                let task = &task;
                let f = move |cancel: &Stop| task.run(&job, cancel);
                if cli.try_spawn {
                    group.try_spawn(job, f); // a refused job is already reported
                } else {
                    group.spawn(job, f);
                }
            }
            group.wait()
        }),
        Style::Tokio => styles::tokio(&shared, &task, jobs, cli.try_spawn).map(|()| failure(&shared))?,
        Style::Rayon => styles::rayon(&shared, &task, &jobs).map(|()| failure(&shared))?,
    };
    drop(done_tx);
    let panicked = common::join_all([watcher]);
    drop(task); // the HTTP client's connections close before the server stops
    let server = server.map(Server::shutdown);

    let books = shared.books();
    let report = &shared.report;
    let mut summary = Summary::new("errgroup", books.tally, limit, books.peak, report.elapsed())
        .with_max_in_flight(limit)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("style", format!("{:?}", cli.style).to_lowercase())
        .field("limit", limit)
        .field("try", cli.try_spawn)
        .field("refused", books.refused)
        .field("finished_after_cancel", books.finished_after_cancel)
        .field("running_after_wait", books.running);
    if books.tally.failed == 0 && cli.task == TaskKind::Simulated {
        summary = summary.with_sleep_ideal(cli.pool.work(), limit);
    }
    if let Some((cause, at)) = books.cancelled {
        summary = summary
            .field("cancelled_by", cause.name())
            .field("cancelled_at_ms", report.t_ms_at(at));
        if cause == Cause::FirstError || books.finished_after_cancel > 0 {
            summary = summary.line(format!(
                "after the cancel: {} job(s) in flight stopped, {} finished (nothing could stop them), {} never started",
                books.tally.cancelled, books.finished_after_cancel, books.tally.not_started
            ));
        }
    }
    if let Some(first) = &books.first_error {
        summary = summary
            .field("first_error_job", first.job)
            .field("first_error", first.error.clone());
    }
    if let Err(Failure::Error(first)) = &waited {
        summary = summary.line(format!(
            "wait returned the first error: job {}: {}",
            first.job, first.error
        ));
    }
    if books.refused > 0 {
        summary = summary.line(format!(
            "try_spawn refused {} job(s): every slot was busy",
            books.refused
        ));
    }
    if let Some(stats) = &server {
        summary = summary.field("server_peak_open_requests", stats.peak_open_requests());
    }
    if panicked > 0 {
        summary = summary.field("threads_panicked", panicked);
    }
    let code = report.summary(&summary);
    match waited {
        Err(Failure::Panic(payload)) => {
            // `--on-panic propagate`: the job's panic goes on in main, as `join` lets a caller
            // do; `resume_unwind` does not print the panic again, so say it once here.
            common::exit::print_error_line(&format!(
                "a job's panic is re-raised in main (--on-panic propagate): {}",
                common::panic_message(&*payload)
            ));
            std::panic::resume_unwind(payload)
        }
        Err(Failure::Error(_)) | Ok(()) => Ok(code),
    }
}

/// What `wait` returns once every job has ended: the panic to hand on, else the first error.
fn failure(shared: &Shared) -> Result<(), Failure> {
    match shared.outcome() {
        (_, Some(panic)) => Err(Failure::Panic(panic)),
        (Some(first), None) => Err(Failure::Error(first)),
        (None, None) => Ok(()),
    }
}

/// The panics `--panic-at` asks for are reported as the job's outcome: keep the default hook's
/// message and backtrace off stderr for them, and only for them.
fn quiet_simulated_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let simulated = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.ends_with(task::SIMULATED_PANIC));
        if !simulated {
            default_hook(info);
        }
    }));
}
