//! Ctrl-C (SIGINT, SIGTERM) handling shared by the examples that stop on it.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Calls `on_first` on the first Ctrl-C (SIGINT or SIGTERM), from the ctrlc crate's handler
/// thread; a second Ctrl-C exits the process at once with code 130.
pub fn on_ctrlc(mut on_first: impl FnMut() + Send + 'static) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("interrupted: stopping (press Ctrl-C again to exit at once)");
            on_first();
        } else {
            eprintln!("interrupted twice: exiting now");
            std::process::exit(i32::from(crate::report::EXIT_INTERRUPTED));
        }
    })
    .context("cannot install the Ctrl-C handler")?;
    // ctrlc waits for signals on a thread of its own that lives as long as the process.
    crate::threads::note_process_lifetime_thread();
    Ok(())
}

/// True once a Ctrl-C (SIGINT or SIGTERM) has arrived.
pub fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}
