//! prime-pipeline's command line: only the flags that change what it does.

use clap::{Parser, ValueEnum};
use common::OutputArgs;
use common::cli::MAX_WORKERS;
use common::watchdog::WatchdogArgs;

/// Generator → fan-out prime finders → fan-in → take(n), with every stage thread joined at the end.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Cli {
    /// How many primes to take before the pipeline shuts down.
    #[arg(long, value_name = "N", default_value_t = 13, allow_negative_numbers = true,
          value_parser = common::cli::parse_count)]
    pub take: u64,

    /// Prime finder threads, all reading the one generator (default: one per CPU).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_finders)]
    pub finders: Option<usize>,

    /// The generator draws random numbers in 0..MAX.
    #[arg(long, default_value_t = 5_000_000, allow_negative_numbers = true, value_parser = parse_max)]
    pub max: u64,

    /// The prime check: `naive` (the original's trial division from n−1 down, O(n)) or `sqrt`.
    #[arg(long, value_enum, default_value_t = Check::Naive)]
    pub check: Check,

    /// Room for N items in every channel between stages (default 0: Go's unbuffered channels;
    /// the generator's holds at least 4 numbers per finder).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true,
          value_parser = common::cli::parse_buffer)]
    pub buffer: usize,

    /// Seed for the generator's random numbers, so a run can be reproduced.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true, value_parser = common::cli::parse_seed)]
    pub seed: u64,

    /// Reproduce a common mistake on purpose, and watch it caught (docs/mistakes.md).
    #[arg(long, value_enum, value_name = "NAME")]
    pub mistake: Option<Mistake>,

    #[command(flatten)]
    pub watchdog: WatchdogArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// A mistake to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mistake {
    /// Go 000's pipeline: `take` returns, but nothing tells the generator and the finders to stop
    /// (main keeps their channels open): they block forever, alive at exit.
    LeakGenerator,
}

impl Mistake {
    pub fn name(self) -> &'static str {
        match self {
            Mistake::LeakGenerator => "leak-generator",
        }
    }
}

impl Cli {
    /// `--finders`, or one per CPU (Go's `runtime.NumCPU()`).
    pub fn finders(&self) -> usize {
        self.finders
            .unwrap_or_else(|| num_cpus::get().clamp(1, MAX_WORKERS))
    }
}

/// How a finder decides whether a number is prime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Check {
    /// Trial division from n−1 down to 2: the expensive check this example exists to spread.
    Naive,
    /// Trial division by 2 and odd numbers up to √n.
    Sqrt,
}

impl Check {
    pub fn is_prime(self, n: u64) -> bool {
        match self {
            Check::Naive => common::work::is_prime_naive(n),
            Check::Sqrt => common::work::is_prime_sqrt(n),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Check::Naive => "naive",
            Check::Sqrt => "sqrt",
        }
    }
}

fn parse_finders(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "finders must be a whole number from 1 to {MAX_WORKERS}, got '{s}'"
        )),
    }
}

/// Below 3 there is no prime to find and the pipeline would never deliver one.
fn parse_max(s: &str) -> Result<u64, String> {
    const LIMIT: u64 = 1 << 32;
    match s.trim().parse::<u64>() {
        Ok(n) if (3..=LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("max must be a whole number from 3 to {LIMIT}, got '{s}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        common::cli::try_parse_args_from(
            &common::Defaults::default(),
            std::iter::once("prime-pipeline").chain(args.iter().copied()),
        )
    }

    #[test]
    fn arguments_and_their_defaults() {
        let cli = parse(&[]).expect("defaults parse");
        assert_eq!((cli.take, cli.finders, cli.buffer, cli.seed), (13, None, 0, 42));
        assert_eq!((cli.max, cli.check), (5_000_000, Check::Naive));
        assert!(cli.finders() >= 1);
        let cli = parse(&["--take", "0", "--finders", "4", "--check", "sqrt", "--max", "3"]).expect("parse");
        assert_eq!(
            (cli.take, cli.finders(), cli.check, cli.max),
            (0, 4, Check::Sqrt, 3)
        );
        for bad in [
            &["--finders", "0"][..],
            &["--take", "-1"],
            &["--take", "x"],
            &["--max", "2"],
            &["--max", "-5"],
            &["--seed", "-1"],
            &["--buffer", "-1"],
            &["--check", "fast"],
            // The shared simulated-job flags do not apply here.
            &["--jobs", "4"],
            &["--workers", "2"],
            &["--work-ms", "5"],
            &["--workload", "cpu"],
            &["--fail-every", "3"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
