//! The scheduler's synchronization types, from one place: std's in every real build, loom's
//! under `--cfg loom` (`cargo xtask loom`), so that the model in `tests/loom.rs` sees every lock,
//! wait and wake-up of `dynamic.rs` and explores their interleavings.

#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
