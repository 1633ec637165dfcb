//! Ctrl-C (SIGINT, SIGTERM) and the one stop primitive the examples share.
//!
//! [`Stop`] is a flag that is set once and never cleared, readable two ways: [`Stop::is_set`] for
//! a loop that checks between jobs (one atomic load), and [`Stop::channel`] for a `select!` that
//! must wake the moment it is set (a channel on which nothing is ever sent: setting the stop drops
//! its only sender, which wakes every receiver at once — Go's `ctx.Done()`).
//!
//! [`ctrl_c`] installs the handler and returns the process's stop: the first SIGINT or SIGTERM
//! sets it (the example then stops taking jobs, finishes or cancels what is in flight, reports
//! every job and exits 130); a second one exits at once with 130.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use anyhow::Context as _;
use crossbeam::channel::{self, Receiver, Sender};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// When the first signal arrived. Kept apart from the stop's own time: an example may set the
/// process's stop itself (db-batch, when its database is gone), and a Ctrl-C after that must not
/// be reported as having come then.
static SIGNALLED_AT: OnceLock<Instant> = OnceLock::new();
static PROCESS_STOP: OnceLock<Stop> = OnceLock::new();

/// A one-way stop signal, cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    set: AtomicBool,
    at: OnceLock<Instant>,
    sender: Mutex<Option<Sender<Infallible>>>,
    receiver: Receiver<Infallible>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// A stop that is not set (tests, or a stop of an example's own such as a deadline).
    pub fn new() -> Self {
        let (sender, receiver) = channel::bounded(0);
        Stop {
            inner: Arc::new(Inner {
                set: AtomicBool::new(false),
                at: OnceLock::new(),
                sender: Mutex::new(Some(sender)),
                receiver,
            }),
        }
    }

    /// Sets the stop; only the first call does anything.
    pub fn set(&self) {
        if !self.inner.set.swap(true, Ordering::SeqCst) {
            let _ = self.inner.at.set(Instant::now());
            // Dropping the only sender is the broadcast: `recv` now returns at once on every clone.
            drop(
                self.inner
                    .sender
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take(),
            );
        }
    }

    /// True once [`Stop::set`] has been called.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// When the stop was set.
    pub fn set_at(&self) -> Option<Instant> {
        self.inner.at.get().copied()
    }

    /// A channel that becomes ready (disconnected) when the stop is set: `recv(stop.channel())`
    /// in a `select!`. Nothing is ever sent on it.
    pub fn channel(&self) -> &Receiver<Infallible> {
        &self.inner.receiver
    }
}

/// Installs the Ctrl-C handler (the first call; later calls return the same stop) and returns
/// the process's stop. Call it first thing, before any work or side effect, so that a signal
/// that arrives at any instant ends in a summary and exit 130. The first SIGINT or SIGTERM sets
/// the stop; a second one exits the process at once with code 130.
pub fn ctrl_c() -> anyhow::Result<Stop> {
    if let Some(stop) = PROCESS_STOP.get() {
        return Ok(stop.clone());
    }
    let stop = Stop::new();
    let _ = PROCESS_STOP.set(stop.clone());
    let on_signal = stop.clone();
    ctrlc::set_handler(move || {
        // The time first, so that `interrupted()` never holds without `interrupted_at()`.
        let _ = SIGNALLED_AT.set(Instant::now());
        if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("interrupted: stopping (press Ctrl-C again to exit at once)");
            on_signal.set();
        } else {
            eprintln!("interrupted twice: exiting now");
            std::process::exit(i32::from(crate::exit::EXIT_INTERRUPTED));
        }
    })
    .context("cannot install the Ctrl-C handler")?;
    // ctrlc waits for signals on a thread of its own that lives as long as the process.
    crate::threads::note_process_lifetime_thread();
    Ok(stop)
}

/// True once a Ctrl-C (SIGINT or SIGTERM) has arrived.
pub fn interrupted() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// When the first Ctrl-C arrived, if one did: what an example tells its summary
/// (`Summary::with_interrupted_at`).
pub fn interrupted_at() -> Option<Instant> {
    SIGNALLED_AT.get().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_seen_by_every_clone_and_wakes_select() {
        let stop = Stop::new();
        let clone = stop.clone();
        assert!(!clone.is_set() && stop.set_at().is_none());
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                crossbeam::select! { recv(stop.channel()) -> _ => stop.is_set() }
            })
        };
        stop.set();
        stop.set(); // idempotent
        assert!(clone.is_set() && clone.set_at().is_some());
        assert!(waiter.join().expect("the waiter returns"));
        assert!(clone.channel().recv().is_err(), "ready at once once set");
    }
}
