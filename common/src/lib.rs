//! Shared plumbing for the worker-pool examples: the job and result types, the command-line
//! arguments every example flattens, reporting (human lines or JSON events), an in-flight gauge,
//! simulated work, thread accounting and exit codes.
//!
//! The pool mechanics themselves (channels, workers, close, join) are deliberately *not* here:
//! each example keeps them visible in its own `main.rs`.
//!
//! The modules are layers; each uses only those below it (`cargo xtask tidy` checks it):
//!
//! 1. [`exit`]: exit codes, the one error line, the error chain;
//! 2. [`job`], [`work`], [`gauge`], [`event`], [`progress`]: data and small tools;
//! 3. [`threads`], then [`signal`]: the process's threads and Ctrl-C;
//! 4. [`report`]: the reporter and the summary, told the interruption state, writing to a sink;
//! 5. [`watchdog`]: the no-progress watchdog and the verdict of a `--mistake` run;
//! 6. [`cli`]: the arguments.

pub mod cli;
pub mod custom;
pub mod event;
pub mod exit;
pub mod gauge;
pub mod job;
pub mod progress;
pub mod report;
pub mod signal;
pub mod threads;
pub mod watchdog;
pub mod work;

pub use cli::{Defaults, PoolArgs, UsageError, parse_args};
pub use exit::{error_chain, main};
pub use gauge::InFlight;
pub use job::{Job, JobRef, JobResult, Outcome};
pub use report::{Capture, Detail, OutputArgs, Reporter, Summary, Tally};
pub use signal::Stop;
pub use threads::{join_all, panic_message};
pub use work::{Work, WorkDist, Workload};
