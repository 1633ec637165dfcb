//! A progress bar on stderr for long runs, shown only to a person watching a terminal.

use std::io::IsTerminal as _;

pub use indicatif::ProgressBar;

/// A bar of `len` steps on stderr when stderr is a terminal and neither `--json` nor `--quiet`
/// is on; otherwise a hidden bar, so callers can `inc` unconditionally.
pub fn bar(len: u64, json: bool, quiet: bool) -> ProgressBar {
    if json || quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
