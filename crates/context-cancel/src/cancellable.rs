//! How a running job notices cancellation: the check, made visible.
//!
//! A job cannot be stopped from the outside (Rust, like Go, has no safe way to kill a thread): it
//! has to look at the cancel channel itself, often enough that it stops soon after the cancel.
//! The `sleep` workload waits on the channel *and* its timer at once (`select!` with a timeout:
//! it wakes at the cancel); the `cpu` workload, a long loop, checks the channel every 2^16
//! divisions (a few hundred microseconds), which costs one `try_recv` per chunk.

use crossbeam::channel::{Receiver, TryRecvError};

use common::{Job, Outcome, Work, Workload};

/// True once `cancel` is ready: its only sender was dropped (Go: `case <-ctx.Done():` in a
/// `select` with a `default`). A non-blocking check, cheap enough to call inside a loop.
pub fn is_cancelled<T>(cancel: &Receiver<T>) -> bool {
    !matches!(cancel.try_recv(), Err(TryRecvError::Empty))
}

/// Does `job`'s simulated work like [`Work::run`], but gives up with [`Outcome::Cancelled`] as
/// soon as `cancel` becomes ready, instead of after the whole job.
pub fn run_until<T>(work: &Work, job: &Job, cancel: &Receiver<T>) -> Outcome {
    let output = match work.workload {
        // Wait for the work's duration or the cancel, whichever comes first.
        Workload::Sleep => crossbeam::select! {
            recv(cancel) -> _ => return Outcome::Cancelled,
            default(work.duration_for(job)) => job.value * 2,
        },
        Workload::Cpu => match is_prime_naive_until(job.value, cancel) {
            Some(prime) => u64::from(prime),
            None => return Outcome::Cancelled,
        },
        Workload::Dispatch => job.value * 2,
        // Your own job runs to its end (see common/src/custom.rs); the cancel is seen after it.
        Workload::Custom => match common::custom::job(job.value) {
            Ok(output) => output,
            Err(e) => return Outcome::Failed(e),
        },
    };
    // (A job that completed just as the cancel came is the caller's to judge: see `worker`.)
    work.finish(job, output)
}

/// The Go original 000's O(n) prime check ([`common::work::is_prime_naive`]), in chunks of 2^16
/// divisions with a look at `cancel` after each: `None` if it was cancelled.
pub fn is_prime_naive_until<T>(n: u64, cancel: &Receiver<T>) -> Option<bool> {
    const CHUNK: u64 = 1 << 16;
    if n < 2 {
        return Some(false);
    }
    let mut hi = n;
    while hi > 2 {
        let lo = hi.saturating_sub(CHUNK).max(2);
        // 32-bit division is several times faster than 64-bit on x86-64; lo < hi <= n, so they
        // fit when n does (the job values are below 5,000,000).
        let divides = match (u32::try_from(n), u32::try_from(lo), u32::try_from(hi)) {
            (Ok(n), Ok(lo), Ok(hi)) => (lo..hi).rev().any(|i| n % i == 0),
            _ => (lo..hi).rev().any(|i| n.is_multiple_of(i)),
        };
        if divides {
            return Some(false);
        }
        hi = lo;
        if is_cancelled(cancel) {
            return None;
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use common::work::is_prime_sqrt;

    use super::*;

    #[test]
    fn the_cancellable_prime_check_matches_and_stops() {
        let (tx, rx) = crossbeam::channel::bounded::<()>(0);
        for n in [0, 1, 2, 3, 97, 100, 65_537, 200_003, 200_004] {
            assert_eq!(is_prime_naive_until(n, &rx), Some(is_prime_sqrt(n)), "n = {n}");
        }
        drop(tx);
        assert_eq!(is_prime_naive_until(1_000_003, &rx), None);
    }

    #[test]
    fn run_until_gives_the_same_outcome_unless_cancelled() {
        let (tx, rx) = crossbeam::channel::bounded::<()>(0);
        let cpu = Work {
            workload: Workload::Cpu,
            duration: Duration::ZERO,
            fail_every: 0,
            dist: common::WorkDist::Fixed,
            seed: 0,
        };
        for value in [97, 100, 1_000_003] {
            let job = Job { id: 1, value };
            assert_eq!(run_until(&cpu, &job, &rx), cpu.run(&job), "value {value}");
        }
        let failing = Work {
            workload: Workload::Dispatch,
            duration: Duration::ZERO,
            fail_every: 3,
            dist: common::WorkDist::Fixed,
            seed: 0,
        };
        let job = Job { id: 3, value: 1 };
        assert_eq!(run_until(&failing, &job, &rx), failing.run(&job));
        // Jobs of a minute: cancelled at once, not after the minute.
        let sleepy = Work {
            workload: Workload::Sleep,
            duration: Duration::from_secs(60),
            fail_every: 0,
            dist: common::WorkDist::Fixed,
            seed: 0,
        };
        assert!(!is_cancelled(&rx));
        drop(tx);
        assert!(is_cancelled(&rx));
        assert_eq!(
            run_until(&sleepy, &Job { id: 1, value: 1 }, &rx),
            Outcome::Cancelled
        );
    }
}
