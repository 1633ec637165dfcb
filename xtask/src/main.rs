//! Workspace automation, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask verify [EXAMPLE...]`: the preflight, fmt, clippy, the workspace's tests (every
//!   example's scenarios are its integration tests), thread-limit sweeps, a tiny compare, stress
//!   and Miri (the CI command);
//! - `cargo xtask compare [--workload ...] [--sweep ...] [--instructions]` and
//!   `cargo xtask timeline RUN.jsonl -o run.svg`: run `bench`'s `compare` and `timeline` binaries
//!   with the same arguments (`cargo run -p bench --bin ...`), so building xtask compiles none of
//!   their charting;
//! - `cargo xtask tidy`: the house rules (also a test);
//! - `cargo xtask loom`: every pool's loom models (`crates/*/tests/loom.rs`, in `target/loom`).

mod loom;
mod miri;
mod msrv;
mod preflight;
mod stress;
mod thread_limit;
mod tidy;
mod verify;

// The child runner and the invariant checker live in `harness`, shared with the examples' tests.
use harness::workspace::{cargo, examples, target_dir, workspace_root};
use harness::{check, process};

use std::process::{Command, ExitCode, ExitStatus};

use clap::{Parser, Subcommand};

/// Workspace automation for workerpool-patterns.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// The preflight, fmt, clippy, the workspace's tests, thread-limit sweeps, a tiny compare,
    /// stress and Miri (the CI command).
    Verify {
        /// Only these examples' tests and thread-limit sweeps, for a quick loop.
        examples: Vec<String>,
    },
    /// Every variant and the baselines on the same seeded jobs, tabled and charted: bench's
    /// `compare` (`cargo xtask compare --help` for its flags).
    #[command(disable_help_flag = true)]
    Compare {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The house rules (also run as a test).
    Tidy,
    /// Random flags, signals at random moments and kill -9 on the examples, every run checked
    /// (`--seed S --skip K --runs 1 EXAMPLE` repeats run K).
    Stress(stress::StressArgs),
    /// struct-pool's and common's concurrency tests under Miri, with several scheduler seeds.
    Miri,
    /// The pools' loom models: a tiny pool under every interleaving up to a preemption bound
    /// (`LOOM_MAX_PREEMPTIONS`, 3 unless set), with the interleavings and the time each took.
    Loom,
    /// Draw a run's `--json` events as a timeline: workers as lanes, jobs as bars (`-o run.svg|png`):
    /// bench's `timeline` (`cargo xtask timeline --help` for its flags).
    #[command(disable_help_flag = true)]
    Timeline {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    // A signal ignored by a parent stays ignored across exec; one with a handler is reset to its
    // default. A background job of a non-interactive shell (`cargo xtask stress &` in a script)
    // starts with SIGINT ignored, so would every example started from here, until its own
    // handler is installed: stress's signal in the first milliseconds would vanish, and the run
    // fail as "reported interrupted: false". With a handler here the examples start with the
    // defaults. Ctrl-C still ends xtask at once.
    if let Err(e) = ctrlc::set_handler(|| std::process::exit(130)) {
        eprintln!("xtask: cannot install a Ctrl-C handler ({e}); examples may inherit an ignored SIGINT");
    }
    let result = match cli.task {
        Task::Verify { examples } => verify::verify(&examples),
        Task::Compare { args } => return bench("compare", &args),
        Task::Tidy => tidy::tidy().and_then(|()| {
            let problems = msrv::check(&workspace_root())?;
            anyhow::ensure!(
                problems.is_empty(),
                "rust-version is false:\n{}",
                problems.join("\n")
            );
            Ok(())
        }),
        Task::Stress(args) => stress::stress(&args),
        Task::Miri => miri::miri(),
        Task::Loom => loom::loom(),
        Task::Timeline { args } => return bench("timeline", &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `bench`'s binary `bin` with `args` (`$CARGO run --quiet -p bench --bin BIN -- ARGS`, from
/// the current folder, so relative paths mean what they meant) and ends with its exit code.
fn bench(bin: &str, args: &[String]) -> ExitCode {
    let status = Command::new(cargo())
        .args(["run", "--quiet", "-p", "bench", "--bin", bin, "--"])
        .args(args)
        .status();
    match status {
        Ok(status) => ExitCode::from(exit_code(status)),
        Err(e) => {
            eprintln!("xtask: cannot run cargo run -p bench --bin {bin}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A child's exit code as a shell reports it: its own code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(1),
        (None, None) => 1,
    }
}
