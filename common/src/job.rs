//! Jobs and how they end: the data every example passes between its threads.

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

/// What the reporter needs of a job: its id, and its numeric input if it has one (`value` is
/// omitted from the events of a job without one, such as a URL).
pub trait JobRef {
    fn id(&self) -> u64;
    fn value(&self) -> Option<u64>;
}

impl JobRef for Job {
    fn id(&self) -> u64 {
        self.id
    }
    fn value(&self) -> Option<u64> {
        Some(self.value)
    }
}
