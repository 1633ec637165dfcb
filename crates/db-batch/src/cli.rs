//! db-batch's command line: only the flags it uses (no `--jobs`: `--rows` and `--batch-size`
//! define the jobs), and where the rows go.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use common::cli::{parse_buffer, parse_count, parse_millis, parse_seed, parse_workers};
use common::{Defaults, OutputArgs, Stop, UsageError};

use crate::db::{Database, Sqlite};
use crate::postgres;

/// The most rows one run generates (`--mode single-tx` holds them all in memory).
const MAX_ROWS: u64 = 10_000_000;
/// The largest batch: one transaction of a million rows is already far past the point where
/// bigger batches help.
const MAX_BATCH: u64 = 1_000_000;

/// A pool of workers batch-inserting generated orders into a real database.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Cli {
    /// Worker threads, each with its own database connection (1..=4096).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = parse_workers)]
    pub workers: usize,

    /// Capacity of the jobs channel (default: 2 × workers).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_buffer)]
    pub buffer: Option<usize>,

    /// Seed for the generated rows: the same seed gives the same rows.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,

    /// Simulated preparation per batch before its transaction, in ms (Ctrl-C cancels it).
    #[arg(long, value_name = "MS", default_value_t = 0, allow_negative_numbers = true, value_parser = parse_millis)]
    pub work_ms: u64,

    /// A SQLite file (created if missing; its folder must exist) or a `postgres://` URL.
    /// Default: $DATABASE_URL if it is a postgres:// URL, else the SQLite file
    /// $CARGO_TARGET_DIR/db-batch/orders.sqlite (else ./target/db-batch/orders.sqlite).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<String>,

    /// PostgreSQL: write each batch with `COPY ... FROM STDIN BINARY` instead of a multi-row INSERT.
    #[arg(long)]
    pub copy: bool,

    /// PostgreSQL: how long to wait for the server to accept a connection.
    #[arg(long, value_name = "MS", default_value_t = 5_000, allow_negative_numbers = true, value_parser = parse_millis)]
    pub connect_timeout_ms: u64,

    /// How long a batch waits for a lock another connection holds before it fails (PostgreSQL's
    /// lock_timeout; SQLite's busy timeout).
    #[arg(long, value_name = "MS", default_value_t = 30_000, allow_negative_numbers = true, value_parser = parse_millis)]
    pub lock_timeout_ms: u64,

    /// PostgreSQL: how long a worker keeps trying to reconnect after losing its connection (a
    /// server restart takes a few seconds). Past it, the batch fails and the run stops dispatching.
    #[arg(long, value_name = "MS", default_value_t = 30_000, allow_negative_numbers = true, value_parser = parse_millis)]
    pub reconnect_ms: u64,

    /// How many order records to generate from --seed (ids 1..=rows).
    #[arg(long, value_name = "N", default_value_t = 100_000, allow_negative_numbers = true, value_parser = parse_rows)]
    pub rows: u64,

    /// Rows per batch: one job, one transaction.
    #[arg(long, value_name = "N", default_value_t = 1_000, allow_negative_numbers = true, value_parser = parse_batch_size)]
    pub batch_size: u64,

    /// Make K rows violate the table's CHECK (amount_cents >= 0) constraint.
    #[arg(long, value_name = "K", default_value_t = 0, allow_negative_numbers = true, value_parser = parse_count)]
    pub bad_rows: u64,

    /// Drop the table before inserting (otherwise rows already there are kept and skipped).
    #[arg(long)]
    pub fresh: bool,

    /// `pool`: the worker pool. `single-tx`: no pool, one connection inserts every row in one
    /// transaction (the ceiling to compare with).
    #[arg(long, value_enum, default_value_t = Mode::Pool)]
    pub mode: Mode,

    /// Only count the rows in the database (a summary with `durable_rows`) and exit.
    #[arg(long)]
    pub count_only: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Pool,
    SingleTx,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Pool => "pool",
            Mode::SingleTx => "single-tx",
        }
    }
}

/// Parses the command line (usage errors: one line, exit 2) and checks the flags together.
pub fn parse() -> anyhow::Result<Cli> {
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 0, // no --jobs: the batches come from --rows / --batch-size
        workers: 5,
        work_ms: 0,
    });
    if cli.bad_rows > cli.rows {
        return Err(UsageError(format!(
            "--bad-rows {} is more than --rows {}",
            cli.bad_rows, cli.rows
        ))
        .into());
    }
    Ok(cli)
}

impl Cli {
    /// Where the rows go: `--db`, else `$DATABASE_URL` if it is a PostgreSQL URL, else the
    /// default SQLite file. A `postgres://` or `postgresql://` URL selects PostgreSQL.
    pub fn database(&self, stop: &Stop) -> anyhow::Result<Database> {
        let from_env = std::env::var("DATABASE_URL").ok().filter(|url| is_postgres(url));
        let lock_timeout = Duration::from_millis(self.lock_timeout_ms);
        let target = match (&self.db, from_env) {
            (Some(db), _) => db.clone(),
            (None, Some(url)) => url,
            (None, None) => default_db_path()?.display().to_string(),
        };
        if is_postgres(&target) {
            let options = postgres::Options {
                copy: self.copy,
                connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                lock_timeout,
                reconnect_for: Duration::from_millis(self.reconnect_ms),
            };
            let db = postgres::Postgres::new(&target, options, stop.clone())?;
            return Ok(Database::Postgres(Box::new(db)));
        }
        if self.copy {
            return Err(UsageError("--copy needs a PostgreSQL database (--db postgres://...)".into()).into());
        }
        Ok(Database::Sqlite(Sqlite::new(target, lock_timeout)))
    }
}

fn is_postgres(target: &str) -> bool {
    target.starts_with("postgres://") || target.starts_with("postgresql://")
}

fn parse_rows(s: &str) -> Result<u64, String> {
    let n = parse_count(s)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn help_lists_only_the_flags_db_batch_uses() {
        let help = Cli::command().render_long_help().to_string();
        for unused in ["--jobs", "--workload", "--fail-every"] {
            assert!(!help.contains(unused), "--help lists {unused}");
        }
        for used in ["--workers", "--rows", "--batch-size", "--db", "--json"] {
            assert!(help.contains(used), "--help misses {used}");
        }
    }
}
