//! # prime-pipeline — generator → fan-out → fan-in → take, with no leaked threads
//!
//! ## What it shows
//! Stages joined by channels: a generator of random numbers, `--finders` prime finders sharing its
//! channel (fan-out), one channel merging their primes (fan-in), then `take(n)`. Each stage is a
//! function that starts its thread(s) and returns the `Receiver` of its output, like a Go function
//! returning `<-chan T`. Nobody tells the stages to stop: when `take` returns it drops its
//! `Receiver`, the next `send` upstream fails, and that stage returns and drops its own, one stage
//! at a time; main joins every stage thread.
//!
//! ## What to watch for
//! - 13 random primes below 5,000,000, each with the finder that found it; the order changes from
//!   run to run even with the same `--seed`, as the finders finish in any order.
//! - The summary: stage threads started = joined (2 × finders + 2), 0 alive at exit. The price of
//!   stopping by dropping: a finder notices only at its next prime, so a few numbers are checked
//!   after `take` was satisfied.
//! - `--finders 1` against the default on a multi-core machine: checks per second grow with the
//!   finders; `--check sqrt` makes a check so cheap that the channels become the cost.
//! - Ctrl-C during `--take 100000` ends it within one check, with the primes so far (exit 130).
//!
//! ## Go original and what differs
//! 000's "Generator + Fan-out/Fan-in + Pipe-Line pattern" (`repeatFunc`, `primeFinder` ×
//! `runtime.NumCPU()`, `fanIn`, `take(13)` of `rand.Intn(5000000)`).
//! - Go's generator and finders block forever on sends nobody receives (leaked goroutines: see it
//!   with `--mistake leak-generator`); here each failed send ends its stage, every thread is joined.
//! - Go's `fanIn` needs a `WaitGroup` and one more goroutine to close the merged channel; here it
//!   closes by itself when the last forwarder drops its clone of the `Sender`.
//! - Go's `isPrime` calls 0 and 1 prime; here they are not. Channels are unbuffered in both
//!   (`bounded(0)`) unless `--buffer N`; here the generator's keeps 4 numbers per finder.
//!
//! ## How to run
//! ```sh
//! cargo run -p prime-pipeline
//! cargo run -p prime-pipeline -- --finders 1 --take 100
//! ```

mod args;
mod summary;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::watchdog::{Verdict, Watchdog};
use common::{Detail, InFlight, Job, Outcome, Reporter, Stop, Tally};
use crossbeam::channel::{self, Receiver};
use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::args::{Check, Cli, Mistake};

fn main() -> ExitCode {
    common::main(run)
}

/// How many numbers the generator's channel holds per finder (at least; `--buffer` if more).
const NUMBERS_IN_STOCK_PER_FINDER: usize = 4;

/// The collector of stage threads: every stage function hands its `JoinHandle`s here, so main can
/// join every one of them (Go's goroutines have no handle at all).
#[derive(Default)]
struct Stages {
    handles: Vec<JoinHandle<()>>,
}

impl Stages {
    fn spawn(&mut self, name: String, body: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(body)
            .with_context(|| format!("cannot start the {name} thread"))?;
        self.handles.push(handle);
        Ok(())
    }

    /// MISTAKE leak-generator: joins the stage threads that return, until `stop` is set (the
    /// watchdog fires when none has returned for a while); returns (joined, panicked, the names
    /// of the threads left running, which are never joined).
    fn join_until_stopped(self, stop: &Stop, waiting: &Mutex<Vec<String>>) -> (usize, usize, Vec<String>) {
        let (mut joined, mut panicked, mut left) = (0, 0, self.handles);
        while !left.is_empty() && !stop.is_set() {
            let (done, running): (Vec<_>, Vec<_>) = left.into_iter().partition(JoinHandle::is_finished);
            for handle in done {
                match handle.join() {
                    Ok(()) => joined += 1,
                    Err(_) => panicked += 1,
                }
            }
            left = running;
            *waiting.lock().unwrap_or_else(PoisonError::into_inner) = names(&left);
            thread::sleep(Duration::from_millis(5));
        }
        (joined, panicked, names(&left))
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

fn names(handles: &[JoinHandle<()>]) -> Vec<String> {
    handles
        .iter()
        .map(|h| h.thread().name().unwrap_or("unnamed").to_owned())
        .collect()
}

/// Counters shared by the finders.
#[derive(Debug, Default)]
pub struct Stats {
    /// Finders inside a prime check right now, and the most at once.
    pub checking: InFlight,
    pub checked: AtomicU64,
    pub primes: AtomicU64,
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

/// The finders' settings and shared counters.
#[derive(Clone)]
struct Finding {
    check: Check,
    stats: Arc<Stats>,
    stop: Stop,
}

/// One prime finder stage (Go's `primeFinder`): checks every number it receives and sends on the
/// primes. Several finders share one input `Receiver`: that is the fan-out.
fn prime_finder(
    id: usize,
    numbers: Receiver<u64>,
    finding: Finding,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<Found>> {
    let (tx, rx) = channel::bounded(capacity);
    let Finding { check, stats, stop } = finding;
    stages.spawn(format!("finder-{id}"), move || {
        for n in &numbers {
            if stop.is_set() {
                break; // Ctrl-C: no new check (the one that was running has finished)
            }
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
/// dropped receiver is what shuts the whole pipeline down, one stage at a time. Ctrl-C (`stop`)
/// makes it return early, with the same effect.
fn take<T: Send + 'static>(
    input: Receiver<T>,
    n: u64,
    stop: Stop,
    capacity: usize,
    stages: &mut Stages,
) -> anyhow::Result<Receiver<T>> {
    let (tx, rx) = channel::bounded(capacity);
    stages.spawn("take".into(), move || {
        for _ in 0..n {
            let item = crossbeam::select! {
                recv(input) -> item => item,
                recv(stop.channel()) -> _ => break,
            };
            let Ok(item) = item else { break };
            if stop.is_set() || tx.send(item).is_err() {
                break;
            }
        }
        drop(input); // what returning does anyway, written out: the upstream sends now fail
    })?;
    Ok(rx)
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&common::Defaults::default());
    let (n, finders, capacity) = (cli.take, cli.finders(), cli.buffer);
    let report = Reporter::new(&cli.output);
    let stats = Arc::new(Stats::default());
    let mut stages = Stages::default();

    // The pipeline built below, stage by stage:
    //
    //                       ┌─> prime_finder 1 ─┐
    // repeat_fn(random) ────┼─> prime_finder 2 ─┼─> fan_in ─> take(n) ─> main prints each prime
    //   (the generator)     └─> prime_finder F ─┘
    //
    // 1. The generator: random numbers below --max, reproducible from --seed. Its channel keeps
    //    a few numbers in stock per finder, even when the others are unbuffered: the generator is
    //    a thread, and once woken to make the next number it may wait for a core behind a busy
    //    finder; with nothing in stock, the other finder that wants a number then waits too, its
    //    core idle (Go's scheduler would run the generator's goroutine on that core at once).
    let mut rng = StdRng::seed_from_u64(cli.seed);
    let max = cli.max;
    let stock = capacity.max(NUMBERS_IN_STOCK_PER_FINDER * finders);
    let numbers = repeat_fn(move || rng.random_range(0..max), stock, &mut stages)?;

    // 2. Fan-out: every finder gets a clone of the one generator receiver.
    let finding = Finding {
        check: cli.check,
        stats: Arc::clone(&stats),
        stop: stop.clone(),
    };
    let mut found_streams = Vec::with_capacity(finders);
    for id in 1..=finders {
        let stream = prime_finder(id, numbers.clone(), finding.clone(), capacity, &mut stages)?;
        found_streams.push(stream);
    }
    // MISTAKE leak-generator: main keeps a receiver of the generator's and of every finder's
    // channel, so no stage ever sees that nobody wants its output (Go: nothing tells them to stop).
    let leak = cli.mistake == Some(Mistake::LeakGenerator);
    let kept_open = leak.then(|| (numbers.clone(), found_streams.clone()));
    // Main's own receiver must go too, or the generator would never see "no receivers left".
    drop(numbers);

    // 3. Fan-in, then 4. take(n).
    let merged = fan_in(found_streams, capacity, &mut stages)?;
    let taken = take(merged, n, stop.clone(), capacity, &mut stages)?;

    // The no-progress watchdog (armed only by --mistake or --watchdog-ms): progress is a number
    // checked or a stage thread joined.
    let waiting = Arc::new(Mutex::new(Vec::new()));
    let watchdog = {
        let (stats, waiting) = (Arc::clone(&stats), Arc::clone(&waiting));
        let joined = Arc::clone(&waiting);
        Watchdog::arm(
            cli.watchdog.limit(cli.mistake.is_some()),
            &stop,
            move || stats.checked.load(Ordering::Relaxed) + joined_count(&joined),
            move || stuck_stages(&waiting.lock().unwrap_or_else(PoisonError::into_inner)),
        )?
    };

    // Each delivered prime is a job (ids 1..=delivered, in delivery order). The loop ends when
    // `take` returns (n primes taken, or Ctrl-C) and its sender is dropped.
    let mut tally = Tally::new(0);
    for (found, id) in taken.iter().zip(1..) {
        report_prime(&report, id, &found);
        tally.submitted += 1; // a job exists once its prime is delivered
        tally.record(&Outcome::Ok(1));
    }
    let satisfied = report.elapsed();
    let checked_when_satisfied = stats.checked.load(Ordering::Relaxed);

    // Every stage thread is joined: this waits for the shutdown to travel up to the generator.
    let started = stages.handles.len();
    *waiting.lock().unwrap_or_else(PoisonError::into_inner) = names(&stages.handles);
    let (joined, panicked, leaked) = if leak {
        stages.join_until_stopped(&stop, &waiting)
    } else {
        let (joined, panicked) = stages.join_all();
        (joined, panicked, Vec::new())
    };
    let verdict = Verdict {
        mistake: cli.mistake.map(Mistake::name),
        no_progress: watchdog.finish(),
        broken_invariant: (!leaked.is_empty()).then(|| {
            format!(
                "I5 threads: {} stage thread(s) never returned after take: {}",
                leaked.len(),
                leaked.join(", ")
            )
        }),
        threads_leaked: leaked.len(),
    };

    let measured = summary::Measured {
        satisfied,
        checked_when_satisfied,
        wall: report.elapsed(),
        stage_threads_started: started,
        stage_threads_joined: joined,
    };
    let mut summary = summary::summary(&cli, tally, &stats, &measured);
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} stage thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    let summary = verdict.apply(summary);
    let _ = report.summary(&summary);
    // Never closed, as in Go: the leaked threads block on their sends until the process exits.
    std::mem::forget(kept_open);
    Ok(verdict.exit_code(&summary))
}

/// A progress count from the stage threads left to join: it grows as that list shrinks.
fn joined_count(waiting: &Mutex<Vec<String>>) -> u64 {
    let left = waiting.lock().unwrap_or_else(PoisonError::into_inner).len();
    u64::MAX / 2 - left as u64
}

/// The watchdog's line for a pipeline whose stages do not return.
fn stuck_stages(waiting: &[String]) -> String {
    if waiting.is_empty() {
        return "the stages check no numbers and deliver no prime".to_owned();
    }
    format!(
        "main waits to join {} stage thread(s) ({}) blocked on sends nobody receives — \
         was every stage told to stop when take returned (Go: a done channel)?",
        waiting.len(),
        waiting.join(", ")
    )
}

/// Prints a delivered prime: one line (`13 (finder 2)`), or with `--json` the job's `started` and
/// `finished` events, stamped with the times of the finder's check of that number.
///
/// The workspace's `--json` contract, mapped onto a pipeline: each delivered prime is a job, id
/// 1..=n in delivery order, `value` = the prime, `output` = 1 (prime), `worker` = the finder. The
/// check ran before the job id existed, so both events are printed when the prime arrives. A job
/// exists only once its prime is delivered, so `submitted` counts the primes delivered and
/// `not_started` is always 0; `peak_in_flight` counts finders checking at once (every check, prime
/// or not). The shared simulated-job flags (`--jobs`, `--work-ms`, ...) do not apply.
fn report_prime(report: &Reporter, id: u64, found: &Found) {
    let job = Job {
        id,
        value: found.prime,
    };
    if report.json() {
        // The check began earlier, on the finder thread: report it with its own start time.
        report.started_detail(&job, found.finder, || Detail::default().at(found.check_started));
        report.ended(&job, found.finder, &Outcome::Ok(1), || {
            Detail::default().at(found.check_ended)
        });
    } else {
        report.note(format!("{} (finder {})", found.prime, found.finder));
    }
}

#[cfg(test)]
mod tests;
