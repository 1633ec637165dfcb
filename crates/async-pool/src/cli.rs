//! async-pool's flags: the common pool flags plus `--style`, `--concurrency`, `--deadline-ms`,
//! `--panic-every`, `--runtime-threads` and `--mistake`.

use clap::{Parser, ValueEnum};
use common::PoolArgs;

use crate::mistake::Mistake;

/// The same worker pool with tokio tasks: N tasks on one channel, buffer_unordered, or a JoinSet.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Cli {
    #[command(flatten)]
    pub pool: PoolArgs,

    /// How the pool is built: N worker tasks on one channel, a stream with buffer_unordered(N),
    /// or a task per job capped by a Semaphore and collected by a JoinSet.
    #[arg(long, value_enum, default_value_t = Style::Workers)]
    pub style: Style,

    /// Jobs in flight at most (default: --workers). Tasks are cheap: up to 1,000,000, where
    /// --workers (threads in the other examples) stops at 4096.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,

    /// Cancel the run after this many milliseconds: jobs waiting are cancelled, the rest never start.
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = common::cli::parse_millis)]
    pub deadline_ms: Option<u64>,

    /// Make every Nth job (by id) panic, to show that a panicking task fails its job and the pool
    /// lives (0 = never).
    #[arg(long, value_name = "N", default_value = "0", allow_negative_numbers = true, value_parser = common::cli::parse_count)]
    pub panic_every: u64,

    /// The runtime's worker threads (default: one per CPU this process may use).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_runtime_threads)]
    pub runtime_threads: Option<usize>,

    /// Reproduce a common mistake on purpose, and watch it caught (docs/mistakes.md).
    #[arg(long, value_enum, value_name = "NAME")]
    pub mistake: Option<Mistake>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Style {
    Workers,
    BufferUnordered,
    Joinset,
}

const MAX_CONCURRENCY: usize = 1_000_000;

pub fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "concurrency must be between 1 and {MAX_CONCURRENCY}, got '{s}'"
        )),
    }
}

const MAX_RUNTIME_THREADS: usize = 1024;

pub fn parse_runtime_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_RUNTIME_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "runtime threads must be between 1 and {MAX_RUNTIME_THREADS}, got '{s}'"
        )),
    }
}

impl Style {
    /// The name the summary prints (as on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Style::Workers => "workers",
            Style::BufferUnordered => "buffer-unordered",
            Style::Joinset => "joinset",
        }
    }
}
