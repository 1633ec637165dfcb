//! compare's command line (`cargo xtask compare --help`, the same as `compare --help`).

use clap::{Args, ValueEnum};

use super::workloads::{CPU, CUSTOM, DISPATCH, SLEEP, Spec, WAITS};

/// compare's flags.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The fixed workload(s): `all` is dispatch, cpu and sleep; `waits` (20,000 jobs of 100 ms at
    /// 100, 1,000 and 10,000 concurrent, threads against tasks) takes minutes, so only on request;
    /// `custom` is your own job (`common/src/custom.rs`, 2,000 jobs unless `--jobs`).
    #[arg(long, value_enum, default_value_t = WorkloadChoice::All)]
    pub workload: WorkloadChoice,

    /// How each sleep job's duration varies around the workload's work (passed to every child;
    /// the Go references, which have fixed work only, are skipped unless `fixed`).
    #[arg(long, value_enum, value_name = "DIST", default_value_t = common::WorkDist::Fixed)]
    pub work_dist: common::WorkDist,

    /// Workers for the fixed tables (1 to 4096; `waits` sets its own).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = common::cli::parse_workers)]
    pub workers: usize,

    /// Runs per row (the row is their median), in turns across the variants.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = at_least_one)]
    pub runs: usize,

    /// Jobs per run instead of the workload's fixed number.
    #[arg(long, value_name = "N", value_parser = common::cli::parse_count)]
    pub jobs: Option<u64>,

    /// Only these variants (comma-separated names as in the tables).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Throughput against worker count for cpu and sleep, charted (e.g. 1,2,4,8).
    #[arg(long, value_name = "N,...", value_delimiter = ',', value_parser = common::cli::parse_workers)]
    pub sweep: Vec<usize>,

    /// dispatch throughput against the queue capacity (--buffer), charted (e.g. 0,1,16,1024).
    #[arg(long, value_name = "N,...", value_delimiter = ',', value_parser = common::cli::parse_buffer)]
    pub queue_sweep: Vec<usize>,

    /// One JSON object per row instead of tables.
    #[arg(long)]
    pub json: bool,

    /// Count instructions per job instead of timing: each variant runs the dispatch workload
    /// under valgrind's callgrind with N and 2N jobs (N = --jobs, else 100,000), and the
    /// difference / N is the table. Counts do not move with the machine's load. --runs does not
    /// apply (a count is the same from run to run within about 1%).
    #[arg(long, conflicts_with_all = ["sweep", "queue_sweep"])]
    pub instructions: bool,

    /// The cargo profile to build and measure: `dist` (release plus fat LTO in one codegen unit:
    /// what you would ship) or plain `release`.
    #[arg(long, value_enum, default_value_t = Profile::Dist)]
    pub profile: Profile,
}

/// `--profile`: the root manifest's `[profile.dist]`, or `release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Dist,
    Release,
}

impl Profile {
    /// The profile's name, which is also its folder under the target directory.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dist => "dist",
            Profile::Release => "release",
        }
    }
}

/// `--workload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkloadChoice {
    Dispatch,
    Cpu,
    Sleep,
    Waits,
    Custom,
    All,
}

impl CompareArgs {
    /// The fixed workloads to table, in order.
    pub fn workloads(&self) -> Vec<Spec> {
        match self.workload {
            WorkloadChoice::Dispatch => vec![DISPATCH],
            WorkloadChoice::Cpu => vec![CPU],
            WorkloadChoice::Sleep => vec![SLEEP],
            WorkloadChoice::Waits => vec![WAITS],
            WorkloadChoice::Custom => vec![CUSTOM],
            WorkloadChoice::All => vec![DISPATCH, CPU, SLEEP],
        }
    }

    /// `spec` with `--jobs` and `--work-dist` applied.
    pub fn sized(&self, spec: Spec) -> Spec {
        Spec {
            jobs: self.jobs.unwrap_or(spec.jobs),
            dist: self.work_dist,
            ..spec
        }
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a number of runs (1 or more)")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: CompareArgs,
    }

    fn parse(line: &str) -> Result<CompareArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("compare").chain(line.split_whitespace())).map(|c| c.args)
    }

    #[test]
    fn defaults_are_all_workloads_on_two_workers_five_runs() {
        let o = parse("").expect("no flags is valid");
        assert_eq!(o.workloads().len(), 3);
        assert_eq!((o.workers, o.runs, o.jobs, o.json), (2, 5, None, false));
        assert!(o.only.is_empty() && o.sweep.is_empty() && o.queue_sweep.is_empty());
    }

    #[test]
    fn options_parse() {
        let o = parse("--workload cpu --runs 3 --sweep 1,2,4 --json --only basic,rayon --jobs 300")
            .expect("valid");
        assert_eq!((o.workloads().len(), o.runs, o.json), (1, 3, true));
        assert_eq!(o.workloads()[0].workload, "cpu");
        assert_eq!(o.sweep, [1, 2, 4]);
        assert_eq!(o.only, ["basic", "rayon"]);
        assert_eq!(o.sized(CPU).jobs, 300);
        assert_eq!(
            parse("--queue-sweep 0,1,16").expect("valid").queue_sweep,
            [0, 1, 16]
        );
        assert_eq!(
            parse("--workload waits").expect("valid").workloads()[0].workload,
            "waits"
        );
        let o = parse("--workload custom --work-dist pareto --jobs 50").expect("valid");
        let spec = o.sized(o.workloads()[0]);
        assert_eq!(
            (spec.child, spec.jobs, spec.dist),
            ("custom", 50, common::WorkDist::Pareto)
        );
        assert_eq!(
            parse("--workload waits").expect("valid").workloads()[0].workload,
            "waits"
        );
    }

    #[test]
    fn options_reject() {
        for bad in [
            "--workload gpu",
            "--runs 0",
            "--runs",
            "--workers 0",
            "--workers 5000",
            "--sweep 1,x",
            "--sweep 0",
            "--queue-sweep -1",
            "--jobs many",
            "--frobnicate",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
