//! Simulated work, shared so every example (and `cargo xtask compare`) runs identical jobs.

use std::time::Duration;

use crossbeam::channel::{Receiver, TryRecvError};
use rand::{Rng as _, SeedableRng as _};
use rand_xoshiro::SplitMix64;

use crate::job::{Job, Outcome};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Sleep for `--work-ms` (stands in for I/O), then output = value × 2.
    Sleep,
    /// The Go original 000's prime check (trial division down from n−1, O(n)); output = 1 if prime.
    Cpu,
    /// No work at all, output = value × 2: what is left is the pool's own overhead.
    Dispatch,
}

impl Workload {
    /// The output a correct job produces for `value` under this workload.
    pub fn expected_output(self, value: u64) -> u64 {
        match self {
            Workload::Sleep | Workload::Dispatch => value * 2,
            Workload::Cpu => u64::from(is_prime_sqrt(value)),
        }
    }
}

/// Values for the `cpu` workload are drawn below this bound (Go original 000: `rand.Intn(5000000)`).
pub const CPU_VALUE_BOUND: u64 = 5_000_000;
/// Values for the other workloads are drawn below this bound (Go original 001: `rand.Intn(100)`).
pub const VALUE_BOUND: u64 = 100;

/// `n` jobs with ids 1..=n and values drawn from `seed` (the same seed gives the same jobs).
///
/// The values are SplitMix64's outputs from state `seed`, each taken modulo the bound: a
/// generator of a few lines that the Go reference programs (`reference/go`) implement too, so
/// `cargo xtask compare` runs both languages on the very same jobs. (The modulo's bias, at most
/// bound / 2^64, does not matter for simulated work.)
pub fn jobs(n: u64, seed: u64, workload: Workload) -> impl Iterator<Item = Job> + use<> {
    let mut rng = SplitMix64::seed_from_u64(seed);
    let bound = if workload == Workload::Cpu {
        CPU_VALUE_BOUND
    } else {
        VALUE_BOUND
    };
    (1..=n).map(move |id| Job {
        id,
        value: rng.next_u64() % bound,
    })
}

/// The simulated work of one job, as configured by `--workload`, `--work-ms` and `--fail-every`.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub workload: Workload,
    pub duration: Duration,
    pub fail_every: u64,
}

impl Work {
    /// Does the job's work on this thread and returns how it ended.
    #[inline]
    pub fn run(&self, job: &Job) -> Outcome {
        let output = match self.workload {
            Workload::Sleep => {
                std::thread::sleep(self.duration);
                job.value * 2
            }
            Workload::Cpu => u64::from(is_prime_naive(job.value)),
            Workload::Dispatch => job.value * 2,
        };
        self.finish(job, output)
    }

    /// The job's outcome once its work produced `output`: ok, unless `--fail-every` picks it.
    /// (context-cancel's cancellable run ends with it too.)
    #[inline]
    pub fn finish(&self, job: &Job, output: u64) -> Outcome {
        if self.fail_every > 0 && job.id.is_multiple_of(self.fail_every) {
            return Outcome::Failed(format!(
                "simulated failure: job {} is a multiple of --fail-every {}",
                job.id, self.fail_every
            ));
        }
        Outcome::Ok(output)
    }
}

/// True once `cancel` is ready: its senders are gone (or, for a channel used differently, it holds
/// a message). (context-cancel has its own copy beside its cancellable run, where its lesson is;
/// this one remains for the other examples that still use it.)
pub fn is_cancelled<T>(cancel: &Receiver<T>) -> bool {
    !matches!(cancel.try_recv(), Err(TryRecvError::Empty))
}

/// The Go original 000's deliberately expensive check: trial division from n−1 down to 2, O(n).
/// Unlike the original, 0 and 1 are not prime.
pub fn is_prime_naive(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    // The values used here fit in 32 bits, and 32-bit division is several times faster than
    // 64-bit division on x86-64; the loop is the same.
    match u32::try_from(n) {
        Ok(n) => (2..n).rev().all(|i| n % i != 0),
        Err(_) => (2..n).rev().all(|i| !n.is_multiple_of(i)),
    }
}

/// The sensible check: trial division by 2 and odd numbers up to √n.
pub fn is_prime_sqrt(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n.is_multiple_of(2) {
        return false;
    }
    let mut d = 3;
    while d <= n / d {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prime_checks_agree_and_exclude_0_and_1() {
        for n in 0..2_000 {
            assert_eq!(is_prime_naive(n), is_prime_sqrt(n), "n = {n}");
        }
        assert!(!is_prime_naive(0) && !is_prime_naive(1));
        assert!(is_prime_sqrt(4_999_999) == is_prime_naive(4_999_999));
        assert!(is_prime_sqrt(1_000_003));
    }

    #[test]
    fn job_values_match_the_go_reference() {
        // What `reference/go/cmd/basic --seed 42 --jobs 5` draws (wp.SplitMix64).
        let values: Vec<u64> = jobs(5, 42, Workload::Sleep).map(|j| j.value).collect();
        assert_eq!(values, [13, 91, 58, 64, 50]);
    }

    #[test]
    fn jobs_are_reproducible() {
        let a: Vec<_> = jobs(50, 7, Workload::Sleep).collect();
        let b: Vec<_> = jobs(50, 7, Workload::Sleep).collect();
        assert_eq!(a, b);
        assert_eq!(a.first().map(|j| j.id), Some(1));
        assert!(a.iter().all(|j| j.value < VALUE_BOUND));
        assert!(jobs(50, 7, Workload::Cpu).all(|j| j.value < CPU_VALUE_BOUND));
    }

    #[test]
    fn work_outcomes() {
        let work = Work {
            workload: Workload::Dispatch,
            duration: Duration::ZERO,
            fail_every: 3,
        };
        assert_eq!(work.run(&Job { id: 1, value: 21 }), Outcome::Ok(42));
        assert!(matches!(work.run(&Job { id: 3, value: 1 }), Outcome::Failed(_)));
    }
}
