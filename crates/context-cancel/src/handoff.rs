//! Why each `select!` in `main.rs` is preceded by a short wait for its channel.
//!
//! A goroutine that waits in a `select` is parked by Go's scheduler, which costs about as much as
//! a function call. A thread that waits in crossbeam's `select!` registers with every channel it
//! selects on and is parked by the OS, and whoever makes the channel ready next must take the
//! channel's lock and wake it: microseconds, far more than a job of the `dispatch` workload.
//! crossbeam's plain `send` and `recv` avoid this by retrying for a moment before they park; a
//! `select!` parks as soon as nothing is ready. So before a `select!`, [`ready_soon`] spins and
//! then yields for a moment until the channel is ready (the other side is usually only a few
//! jobs behind); the `select!` that follows still makes the hand-off, and still waits on the
//! cancellation, when it really has to wait.

use crossbeam::utils::Backoff;

/// Returns as soon as `ready()` holds, or after a few microseconds of spinning and yielding (at
/// most about ten yields) if it does not. It only looks: the caller's `select!` does the rest.
pub fn ready_soon(ready: impl Fn() -> bool) {
    let backoff = Backoff::new();
    while !ready() && !backoff.is_completed() {
        backoff.snooze();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_at_once_when_ready_and_gives_up_when_not() {
        let looks = std::cell::Cell::new(0);
        ready_soon(|| {
            looks.set(looks.get() + 1);
            true
        });
        assert_eq!(looks.get(), 1);
        ready_soon(|| {
            looks.set(looks.get() + 1);
            false
        });
        // It gave up by itself, after a bounded number of looks.
        assert!(looks.get() > 2 && looks.get() < 100, "{} looks", looks.get());
    }
}
