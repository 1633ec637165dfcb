//! The summary's own numbers: when jobs started (for the achieved start rate), and the fields and
//! human lines this example adds to the shared summary. Plumbing, not the lesson: the semaphore
//! and the pool are in `main.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{PoolArgs, Summary, Tally};

use crate::rate::Limiter;

/// The first and the last job start, in nanoseconds since the run's clock started, noted only
/// with `--rate` (the only summary that reports them): without it, a start would cost a clock read
/// and two writes to atomics every worker shares, more than a trivial job.
#[derive(Debug)]
pub struct Starts {
    noted: bool,
    clock: Instant,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

impl Starts {
    /// `noted`: whether [`Starts::note`] records anything.
    pub fn new(noted: bool) -> Self {
        Starts {
            noted,
            clock: Instant::now(),
            first_ns: AtomicU64::new(u64::MAX),
            last_ns: AtomicU64::new(0),
        }
    }

    /// Records a start now (if noted).
    pub fn note(&self) {
        if !self.noted {
            return;
        }
        let ns = u64::try_from(self.clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.first_ns.fetch_min(ns, Ordering::SeqCst);
        self.last_ns.fetch_max(ns, Ordering::SeqCst);
    }

    /// Starts per second between the first and the last start (the burst included).
    pub fn rate(&self, starts: u64) -> Option<f64> {
        let first = self.first_ns.load(Ordering::SeqCst);
        let last = self.last_ns.load(Ordering::SeqCst);
        (starts >= 2 && last > first).then(|| (starts - 1) as f64 / ((last - first) as f64 / 1e9))
    }
}

/// What the summary needs to know about the run's limits.
pub struct Limits<'a> {
    pub concurrency: usize,
    /// The cap that can actually be reached: min(permits, workers).
    pub max_in_flight: usize,
    pub limiter: Option<&'a Limiter>,
    pub permits_in_use_at_exit: usize,
    /// `--panic-every`: panicking jobs end at once, so there is no ideal time.
    pub panic_every: u64,
}

/// The closing summary: the shared fields plus the semaphore's cap, the rate limit and the ideal
/// wall time the permits allow.
pub fn summary(
    tally: Tally,
    args: &PoolArgs,
    peak: usize,
    wall: Duration,
    limits: &Limits<'_>,
    starts: &Starts,
) -> Summary {
    let max_in_flight = limits.max_in_flight;
    let mut summary = Summary::new("rate-limit", tally, args.workers, peak, wall)
        .with_max_in_flight(max_in_flight)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("concurrency", limits.concurrency)
        .field("permits_in_use_at_exit", limits.permits_in_use_at_exit)
        .line(format!(
            "at most {max_in_flight} jobs in flight: {} permits, {} workers",
            limits.concurrency, args.workers
        ));
    if let Some(limiter) = limits.limiter {
        let (rate, burst) = (limiter.rate().per_second(), limiter.burst().get());
        let achieved = starts.rate(tally.ran()).map(|r| (r * 1000.0).round() / 1000.0);
        summary = summary
            .field("rate_per_s", rate)
            .field("burst", burst)
            .field("start_rate_per_s", achieved)
            .line(format!("rate limit: {rate} starts/s, burst {burst}"));
        if let Some(achieved) = achieved {
            summary = summary.line(format!(
                "achieved: {achieved} starts/s from the first start to the last (the burst included)"
            ));
        }
    } else if args.workload == common::Workload::Sleep
        && args.work_dist == common::WorkDist::Fixed
        && args.jobs > 0
        && limits.panic_every == 0
    {
        // The permits, not the workers, set the pace: ceil(jobs / max_in_flight) rounds of work.
        let rounds = args.jobs.div_ceil(max_in_flight as u64);
        let ms = rounds.saturating_mul(args.work_ms);
        summary = summary.with_ideal(Duration::from_millis(ms)).line(format!(
            "ideal {ms} ms = ceil({} jobs / {max_in_flight} in flight) x {} ms",
            args.jobs, args.work_ms
        ));
    }
    summary
}
