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
    /// Your own job, [`crate::custom::job`] (one function in `common/src/custom.rs`); the shipped
    /// one parses a JSON price list and prices an order: output = the order's total in cents.
    Custom,
}

impl Workload {
    /// The output a correct job produces for `value` under this workload (`None`: a custom job
    /// that fails for this value).
    pub fn expected_output(self, value: u64) -> Option<u64> {
        match self {
            Workload::Sleep | Workload::Dispatch => Some(value * 2),
            Workload::Cpu => Some(u64::from(is_prime_sqrt(value))),
            Workload::Custom => crate::custom::job(value).ok(),
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

/// How the `sleep` workload's job durations spread around `--work-ms` (`--work-dist`): real jobs
/// vary, and a few long ones show head-of-line blocking, idle workers and tail latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkDist {
    /// Every job takes exactly `--work-ms`.
    #[default]
    Fixed,
    /// Uniform between 0 and 2 × `--work-ms` (mean `--work-ms`).
    Uniform,
    /// Exponential with mean `--work-ms`: many short jobs, some several times longer.
    Exp,
    /// Pareto with shape 2 and mean `--work-ms` (half of it at least): a heavy tail, where one
    /// job in 400 takes ten times the mean or more. Capped at [`PARETO_CAP`] × `--work-ms`.
    Pareto,
}

/// The longest a `pareto` job takes, in multiples of `--work-ms`, so one draw cannot stall a run.
pub const PARETO_CAP: f64 = 100.0;

/// The Pareto distribution's shape (its tail falls as x^-2: finite mean, infinite variance).
const PARETO_SHAPE: f64 = 2.0;

impl WorkDist {
    /// Job `id`'s duration under this distribution around `mean`, drawn from `seed`: the same
    /// seed and id give the same duration in every example and every run. `Fixed` is `mean`.
    pub fn duration(self, mean: Duration, seed: u64, id: u64) -> Duration {
        if self == WorkDist::Fixed || mean.is_zero() {
            return mean;
        }
        // One SplitMix64 draw from a state that mixes the seed and the id (the golden-ratio step
        // SplitMix64 itself uses), so a job's duration does not depend on the jobs before it and
        // the durations are independent of the values drawn from the same seed.
        let state = seed ^ 0x5DEE_CE66_D1CE_4E5B ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = SplitMix64::seed_from_u64(state).next_u64() >> 11;
        // u is uniform in (0, 1]: 53 bits, never 0 (ln and the Pareto power need u > 0).
        let u = (bits + 1) as f64 / (1u64 << 53) as f64;
        let factor = match self {
            WorkDist::Fixed => 1.0,
            WorkDist::Uniform => 2.0 * u,
            WorkDist::Exp => -u.ln(),
            // Inverse transform: x_m / u^(1/α), with x_m = mean × (α − 1) / α.
            WorkDist::Pareto => {
                ((PARETO_SHAPE - 1.0) / PARETO_SHAPE * u.powf(-1.0 / PARETO_SHAPE)).min(PARETO_CAP)
            }
        };
        mean.mul_f64(factor)
    }
}

/// The simulated work of one job, as configured by `--workload`, `--work-ms`, `--work-dist`,
/// `--seed` and `--fail-every`.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub workload: Workload,
    /// The `sleep` workload's work per job (the mean, for a distribution other than `fixed`).
    pub duration: Duration,
    pub fail_every: u64,
    /// How each job's duration is drawn around `duration` ([`Work::duration_for`]).
    pub dist: WorkDist,
    /// The seed the durations are drawn from (`--seed`, as for the values).
    pub seed: u64,
}

impl Work {
    /// How long `job` sleeps under the `sleep` workload: `duration`, or its draw from `dist`.
    #[inline]
    pub fn duration_for(&self, job: &Job) -> Duration {
        self.dist.duration(self.duration, self.seed, job.id)
    }

    /// The total sleep of jobs 1..=n but the `skip_longest` longest (the jobs that failed before
    /// their work are not known by id, so the ideal leaves out the longest: it stays a lower
    /// bound).
    pub fn total_sleep(&self, n: u64, skip_longest: u64) -> Duration {
        let worked = n.saturating_sub(skip_longest);
        if self.dist == WorkDist::Fixed {
            return self
                .duration
                .saturating_mul(u32::try_from(worked).unwrap_or(u32::MAX));
        }
        let mut all: Vec<Duration> = (1..=n)
            .map(|id| self.dist.duration(self.duration, self.seed, id))
            .collect();
        if skip_longest > 0 {
            all.sort_unstable();
            all.truncate(usize::try_from(worked).unwrap_or(usize::MAX));
        }
        all.iter().sum()
    }

    /// Does the job's work on this thread and returns how it ended.
    #[inline]
    pub fn run(&self, job: &Job) -> Outcome {
        let output = match self.workload {
            Workload::Sleep => {
                std::thread::sleep(self.duration_for(job));
                job.value * 2
            }
            Workload::Cpu => u64::from(is_prime_naive(job.value)),
            Workload::Dispatch => job.value * 2,
            Workload::Custom => match crate::custom::job(job.value) {
                Ok(output) => output,
                Err(e) => return Outcome::Failed(e),
            },
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
            dist: WorkDist::Fixed,
            seed: 0,
        };
        assert_eq!(work.run(&Job { id: 1, value: 21 }), Outcome::Ok(42));
        assert!(matches!(work.run(&Job { id: 3, value: 1 }), Outcome::Failed(_)));
    }

    fn draws(dist: WorkDist, seed: u64, n: u64) -> Vec<f64> {
        let mean = Duration::from_millis(100);
        (1..=n)
            .map(|id| dist.duration(mean, seed, id).as_secs_f64() * 10.0)
            .collect()
    }

    #[test]
    fn fixed_is_the_work_ms() {
        let mean = Duration::from_millis(37);
        assert!((1..1000).all(|id| WorkDist::Fixed.duration(mean, 9, id) == mean));
        for dist in [WorkDist::Uniform, WorkDist::Exp, WorkDist::Pareto] {
            assert_eq!(dist.duration(Duration::ZERO, 9, 3), Duration::ZERO);
        }
        let work = Work {
            workload: Workload::Sleep,
            duration: mean,
            fail_every: 0,
            dist: WorkDist::Fixed,
            seed: 1,
        };
        assert_eq!(work.total_sleep(10, 2), mean * 8);
    }

    #[test]
    fn durations_are_deterministic_per_seed_and_id() {
        for dist in [WorkDist::Uniform, WorkDist::Exp, WorkDist::Pareto] {
            assert_eq!(draws(dist, 42, 500), draws(dist, 42, 500));
            assert_ne!(draws(dist, 42, 500), draws(dist, 43, 500));
            // A job's duration does not depend on how many jobs there are.
            assert_eq!(draws(dist, 42, 10)[..], draws(dist, 42, 500)[..10]);
        }
    }

    #[test]
    fn means_are_close_to_work_ms() {
        // Deterministic for these seeds: the bounds are several standard errors wide (uniform
        // and exp: sd/sqrt(n) below 0.4% of the mean at n = 100,000), so no seed here flakes.
        for seed in [1, 42, 2024] {
            for (dist, tolerance) in [
                (WorkDist::Uniform, 0.02),
                (WorkDist::Exp, 0.02),
                (WorkDist::Pareto, 0.05),
            ] {
                let d = draws(dist, seed, 100_000);
                let mean = d.iter().sum::<f64>() / d.len() as f64;
                assert!(
                    (mean - 1.0).abs() < tolerance,
                    "{dist:?} seed {seed}: mean {mean}"
                );
            }
        }
    }

    #[test]
    fn pareto_has_a_heavy_tail() {
        let count = |dist, over: f64| draws(dist, 42, 100_000).iter().filter(|&&x| x > over).count();
        // P(X > 10 × mean) is 1/400 for Pareto(2) and e^-10 (1 in 22,000) for exp.
        let pareto = count(WorkDist::Pareto, 10.0);
        assert!((150..=350).contains(&pareto), "{pareto}");
        assert!(count(WorkDist::Exp, 10.0) < 20);
        assert_eq!(count(WorkDist::Uniform, 2.0), 0);
        assert!(
            draws(WorkDist::Pareto, 42, 100_000)
                .iter()
                .all(|&x| (0.5..=PARETO_CAP).contains(&x))
        );
    }

    #[test]
    fn total_sleep_leaves_out_the_longest() {
        let work = Work {
            workload: Workload::Sleep,
            duration: Duration::from_millis(100),
            fail_every: 0,
            dist: WorkDist::Pareto,
            seed: 42,
        };
        let all: Vec<Duration> = (1..=50)
            .map(|id| work.duration_for(&Job { id, value: 0 }))
            .collect();
        let longest = all.iter().max().copied().unwrap_or_default();
        assert_eq!(work.total_sleep(50, 0), all.iter().sum());
        assert_eq!(work.total_sleep(50, 1), all.iter().sum::<Duration>() - longest);
    }
}
