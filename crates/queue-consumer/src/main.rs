//! # queue-consumer — the worker pool past one machine, on Redis Streams
//!
//! Many processes, on many machines, share one queue: a Redis stream read through one consumer
//! group. Each process is the same pool as the other examples, with the broker at both ends:
//! 1. a fetcher thread reads `XREADGROUP GROUP g <consumer> COUNT k BLOCK ms` into a bounded
//!    crossbeam channel (backpressure: it holds at most one batch beyond the channel), and takes
//!    over entries left idle longer than `--claim-idle-ms` by a dead consumer (`XAUTOCLAIM`);
//! 2. `--workers` threads take entries from that channel and run the job (a panic is a failed
//!    job; the worker lives);
//! 3. an acker thread acknowledges finished entries in batches (`XACK` pipelined, one round trip
//!    per batch); a job that failed stays pending and is delivered again after
//!    `--claim-idle-ms`, until its `--max-deliveries`-th failure sends it, with its error, to the
//!    dead-letter stream `<stream>:dead` (and acknowledges it);
//! 4. main collects one result per delivery, and on Ctrl-C stops the fetcher, lets jobs in flight
//!    finish (cancelling them after `--grace-ms`), acknowledges what finished and leaves the rest
//!    pending for the other consumers (`not_started`), joins every thread, exit 130.
//!
//! What to observe:
//! - `cargo run -p queue-consumer` starts a private `redis-server` on a Unix socket (no
//!   `REDIS_URL` set), produces 1,000 messages and consumes them on 4 workers: every message
//!   acknowledged once, `pending_left` 0. Add `--poison 7` to watch message 7 fail, come back
//!   after `--claim-idle-ms`, and end in the dead-letter stream.
//! - Run `consume` in several terminals (or machines) against one `REDIS_URL`: each process has
//!   a unique consumer name (host, pid, random suffix) and the group spreads the entries. Kill one
//!   with `kill -9`: its pending entries are claimed by the others after `--claim-idle-ms`.
//! - Restart Redis mid-run: the `reconnect` lines, then the run goes on (the group is recreated
//!   if it is gone).
//!
//! Each delivery of an entry is a job: `job` numbers the deliveries this process took, `value` is
//! the producer's message number (the entry's `job` field), events add `entry_id`, `deliveries`
//! and `claimed`. Delivery is at-least-once: a job runs again after a crash or a failure.
//!
//! Go original: 001's "Queue Processing" use case (a fixed number of consumers on a message
//! queue), there only named. What differs: a real broker, a unique consumer name per process
//! (a fixed name reused by a restarted process hides the dead one's pending entries), crash
//! recovery by claiming, retries by redelivery with a dead-letter stream, acknowledgements after
//! the work (never before: that would be at-most-once), reconnects with backoff.
//!
//! Run with: cargo run -p queue-consumer

mod broker;
mod embedded;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use common::cli::{parse_count, parse_millis, parse_workers};
use common::event::{DeadLetter, Event};
use common::{Detail, InFlight, Outcome, OutputArgs, Reporter, Stop, Summary, Tally};
use crossbeam::channel::{self, Receiver, Sender};

use broker::{Ack, Broker, Names};
use stats::{Job, QueueStats, run_job};

/// XREADGROUP's BLOCK: how long the fetcher waits for new entries before checking the rest.
const BLOCK_MS: u64 = 100;

#[derive(Parser, Debug)]
#[command(about = "Consumers sharing a Redis Streams consumer group: fetcher, workers, acker.")]
struct Cli {
    /// `produce` (XADD --messages), `consume` (the pool), or both in one process (default).
    #[arg(value_enum, default_value_t = Mode::Both)]
    mode: Mode,
    /// The Redis server (default: $REDIS_URL, else a private redis-server on a Unix socket).
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// Messages to produce (ids 1..=N).
    #[arg(long, default_value = "1000", allow_negative_numbers = true, value_parser = parse_count)]
    messages: u64,
    /// Worker threads in this process.
    #[arg(long, default_value = "4", allow_negative_numbers = true, value_parser = parse_workers)]
    workers: usize,
    /// Entries per XREADGROUP (COUNT), 1..=10000.
    #[arg(long, default_value = "64", allow_negative_numbers = true, value_parser = parse_batch)]
    count: usize,
    /// Entries per XACK round trip, 1..=10000 (1 = one XACK per message).
    #[arg(long, default_value = "256", allow_negative_numbers = true, value_parser = parse_batch)]
    ack_batch: usize,
    /// Simulated work per job in ms (0 = a trivial job).
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true, value_parser = parse_millis)]
    work_ms: u64,
    /// Claim entries pending longer than this on any consumer (a dead one, or a failed job).
    #[arg(long, value_name = "MS", default_value = "5000", allow_negative_numbers = true, value_parser = parse_millis)]
    claim_idle_ms: u64,
    /// After this many failed deliveries an entry goes to the dead-letter stream.
    #[arg(long, default_value = "3", allow_negative_numbers = true, value_parser = parse_workers)]
    max_deliveries: usize,
    /// After Ctrl-C, how long jobs in flight may run before they are cancelled.
    #[arg(long, value_name = "MS", default_value = "1000", allow_negative_numbers = true, value_parser = parse_millis)]
    grace_ms: u64,
    /// Produce message N as a job that always fails (repeatable).
    #[arg(long, value_name = "N", value_parser = parse_count)]
    poison: Vec<u64>,
    /// Produce message N as a job that always panics (repeatable).
    #[arg(long = "panic", value_name = "N", value_parser = parse_count)]
    panics: Vec<u64>,
    /// The stream (dead letters go to `<stream>:dead`).
    #[arg(long, default_value = "jobs")]
    stream: String,
    /// The consumer group.
    #[arg(long, default_value = "workers")]
    group: String,
    /// `consume`: keep waiting for new entries until Ctrl-C (default: stop once the group has
    /// nothing new and nothing pending).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Produce,
    Consume,
    Both,
}

fn parse_batch(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number from 1 to 10000")),
    }
}

fn main() -> ExitCode {
    common::main(run)
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?;
    let cli: Cli = common::parse_args(&common::Defaults {
        jobs: 0,
        workers: 4,
        work_ms: 0,
    });
    // A poison message's panic is caught and reported as a failed job: keep the default hook's
    // backtrace off stderr for it (any other panic still prints).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !common::panic_message(info.payload()).contains("always panics") {
            default_hook(info);
        }
    }));
    let reporter = Arc::new(Reporter::new(&cli.output));
    let url_env = cli.redis_url.clone().or_else(|| std::env::var("REDIS_URL").ok());
    let embedded = match url_env {
        Some(_) => None,
        None => Some(embedded::EmbeddedRedis::start()?),
    };
    let url = url_env.unwrap_or_else(|| embedded.as_ref().map(|e| e.url()).unwrap_or_default());
    let names = Arc::new(Names {
        dead: format!("{}:dead", cli.stream),
        stream: cli.stream.clone(),
        group: cli.group.clone(),
    });
    let read_timeout = Duration::from_millis(BLOCK_MS) + broker::CONNECT_TIMEOUT;
    let mut main_broker = Broker::connect(&url, names, Arc::clone(&reporter), stop.clone(), read_timeout)?;
    let mut queue = QueueStats {
        consumer: broker::consumer_name(),
        ..QueueStats::default()
    };
    if cli.mode != Mode::Consume {
        let marks = |n: u64| {
            (cli.poison.contains(&n).then_some("fail")).or(cli.panics.contains(&n).then_some("panic"))
        };
        if !stop.is_set() {
            main_broker.produce(1, cli.messages, &marks)?;
            queue.produced = cli.messages;
        }
        reporter.note(format!(
            "Produced {} messages on stream '{}'",
            queue.produced, cli.stream
        ));
    }
    if cli.mode == Mode::Produce {
        let summary = Summary::new(
            "queue-consumer",
            Tally::new(0),
            cli.workers,
            0,
            reporter.elapsed(),
        );
        return Ok(reporter.summary(&queue.add_to(summary, reporter.elapsed())));
    }

    // The pool. `abort` cancels jobs in flight once the grace after a Ctrl-C is over.
    let began = Instant::now();
    let abort = Stop::new();
    let gauge = InFlight::new();
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(cli.count);
    let (results_tx, results_rx) = channel::unbounded::<Outcome>();
    let (acks_tx, acks_rx) = channel::unbounded::<Ack>();
    let mut fetch_broker = main_broker.another(read_timeout)?;
    let mut ack_broker = main_broker.another(read_timeout)?;
    let mut tally = Tally::new(0);
    let (fetched, acked) = std::thread::scope(|s| {
        let fetcher = {
            let (stop, reporter, acks_tx, results_tx, queue) =
                (&stop, &reporter, acks_tx.clone(), results_tx.clone(), &queue);
            let cli = &cli;
            s.spawn(move || {
                fetch(
                    &mut fetch_broker,
                    &queue.consumer,
                    cli,
                    stop,
                    reporter,
                    jobs_tx,
                    &results_tx,
                    &acks_tx,
                )
            })
        };
        for worker in 1..=cli.workers {
            let (jobs_rx, results_tx, acks_tx) = (jobs_rx.clone(), results_tx.clone(), acks_tx.clone());
            let (stop, abort, gauge, reporter, cli) = (&stop, &abort, &gauge, &reporter, &cli);
            s.spawn(move || {
                for job in jobs_rx {
                    let d = &job.delivery;
                    let detail = || {
                        Detail::default()
                            .field("entry_id", d.entry_id.clone())
                            .field("deliveries", d.deliveries)
                            .field("claimed", d.claimed)
                    };
                    if stop.is_set() {
                        // Handed back untouched: it stays pending for another consumer.
                        reporter.not_started_detail(&job, detail);
                        let _ = results_tx.send(Outcome::NotStarted);
                        continue;
                    }
                    let in_flight = gauge.enter();
                    reporter.started_detail(&job, worker, Instant::now(), detail);
                    let outcome = std::panic::catch_unwind(|| run_job(&job, cli.work_ms, abort))
                        .unwrap_or_else(|panic| Outcome::Failed(common::panic_message(&*panic)));
                    reporter.ended(&job, worker, &outcome, Instant::now(), detail);
                    drop(in_flight);
                    let ack = |dead| Ack {
                        entry_id: d.entry_id.clone(),
                        message: d.message,
                        deliveries: d.deliveries,
                        dead,
                    };
                    match &outcome {
                        Outcome::Ok(_) => drop(acks_tx.send(ack(None))),
                        Outcome::Failed(reason) if d.deliveries >= cli.max_deliveries as u64 => {
                            drop(acks_tx.send(ack(Some(reason.clone()))))
                        }
                        // Not acknowledged: delivered again after --claim-idle-ms.
                        _ => {}
                    }
                    let _ = results_tx.send(outcome);
                }
            });
        }
        drop((jobs_rx, acks_tx, results_tx));
        let acker = {
            let (reporter, batch) = (&reporter, cli.ack_batch);
            s.spawn(move || acker(&mut ack_broker, acks_rx, batch, reporter))
        };
        // Main: one result per delivery until the fetcher and every worker are gone; on Ctrl-C,
        // jobs in flight get --grace-ms, then `abort` cancels them.
        let mut grace_over = channel::never();
        let mut stop_seen = stop.channel().clone();
        loop {
            crossbeam::select! {
                recv(results_rx) -> outcome => match outcome {
                    Ok(outcome) => { tally.submitted += 1; tally.record(&outcome) }
                    Err(_) => break,
                },
                recv(stop_seen) -> _ => {
                    stop_seen = channel::never();
                    grace_over = channel::after(Duration::from_millis(cli.grace_ms));
                }
                recv(grace_over) -> _ => abort.set(),
            }
        }
        let fetched = fetcher
            .join()
            .unwrap_or_else(|p| Err(anyhow::anyhow!(common::panic_message(&*p))));
        let acked = acker
            .join()
            .unwrap_or_else(|p| Err(anyhow::anyhow!(common::panic_message(&*p))));
        (fetched, acked)
    });
    let fetched = fetched?;
    let acked = acked?;
    (queue.claimed, queue.acked, queue.dead_lettered) =
        (fetched.claimed, acked.0, acked.1 + fetched.dead_on_claim);
    queue.pending_left = main_broker.pending_count().ok();
    drop(main_broker);
    drop(embedded); // stops the private server, if this run started one
    let wall = began.elapsed();
    let mut summary = Summary::new("queue-consumer", tally, cli.workers, gauge.peak(), wall)
        .with_interrupted(common::signal::interrupted());
    if cli.work_ms > 0 && tally.ran() > 0 {
        let rounds = u32::try_from(tally.ran().div_ceil(cli.workers as u64)).unwrap_or(u32::MAX);
        summary = summary.with_ideal(Duration::from_millis(cli.work_ms) * rounds);
    }
    Ok(reporter.summary(&queue.add_to(summary, wall)))
}

/// What the fetcher counted: entries taken over from idle consumers, and those of them that had
/// been delivered too often and went straight to the dead-letter stream.
struct Fetched {
    claimed: u64,
    dead_on_claim: u64,
}

/// The fetcher: claims idle entries, reads new ones, and feeds the jobs channel until Ctrl-C or,
/// without `--follow`, until the group has nothing new and nothing pending. Dropping `jobs` (on
/// return) is `close(jobs)`.
#[allow(clippy::too_many_arguments)]
fn fetch(
    broker: &mut Broker,
    consumer: &str,
    cli: &Cli,
    stop: &Stop,
    reporter: &Reporter,
    jobs: Sender<Job>,
    results: &Sender<Outcome>,
    acks: &Sender<Ack>,
) -> anyhow::Result<Fetched> {
    let mut seq = 0;
    let mut fetched = Fetched {
        claimed: 0,
        dead_on_claim: 0,
    };
    let claim_every = Duration::from_millis((cli.claim_idle_ms / 2).max(BLOCK_MS));
    let mut last_claim: Option<Instant> = None;
    while !stop.is_set() {
        let mut batch = Vec::new();
        if last_claim.is_none_or(|t| t.elapsed() >= claim_every) {
            last_claim = Some(Instant::now());
            batch = broker.claim_idle(consumer, cli.claim_idle_ms, cli.count)?;
            if !batch.is_empty() {
                fetched.claimed += batch.len() as u64;
                let ids: Vec<String> = batch.iter().map(|d| d.entry_id.clone()).collect();
                reporter.event(
                    || format!("Claimed {} idle entries: {}", ids.len(), ids.join(" ")),
                    |t_ms| {
                        Event::Claimed(common::event::Claimed {
                            entries: ids.len() as u64,
                            entry_ids: ids.clone(),
                            t_ms,
                        })
                    },
                );
            }
            // Delivered too often without an acknowledgement (its consumers kept dying): dead letter.
            let (dead, live): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .partition(|d| d.deliveries > cli.max_deliveries as u64);
            for d in dead {
                fetched.dead_on_claim += 1;
                let reason = format!(
                    "delivered {} times, never acknowledged (its consumers died)",
                    d.deliveries
                );
                let _ = acks.send(Ack {
                    entry_id: d.entry_id,
                    message: d.message,
                    deliveries: d.deliveries,
                    dead: Some(reason),
                });
            }
            batch = live;
        }
        if batch.is_empty() {
            batch = broker.read_new(consumer, cli.count, BLOCK_MS)?;
        }
        if batch.is_empty() {
            if !cli.follow && broker.pending_count()? == 0 {
                break; // nothing new, nothing pending anywhere in the group: the queue is drained
            }
            continue;
        }
        for delivery in batch {
            seq += 1;
            let job = Job { seq, delivery };
            crossbeam::select! {
                send(jobs, job) -> sent => { let _ = sent; }
                recv(stop.channel()) -> _ => {
                    // Fetched but never handed to a worker: left pending, reported not_started.
                    reporter.not_started_detail(&job, Detail::default);
                    let _ = results.send(Outcome::NotStarted);
                }
            }
        }
    }
    Ok(fetched)
}

/// The acker: acknowledges finished entries in batches of up to `batch` (one pipelined round trip
/// each), writing dead letters in the same transaction. Returns (acknowledged, dead-lettered): an entry another consumer already acknowledged
/// (a duplicate delivery) is not counted twice.
fn acker(
    broker: &mut Broker,
    acks: Receiver<Ack>,
    batch: usize,
    reporter: &Reporter,
) -> anyhow::Result<(u64, u64)> {
    let (mut acked, mut dead) = (0, 0);
    while let Ok(first) = acks.recv() {
        let mut pending = vec![first];
        pending.extend(acks.try_iter().take(batch - 1));
        acked += broker.ack(&pending)?;
        for a in pending.into_iter().filter(|a| a.dead.is_some()) {
            dead += 1;
            let reason = a.dead.unwrap_or_default();
            reporter.event(
                || {
                    format!(
                        "Dead letter: message {} ({}) after {} deliveries: {reason}",
                        a.message, a.entry_id, a.deliveries
                    )
                },
                |t_ms| {
                    Event::DeadLetter(DeadLetter {
                        job: a.message,
                        entry_id: a.entry_id.clone(),
                        deliveries: a.deliveries,
                        reason: reason.clone(),
                        t_ms,
                    })
                },
            );
        }
    }
    Ok((acked, dead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_ack_batch_refuse_zero_and_huge() {
        assert_eq!(parse_batch("64"), Ok(64));
        assert!(parse_batch("0").is_err());
        assert!(parse_batch("10001").is_err());
        assert!(parse_batch("-1").is_err());
    }

    #[test]
    fn consumer_names_are_unique_per_process_start() {
        let (a, b) = (broker::consumer_name(), broker::consumer_name());
        assert_ne!(a, b);
        assert!(a.contains(&std::process::id().to_string()));
    }
}
