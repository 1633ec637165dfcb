//! Measuring the examples, kept out of `xtask` so that building the task runner compiles no
//! charting (matklad's cargo-xtask advice: keep xtask's compile time small). Three binaries:
//!
//! - `compare` (`src/bin/compare.rs`; `cargo xtask compare` runs it): every variant and the
//!   baselines on the same seeded jobs, tabled and charted, or their instructions per job counted
//!   (`compare/`); `compare smoke --bin-dir DIR` is verify's tiny run;
//! - `timeline` (`src/bin/timeline.rs`; `cargo xtask timeline` runs it): a run's `--json` events
//!   drawn as a picture (`timeline.rs`);
//! - `baselines` (`src/bin/baselines.rs`): what a user would write instead of a worker pool, run
//!   by compare as rows of its own.
//!
//! Charts and timelines share one font and one set of colours (`palette.rs`).

pub mod compare;
pub mod palette;
pub mod timeline;
pub use harness::workspace;
