//! The closing summary's pipeline numbers (plumbing, not the lesson: the stages are in `main.rs`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Summary, Tally};

use crate::Stats;
use crate::args::Cli;

/// What main measured around the pipeline.
pub struct Measured {
    /// When `take` was satisfied (or the run stopped), and how many numbers were checked by then.
    pub satisfied: Duration,
    pub checked_when_satisfied: u64,
    pub wall: Duration,
    pub stage_threads_started: usize,
    pub stage_threads_joined: usize,
}

pub fn summary(cli: &Cli, tally: Tally, stats: &Stats, m: &Measured) -> Summary {
    let finders = cli.finders();
    let checked = stats.checked.load(Ordering::Relaxed);
    let primes = stats.primes.load(Ordering::Relaxed);
    let after = checked - m.checked_when_satisfied;
    let secs = m.satisfied.as_secs_f64();
    let per_sec = if secs > 0.0 {
        m.checked_when_satisfied as f64 / secs
    } else {
        0.0
    };
    let (started, joined, max) = (m.stage_threads_started, m.stage_threads_joined, cli.max);
    Summary::new("prime-pipeline", tally, finders, stats.checking.peak(), m.wall)
        .with_max_in_flight(finders)
        .with_interrupted_at(common::signal::interrupted_at())
        .line(format!(
            "numbers checked: {checked} ({after} after take was satisfied), primes found: {primes}, delivered: {} of {}",
            tally.ok, cli.take
        ))
        .line(format!(
            "numbers checked per second: {per_sec:.0} ({finders} finder(s), {} check, numbers below {max})",
            cli.check.name()
        ))
        .line(format!(
            "stage threads started: {started} (1 generator, {finders} finder(s), {finders} fan-in forwarder(s), 1 take), joined: {joined}"
        ))
        .field("take", cli.take)
        .field("finders", finders)
        .field("check", cli.check.name())
        .field("max", max)
        .field("numbers_checked", checked)
        .field("checked_after_take", after)
        .field("primes_found", primes)
        .field("checked_per_sec", (per_sec * 10.0).round() / 10.0)
        .field("satisfied_ms", (secs * 1e6).round() / 1e3)
        .field("stage_threads_started", started)
        .field("stage_threads_joined", joined)
}
