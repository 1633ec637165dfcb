//! # prime-pipeline — generator → fan-out → fan-in → take, with no leaked threads
//!
//! A pipeline: stages joined by channels, each stage a small generic function that starts one
//! thread (or a few) and returns the `Receiver` of its output, so stages plug into each other like
//! Go functions returning `<-chan T`:
//!
//! ```text
//!                       ┌─> prime_finder 1 ─┐
//! repeat_fn(random) ────┼─> prime_finder 2 ─┼─> fan_in ─> take(n) ─> main prints each prime
//!   (the generator)     └─> prime_finder F ─┘
//! ```
//!
//! 1. `repeat_fn(f)`, the generator, sends `f()` forever: random numbers below `--max`.
//! 2. Fan-out: `--finders` prime finders (default: one per CPU) receive from the *same* generator
//!    channel (a crossbeam `Receiver` clones; each number goes to exactly one finder). The
//!    deliberately slow check (`--check naive`, the original's O(n) trial division) is the CPU
//!    load that fan-out spreads over the cores.
//! 3. `fan_in(inputs)`: one forwarder thread per finder copies its primes into one channel.
//! 4. `take(input, n)` passes on the first n items and then returns.
//!
//! Clean shutdown, where Rust must do better than the Go original: nobody tells the stages to
//! stop. When `take` returns, its thread drops its input `Receiver`, and that is the whole signal.
//! A crossbeam `send` fails once every receiver of its channel is gone, so the signal travels
//! upstream one stage at a time: the fan-in forwarders' next send fails, they return and drop the
//! finders' receivers; each finder's next send of a prime fails, it returns and drops its clone of
//! the generator's receiver; when the last clone is gone the generator's send fails and it returns
//! too. Every stage hands its `JoinHandle` to one collector (`Stages`), and main joins them all
//! before the summary, which counts stage threads started and joined and threads alive at exit (0).
//! The price is visible too: a finder only notices at its next prime, so the finders check a few
//! more numbers after `take` is satisfied ("checked after take was satisfied" in the summary).
//!
//! What to observe: `cargo run -p prime-pipeline` prints 13 random primes below 5,000,000 and the
//! finder that found each, then numbers checked, primes found, numbers checked per second and the
//! stage threads started = joined (2 × finders + 2). Which primes come out first depends on which
//! finder finishes first, so the list changes from run to run even with the same `--seed`.
//! Compare `--finders 1` with the default on a multi-core machine: the checks per second grow with
//! the finders; `--check sqrt` makes each check so cheap that the channels become the cost.
//!
//! Go original: 000, the "Generator + Fan-out/Fan-in + Pipe-Line pattern" (`repeatFunc`,
//! `primeFinder` × `runtime.NumCPU()`, `fanIn`, `take(13)` of `rand.Intn(5000000)`).
//! What differs, and why:
//! - Go's goroutines run forever after `take` finishes: the generator and the finders block on
//!   sends nobody will receive (leaked goroutines; the program only ends because `main` returns).
//!   Here a dropped receiver makes each upstream send fail, each stage returns, and every stage
//!   thread is joined: `threads_alive_at_exit` is 0.
//! - Go's `fanIn` needs a `WaitGroup` and one more goroutine to close the merged channel. Here each
//!   forwarder owns a clone of the `Sender`, and the merged channel closes by itself when the last
//!   clone is dropped.
//! - Go's `isPrime` calls 0 and 1 prime; here they are not. `--check sqrt` adds the sensible check.
//! - Go's `take` wraps `taken <- <-stream` in a one-case `select`; here it is a plain loop.
//! - Go's channels are unbuffered: here too by default (`bounded(0)`, a rendezvous channel);
//!   `--buffer N` gives every stage channel room for N items. Numbers come from `--seed`.
//!
//! The workspace's `--json` contract, mapped onto a pipeline: each prime that `take` delivers is a
//! job, id 1..=n in delivery order, `value` = the prime, `output` = 1 (prime), `worker` = the finder.
//! Its `started`/`finished` events carry the times of that finder's check of that number (taken
//! inside the in-flight gauge); the check ran before the job id existed, so main prints both events
//! when the prime arrives. `peak_in_flight` = finders checking at once (every check, prime or not),
//! `max_in_flight` = finders. `--take` is `--jobs` under its pipeline name and `--finders` is
//! `--workers` (giving both spellings is a usage error); `--work-ms`, `--workload` and
//! `--fail-every` parse but do nothing here: the work is the prime check. The JSON summary adds
//! `finders`, `check`, `max`, `numbers_checked`, `checked_after_take`, `primes_found`,
//! `checked_per_sec` (numbers checked until `take` was satisfied, per second of that time),
//! `satisfied_ms`, `stage_threads_started` and `stage_threads_joined`.
//!
//! Run with: cargo run -p prime-pipeline

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use common::cli::MAX_WORKERS;
use common::{Defaults, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Summary, Tally};
use crossbeam::channel::{self, Receiver};
use rand::{RngExt, SeedableRng, rngs::StdRng};

/// Generator → fan-out prime finders → fan-in → take(n), with every stage thread joined at the end.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// How many primes to take before the pipeline shuts down (the same as --jobs).
    #[arg(long, value_name = "N", conflicts_with = "jobs", allow_negative_numbers = true,
          value_parser = common::cli::parse_count)]
    take: Option<u64>,

    /// Prime finder threads, all reading the one generator (the same as --workers; default: one
    /// per CPU).
    #[arg(long, value_name = "N", conflicts_with = "workers", allow_negative_numbers = true,
          value_parser = parse_finders)]
    finders: Option<usize>,

    /// The generator draws random numbers in 0..MAX.
    #[arg(long, default_value_t = 5_000_000, allow_negative_numbers = true, value_parser = parse_max)]
    max: u64,

    /// The prime check: `naive` (the original's trial division from n−1 down, O(n)) or `sqrt`.
    #[arg(long, value_enum, default_value_t = Check::Naive)]
    check: Check,
}

/// How a finder decides whether a number is prime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Check {
    /// Trial division from n−1 down to 2: the expensive check this example exists to spread.
    Naive,
    /// Trial division by 2 and odd numbers up to √n.
    Sqrt,
}

impl Check {
    fn is_prime(self, n: u64) -> bool {
        match self {
            Check::Naive => common::work::is_prime_naive(n),
            Check::Sqrt => common::work::is_prime_sqrt(n),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Check::Naive => "naive",
            Check::Sqrt => "sqrt",
        }
    }
}

fn parse_finders(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "finders must be a whole number from 1 to {MAX_WORKERS}, got '{s}'"
        )),
    }
}

/// Below 3 there is no prime to find and the pipeline would never deliver one.
fn parse_max(s: &str) -> Result<u64, String> {
    const LIMIT: u64 = 1 << 32;
    match s.trim().parse::<u64>() {
        Ok(n) if (3..=LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("max must be a whole number from 3 to {LIMIT}, got '{s}'")),
    }
}

fn main() -> ExitCode {
    common::main(run)
}

/// The collector of stage threads: every stage function hands its `JoinHandle`s here, so main can
/// join every one of them (Go's goroutines have no handle at all).
#[derive(Default)]
struct Stages {
    handles: Vec<JoinHandle<()>>,
}

impl Stages {
    fn spawn(&mut self, name: String, body: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        let handle = thread::Builder::new().name(name).spawn(body)?;
        self.handles.push(handle);
        Ok(())
    }

    /// Joins every stage thread; returns (joined, panicked). It returns only once every stage has
    /// noticed that its downstream is gone.
    fn join_all(self) -> (usize, usize) {
        let (mut joined, mut panicked) = (0, 0);
        for handle in self.handles {
            match handle.join() {
                Ok(()) => joined += 1,
                Err(_) => panicked += 1,
            }
        }
        (joined, panicked)
    }
}

/// Counters shared by the finders.
#[derive(Debug, Default)]
struct Stats {
    /// Finders inside a prime check right now, and the most at once.
    checking: InFlight,
    checked: AtomicU64,
    primes: AtomicU64,
}

/// A prime, the finder that found it, and when that finder's check of it ran.
#[derive(Debug, Clone, Copy)]
struct Found {
    prime: u64,
    finder: usize,
    check_started: Instant,
    check_ended: Instant,
}

/// The generator (Go's `repeatFunc`): sends `f()` until nobody receives any more.
fn repeat_fn<T: Send + 'static>(
    mut f: impl FnMut() -> T + Send + 'static,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<T>> {
    let (tx, rx) = channel::bounded(capacity);
    stages.spawn("generator".into(), move || {
        // `send` fails once every receiver (every finder) is gone: the generator's cue to stop.
        while tx.send(f()).is_ok() {}
    })?;
    Ok(rx)
}

/// One prime finder stage (Go's `primeFinder`): checks every number it receives and sends on the
/// primes. Several finders share one input `Receiver`: that is the fan-out.
fn prime_finder(
    id: usize,
    numbers: Receiver<u64>,
    check: Check,
    stats: Arc<Stats>,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<Found>> {
    let (tx, rx) = channel::bounded(capacity);
    stages.spawn(format!("finder-{id}"), move || {
        for n in &numbers {
            let in_flight = stats.checking.enter();
            let check_started = Instant::now();
            let prime = check.is_prime(n);
            let check_ended = Instant::now();
            drop(in_flight);
            stats.checked.fetch_add(1, Ordering::Relaxed);
            if prime {
                stats.primes.fetch_add(1, Ordering::Relaxed);
                let found = Found {
                    prime: n,
                    finder: id,
                    check_started,
                    check_ended,
                };
                if tx.send(found).is_err() {
                    break; // the fan-in forwarder is gone: nobody wants primes any more
                }
            }
        }
        // Returning drops `numbers`, this finder's clone of the generator's receiver.
    })?;
    Ok(rx)
}

/// Fan-in (Go's `fanIn`): one forwarder thread per input, all sending into one channel. Each
/// forwarder owns a clone of the `Sender`, so the merged channel closes by itself when the last
/// forwarder returns (Go needs a `WaitGroup` and an extra goroutine for that).
fn fan_in<T: Send + 'static>(
    inputs: Vec<Receiver<T>>,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<T>> {
    let (tx, rx) = channel::bounded(capacity);
    for (i, input) in inputs.into_iter().enumerate() {
        let tx = tx.clone();
        stages.spawn(format!("fan-in-{}", i + 1), move || {
            for item in &input {
                if tx.send(item).is_err() {
                    break; // `take` is gone; returning drops `input`, so the finder's send fails next
                }
            }
        })?;
    }
    Ok(rx) // the original `tx` is dropped here: only the forwarders' clones keep the channel open
}

/// Go's `take`: passes on the first `n` items, then returns. Returning drops `input`, and that
/// dropped receiver is what shuts the whole pipeline down, one stage at a time.
fn take<T: Send + 'static>(
    input: Receiver<T>,
    n: u64,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<T>> {
    let (tx, rx) = channel::bounded(capacity);
    stages.spawn("take".into(), move || {
        for _ in 0..n {
            let Ok(item) = input.recv() else { break };
            if tx.send(item).is_err() {
                break;
            }
        }
        drop(input); // what returning does anyway, written out: the upstream sends now fail
    })?;
    Ok(rx)
}

fn run() -> anyhow::Result<ExitCode> {
    let defaults = Defaults {
        jobs: 13,                                       // take(13)
        workers: num_cpus::get().clamp(1, MAX_WORKERS), // runtime.NumCPU() prime finders
        work_ms: 0,                                     // unused: the work is the prime check
    };
    let cli: Cli = common::parse_args(&defaults);
    let n = cli.take.unwrap_or(cli.pool.jobs);
    let finders = cli.finders.unwrap_or(cli.pool.workers);
    let capacity = cli.pool.buffer.unwrap_or(0); // Go's unbuffered channels
    let report = Reporter::new(&cli.pool.output);
    let stats = Arc::new(Stats::default());
    let mut stages = Stages::default();

    // 1. The generator: random numbers below --max, reproducible from --seed.
    let mut rng = StdRng::seed_from_u64(cli.pool.seed);
    let max = cli.max;
    let numbers = repeat_fn(move || rng.random_range(0..max), capacity, &mut stages)?;

    // 2. Fan-out: every finder gets a clone of the one generator receiver.
    let mut found_streams = Vec::with_capacity(finders);
    for id in 1..=finders {
        let stream = prime_finder(
            id,
            numbers.clone(),
            cli.check,
            Arc::clone(&stats),
            capacity,
            &mut stages,
        )?;
        found_streams.push(stream);
    }
    // Main's own receiver must go too, or the generator would never see "no receivers left".
    drop(numbers);

    // 3. Fan-in, then 4. take(n).
    let merged = fan_in(found_streams, capacity, &mut stages)?;
    let taken = take(merged, n, capacity, &mut stages)?;

    // Each delivered prime is a job (ids 1..=n in delivery order). The loop ends when `take`
    // returns and its sender is dropped.
    let mut tally = Tally {
        submitted: n,
        ..Tally::default()
    };
    for (found, id) in taken.iter().zip(1..) {
        report_prime(&report, id, &found);
        tally.record(&Outcome::Ok(1));
    }
    let satisfied = report.elapsed();
    let checked_when_satisfied = stats.checked.load(Ordering::Relaxed);

    // Every stage thread is joined: this waits for the shutdown to travel up to the generator.
    let started = stages.handles.len();
    let (joined, panicked) = stages.join_all();

    let checked = stats.checked.load(Ordering::Relaxed);
    let primes = stats.primes.load(Ordering::Relaxed);
    let secs = satisfied.as_secs_f64();
    let per_sec = if secs > 0.0 {
        checked_when_satisfied as f64 / secs
    } else {
        0.0
    };
    let mut summary = Summary::new("prime-pipeline", tally, finders, stats.checking.peak(), report.elapsed())
        .line(format!(
            "numbers checked: {checked} ({} after take was satisfied), primes found: {primes}, delivered: {}",
            checked - checked_when_satisfied,
            tally.ok
        ))
        .line(format!(
            "numbers checked per second: {per_sec:.0} ({finders} finder(s), {} check, numbers below {max})",
            cli.check.name()
        ))
        .line(format!(
            "stage threads started: {started} (1 generator, {finders} finder(s), {finders} fan-in forwarder(s), 1 take), joined: {joined}"
        ))
        .field("max_in_flight", finders)
        .field("finders", finders)
        .field("check", cli.check.name())
        .field("max", max)
        .field("numbers_checked", checked)
        .field("checked_after_take", checked - checked_when_satisfied)
        .field("primes_found", primes)
        .field("checked_per_sec", (per_sec * 10.0).round() / 10.0)
        .field("satisfied_ms", (secs * 1e6).round() / 1e3)
        .field("stage_threads_started", started)
        .field("stage_threads_joined", joined);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} stage thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(report.summary(&summary))
}

/// Prints a delivered prime: one line (`13 (finder 2)`), or with `--json` the job's `started` and
/// `finished` events, stamped with the times of the finder's check of that number.
fn report_prime(report: &Reporter, id: u64, found: &Found) {
    let job = Job {
        id,
        value: found.prime,
    };
    if report.json() {
        // The check began earlier, on the finder thread: report it with its own start time.
        report.started_at(&job, found.finder, found.check_started);
        let result = JobResult {
            job,
            worker: found.finder,
            outcome: Outcome::Ok(1),
        };
        report.finished_at(&result, found.check_ended);
    } else {
        report.note(format!("{} (finder {})", found.prime, found.finder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(items: impl IntoIterator<Item = u64>) -> Receiver<u64> {
        let (tx, rx) = channel::unbounded();
        for item in items {
            tx.send(item).expect("the receiver is alive");
        }
        rx // `tx` is dropped: the channel ends after these items
    }

    #[test]
    fn take_stops_the_endless_generator() {
        let mut stages = Stages::default();
        let mut next = 0u64;
        let numbers = repeat_fn(
            move || {
                next += 1;
                next
            },
            0,
            &mut stages,
        )
        .expect("spawn");
        let taken = take(numbers, 5, 0, &mut stages).expect("spawn");
        let got: Vec<u64> = taken.iter().collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5]);
        // The generator never ends by itself: joining it proves the dropped receiver stopped it.
        assert_eq!(stages.join_all(), (2, 0));
    }

    #[test]
    fn fan_in_merges_every_input_and_closes() {
        let mut stages = Stages::default();
        let inputs = vec![ints(0..10), ints(10..25), ints(25..30)];
        let merged = fan_in(inputs, 0, &mut stages).expect("spawn");
        let mut got: Vec<u64> = merged.iter().collect();
        got.sort_unstable();
        assert_eq!(got, (0..30).collect::<Vec<_>>());
        assert_eq!(stages.join_all(), (3, 0));
    }

    #[test]
    fn prime_finder_passes_only_primes_and_counts_every_check() {
        for check in [Check::Naive, Check::Sqrt] {
            let mut stages = Stages::default();
            let stats = Arc::new(Stats::default());
            let primes =
                prime_finder(7, ints(0..=200), check, Arc::clone(&stats), 0, &mut stages).expect("spawn");
            let got: Vec<u64> = primes
                .iter()
                .map(|f| {
                    assert_eq!(f.finder, 7);
                    assert!(f.check_started <= f.check_ended);
                    f.prime
                })
                .collect();
            let expected: Vec<u64> = (0..=200).filter(|&n| common::work::is_prime_sqrt(n)).collect();
            assert_eq!(got, expected);
            assert_eq!(stats.checked.load(Ordering::Relaxed), 201);
            assert_eq!(stats.primes.load(Ordering::Relaxed), expected.len() as u64);
            assert_eq!(stats.checking.peak(), 1);
            assert_eq!(stages.join_all(), (1, 0));
        }
    }

    #[test]
    fn the_whole_pipeline_delivers_n_primes_and_every_stage_exits() {
        for (finders, n) in [(1, 0), (1, 1), (3, 40), (4, 200)] {
            let mut stages = Stages::default();
            let stats = Arc::new(Stats::default());
            let mut rng = StdRng::seed_from_u64(1);
            let numbers = repeat_fn(move || rng.random_range(0..10_000u64), 0, &mut stages).expect("spawn");
            let streams: Vec<_> = (1..=finders)
                .map(|id| {
                    prime_finder(
                        id,
                        numbers.clone(),
                        Check::Sqrt,
                        Arc::clone(&stats),
                        0,
                        &mut stages,
                    )
                })
                .collect::<anyhow::Result<_>>()
                .expect("spawn");
            drop(numbers);
            let merged = fan_in(streams, 0, &mut stages).expect("spawn");
            let got: Vec<Found> = take(merged, n, 0, &mut stages).expect("spawn").iter().collect();
            assert_eq!(got.len() as u64, n);
            assert!(
                got.iter()
                    .all(|f| common::work::is_prime_sqrt(f.prime) && f.prime < 10_000)
            );
            assert!(got.iter().all(|f| (1..=finders).contains(&f.finder)));
            let started = stages.handles.len();
            assert_eq!(started, 2 * finders + 2);
            assert_eq!(stages.join_all(), (started, 0));
            assert!(stats.primes.load(Ordering::Relaxed) >= n);
            assert!(stats.checked.load(Ordering::Relaxed) >= stats.primes.load(Ordering::Relaxed));
            assert!(stats.checking.peak() <= finders);
        }
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let defaults = Defaults {
            jobs: 13,
            workers: 2,
            work_ms: 0,
        };
        common::cli::try_parse_args_from(
            &defaults,
            std::iter::once("prime-pipeline").chain(args.iter().copied()),
        )
    }

    #[test]
    fn arguments_and_their_aliases() {
        let cli = parse(&[]).expect("defaults parse");
        assert_eq!(
            (cli.take, cli.pool.jobs, cli.finders, cli.pool.workers),
            (None, 13, None, 2)
        );
        assert_eq!((cli.max, cli.check), (5_000_000, Check::Naive));
        let cli = parse(&["--take", "0", "--finders", "4", "--check", "sqrt", "--max", "3"]).expect("parse");
        assert_eq!(
            (cli.take, cli.finders, cli.check, cli.max),
            (Some(0), Some(4), Check::Sqrt, 3)
        );
        // --jobs and --workers still work (PoolArgs is shared by every example).
        let cli = parse(&["--jobs", "5", "--workers", "3"]).expect("parse");
        assert_eq!((cli.pool.jobs, cli.pool.workers), (5, 3));
        for bad in [
            &["--finders", "0"][..],
            &["--take", "-1"],
            &["--take", "x"],
            &["--max", "2"],
            &["--max", "-5"],
            &["--check", "fast"],
            &["--take", "3", "--jobs", "4"],
            &["--finders", "2", "--workers", "2"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
