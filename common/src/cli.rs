//! The command-line arguments every example flattens, parsed with clap, with per-example
//! defaults and one-line errors (exit code 2, never a panic or a usage dump).

use std::time::Duration;

use clap::{Args, Parser, error::ErrorKind};

use crate::exit::{EXIT_USAGE, print_error_line};
use crate::job::Job;
pub use crate::report::OutputArgs;
pub use crate::watchdog::WatchdogArgs;
use crate::work::{Work, WorkDist, Workload};

/// The most worker threads an example will start: a typo such as `--workers 1000000` is a usage
/// error, not a million threads.
pub const MAX_WORKERS: usize = 4096;

/// The arguments of the examples that run simulated jobs (`--workload`):
/// `#[command(flatten)] pool: PoolArgs`. The domain examples (http-fetch, db-batch, image-resize,
/// prime-pipeline) flatten only [`OutputArgs`] and define the flags that mean something to them.
#[derive(Args, Debug, Clone)]
pub struct PoolArgs {
    /// Number of jobs to submit (ids 1..=jobs).
    #[arg(long, default_value = "10", allow_negative_numbers = true, value_parser = parse_count)]
    pub jobs: u64,

    /// Number of worker threads (1..=4096).
    #[arg(long, default_value = "3", allow_negative_numbers = true, value_parser = parse_workers)]
    pub workers: usize,

    /// Simulated work per job, in milliseconds (used by the `sleep` workload).
    #[arg(long, value_name = "MS", default_value = "500", allow_negative_numbers = true, value_parser = parse_millis)]
    pub work_ms: u64,

    /// How each job's `--work-ms` varies: `fixed` (every job the same), `uniform` (0 to twice
    /// it), `exp` (exponential), `pareto` (a heavy tail: a few jobs many times longer); the mean
    /// is `--work-ms`, each job's draw comes from `--seed` and its id.
    #[arg(long, value_enum, value_name = "DIST", default_value_t = WorkDist::Fixed)]
    pub work_dist: WorkDist,

    /// Capacity of the jobs and results channels (default: the number of jobs, at most 1024).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_buffer)]
    pub buffer: Option<usize>,

    /// Seed for the job values, so a run can be reproduced exactly.
    #[arg(long, default_value = "42", allow_negative_numbers = true, value_parser = parse_seed)]
    pub seed: u64,

    /// What each job does: `sleep` (simulated I/O, `--work-ms`), `cpu` (the Go original's O(n)
    /// prime check), `dispatch` (nothing: measures pool overhead), `custom` (your own job, written
    /// in `common/src/custom.rs`).
    #[arg(long, value_enum, default_value_t = Workload::Sleep)]
    pub workload: Workload,

    /// Make every Nth job (by id) fail, to show that failures are reported, not dropped (0 = never).
    #[arg(long, value_name = "N", default_value = "0", allow_negative_numbers = true, value_parser = parse_count)]
    pub fail_every: u64,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl PoolArgs {
    /// The simulated work these arguments describe.
    pub fn work(&self) -> Work {
        Work {
            workload: self.workload,
            duration: Duration::from_millis(self.work_ms),
            fail_every: self.fail_every,
            dist: self.work_dist,
            seed: self.seed,
        }
    }

    /// The channel capacity to use: `--buffer`, or the number of jobs up to 1024 (Go's
    /// `make(chan Job, numJobs)`, bounded so a million jobs do not mean a million-slot queue).
    pub fn buffer(&self) -> usize {
        self.buffer
            .unwrap_or_else(|| usize::try_from(self.jobs).unwrap_or(usize::MAX).min(1024))
    }

    /// The jobs these arguments describe, ids 1..=jobs, values drawn from `--seed`.
    pub fn job_list(&self) -> impl Iterator<Item = Job> + use<> {
        crate::work::jobs(self.jobs, self.seed, self.workload)
    }
}

/// Per-example defaults for the shared arguments (the Go original's numbers).
#[derive(Debug, Clone)]
pub struct Defaults {
    pub jobs: u64,
    pub workers: usize,
    pub work_ms: u64,
}

impl Default for Defaults {
    /// Go original 001: 10 jobs, 3 workers, 500 ms of work.
    fn default() -> Self {
        Defaults {
            jobs: 10,
            workers: 3,
            work_ms: 500,
        }
    }
}

/// A usage or configuration error: the example prints it as one line and exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses the example's clap `Parser` with the example's defaults for `--jobs`, `--workers` and
/// `--work-ms`. `--help` and `--version` print and exit 0; any other error prints one line on
/// stderr and exits with code 2.
pub fn parse_args<C: Parser>(defaults: &Defaults) -> C {
    parse_args_from(defaults, std::env::args_os())
}

/// [`parse_args`] over an explicit argument list (the first item is the program name).
pub fn parse_args_from<C: Parser, I, T>(defaults: &Defaults, args: I) -> C
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match try_parse_args_from::<C, I, T>(defaults, args) {
        Ok(parsed) => parsed,
        Err(err) => match err.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => err.exit(),
            _ => {
                print_error_line(&usage_line(&err));
                std::process::exit(i32::from(EXIT_USAGE));
            }
        },
    }
}

/// [`parse_args_from`] without exiting: returns clap's error instead (used by tests).
pub fn try_parse_args_from<C: Parser, I, T>(defaults: &Defaults, args: I) -> Result<C, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut command = C::command();
    for (id, value) in [
        ("jobs", defaults.jobs.to_string()),
        ("workers", defaults.workers.to_string()),
        ("work_ms", defaults.work_ms.to_string()),
    ] {
        if command.get_arguments().any(|a| a.get_id() == id) {
            command = command.mut_arg(id, |a| a.default_value(value));
        }
    }
    let matches = command.try_get_matches_from(args)?;
    C::from_arg_matches(&matches)
}

/// clap's error as one line: its first line, plus the valid values where clap lists them.
fn usage_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut line = first.trim_start_matches("error: ").to_owned();
    if let Some(values) = lines.find(|l| l.starts_with("[possible values:")) {
        line = format!("{line} {values}");
    }
    format!("{line} (see --help)")
}

/// A count of jobs or items: a non-negative whole number.
pub fn parse_count(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("'{s}' is not a count (a whole number, 0 or more)"))
}

/// A seed: any non-negative whole number.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("--seed must be a non-negative integer, got '{s}'"))
}

/// A number of workers: 1 to [`MAX_WORKERS`].
pub fn parse_workers(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of workers (1 to {MAX_WORKERS})"))?;
    if (1..=MAX_WORKERS).contains(&n) {
        Ok(n)
    } else {
        Err(format!("workers must be between 1 and {MAX_WORKERS}, got {n}"))
    }
}

/// A channel capacity: 0 (a rendezvous channel) up to 2^24.
pub fn parse_buffer(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a buffer size"))?;
    if n > 1 << 24 {
        return Err(format!("buffer {n} is larger than 16777216"));
    }
    Ok(n)
}

/// A duration in whole milliseconds (at most one day).
pub fn parse_millis(s: &str) -> Result<u64, String> {
    let ms: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of milliseconds"))?;
    if ms > 86_400_000 {
        return Err(format!("{ms} ms is more than a day"));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        pool: PoolArgs,
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let defaults = Defaults {
            jobs: 20,
            workers: 5,
            work_ms: 100,
        };
        try_parse_args_from(&defaults, std::iter::once("test").chain(args.iter().copied()))
    }

    #[test]
    fn example_defaults_apply() {
        let cli = parse(&[]).expect("defaults parse");
        assert_eq!((cli.pool.jobs, cli.pool.workers, cli.pool.work_ms), (20, 5, 100));
        assert_eq!(cli.pool.workload, Workload::Sleep);
        assert_eq!(cli.pool.work_dist, WorkDist::Fixed);
        let cli = parse(&["--work-dist", "pareto", "--seed", "7"]).expect("parse");
        assert_eq!(
            (cli.pool.work().dist, cli.pool.work().seed),
            (WorkDist::Pareto, 7)
        );
        assert!(parse(&["--work-dist", "normal"]).is_err());
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            &["--workers", "0"][..],
            &["--workers", "100000"],
            &["--jobs", "-1"],
            &["--jobs", "abc"],
            &["--work-ms", "x"],
            &["--frobnicate"],
            &["--seed", "-1"],
            &["--fail-every", "-3"],
            &["--buffer", "-1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn errors_are_one_line_and_name_the_valid_values() {
        let err = parse(&["--seed", "-1"]).expect_err("negative seed");
        assert!(
            usage_line(&err).contains("--seed must be a non-negative integer"),
            "{}",
            usage_line(&err)
        );
        let err = parse(&["--workload", "gpu"]).expect_err("bad enum");
        let line = usage_line(&err);
        assert!(line.contains("sleep") && line.contains("dispatch"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn explicit_values_win() {
        let cli = parse(&["--jobs", "0", "--workers", "8", "--json", "--workload", "cpu"]).expect("parse");
        assert_eq!((cli.pool.jobs, cli.pool.workers), (0, 8));
        assert!(cli.pool.output.json);
        assert_eq!(cli.pool.workload, Workload::Cpu);
    }
}
