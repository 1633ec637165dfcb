//! # pg-queue — the worker pool past one machine, on a PostgreSQL table
//!
//! ## What it shows
//! A job queue in a table: many processes, on many machines, share one `DATABASE_URL`. Each
//! process is the usual pool with the database at both ends: a claimer thread takes a batch of
//! due jobs in one statement (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT k)
//! RETURNING …`, a lease on each) into a bounded channel, `--workers` threads run them, and a
//! completer thread ends finished claims in batches (one `UPDATE … FROM unnest(…)` each). A
//! keeper thread extends the leases this process holds and gives back jobs whose lease expired
//! elsewhere: delivery is at-least-once. An idle claimer sleeps in `LISTEN` until an INSERT wakes it.
//!
//! ## What to watch for
//! - The default run starts a private PostgreSQL cluster (unless `DATABASE_URL` is set), inserts
//!   1,000 jobs and runs them on 4 workers: every job `completed` once, none left `running`.
//! - `--poison 7`: job 7 fails, comes back after an exponential backoff with jitter (`run_at`),
//!   and after `--max-attempts` stays in the table as `discarded` with its last error.
//! - `--transactional --rollback-every 10`: each job commits with its order row, or neither does.
//! - `consume --follow` in several terminals, `produce` in another: SKIP LOCKED spreads the jobs
//!   with no double claim; `kill -9` one and, after `--lease-ms`, a rescuer returns its jobs.
//! - Ctrl-C: no new claim, the jobs in flight finish (cancelled after `--grace-ms`), and the
//!   leases of jobs claimed but not started are released at once for other consumers; exit 130.
//!
//! ## Go original and what differs
//! No original ports it: 001 names "Queue Processing" (consumers on a message queue). Go teams
//! use river on this table design; this follows its claim query and rescuer. Every claim is
//! named by `(id, attempts)`, so a consumer whose job was rescued cannot complete the new claim;
//! completions are batched; a lost connection is made again and the statement sent again.
//!
//! ## How to run
//! ```sh
//! cargo run -p pg-queue
//! cargo run -p pg-queue -- --poison 7 --backoff-ms 20
//! cargo run -p pg-queue -- --transactional --rollback-every 10 --jobs 100
//! DATABASE_URL=postgres://postgres@localhost/postgres cargo run -p pg-queue -- consume --follow
//! ```

mod cli;
mod db;
mod embedded;
mod job;
mod stats;

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::{InFlight, Outcome, Reporter, Stop, Tally};
use crossbeam::channel::{self, Receiver, Sender};
use pg_queue::{Discarded, Rescued};

use cli::{Cli, Mode, Wake};
use db::{Db, Ended, Failure, Queue};
use job::{Job, run_job};
use stats::{Completed, Produced, QueueStats, Rescues};

/// Jobs per INSERT of the producer (each statement is all or nothing).
const PRODUCE_CHUNK: u64 = 5_000;

/// Without `--follow`, how often an idle consumer looks whether the last jobs running elsewhere
/// are done (the end of the run), and how often a wait looks at Ctrl-C.
const CHECK_EVERY: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    common::main(run)
}

/// What every thread of the pool shares. `stop` (Ctrl-C): claim nothing more, start nothing new;
/// `abort` (the grace after Ctrl-C is over, or the database refused a statement): cancel the jobs
/// in flight.
#[derive(Clone, Copy)]
struct Pool<'a> {
    cli: &'a Cli,
    consumer: &'a str,
    stop: &'a Stop,
    abort: &'a Stop,
    reporter: &'a Reporter,
    gauge: &'a InFlight,
    /// Set once this process has produced all it will (the claimer may end only then).
    produced: &'a Stop,
    /// The claims this process holds, `id → attempt`: claimed and not yet ended in the table.
    held: &'a Mutex<HashMap<i64, i32>>,
    /// For each job started: ms from when it was due (inserted) to its start.
    waits: &'a Mutex<Vec<f64>>,
    /// A token from the completer each time `held` became empty.
    settled: &'a Receiver<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner) // the data stays valid: plain inserts
}

/// How a claim ended, for the completer.
enum Done {
    Ok(i64, i32),
    Failed(Failure),
    /// Give the claim back: `true` if the job had started (cancelled), `false` if not.
    Release(i64, i32, bool),
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?;
    let cli = cli::parse()?;
    job::quiet_poison_panics();
    let reporter = Reporter::new(&cli.output);
    if let Some(url) = &cli.database_url {
        Db::new(url)?; // a malformed URL is refused before anything starts
    }
    // $DATABASE_URL, or a private cluster stopped when `embedded` is dropped.
    let (url, embedded) = embedded::database_url(cli.database_url.clone())?;
    let db = Db::new(&url)?;
    let notice = |text: String| reporter.note(text);
    let mut queue = QueueStats::new(consumer_name());
    // With both modes and --every-ms, the producer runs beside the pool; otherwise first.
    let beside = cli.mode == Mode::Both && cli.every_ms > 0;
    // A connection per thread; the table is created if missing; then produce.
    let setup = || -> anyhow::Result<_> {
        let mut main = db.connect(&notice)?;
        reporter.note(format!("Jobs table pg_queue_jobs in {}", db.name()));
        let produced = match cli.mode {
            Mode::Consume => Produced::default(),
            _ if beside => Produced::default(),
            _ => produce(&mut main, &cli, &stop, &reporter)?,
        };
        let pool = match cli.mode {
            Mode::Produce => None,
            _ => Some((db.connect(&notice)?, db.connect(&notice)?, db.connect(&notice)?)),
        };
        Ok((main, pool, produced))
    };
    let (mut main_queue, pool_queues) = match setup() {
        Ok((main, pool, produced)) => {
            queue.produced = produced;
            (main, pool)
        }
        Err(e) if stop.is_set() => {
            reporter.note(format!(
                "Ctrl-C before the pool started: {}",
                common::error_chain(&e)
            ));
            let summary = queue.summary(&cli, Tally::new(0), 0, reporter.elapsed(), Duration::ZERO);
            return Ok(reporter.summary(&summary));
        }
        Err(e) => return Err(e),
    };
    let Some((mut claim_q, mut complete_q, mut keep_q)) = pool_queues else {
        queue.table = main_queue.counts().ok();
        drop(main_queue);
        drop(embedded);
        let summary = queue.summary(&cli, Tally::new(0), 0, reporter.elapsed(), Duration::ZERO);
        return Ok(reporter.summary(&summary));
    };

    // The pool: claimer → jobs (bounded) → workers → completions → completer; results → main;
    // the rescuer beside them until the pool is done.
    let began = Instant::now();
    let (abort, gauge, pool_done, produced) = (Stop::new(), InFlight::new(), Stop::new(), Stop::new());
    let (held, waits) = (Mutex::new(HashMap::new()), Mutex::new(Vec::new()));
    let (settled_tx, settled) = channel::bounded::<()>(1);
    if !beside {
        produced.set();
    }
    let pool = Pool {
        cli: &cli,
        consumer: &queue.consumer,
        stop: &stop,
        abort: &abort,
        reporter: &reporter,
        gauge: &gauge,
        produced: &produced,
        held: &held,
        waits: &waits,
        settled: &settled,
    };
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(cli.batch);
    let (results_tx, results_rx) = channel::unbounded::<Outcome>();
    let (done_tx, done_rx) = channel::unbounded::<Done>();
    let (mut tally, mut completed, mut rescues) = (Tally::new(0), Completed::default(), Rescues::default());
    let (mut woken, mut made) = (0, Produced::default());
    let failures = std::thread::scope(|s| -> anyhow::Result<_> {
        // The claimer starts last: if the OS refuses a thread, nothing has been claimed yet, and
        // returning here drops `jobs_tx`, which ends the threads already started.
        let thread = |name: String| std::thread::Builder::new().name(name);
        for worker in 1..=cli.workers {
            let (jobs, results, done) = (jobs_rx.clone(), results_tx.clone(), done_tx.clone());
            thread(format!("worker-{worker}"))
                .spawn_scoped(s, move || work(worker, pool, jobs, results, done))
                .context("cannot start a worker thread")?;
        }
        let (claim_q, complete_q, keep_q) = (&mut claim_q, &mut complete_q, &mut keep_q);
        let completed = &mut completed;
        let completer = thread("completer".into())
            .spawn_scoped(s, move || {
                complete(complete_q, pool, done_rx, settled_tx, completed)
            })
            .context("cannot start the completer thread")?;
        let (rescues, pool_done) = (&mut rescues, &pool_done);
        let keeper = thread("keeper".into())
            .spawn_scoped(s, move || keep(keep_q, pool, pool_done, rescues))
            .context("cannot start the keeper thread")?;
        let producer = match beside {
            true => {
                let (main_queue, made, produced) = (&mut main_queue, &mut made, &produced);
                let (cli, stop, reporter) = (&cli, &stop, &reporter);
                let producer = move || {
                    let result = produce(main_queue, cli, stop, reporter).map(|p| *made = p);
                    produced.set(); // also after an error: the claimer may end
                    result
                };
                let spawned = thread("producer".into()).spawn_scoped(s, producer);
                Some(spawned.context("cannot start the producer thread")?)
            }
            false => None,
        };
        let (results, done, woken) = (results_tx.clone(), done_tx.clone(), &mut woken);
        let claimer = thread("claimer".into())
            .spawn_scoped(s, move || claim(claim_q, pool, jobs_tx, results, done, woken))
            .context("cannot start the claimer thread")?;
        // Main keeps no sender: the channels close when their last thread returns.
        drop((jobs_rx, done_tx, results_tx));
        // Main: one result per claim until the claimer and every worker are gone; on Ctrl-C,
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
        pool_done.set(); // the keeper's last round is over
        let panicked = |p: Box<dyn std::any::Any + Send>| anyhow::anyhow!(common::panic_message(&*p));
        let produced = producer.map_or(Ok(()), |p| p.join().map_err(panicked).and_then(|r| r));
        Ok([
            produced,
            claimer.join().map_err(panicked).and_then(|r| r),
            completer.join().map_err(panicked).and_then(|r| r),
            keeper.join().map_err(panicked).and_then(|r| r),
        ])
    })?;
    if beside {
        queue.produced = made;
    }
    queue.woken_by_notify = woken;
    queue.waits = waits.into_inner().unwrap_or_else(PoisonError::into_inner);
    (queue.done, queue.rescues) = (completed, rescues);
    queue.table = main_queue.counts().ok();
    queue.reconnects = [&main_queue, &claim_q, &complete_q, &keep_q]
        .iter()
        .map(|q| q.reconnects)
        .sum();
    drop(main_queue);
    drop(embedded); // stops the private cluster, if this run started one
    let mut summary = queue.summary(&cli, tally, gauge.peak(), reporter.elapsed(), began.elapsed());
    // The database refused a statement: the summary still counts every claim this process made,
    // and carries the error (exit 2).
    if let Some(e) = failures.into_iter().find_map(Result::err) {
        summary = summary.with_error(common::error_chain(&e));
    }
    Ok(reporter.summary(&summary))
}

/// Inserts jobs 1..=`--jobs`: in chunks of [`PRODUCE_CHUNK`] (each all or nothing), one per
/// INSERT `--every-ms` apart, or with `--transactional` each with its order row in one
/// transaction; stopping between statements at Ctrl-C.
fn produce(q: &mut Queue<'_>, cli: &Cli, stop: &Stop, reporter: &Reporter) -> anyhow::Result<Produced> {
    let mut made = Produced::default();
    let mut next = 1;
    let pause = Duration::from_millis(cli.every_ms);
    while next <= cli.jobs && !stop.is_set() {
        if cli.transactional {
            // The order and its job commit together; a transaction rolled back leaves neither.
            let kind = job::kind_of(next, &cli.poison, &cli.panics);
            let rollback = cli.rollback_every.is_some_and(|k| next % k == 0);
            match q.produce_transactional(next, kind, rollback)? {
                true => made.inserted += 1,
                false => made.rolled_back += 1,
            }
            next += 1;
        } else {
            let chunk = if cli.every_ms > 0 { 1 } else { PRODUCE_CHUNK };
            let last = (next + chunk - 1).min(cli.jobs);
            made.inserted += q.produce(next, last, &cli.poison, &cli.panics)?;
            next = last + 1;
        }
        if cli.every_ms > 0 && next <= cli.jobs {
            crossbeam::select! {
                recv(stop.channel()) -> _ => {}
                default(pause) => {}
            }
        }
    }
    let tried = next - 1;
    let of = if tried < cli.jobs {
        format!(" of {} (Ctrl-C)", cli.jobs)
    } else {
        String::new()
    };
    let rolled_back = match made.rolled_back {
        0 => String::new(),
        n => format!(", {n} rolled back with their orders"),
    };
    reporter.note(format!("Produced {}{of} jobs{rolled_back}", made.inserted));
    Ok(made)
}

/// The claimer: claims due jobs and feeds the jobs channel until Ctrl-C or, without
/// `--follow`, until no job is available or running anywhere (and this process has produced
/// all it will). Dropping `jobs` (on return) is `close(jobs)`. Counts in `woken` the idle waits
/// a notification ended.
fn claim(
    q: &mut Queue<'_>,
    p: Pool<'_>,
    jobs: Sender<Job>,
    results: Sender<Outcome>,
    done: Sender<Done>,
    woken: &mut u64,
) -> anyhow::Result<()> {
    let mut seq = 0;
    if p.cli.wake == Wake::Notify {
        q.listen().inspect_err(|_| p.abort.set())?; // before the first claim: no insert is missed
    }
    while !p.stop.is_set() && !p.abort.is_set() {
        let batch = q
            .claim(p.consumer, p.cli.lease_ms, p.cli.batch)
            .inspect_err(|_| p.abort.set())?;
        if batch.is_empty() {
            // Nothing due. Jobs waiting for a retry or running on a consumer may still come
            // back (a failure, an expired lease): the queue is drained only when none is left.
            let idle = q.idle().inspect_err(|_| p.abort.set())?;
            let drained = !idle.running && idle.next_due_ms.is_none();
            if drained && !p.cli.follow && p.produced.is_set() {
                break;
            }
            if !p.cli.follow && idle.running && !lock(p.held).is_empty() {
                // This process's own jobs are still running (they may be the last ones): look
                // again once the completer has ended them.
                crossbeam::select! {
                    recv(p.settled) -> _ => {}
                    recv(p.stop.channel()) -> _ => {}
                    default(p.cli.poll()) => {}
                }
                continue;
            }
            // Wait for --poll-ms, a notification (notify), or the next retry if sooner.
            let mut wait = p.cli.poll();
            if let Some(due_ms) = idle.next_due_ms {
                wait = wait.min(Duration::from_secs_f64(due_ms.max(5.0) / 1000.0));
            }
            if !p.cli.follow {
                wait = wait.min(CHECK_EVERY);
            }
            let reconnects = q.reconnects;
            let notified = match p.cli.wake {
                Wake::Notify => wait_notified(q, p.stop, wait).inspect_err(|_| p.abort.set())?,
                Wake::Poll => {
                    crossbeam::select! {
                        recv(p.stop.channel()) -> _ => {}
                        default(wait) => {}
                    }
                    false
                }
            };
            *woken += u64::from(notified && q.reconnects == reconnects); // not a reconnect
            continue;
        }
        // The heartbeat keeps these leases from now until the completer ends each claim.
        lock(p.held).extend(batch.iter().map(|row| (row.id, row.attempt)));
        let claimed = Instant::now();
        // Backpressure: blocks while the channel is full (at most one batch beyond it is held).
        for row in batch {
            seq += 1;
            let job = Job { seq, row, claimed };
            crossbeam::select! {
                send(jobs, job) -> sent => { let _ = sent; }
                recv(p.stop.channel()) -> _ => {
                    // Claimed but never handed to a worker: its lease is released.
                    p.reporter.not_started_detail(&job, || job.detail());
                    let _ = done.send(Done::Release(job.row.id, job.row.attempt, false));
                    let _ = results.send(Outcome::NotStarted);
                }
            }
        }
    }
    Ok(())
}

/// Waits up to `wait` for a notification on the claimer's connection, looking at Ctrl-C every
/// [`CHECK_EVERY`]; true if a notification came.
fn wait_notified(q: &mut Queue<'_>, stop: &Stop, wait: Duration) -> anyhow::Result<bool> {
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stop.is_set() {
            return Ok(false);
        }
        if q.wait_notified(left.min(CHECK_EVERY))? {
            return Ok(true);
        }
    }
}

/// A worker: runs jobs until the jobs channel is closed and empty. After Ctrl-C it runs nothing
/// new: what it still takes is released for another consumer (`not_started`).
fn work(worker: usize, p: Pool<'_>, jobs: Receiver<Job>, results: Sender<Outcome>, done: Sender<Done>) {
    for job in jobs {
        let (id, attempt) = (job.row.id, job.row.attempt);
        let detail = || job.detail();
        if p.stop.is_set() {
            p.reporter.not_started_detail(&job, detail);
            let _ = done.send(Done::Release(id, attempt, false));
            let _ = results.send(Outcome::NotStarted);
            continue;
        }
        let in_flight = p.gauge.enter();
        lock(p.waits).push(job.due_to_start_ms());
        p.reporter.started_detail(&job, worker, detail);
        let outcome = std::panic::catch_unwind(|| run_job(&job, p.cli.work_ms, p.abort))
            .unwrap_or_else(|panic| Outcome::Failed(common::panic_message(&*panic)));
        p.reporter.ended(&job, worker, &outcome, detail);
        drop(in_flight);
        // The row is updated after the work, never before (that would be at-most-once).
        let _ = done.send(match &outcome {
            Outcome::Ok(_) => Done::Ok(id, attempt),
            // A malformed payload will never become well-formed: discarded at once, with its
            // reason as the row's last error (the dead letter), not retried.
            Outcome::Failed(why) => Done::Failed(Failure {
                id,
                attempt,
                error: why.clone(),
                delay_ms: job::backoff_ms(p.cli.backoff_ms, attempt),
                give_up: job.row.n.is_err(),
            }),
            Outcome::Cancelled => Done::Release(id, attempt, true),
            Outcome::NotStarted => Done::Release(id, attempt, false),
        });
        let _ = results.send(outcome);
    }
}

/// The completer: ends claims in batches of up to `--complete-batch` (one statement per kind of
/// ending), until every sender is gone. It counts what the table really changed: a claim whose
/// lease expired and was rescued meanwhile is not counted. If the database refuses a statement,
/// `abort` ends the pool and the run ends with that error.
fn complete(
    q: &mut Queue<'_>,
    p: Pool<'_>,
    rx: Receiver<Done>,
    settled: Sender<()>,
    out: &mut Completed,
) -> anyhow::Result<()> {
    while let Ok(first) = rx.recv() {
        let (mut ok, mut failed, mut released) = (Vec::new(), Vec::new(), Vec::new());
        for d in std::iter::once(first).chain(rx.try_iter().take(p.cli.complete_batch - 1)) {
            match d {
                Done::Ok(id, attempt) => ok.push((id, attempt)),
                Done::Failed(f) => failed.push(f),
                Done::Release(id, attempt, started) => released.push((id, attempt, started)),
            }
        }
        let mut step = || -> anyhow::Result<()> {
            if !ok.is_empty() {
                out.completed += q.complete(&ok)?;
            }
            if !failed.is_empty() {
                for e in q.fail(&failed, p.cli.max_attempts)? {
                    if e.state == "discarded" {
                        out.discarded += 1;
                        let give_up = failed.iter().any(|f| f.id == e.id && f.give_up);
                        out.malformed += u64::from(give_up);
                        report_discarded(p.reporter, &e);
                    } else {
                        out.retried += 1;
                    }
                }
            }
            if !released.is_empty() {
                out.released += q.release(&released)?;
            }
            Ok(())
        };
        step().inspect_err(|_| p.abort.set())?;
        // Ended in the table (or not ours any more): the heartbeat lets them go.
        // (A later claim of the same row, after its lease expired, stays held.)
        let mut held = lock(p.held);
        let ended = ok.iter().copied().chain(failed.iter().map(|f| (f.id, f.attempt)));
        for (id, attempt) in ended.chain(released.iter().map(|r| (r.0, r.1))) {
            if held.get(&id) == Some(&attempt) {
                held.remove(&id);
            }
        }
        if held.is_empty() {
            let _ = settled.try_send(()); // one token is enough; the claimer looks again
        }
    }
    Ok(())
}

/// The keeper: every third of a lease (at most 5 s) it extends the leases of the claims this
/// process holds (the heartbeat: a job that runs longer than its lease keeps it), and, unless
/// Ctrl-C came, returns jobs whose lease expired on any consumer (one killed, or its machine
/// gone) to `available`, or discards them after their last attempt; until the pool is done.
fn keep(q: &mut Queue<'_>, p: Pool<'_>, pool_done: &Stop, out: &mut Rescues) -> anyhow::Result<()> {
    let every = Duration::from_millis((p.cli.lease_ms / 3).clamp(10, 5_000));
    loop {
        let held: Vec<(i64, i32)> = lock(p.held).iter().map(|(&id, &a)| (id, a)).collect();
        if !held.is_empty() {
            out.extended += q.extend(&held, p.cli.lease_ms).inspect_err(|_| p.abort.set())?;
        }
        let ended = match p.stop.is_set() {
            true => Vec::new(),
            false => q.rescue(p.cli.max_attempts).inspect_err(|_| p.abort.set())?,
        };
        if !ended.is_empty() {
            out.rescued += ended.len() as u64;
            let ids: Vec<i64> = ended.iter().map(|e| e.id).collect();
            p.reporter.example_event(
                || format!("Rescued {} jobs whose lease expired: {ids:?}", ids.len()),
                |t_ms| Rescued {
                    jobs: ids.len() as u64,
                    job_ids: ids.clone(),
                    t_ms,
                },
            );
            for e in ended.iter().filter(|e| e.state == "discarded") {
                out.discarded += 1;
                report_discarded(p.reporter, e);
            }
        }
        crossbeam::select! {
            recv(pool_done.channel()) -> _ => return Ok(()),
            default(every) => {}
        }
    }
}

/// `discarded`: a job kept in the table after its last attempt, with its last error.
fn report_discarded(reporter: &Reporter, e: &Ended) {
    reporter.example_event(
        || {
            format!(
                "Discarded job {} (id {}) after {} attempts: {}",
                e.n, e.id, e.attempts, e.error
            )
        },
        |t_ms| Discarded {
            job: e.n,
            job_id: e.id,
            attempts: e.attempts,
            error: e.error.clone(),
            t_ms,
        },
    );
}

/// `host-pid-random`: unique per process start, so a restarted consumer is not mistaken for the
/// one it replaces (`locked_by` says who held a lease).
fn consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    // RandomState is seeded from the OS's randomness: enough for a name suffix.
    let suffix = std::hash::RandomState::new().hash_one(std::time::SystemTime::now()) & 0xff_ffff;
    format!("{host}-{}-{suffix:06x}", std::process::id())
}
