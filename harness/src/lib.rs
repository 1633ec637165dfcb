//! The test harness every example's integration tests share (`crates/<name>/tests/`): run the
//! example's own binary under a watchdog, with a signal at a chosen moment, then check what it
//! printed with `--json` against the workspace's invariants (`check.rs`):
//!
//! - I1 accounting, I2 the concurrency bound, I3 outputs, I4 the exit code, I5 no thread alive at
//!   exit, I6 bad input (exit 2, one line on stderr, no panic).
//!
//! ```no_run
//! use harness::{OutputRule, Scenario};
//!
//! #[test]
//! fn failures_are_results() {
//!     let scenario = Scenario::run("failures-are-results", &["--jobs", "12", "--fail-every", "4"], 1)
//!         .outputs(OutputRule::Double)
//!         .check(|run| harness::expect_eq("failed", run.summary()?.failed, 3));
//!     harness::assert_scenario(env!("CARGO_BIN_EXE_basic"), env!("CARGO_TARGET_TMPDIR"), scenario);
//! }
//! ```
//!
//! xtask's stress, thread-limit and compare use the same runner and checker.

pub mod bad_input;
pub mod check;
pub mod fuzz_corpus;
#[cfg(loom)]
pub mod loom_model;
pub mod process;
pub mod registry;
mod scenario;
pub mod workspace;

pub use bad_input::assert_bad_input_file;
pub use check::{Events, Expect, Output, OutputRule};
pub use scenario::*;

use std::path::Path;

/// One scenario at a time in a test binary: libtest runs tests on several threads, but a
/// scenario that must reach its full concurrency bound, or send a signal after the Nth job
/// started, must not share two cores with another example run.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `scenario` on `program` in a scratch folder under `scratch_root` (an integration test's
/// `CARGO_TARGET_TMPDIR`), and panics with every broken promise and the command that repeats
/// the run. Scenarios of one test binary run one at a time.
#[track_caller]
pub fn assert_scenario(program: &str, scratch_root: &str, scenario: Scenario) {
    // A test that panicked while holding the lock poisons it; the next scenario is unaffected.
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let program = Path::new(program);
    let example = program
        .file_name()
        .map_or_else(|| "example".into(), |n| n.to_string_lossy());
    let dir = Path::new(scratch_root)
        .join(example.as_ref())
        .join(scenario.name.replace('/', "-"));
    let (why, rerun) = run_scenario(program, &scenario, &dir);
    assert!(
        why.is_empty(),
        "{example}/{} broke its promises:\n  {}\nre-run: {rerun}",
        scenario.name,
        why.join("\n  ")
    );
}

/// The four Ctrl-C tests every pool example has, one `#[test]` per [`CtrlC`] case
/// (`ctrl_c_sigint_mid_run`, `ctrl_c_sigterm_mid_run`, `ctrl_c_sigint_first_instant`,
/// `ctrl_c_double_sigint_exits_at_once`), each calling `case` (the example's own runs and
/// checks) with its case: `harness::ctrl_c_tests!(ctrl_c_case);`.
#[macro_export]
macro_rules! ctrl_c_tests {
    ($case:path) => {
        #[test]
        fn ctrl_c_sigint_mid_run() {
            $case($crate::CtrlC::SigintMidRun);
        }

        #[test]
        fn ctrl_c_sigterm_mid_run() {
            $case($crate::CtrlC::SigtermMidRun);
        }

        #[test]
        fn ctrl_c_sigint_first_instant() {
            $case($crate::CtrlC::SigintFirstInstant);
        }

        #[test]
        fn ctrl_c_double_sigint_exits_at_once() {
            $case($crate::CtrlC::DoubleSigint);
        }
    };
}
