//! The pool's synchronization types and clock, from one place: std's in every real build, loom's
//! under `--cfg loom` (`cargo xtask loom`), so that the model in `tests/loom.rs` sees every lock,
//! condvar and thread operation of `pool.rs` and explores their interleavings.
//!
//! loom has no time: its `Condvar::wait_timeout` never times out. Under loom the clock is
//! [`clock`], a model clock that stands still until the model moves it with
//! [`Pool::time_passes`](crate::pool::Pool::time_passes), which also wakes the timed waits (the
//! OS's timeout, which cannot be lost, modelled as a notify sent under the pool's lock).

#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;
#[cfg(not(loom))]
pub(crate) use std::time::Instant;

#[cfg(loom)]
pub(crate) use clock::Instant;
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Whether a worker's thread has ended (so joining it will not wait). Under loom: never asked,
/// every handle is joined at the end.
#[cfg(not(loom))]
pub(crate) fn is_finished<T>(handle: &thread::JoinHandle<T>) -> bool {
    handle.is_finished()
}

#[cfg(loom)]
pub(crate) fn is_finished<T>(_handle: &thread::JoinHandle<T>) -> bool {
    false
}

/// Joins every thread and returns how many panicked (`common::join_all`, for either thread type).
pub(crate) fn join_all<T>(handles: impl IntoIterator<Item = thread::JoinHandle<T>>) -> usize {
    handles
        .into_iter()
        .map(|h| h.join())
        .filter(Result::is_err)
        .count()
}

/// Under loom: a clock that moves only when the model says so, one per explored execution.
#[cfg(loom)]
pub mod clock {
    use std::ops::Add;
    use std::time::Duration;

    use loom::sync::atomic::{AtomicU64, Ordering};

    loom::lazy_static! {
        static ref NOW_MS: AtomicU64 = AtomicU64::new(0);
    }

    /// A point on the model clock, in whole milliseconds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Instant(u64);

    impl Instant {
        pub fn now() -> Instant {
            Instant(NOW_MS.load(Ordering::SeqCst))
        }

        pub fn elapsed(&self) -> Duration {
            Instant::now().saturating_duration_since(*self)
        }

        pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
            Duration::from_millis(self.0.saturating_sub(earlier.0))
        }
    }

    impl Add<Duration> for Instant {
        type Output = Instant;

        fn add(self, d: Duration) -> Instant {
            Instant(
                self.0
                    .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            )
        }
    }

    /// Moves the model clock forward by `d`.
    pub fn advance(d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        NOW_MS.fetch_add(ms, Ordering::SeqCst);
    }
}
