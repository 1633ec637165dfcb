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
            cli::print_error_line(&error_chain(&err));
            std::process::ExitCode::from(report::EXIT_USAGE)
        }
    }
}

/// An error and its causes on one line, `what: why: root cause`, as anyhow's `{:#}` prints them,
/// but without a cause whose text the line already holds: some libraries' errors print their
/// source in their own message as well (redis's I/O errors did: "Connection reset by peer (os
/// error 104): Connection reset by peer (os error 104)").
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || previous.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        previous = text;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_chain;
    use anyhow::Context as _;

    /// An error whose message already ends with its source's, as redis's I/O errors do.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_line_is_not_repeated() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "Connection reset by peer");
        let err = Err::<(), _>(Wrapped(reset))
            .context("cannot read the stream")
            .expect_err("an error");
        assert_eq!(
            format!("{err:#}"),
            "cannot read the stream: Connection reset by peer: Connection reset by peer"
        );
        assert_eq!(
            error_chain(&err),
            "cannot read the stream: Connection reset by peer"
        );
    }

    #[test]
    fn distinct_causes_all_stay_in_order() {
        let err = Err::<(), _>(std::io::Error::other("disk full"))
            .context("cannot write orders.sqlite")
            .context("batch 3 failed")
            .expect_err("an error");
        assert_eq!(error_chain(&err), format!("{err:#}"));
        assert_eq!(
            error_chain(&err),
            "batch 3 failed: cannot write orders.sqlite: disk full"
        );
    }
}
