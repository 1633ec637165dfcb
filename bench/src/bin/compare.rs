//! `compare`: every variant and the baselines on the same seeded jobs, tabled and charted, or
//! their instructions per job counted (`bench::compare`). `cargo xtask compare` runs this.
//!
//! `compare smoke --bin-dir DIR` is verify's tiny run of it: the variants and baselines already
//! built in DIR on a tiny workload, one run each; it fails, with one line per reason, unless every
//! row accounts for every job (and, where valgrind is installed, `--instructions` counts basic).
//!
//! Run with: cargo run --release -p bench --bin compare -- --workload dispatch --runs 3

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bench::compare::{self, CompareArgs};

/// Every variant and the baselines on the same seeded jobs, tabled and charted.
#[derive(Parser, Debug)]
#[command(name = "compare", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    check: Option<Check>,
    #[command(flatten)]
    args: CompareArgs,
}

#[derive(Subcommand, Debug)]
enum Check {
    /// verify's tiny run: the debug binaries in --bin-dir (built already) on a tiny dispatch and
    /// sleep workload; fails unless every row accounts for every job. No timings are judged.
    Smoke {
        /// Where the examples' and baselines' binaries are (`target/debug`).
        #[arg(long, value_name = "DIR")]
        bin_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.check {
        Some(Check::Smoke { bin_dir }) => {
            let root = bench::workspace::workspace_root();
            let why = compare::smoke(&root, &bin_dir);
            if why.is_empty() {
                println!("compare smoke: every row accounted for every job");
                return ExitCode::SUCCESS;
            }
            for reason in &why {
                eprintln!("compare smoke: {reason}");
            }
            eprintln!("compare smoke: {} problem(s)", why.len());
            ExitCode::FAILURE
        }
        None => match compare::compare(&cli.args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("compare: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("compare").chain(line.split_whitespace()))
    }

    #[test]
    fn flags_compare_and_smoke_checks() {
        let cli = parse("--runs 1 --jobs 300 --workload dispatch").expect("compare's flags");
        assert!(cli.check.is_none());
        assert_eq!((cli.args.runs, cli.args.jobs), (1, Some(300)));
        let cli = parse("smoke --bin-dir target/debug").expect("the smoke check");
        assert!(matches!(cli.check, Some(Check::Smoke { bin_dir }) if bin_dir == Path::new("target/debug")));
        for bad in [
            "smoke",
            "--runs 1 smoke --bin-dir x",
            "smoke --bin-dir x --runs 1",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
