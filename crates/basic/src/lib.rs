//! basic's library part: only documentation, whose examples the compiler checks. The lesson is
//! `main.rs`; this file shows why `--mistake lost-update` needs atomics to exist at all.
//!
//! Go 004's race: workers add to a shared counter with `counter++`, a plain read and write of
//! memory that other goroutines write too. Go compiles it; `go run -race` may catch it at run
//! time. In Rust the same program does not compile. Two threads may not hold `&mut` to one
//! counter:
//!
//! ```compile_fail,E0499
//! let mut counted = 0u64;
//! std::thread::scope(|s| {
//!     for _ in 0..3 {
//!         s.spawn(|| counted += 1); // Go: counted++ in each worker
//!     }
//! });
//! ```
//!
//! a global counter cannot be written at all (a `static` is shared, so it is read-only):
//!
//! ```compile_fail,E0594
//! static COUNTED: u64 = 0;
//! std::thread::scope(|s| {
//!     s.spawn(|| COUNTED += 1);
//! });
//! ```
//!
//! a `static mut` can, but only in `unsafe` code (which this workspace denies), and a counter
//! with interior mutability but no synchronization (`Cell`) cannot be shared between threads
//! (it is not `Sync`):
//!
//! ```compile_fail,E0277
//! use std::cell::Cell;
//! let counted = Cell::new(0u64);
//! std::thread::scope(|s| {
//!     s.spawn(|| counted.set(counted.get() + 1));
//! });
//! ```
//!
//! What does compile is an atomic, or a lock. The compiler then guarantees that there is no data
//! race, but not that the counting is right: a separate `load` and `store` is two atomic steps,
//! and another worker's store between them is overwritten. That is `--mistake lost-update`, which
//! no compiler catches (the run does, by comparing with the results it counted on main):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! let counted = AtomicU64::new(0);
//! std::thread::scope(|s| {
//!     for _ in 0..3 {
//!         // MISTAKE: compiles, and loses counts when threads interleave between the two steps.
//!         s.spawn(|| counted.store(counted.load(Ordering::SeqCst) + 1, Ordering::SeqCst));
//!     }
//! });
//! assert!((1..=3).contains(&counted.load(Ordering::SeqCst)));
//! ```
//!
//! The fix is one read-modify-write, which no other thread can split:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! let counted = AtomicU64::new(0);
//! std::thread::scope(|s| {
//!     for _ in 0..3 {
//!         s.spawn(|| counted.fetch_add(1, Ordering::Relaxed));
//!     }
//! });
//! assert_eq!(counted.load(Ordering::Relaxed), 3);
//! ```
//!
//! or, as `main.rs` does, no shared counter at all: each worker sends its result, and main alone
//! counts them.
