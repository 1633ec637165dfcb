//! The Go reference programs (`reference/go`): built with `go build` when `go` is on `PATH`, run as
//! `go:<name>` rows beside their Rust ports. Where `go` is missing, compare says so in one line
//! and goes on without them; verify does not need Go.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::event::Event;

use super::workloads::Variant;

/// The package name compare uses for the Go programs.
pub const PACKAGE: &str = "go";

/// What each finished job was: its id, value and output.
type JobOutputs = Vec<(u64, Option<u64>, Option<u64>)>;

/// What to do where `go` is missing.
pub const HOW_TO_GET_GO: &str =
    "go is not on PATH: the go:* rows need it (Debian: apt-get install golang-go; or https://go.dev/dl)";

/// `go` on `PATH`.
pub fn go() -> Option<PathBuf> {
    testbed::servers::find_binary("go", &[])
}

/// Builds every program of `reference/go/cmd` into `bin_dir/go/`.
pub fn build(root: &Path, bin_dir: &Path) -> Result<(), String> {
    let go = go().ok_or_else(|| HOW_TO_GET_GO.to_owned())?;
    // Absolute: `go build` runs in reference/go, where a relative `--bin-dir` would land.
    let out = std::path::absolute(bin_dir.join("go")).map_err(|e| format!("{}: {e}", bin_dir.display()))?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut dir = out.into_os_string();
    dir.push("/"); // a folder: one binary per command
    let status = Command::new(go)
        .args(["build", "-o"])
        .arg(&dir)
        .arg("./cmd/...")
        .current_dir(root.join("reference/go"))
        .env("GOPROXY", "off") // the standard library only: never reach for the network
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .status()
        .map_err(|e| format!("go build: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("go build ./cmd/... failed in reference/go (output above)".to_owned())
    }
}

/// The Go programs' `--workers` cap (`reference/go/internal/wp`): goroutines, not OS threads.
pub const MAX_GOROUTINES: usize = 1_000_000;

/// A Go program as a compare variant: `go:<name>`, the binary `go/<command>`.
pub fn variant(name: &str, command: &str, args: &[&str], thread_per_worker: bool) -> Variant {
    Variant {
        name: format!("go:{name}"),
        binary: format!("go/{command}"),
        package: PACKAGE.to_owned(),
        args: args.iter().map(|&a| a.to_owned()).collect(),
        dispatch_only: false,
        has_queue: true,
        baseline: false,
        thread_per_worker,
        max_workers: MAX_GOROUTINES,
    }
}

/// Runs a Rust example and its Go reference program on the same seeded jobs (`--json`) and
/// compares what every job produced: the same job values and outputs, job by job; and the two
/// bare pools (bench's `bare-pool`, `go:seed-003`), which print no job events, by their counts and
/// `output_sum`. Empty when they agree.
pub fn same_outputs(root: &Path, bin_dir: &Path) -> Vec<String> {
    let mut why = Vec::new();
    // errgroup with `--limit 1` runs one job at a time in id order, so job 9's error (of
    // `--fail-every 9`) ends the same jobs in both: 1 to 8 ok, 9 failed, the rest never started.
    let errgroup = &["--task", "simulated", "--limit", "1"][..];
    for (rust, go, workload, jobs, extra) in [
        ("basic", "basic", "dispatch", "300", &[][..]),
        ("waitgroup", "waitgroup", "dispatch", "300", &[]),
        ("struct-pool", "structpool", "dispatch", "300", &[]),
        ("basic", "basic", "cpu", "40", &[]),
        ("errgroup", "errgroup", "dispatch", "300", errgroup),
        ("errgroup", "errgroup", "cpu", "40", errgroup),
    ] {
        let args = shared_args(workload, jobs, extra);
        let outputs = |program: PathBuf| -> Result<JobOutputs, String> {
            let events = run_json(root, &program, &args)?;
            let mut jobs: Vec<_> = events
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Finished(f) => Some((f.job, f.value, f.output)),
                    _ => None,
                })
                .collect();
            jobs.sort_unstable();
            Ok(jobs)
        };
        match (outputs(bin_dir.join(rust)), outputs(bin_dir.join("go").join(go))) {
            (Ok(r), Ok(g)) if r == g && !r.is_empty() => {}
            (Ok(r), Ok(g)) => why.push(format!(
                "{rust} and go:{go} ({workload}) differ: {} vs {} finished jobs, first difference {:?}",
                r.len(),
                g.len(),
                r.iter().zip(&g).find(|(a, b)| a != b)
            )),
            (Err(e), _) | (_, Err(e)) => why.push(format!("{rust} vs go:{go}: {e}")),
        }
    }
    for workload in ["dispatch", "cpu"] {
        let args = shared_args(workload, "40", &[]);
        let books = |program: PathBuf| -> Result<(u64, u64, Option<u64>), String> {
            let s = run_json(root, &program, &args)?.summary;
            Ok((s.ok, s.failed, s.count("output_sum")))
        };
        match (
            books(bin_dir.join("bare-pool")),
            books(bin_dir.join("go").join("seed003")),
        ) {
            (Ok(r), Ok(g)) if r == g && r.2.is_some() => {}
            (Ok(r), Ok(g)) => why.push(format!(
                "bare-pool and go:seed-003 ({workload}) differ: (ok, failed, output_sum) {r:?} vs {g:?}"
            )),
            (Err(e), _) | (_, Err(e)) => why.push(format!("bare-pool vs go:seed-003: {e}")),
        }
    }
    why
}

/// The arguments both programs of a pair get: the same seeded jobs, every 9th failing.
fn shared_args(workload: &str, jobs: &str, extra: &[&str]) -> Vec<String> {
    let shared = [
        "--workload",
        workload,
        "--jobs",
        jobs,
        "--workers",
        "3",
        "--seed",
        "7",
        "--fail-every",
        "9",
        "--json",
    ];
    shared.iter().chain(extra).map(|&a| a.to_owned()).collect()
}

/// Runs `program` with `args` and reads its JSON lines.
fn run_json(root: &Path, program: &Path, args: &[String]) -> Result<harness::check::Events, String> {
    let watched = harness::process::run(program, args, root, Duration::from_secs(120), None)
        .map_err(|e| format!("{}: {e:#}", program.display()))?;
    harness::check::parse(&watched.output.stdout)
}
