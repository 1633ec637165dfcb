//! # queue-consumer — the worker pool past one machine, on Redis Streams
//!
//! ## What it shows
//! Many processes, on many machines, share one queue: a Redis stream read through one consumer
//! group. Each process is the usual pool with the broker at both ends: a fetcher thread reads
//! entries (`XREADGROUP`) into a bounded channel (backpressure), `--workers` threads run the jobs,
//! and an acker thread acknowledges finished entries in batches (`XACK`, one round trip each).
//! Entries a dead consumer left idle are taken over (`XAUTOCLAIM`): delivery is at-least-once.
//!
//! ## What to watch for
//! - The default run starts a private `redis-server` on a Unix socket (unless `REDIS_URL` is set;
//!   it dies with the example, even on `kill -9`), produces 1,000 messages and consumes them on 4
//!   workers: every message acknowledged once, `pending_left` 0.
//! - `--poison 7`: message 7 fails, comes back after `--claim-idle-ms`, and after
//!   `--max-deliveries` ends in the dead-letter stream `<stream>:dead`.
//! - `consume` in several terminals against one `REDIS_URL`: the group spreads the entries; kill
//!   one with `kill -9` and the others claim its pending entries. Restart Redis mid-run: the
//!   `reconnect` lines, then the run goes on.
//! - Ctrl-C: the jobs in flight finish (cancelled after `--grace-ms`), what finished is
//!   acknowledged, the rest stays pending for the other consumers (`not_started`), exit 130.
//!
//! ## Go original and what differs
//! No original ports it: 001 only names "Queue Processing" (a fixed number of consumers on a
//! message queue), the Go idiom of N goroutines ranging over a broker client's deliveries. Here: a
//! real broker, a unique consumer name per process (a fixed name reused after a restart hides the
//! dead one's pending entries), crash recovery by claiming, retries by redelivery with a dead-letter
//! stream, acknowledgements after the work (never before: that would be at-most-once), reconnects.
//!
//! ## How to run
//! ```sh
//! cargo run -p queue-consumer
//! cargo run -p queue-consumer -- --poison 7
//! REDIS_URL=redis://127.0.0.1/ cargo run -p queue-consumer -- consume
//! ```

mod broker;
mod cli;
mod embedded;
mod held;
mod job;
mod producer;
mod report;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::{InFlight, Outcome, Reporter, Stop, Tally};
use crossbeam::channel::{self, Receiver, Sender};

use broker::{Ack, Broker};
use cli::{Cli, Mode};
use held::Held;
use job::{Job, run_job};
use stats::{Acked, Fetched, QueueStats};

/// XREADGROUP's BLOCK: how long the fetcher waits for new entries before checking the rest.
const BLOCK_MS: u64 = 100;

fn main() -> ExitCode {
    common::main(run)
}

/// What every thread of the pool shares. `stop` (Ctrl-C, or a command Redis refused for good):
/// fetch nothing more, start nothing new; `abort` (set once the grace after it is over): cancel
/// the jobs in flight.
#[derive(Clone, Copy)]
struct Pool<'a> {
    cli: &'a Cli,
    consumer: &'a str,
    stop: &'a Stop,
    abort: &'a Stop,
    reporter: &'a Reporter,
    gauge: &'a InFlight,
    /// The entries fetched and not yet done with, kept fresh so that no one claims them.
    held: &'a Held,
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?;
    let cli = cli::parse();
    job::quiet_poison_panics();
    let reporter = Arc::new(Reporter::new(&cli.output));
    // $REDIS_URL, or a private redis-server that dies with this process (`embedded`).
    let (url, embedded) = embedded::server_url(cli.redis_url.clone())?;
    let read_timeout = Duration::from_millis(BLOCK_MS) + broker::CONNECT_TIMEOUT;
    let (names, give_up) = (cli.names(), stop.clone());
    let mut queue = QueueStats::new(broker::consumer_name());
    // Reach Redis (a connection per thread) and produce. A Ctrl-C meanwhile takes no delivery:
    // the summary has no jobs, exit 130; any other failure here is an error (exit 2).
    let setup = || -> anyhow::Result<_> {
        let mut main = Broker::connect(&url, names, Arc::clone(&reporter), give_up, read_timeout)?;
        let produced = match cli.mode {
            Mode::Consume => 0,
            _ => producer::produce(&mut main, &cli, &stop, &reporter)?,
        };
        let pool_brokers = match cli.mode {
            Mode::Produce => None, // no pool: no connections for its fetcher and acker
            _ => Some((main.another(read_timeout)?, main.another(read_timeout)?)),
        };
        Ok((main, pool_brokers, produced))
    };
    let (mut main_broker, pool_brokers) = match setup() {
        Ok((main, pool_brokers, produced)) => {
            queue.produced = produced;
            (main, pool_brokers)
        }
        Err(e) if stop.is_set() => {
            reporter.note(format!(
                "Ctrl-C before the pool started: {}",
                common::error_chain(&e)
            ));
            let summary = queue.pool_summary(&cli, Tally::new(0), 0, reporter.elapsed());
            return Ok(reporter.summary(&summary));
        }
        Err(e) => return Err(e),
    };
    let Some((mut fetch_broker, mut ack_broker)) = pool_brokers else {
        return Ok(reporter.summary(&queue.producer_summary(&cli, reporter.elapsed())));
    };

    // The pool: fetcher → jobs (bounded) → workers → acks → acker; results → main. (The run's one
    // clock is the reporter's, from the start: `began` only times the consuming, for the rate.)
    let began = Instant::now();
    let (abort, gauge, held) = (Stop::new(), InFlight::new(), Held::default());
    let pool = Pool {
        cli: &cli,
        consumer: &queue.consumer,
        stop: &stop,
        abort: &abort,
        reporter: &reporter,
        gauge: &gauge,
        held: &held,
    };
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(cli.count);
    let (results_tx, results_rx) = channel::unbounded::<Outcome>();
    let (acks_tx, acks_rx) = channel::unbounded::<Ack>();
    let (mut tally, mut fetched, mut acked) = (Tally::new(0), Fetched::default(), Acked::default());
    let (fetch_failed, ack_failed) = std::thread::scope(|s| -> anyhow::Result<_> {
        // The fetcher starts last: if the OS refuses a thread, nothing has been read yet, and
        // returning here drops `jobs_tx`, which ends the threads already started.
        let thread = |name: String| std::thread::Builder::new().name(name);
        for worker in 1..=cli.workers {
            let (jobs, results, acks) = (jobs_rx.clone(), results_tx.clone(), acks_tx.clone());
            thread(format!("worker-{worker}"))
                .spawn_scoped(s, move || work(worker, pool, jobs, results, acks))
                .context("cannot start a worker thread")?;
        }
        let acked = &mut acked;
        let acker = thread("acker".into())
            .spawn_scoped(s, move || {
                acker(&mut ack_broker, pool, acks_rx, acked).map_err(|e| refused(pool, e))
            })
            .context("cannot start the acker thread")?;
        let (results, acks, fetched) = (results_tx.clone(), acks_tx.clone(), &mut fetched);
        let fetcher = thread("fetcher".into())
            .spawn_scoped(s, move || {
                fetch(&mut fetch_broker, pool, jobs_tx, results, acks, fetched)
                    .context("fetching entries")
                    .map_err(|e| refused(pool, e))
            })
            .context("cannot start the fetcher thread")?;
        // Main keeps no sender: the channels close when their last thread returns.
        drop((jobs_rx, acks_tx, results_tx));
        // Main: one result per delivery until the fetcher and every worker are gone; on the stop
        // (Ctrl-C, or a refusal), jobs in flight get --grace-ms, then `abort` cancels them.
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
        let panicked = |p: Box<dyn std::any::Any + Send>| anyhow::anyhow!(common::panic_message(&*p));
        Ok((
            fetcher.join().map_err(panicked).and_then(|r| r),
            acker.join().map_err(panicked).and_then(|r| r),
        ))
    })?;
    queue.count(&fetched, &acked, began.elapsed());
    queue.pending_left = main_broker.pending_count().ok();
    // Nothing pending on this consumer: it leaves the group (best effort: a server that refuses
    // it has already ended the run with an error).
    let _ = main_broker.leave(&queue.consumer);
    drop(main_broker);
    drop(embedded); // stops the private server, if this run started one, and waits for it
    let mut summary = queue.pool_summary(&cli, tally, gauge.peak(), reporter.elapsed());
    // Redis refused a command for good (not a lost connection: that is retried): the pool stopped
    // as at Ctrl-C, the summary still counts every delivery this process took, and carries the
    // error (exit 2).
    if let Some(e) = fetch_failed.err().or(ack_failed.err()) {
        summary = summary.with_error(common::error_chain(&e));
    }
    Ok(reporter.summary(&summary))
}

/// A command Redis refused for good (the fetcher's or the acker's) stops the pool as Ctrl-C does:
/// nothing more is fetched or started (what waits in the channel is `not_started`, left pending),
/// and the jobs in flight get --grace-ms. The run then ends with the error.
fn refused(p: Pool<'_>, e: anyhow::Error) -> anyhow::Error {
    p.stop.set();
    e
}

/// The fetcher: claims idle entries, reads new ones, and feeds the jobs channel until Ctrl-C or,
/// without `--follow`, until the group has nothing new and nothing pending. Dropping `jobs` (on
/// return) is `close(jobs)`.
fn fetch(
    broker: &mut Broker,
    p: Pool<'_>,
    jobs: Sender<Job>,
    results: Sender<Outcome>,
    acks: Sender<Ack>,
    fetched: &mut Fetched,
) -> anyhow::Result<()> {
    let mut seq = 0;
    let claim_every = Duration::from_millis((p.cli.claim_idle_ms / 2).max(BLOCK_MS));
    let mut last_claim: Option<Instant> = None;
    while !p.stop.is_set() {
        let mut batch = Vec::new();
        // Crash recovery: take over entries idle too long on any consumer (a dead one's, or a
        // failed job's, which is how a failure is retried). What this process holds is first
        // made fresh: it is not idle, however long it waited in the channel.
        if last_claim.is_none_or(|t| t.elapsed() >= claim_every) {
            last_claim = Some(Instant::now());
            broker.keep_alive(p.consumer, &p.held.ids())?;
            let mut claimed = broker.claim_idle(p.consumer, p.cli.claim_idle_ms, p.cli.count)?;
            claimed.retain(|d| !p.held.contains(&d.entry_id)); // --claim-idle-ms 0: all is idle
            fetched.claimed += claimed.len() as u64;
            report::claimed(p.reporter, &claimed);
            // Delivered too often without ever ending (its consumers kept dying): dead letter.
            let (dead, live) = job::split_dead(claimed, p.cli.max_deliveries());
            dead.into_iter().for_each(|a| drop(acks.send(a)));
            batch = live;
        }
        if batch.is_empty() {
            batch = broker.read_new(p.consumer, p.cli.count, BLOCK_MS)?;
        }
        if batch.is_empty() {
            if !p.cli.follow && broker.pending_count()? == 0 {
                break; // nothing new, nothing pending anywhere in the group: the queue is drained
            }
            continue;
        }
        // Backpressure: blocks while the channel is full (at most one batch beyond it is held),
        // keeping what this process holds fresh meanwhile.
        for delivery in batch {
            seq += 1;
            p.held.take(&delivery.entry_id);
            let job = Job { seq, delivery };
            loop {
                crossbeam::select! {
                    send(jobs, job) -> sent => { let _ = sent; break }
                    recv(p.stop.channel()) -> _ => {
                        // Fetched but never handed to a worker: left pending, reported not_started.
                        p.reporter.not_started_detail(&job, || job.detail());
                        let _ = results.send(Outcome::NotStarted);
                        break;
                    }
                    default(claim_every) => broker.keep_alive(p.consumer, &p.held.ids())?,
                }
            }
        }
    }
    Ok(())
}

/// A worker: runs jobs until the jobs channel is closed and empty. After Ctrl-C it runs nothing
/// new: what it still takes is left pending for another consumer (`not_started`).
fn work(worker: usize, p: Pool<'_>, jobs: Receiver<Job>, results: Sender<Outcome>, acks: Sender<Ack>) {
    for job in jobs {
        let detail = || job.detail();
        if p.stop.is_set() {
            p.reporter.not_started_detail(&job, detail);
            let _ = results.send(Outcome::NotStarted);
            continue;
        }
        let in_flight = p.gauge.enter();
        p.reporter.started_detail(&job, worker, detail);
        let outcome = std::panic::catch_unwind(|| run_job(&job, p.cli.work_ms, p.abort))
            .unwrap_or_else(|panic| Outcome::Failed(common::panic_message(&*panic)));
        p.reporter.ended(&job, worker, &outcome, detail);
        drop(in_flight);
        // Acknowledged after the work, never before. A failure stays pending (claimed again
        // after --claim-idle-ms) until its --max-deliveries-th, which goes to the dead letters.
        match &outcome {
            Outcome::Ok(_) => drop(acks.send(job.ack(None))),
            Outcome::Failed(why) if job.delivery.deliveries >= p.cli.max_deliveries() => {
                drop(acks.send(job.ack(Some(why.clone()))));
            }
            _ => p.held.release(&job.delivery.entry_id), // pending, and claimable once idle
        }
        let _ = results.send(outcome);
    }
}

/// The acker: acknowledges finished entries in batches of up to `--ack-batch`, one round trip
/// each (dead letters are written in the same step), until every sender is gone. It counts what
/// the group really removed: an entry another consumer acknowledged first counts there. If
/// Redis refuses an acknowledgement, the run stops (the entries stay pending) and ends with that
/// error, rather than working on with nothing acknowledged.
fn acker(broker: &mut Broker, p: Pool<'_>, acks: Receiver<Ack>, acked: &mut Acked) -> anyhow::Result<()> {
    while let Ok(first) = acks.recv() {
        let mut batch = vec![first];
        batch.extend(acks.try_iter().take(p.cli.ack_batch - 1));
        let done = broker
            .ack(p.consumer, &batch)
            .with_context(|| format!("acknowledging {} finished entries", batch.len()))?;
        batch.iter().for_each(|a| p.held.release(&a.entry_id));
        acked.acked += done.removed;
        let dead = batch.iter().filter(|a| a.dead.is_some());
        for (a, _) in dead.zip(done.dead_lettered).filter(|(_, copied)| *copied) {
            acked.dead += 1;
            report::dead_letter(p.reporter, a);
        }
    }
    Ok(())
}
