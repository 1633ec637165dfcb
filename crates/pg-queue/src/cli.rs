//! The command line: modes, flags and their checks.

use clap::{Parser, ValueEnum};
use common::cli::{parse_count, parse_millis, parse_workers};
use common::{OutputArgs, UsageError};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A job queue in a PostgreSQL table: claim with FOR UPDATE SKIP LOCKED, leases, retries, a rescuer."
)]
pub struct Cli {
    /// `produce` (INSERT --jobs), `consume` (the pool), or both in one process (default).
    #[arg(value_enum, default_value_t = Mode::Both)]
    pub mode: Mode,
    /// The database (default: a private PostgreSQL cluster on a Unix socket, started here).
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Jobs to produce (numbered 1..=N in their payload).
    #[arg(long, default_value = "1000", allow_negative_numbers = true, value_parser = parse_count)]
    pub jobs: u64,
    /// Worker threads in this process.
    #[arg(long, default_value = "4", allow_negative_numbers = true, value_parser = parse_workers)]
    pub workers: usize,
    /// Jobs per claim (the LIMIT of the SKIP LOCKED query), 1..=10000.
    #[arg(long, default_value = "64", allow_negative_numbers = true, value_parser = parse_batch)]
    pub batch: usize,
    /// Finished jobs per completion round trip, 1..=10000 (1 = one UPDATE per job).
    #[arg(long, default_value = "256", allow_negative_numbers = true, value_parser = parse_batch)]
    pub complete_batch: usize,
    /// Simulated work per job in ms (0 = a trivial job).
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true, value_parser = parse_millis)]
    pub work_ms: u64,
    /// How long a claim holds a job: past it, the rescuer of any consumer gives the job back.
    #[arg(long, value_name = "MS", default_value = "30000", allow_negative_numbers = true, value_parser = parse_lease)]
    pub lease_ms: u64,
    /// After this many failed attempts a job is `discarded` (kept with its last error).
    #[arg(long, default_value = "3", allow_negative_numbers = true, value_parser = parse_attempts)]
    pub max_attempts: i32,
    /// The first retry's delay; each further one doubles it (with jitter, at most 60 s).
    #[arg(long, value_name = "MS", default_value = "100", allow_negative_numbers = true, value_parser = parse_millis)]
    pub backoff_ms: u64,
    /// How an idle consumer learns of new jobs: `notify` (LISTEN; every INSERT wakes it) or
    /// `poll` (it asks again every --poll-ms).
    #[arg(long, value_enum, default_value_t = Wake::Notify)]
    pub wake: Wake,
    /// `poll`: how often an idle consumer asks for jobs again (default 50). `notify`: how often
    /// it looks anyway, in case a notification was missed (default 1000).
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = parse_lease)]
    pub poll_ms: Option<u64>,
    /// Produce one job per INSERT, this many ms apart (0: all at once, 5,000 per INSERT). With
    /// both modes in one process, the producer runs beside the pool.
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true, value_parser = parse_millis)]
    pub every_ms: u64,
    /// Produce each job in one transaction with the business row it belongs to (an order in
    /// `pg_queue_orders`): both commit, or neither.
    #[arg(long)]
    pub transactional: bool,
    /// With --transactional: roll back every Kth transaction (a failure after both INSERTs);
    /// neither its order nor its job exists afterwards.
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = parse_positive)]
    pub rollback_every: Option<u64>,
    /// After Ctrl-C, how long jobs in flight may run before they are cancelled.
    #[arg(long, value_name = "MS", default_value = "1000", allow_negative_numbers = true, value_parser = parse_millis)]
    pub grace_ms: u64,
    /// Produce job N as one that always fails (repeatable).
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub poison: Vec<u64>,
    /// Produce job N as one that always panics (repeatable).
    #[arg(long = "panic", value_name = "N", value_parser = parse_count)]
    pub panics: Vec<u64>,
    /// `consume`: keep waiting for new jobs until Ctrl-C (default: stop once no job is
    /// available or running in the table).
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Wake {
    Notify,
    Poll,
}

impl Cli {
    /// The idle consumer's poll interval (`poll`), or its fallback look (`notify`).
    pub fn poll(&self) -> std::time::Duration {
        let default = match self.wake {
            Wake::Notify => 1000,
            Wake::Poll => 50,
        };
        std::time::Duration::from_millis(self.poll_ms.unwrap_or(default))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Produce,
    Consume,
    Both,
}

/// Parses the command line (bad input: one line on stderr, exit 2).
pub fn parse() -> Result<Cli, UsageError> {
    let cli: Cli = common::parse_args(&common::Defaults {
        jobs: 1000,
        workers: 4,
        work_ms: 0,
    });
    cli.check()?;
    Ok(cli)
}

impl Cli {
    /// What clap cannot say in one line: flags that only mean something together.
    fn check(&self) -> Result<(), UsageError> {
        if self.rollback_every.is_some() && !self.transactional {
            return Err(UsageError(
                "--rollback-every rolls back producer transactions: it needs --transactional (see --help)"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn parse_batch(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number from 1 to 10000")),
    }
}

fn parse_lease(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=86_400_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number of ms from 1 to 86400000")),
    }
}

fn parse_positive(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' must be a whole number, 1 or more")),
    }
}

fn parse_attempts(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number from 1 to 1000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_refuse_zero_and_huge() {
        assert_eq!(parse_batch("64"), Ok(64));
        assert!(parse_batch("0").is_err());
        assert!(parse_batch("10001").is_err());
        assert!(parse_lease("0").is_err());
        assert_eq!(parse_attempts("3"), Ok(3));
        assert!(parse_attempts("0").is_err());
        assert!(parse_attempts("-2").is_err());
    }

    #[test]
    fn defaults_are_both_modes_on_four_workers() {
        let cli = Cli::try_parse_from(["pg-queue"]).expect("valid");
        assert_eq!((cli.mode, cli.workers, cli.max_attempts), (Mode::Both, 4, 3));
        assert_eq!((cli.wake, cli.poll().as_millis()), (Wake::Notify, 1000));
        let poll = Cli::try_parse_from(["pg-queue", "--wake", "poll"]).expect("valid");
        assert_eq!(poll.poll().as_millis(), 50);
        let alone = Cli::try_parse_from(["pg-queue", "--rollback-every", "3"]).expect("parses");
        assert!(alone.check().is_err());
    }
}
