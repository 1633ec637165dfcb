//! Shared plumbing for the worker-pool examples: the job and result types, the command-line
//! arguments every example flattens, reporting (human lines or JSON events), an in-flight gauge,
//! simulated work, thread accounting and exit codes.
//!
//! The pool mechanics themselves (channels, workers, close, join) are deliberately *not* here:
//! each example keeps them visible in its own `main.rs`.

pub mod cli;
pub mod event;
pub mod gauge;
pub mod progress;
pub mod report;
pub mod signal;
pub mod threads;
pub mod work;

pub use cli::{Defaults, OutputArgs, PoolArgs, UsageError, parse_args};
pub use gauge::InFlight;
pub use report::{Detail, JobRef, Reporter, Summary, Tally};
pub use signal::Stop;
pub use threads::{join_all, panic_message};
pub use work::{Work, Workload};

use serde::Serialize;

/// One unit of work, as in the Go originals' `Job{ID, Value}`. Ids run from 1 to `--jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: u64,
    pub value: u64,
}

/// How a job ended. Results are data: a failed job is reported, never dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job ran to completion and produced this output.
    Ok(u64),
    /// The job ran and failed, for this reason (an error or a caught panic).
    Failed(String),
    /// The job was started but stopped by cancellation before it completed.
    Cancelled,
    /// The job was submitted but never ran: a worker took it after the stop and handed it back
    /// untouched, or it was still queued.
    NotStarted,
}

impl Outcome {
    /// The name used for this outcome in JSON events (`"ok"`, `"failed"`, `"cancelled"`).
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::NotStarted => "not_started",
        }
    }
}

/// The result a worker sends back: which job, which worker, and how it ended
/// (Go's `Result{JobID, Output, Err}`, plus the worker id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    pub job: Job,
    pub worker: usize,
    pub outcome: Outcome,
}

/// Runs an example's real `main`, turning any error into one line on stderr and exit code 2.
/// (Once a Ctrl-C has arrived, an error still exits 2: the run could not report its jobs.)
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     common::main(|| {
///         // ... parse, run, report ...
///         Ok(std::process::ExitCode::SUCCESS)
///     })
/// }
/// ```
pub fn main(run: impl FnOnce() -> anyhow::Result<std::process::ExitCode>) -> std::process::ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            cli::print_error_line(&format!("{err:#}"));
            std::process::ExitCode::from(report::EXIT_USAGE)
        }
    }
}
