//! waitgroup's library part: Go's `sync.WaitGroup` as Go has it, for `--mistake wait-too-early`,
//! and why the Go form of that mistake does not compile in Rust.
//!
//! Go's mistake: `wg.Add(1)` inside the goroutine, racing `wg.Wait()` in main. With crossbeam's
//! `WaitGroup` the count is a clone, and a clone made inside the thread needs the `WaitGroup`
//! there; borrowing it is refused, since the thread may outlive it:
//!
//! ```compile_fail
//! use crossbeam::sync::WaitGroup;
//! let wg = WaitGroup::new();
//! let worker = std::thread::spawn(|| {
//!     let _done = wg.clone(); // Go: wg.Add(1) inside the goroutine
//! });
//! wg.wait();
//! worker.join().unwrap();
//! ```
//!
//! and moving it in leaves main nothing to wait on:
//!
//! ```compile_fail
//! use crossbeam::sync::WaitGroup;
//! let wg = WaitGroup::new();
//! let worker = std::thread::spawn(move || {
//!     let _done = wg.clone();
//! });
//! wg.wait();
//! worker.join().unwrap();
//! ```
//!
//! The form that compiles makes the clone before the thread exists, which is the fix:
//!
//! ```
//! use crossbeam::sync::WaitGroup;
//! let wg = WaitGroup::new();
//! let done = wg.clone(); // Go: wg.Add(1), before `go`
//! let worker = std::thread::spawn(move || drop(done));
//! wg.wait();
//! worker.join().unwrap();
//! ```

use std::sync::{Condvar, Mutex, PoisonError};

/// Go's `sync.WaitGroup`: a counter with `add`, `done` and `wait`, which lets `add` run after
/// `wait` (the mistake). Only `--mistake wait-too-early` uses it.
#[derive(Debug, Default)]
pub struct GoWaitGroup {
    count: Mutex<usize>,
    zero: Condvar,
}

impl GoWaitGroup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Go: `wg.Add(n)`.
    pub fn add(&self, n: usize) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += n;
    }

    /// Go: `wg.Done()`.
    pub fn done(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    /// Go: `wg.Wait()`: returns once the count is 0, at once if nobody has called `add` yet.
    pub fn wait(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            count = self.zero.wait(count).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GoWaitGroup;

    #[test]
    fn wait_returns_at_once_before_any_add_and_waits_after_one() {
        let wg = GoWaitGroup::new();
        wg.wait(); // nobody added yet: Go's early return
        wg.add(1);
        std::thread::scope(|s| {
            s.spawn(|| wg.done());
            wg.wait();
        });
    }
}
