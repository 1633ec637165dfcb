//! The command line: modes, flags and their checks, and what they name on the broker.

use std::sync::Arc;

use clap::{Parser, ValueEnum};
use common::OutputArgs;
use common::cli::{parse_count, parse_millis, parse_workers};

use crate::broker::Names;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Consumers sharing a Redis Streams consumer group: fetcher, workers, acker."
)]
pub struct Cli {
    /// `produce` (XADD --messages), `consume` (the pool), or both in one process (default).
    #[arg(value_enum, default_value_t = Mode::Both)]
    pub mode: Mode,
    /// The Redis server (default: a private redis-server on a Unix socket, started here).
    #[arg(long, value_name = "URL", env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Messages to produce (ids 1..=N).
    #[arg(long, default_value = "1000", allow_negative_numbers = true, value_parser = parse_count)]
    pub messages: u64,
    /// Worker threads in this process.
    #[arg(long, default_value = "4", allow_negative_numbers = true, value_parser = parse_workers)]
    pub workers: usize,
    /// Entries per XREADGROUP (COUNT), 1..=10000.
    #[arg(long, default_value = "64", allow_negative_numbers = true, value_parser = parse_batch)]
    pub count: usize,
    /// Entries per XACK round trip, 1..=10000 (1 = one XACK per message).
    #[arg(long, default_value = "256", allow_negative_numbers = true, value_parser = parse_batch)]
    pub ack_batch: usize,
    /// Simulated work per job in ms (0 = a trivial job).
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true, value_parser = parse_millis)]
    pub work_ms: u64,
    /// Claim entries pending longer than this on any consumer (a dead one, or a failed job).
    #[arg(long, value_name = "MS", default_value = "5000", allow_negative_numbers = true, value_parser = parse_millis)]
    pub claim_idle_ms: u64,
    /// After this many failed deliveries an entry goes to the dead-letter stream.
    #[arg(long, default_value = "3", allow_negative_numbers = true, value_parser = parse_workers)]
    pub max_deliveries: usize,
    /// After Ctrl-C, how long jobs in flight may run before they are cancelled.
    #[arg(long, value_name = "MS", default_value = "1000", allow_negative_numbers = true, value_parser = parse_millis)]
    pub grace_ms: u64,
    /// Produce message N as a job that always fails (repeatable).
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub poison: Vec<u64>,
    /// Produce message N as a job that always panics (repeatable).
    #[arg(long = "panic", value_name = "N", value_parser = parse_count)]
    pub panics: Vec<u64>,
    /// The stream (dead letters go to `<stream>:dead`).
    #[arg(long, default_value = "jobs")]
    pub stream: String,
    /// The consumer group.
    #[arg(long, default_value = "workers")]
    pub group: String,
    /// `consume`: keep waiting for new entries until Ctrl-C (default: stop once the group has
    /// nothing new and nothing pending).
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Produce,
    Consume,
    Both,
}

/// Parses the command line (bad input: one line on stderr, exit 2).
pub fn parse() -> Cli {
    common::parse_args(&common::Defaults {
        jobs: 0,
        workers: 4,
        work_ms: 0,
    })
}

impl Cli {
    /// The stream, its group and its dead-letter stream.
    pub fn names(&self) -> Arc<Names> {
        Arc::new(Names {
            dead: format!("{}:dead", self.stream),
            stream: self.stream.clone(),
            group: self.group.clone(),
        })
    }

    /// How the producer marks message `n`: `fail` (`--poison`), `panic` (`--panic`), or not.
    pub fn poison_mark(&self, n: u64) -> Option<&'static str> {
        (self.poison.contains(&n).then_some("fail")).or(self.panics.contains(&n).then_some("panic"))
    }

    /// `--max-deliveries` as a delivery count.
    pub fn max_deliveries(&self) -> u64 {
        self.max_deliveries as u64
    }
}

fn parse_batch(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number from 1 to 10000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_ack_batch_refuse_zero_and_huge() {
        assert_eq!(parse_batch("64"), Ok(64));
        assert!(parse_batch("0").is_err());
        assert!(parse_batch("10001").is_err());
        assert!(parse_batch("-1").is_err());
    }

    #[test]
    fn poison_marks_follow_the_flags() {
        let cli =
            Cli::try_parse_from(["queue-consumer", "--poison", "7", "--panic", "11"]).expect("valid flags");
        assert_eq!(cli.poison_mark(7), Some("fail"));
        assert_eq!(cli.poison_mark(11), Some("panic"));
        assert_eq!(cli.poison_mark(8), None);
        assert_eq!(cli.names().dead, "jobs:dead");
    }
}
