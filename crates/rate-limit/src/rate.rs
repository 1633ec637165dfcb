//! The rate limiter: at most `burst + rate × t` job starts in any span of `t` seconds.
//!
//! It wraps governor's GCRA limiter (the "generic cell rate algorithm", a leaky bucket kept as a
//! single timestamp): `check()` either admits a start or says when the next one may go. governor's
//! own waiting (`until_ready`) is async; blocking workers simply sleep until the time it names.
//! Without a burst, crossbeam's `tick` channel is the simpler (and, there, more exact) tool.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use common::Stop;
use crossbeam::channel::{self, Receiver};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};

/// The highest rate accepted: one start per microsecond.
pub const MAX_RATE: f64 = 1_000_000.0;

/// A rate in starts per second, as given to `--rate`: `200/s` or `200` (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

impl Rate {
    pub fn per_second(self) -> f64 {
        self.0
    }

    /// The time between two starts at this rate.
    pub fn period(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

/// Parses `--rate`: a positive number of starts per second, with or without a `/s` suffix.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let text = s.trim();
    let number = text.strip_suffix("/s").unwrap_or(text).trim();
    let rate: f64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a rate (starts per second, such as 200/s)"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("the rate must be more than 0 per second, got '{s}'"));
    }
    if rate > MAX_RATE {
        return Err(format!(
            "the rate must be at most {MAX_RATE} per second, got '{s}'"
        ));
    }
    Ok(Rate(rate))
}

/// Parses `--concurrency`: the semaphore's permits, 1 to the most workers an example starts.
pub fn parse_concurrency(s: &str) -> Result<usize, String> {
    let max = common::cli::MAX_WORKERS;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        Ok(n) => Err(format!("concurrency must be between 1 and {max}, got {n}")),
        Err(_) => Err(format!("'{s}' is not a concurrency (1 to {max})")),
    }
}

/// Parses `--burst`: how many starts may go at once before the rate applies (1 or more).
pub fn parse_burst(s: &str) -> Result<NonZeroU32, String> {
    s.trim()
        .parse::<NonZeroU32>()
        .map_err(|_| format!("'{s}' is not a burst (a whole number, 1 or more)"))
}

/// A rate limiter shared by every worker (`&Limiter` or `Arc<Limiter>`).
pub struct Limiter {
    pace: Pace,
    rate: Rate,
    burst: NonZeroU32,
}

/// How the starts are paced. Both keep `starts ≤ burst + rate × t`; each is used where it also
/// *reaches* the rate.
enum Pace {
    /// No burst: crossbeam's `tick`, one tick every period. A `recv` claims the next tick before
    /// it sleeps, so a worker that wakes a little late does not push the later ticks back.
    Ticker(Receiver<Instant>),
    /// A burst: governor's GCRA bucket. Checking again after the sleep it asks for is fine here:
    /// the bucket's burst tolerance absorbs the sleep's overshoot. (With no burst there is no
    /// tolerance, every overshoot would be lost, and the rate would come out ~2 % low.)
    Bucket(DefaultDirectRateLimiter, DefaultClock),
}

impl Limiter {
    /// A limiter admitting `burst` starts at once, then one every `1 / rate` seconds.
    pub fn new(rate: Rate, burst: NonZeroU32) -> anyhow::Result<Self> {
        let pace = if burst == NonZeroU32::MIN {
            Pace::Ticker(channel::tick(rate.period()))
        } else {
            let quota = Quota::with_period(rate.period())
                .ok_or_else(|| anyhow::anyhow!("the rate {} per second is too high", rate.0))?
                .allow_burst(burst);
            let clock = DefaultClock::default();
            Pace::Bucket(
                DefaultDirectRateLimiter::direct_with_clock(quota, clock.clone()),
                clock,
            )
        };
        Ok(Limiter { pace, rate, burst })
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// Blocks until one more start is allowed, and takes it: `true`. Returns `false` as soon as
    /// `stop` is set (Ctrl-C), however slow the rate: the wait is a `select!` on the stop too.
    pub fn until_ready(&self, stop: &Stop) -> bool {
        match &self.pace {
            // A ticker never closes, so its `recv` only returns once the tick is due.
            Pace::Ticker(ticks) => crossbeam::select! {
                recv(ticks) -> _ => !stop.is_set(),
                recv(stop.channel()) -> _ => false,
            },
            // Each failed check says how long until the bucket has room again. Several workers
            // may wake at that instant; one gets the start, the others wait another period.
            Pace::Bucket(bucket, clock) => loop {
                if stop.is_set() {
                    return false;
                }
                match bucket.check() {
                    Ok(()) => return true,
                    Err(not_until) => crossbeam::select! {
                        recv(stop.channel()) -> _ => return false,
                        default(not_until.wait_time_from(clock.now())) => {}
                    },
                }
            },
        }
    }

    /// Takes a start if one is allowed right now.
    #[cfg(test)]
    pub fn try_start(&self) -> bool {
        match &self.pace {
            Pace::Ticker(ticks) => ticks.try_recv().is_ok(),
            Pace::Bucket(bucket, _) => bucket.check().is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_or_without_per_second() {
        assert_eq!(parse_rate("200/s"), Ok(Rate(200.0)));
        assert_eq!(parse_rate("200"), Ok(Rate(200.0)));
        assert_eq!(parse_rate(" 0.5/s "), Ok(Rate(0.5)));
        for bad in [
            "0", "0/s", "-5", "-5/s", "abc", "", "/s", "NaN", "inf", "1e9", "200/m",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn concurrency_must_be_positive() {
        assert_eq!(parse_concurrency("100"), Ok(100));
        for bad in ["0", "-1", "x", "100000"] {
            assert!(parse_concurrency(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_stop_ends_the_wait_for_a_slow_rate() -> anyhow::Result<()> {
        // One start per hour: without the stop, both waits would last an hour.
        for burst in [NonZeroU32::MIN, NonZeroU32::new(2).unwrap()] {
            let limiter = Limiter::new(Rate(1.0 / 3600.0), burst)?;
            while limiter.try_start() {} // use up the burst
            let stop = Stop::new();
            let waiter = {
                let stop = stop.clone();
                std::thread::spawn(move || limiter.until_ready(&stop))
            };
            stop.set();
            assert!(!waiter.join().expect("no panic"), "a stopped wait takes no start");
        }
        Ok(())
    }

    #[test]
    fn bursts_are_positive_counts() {
        assert_eq!(parse_burst("3").map(NonZeroU32::get), Ok(3));
        for bad in ["0", "-1", "x", "1.5"] {
            assert!(parse_burst(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn the_burst_goes_at_once_then_the_rate_applies() -> anyhow::Result<()> {
        // One start per hour after the burst: the fourth start cannot be admitted in this test.
        let limiter = Limiter::new(Rate(1.0 / 3600.0), NonZeroU32::new(3).unwrap())?;
        let admitted = (0..10).filter(|_| limiter.try_start()).count();
        assert_eq!(admitted, 3);
        Ok(())
    }

    #[test]
    fn without_a_burst_starts_are_one_period_apart() -> anyhow::Result<()> {
        // One start per hour: the first tick is an hour away, so nothing is admitted now.
        let limiter = Limiter::new(Rate(1.0 / 3600.0), NonZeroU32::MIN)?;
        assert_eq!((0..10).filter(|_| limiter.try_start()).count(), 0);
        Ok(())
    }
}
