//! # keyed-pool — per-key order, parallel across keys
//!
//! ## What it shows
//! Each job is a transfer from one account (its key): the transfers of one account must start in
//! the order they were submitted and never overlap, while different accounts run in parallel.
//! `--strategy shards` gives each of N workers its own queue and sends a key to hash(key) % N
//! (ants' MultiPool, Kafka's partitions): simple, but a hot or slow key holds up every key of its
//! shard. `--strategy dynamic` (the default) keeps one mailbox per active key and a shared
//! ready-queue of keys (`dynamic.rs`): a key is on at most one worker, any idle worker takes the
//! next ready key.
//!
//! ## What to watch for
//! - Each line names the account; per account the job ids only increase.
//! - `--skew zipf:1.1 --keys 1000` or `--slow-key 1`: compare the two strategies' `jobs/s`, the
//!   longest wait of a ready job behind other keys, and how busy each worker was. No strategy
//!   beats the hottest key's serial work (the summary's key bound). Under `dynamic` a worker keeps
//!   its key while it has jobs; `--turn 1` sends it back to the ready-queue after every job.
//! - `dynamic` hands a key that becomes ready straight to an idle worker; the summary counts the
//!   scheduler states in which a worker idled while a key was ready: always 0.
//! - Ctrl-C: jobs in flight finish, the rest are reported never started, exit 130.
//!
//! ## Go original and what differs
//! None of the Go originals keys its jobs: their pools run any job on any worker, so two
//! transfers of one account can overlap or swap. Here the order per key is a promise the summary
//! checks (`order_violations`, always 0) and the tests check again from the events; every job is
//! accounted for and every thread joined, as in the other examples.
//!
//! ## How to run
//! ```sh
//! cargo run -p keyed-pool
//! cargo run -p keyed-pool -- --strategy shards --slow-key 1
//! cargo run --release -p keyed-pool -- --strategy dynamic --skew zipf:1.1 --keys 1000 --workers 8 --jobs 10000 --work-ms 5 --quiet
//! ```

mod keys;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::{
    Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally,
    UsageError, Work, WorkDist, Workload,
};
use crossbeam::channel::{self, Sender};

use keyed_pool::dynamic::{IdleCheck, KeyedQueue};

use crate::keys::Skew;

/// Per-key order with parallelism across keys: sharded workers against a dynamic ready-queue of keys.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// Number of accounts (keys) the transfers are drawn from (1..=1000000).
    #[arg(long, default_value = "6", allow_negative_numbers = true, value_parser = keys::parse_keys)]
    keys: u64,

    /// How jobs go to workers: `shards` (a queue per worker, key → hash % workers) or `dynamic`
    /// (a mailbox per key, any idle worker takes the next ready key).
    #[arg(long, value_enum, default_value_t = Strategy::Dynamic)]
    strategy: Strategy,

    /// How the accounts are drawn: `uniform`, or `zipf:S` (account k ∝ 1/k^S; 0 < S ≤ 10).
    #[arg(long, default_value = "uniform", value_parser = keys::parse_skew)]
    skew: Skew,

    /// `dynamic`: the most jobs of one key a worker runs in a row before the key goes back to the
    /// ready-queue, behind the other ready keys (default: no limit, the key stays while it has
    /// jobs).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_turn)]
    turn: Option<u64>,

    /// Make every job of this account 10 times slower (the `sleep` workload).
    #[arg(long, value_name = "KEY", allow_negative_numbers = true, value_parser = common::cli::parse_count)]
    slow_key: Option<u64>,
}

/// `--turn`: at least one job.
fn parse_turn(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("a turn is a whole number of jobs, 1 or more, got '{s}'")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Strategy {
    Shards,
    Dynamic,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::Shards => "shards",
            Strategy::Dynamic => "dynamic",
        }
    }
}

/// How much slower the jobs of `--slow-key` are.
const SLOW_FACTOR: u32 = 10;

/// A submitted job waiting for a worker.
#[derive(Debug)]
struct Pending {
    job: Job,
    key: u64,
    submitted: Instant,
}

/// What a worker sends back: the result, and when the job was submitted, started and ended.
#[derive(Debug)]
struct Done {
    result: JobResult,
    key: u64,
    submitted: Instant,
    /// `None` for a job handed back after Ctrl-C.
    ran: Option<(Instant, Instant)>,
}

/// What every worker shares, whatever the strategy.
struct Ctx {
    work: Work,
    slow_work: Work,
    slow_key: Option<u64>,
    turn: Option<u64>,
    gauge: InFlight,
    report: Reporter,
    stop: Stop,
}

fn main() -> ExitCode {
    common::main(run)
}

/// Runs one job of `worker` (or hands it back untouched after Ctrl-C), reporting it with its key.
/// The `finished` event is printed before the caller releases the key.
fn run_one(worker: usize, p: Pending, ctx: &Ctx) -> Done {
    let Pending { job, key, submitted } = p;
    if ctx.stop.is_set() {
        ctx.report.not_started_detail(&job, || {
            Detail::default().field("key", key).reason("stopped by Ctrl-C")
        });
        let result = JobResult {
            job,
            worker,
            outcome: Outcome::NotStarted,
        };
        return Done {
            result,
            key,
            submitted,
            ran: None,
        };
    }
    let in_flight = ctx.gauge.enter();
    let started = Instant::now();
    ctx.report.started_detail(&job, worker, || {
        Detail::default().field("key", key).at(started).human(format!(
            "Worker {worker} started job {}: transfer of {} from account {key}",
            job.id, job.value
        ))
    });
    let work = if ctx.slow_key == Some(key) {
        ctx.slow_work
    } else {
        ctx.work
    };
    let outcome = work.run(&job);
    let ended = Instant::now();
    ctx.report.ended(&job, worker, &outcome, || {
        Detail::default().field("key", key).at(ended)
    });
    drop(in_flight);
    Done {
        result: JobResult { job, worker, outcome },
        key,
        submitted,
        ran: Some((started, ended)),
    }
}

/// Sends `done` to the collector and adds its run time to `busy`; false once the collector is gone.
fn send(results: &Sender<Done>, done: Done, busy: &mut Duration) -> bool {
    if let Some((started, ended)) = done.ran {
        *busy += ended - started;
    }
    results.send(done).is_ok()
}

/// `shards`: a queue per worker; the producer sends each key to the same worker, always.
fn start_shards(
    n: usize,
    buffer: usize,
    ctx: &Arc<Ctx>,
    results: &Sender<Done>,
    jobs: Vec<(Job, u64)>,
) -> anyhow::Result<(Vec<thread::JoinHandle<Duration>>, thread::JoinHandle<()>)> {
    // The shards share `--buffer`, so both strategies hold as many waiting jobs.
    let per_shard = buffer.div_ceil(n);
    let mut queues = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    for id in 1..=n {
        let (tx, rx) = channel::bounded::<Pending>(per_shard);
        queues.push(tx);
        let (ctx, results) = (Arc::clone(ctx), results.clone());
        let handle = thread::Builder::new()
            .name(format!("shard-{id}"))
            .spawn(move || {
                let mut busy = Duration::ZERO;
                // One worker per queue, taking its jobs in order: per-key order by construction.
                for p in rx {
                    if !send(&results, run_one(id, p, &ctx), &mut busy) {
                        break;
                    }
                }
                busy
            })
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            for (job, key) in jobs {
                let submitted = Instant::now();
                let shard = keys::shard_of(key, queues.len());
                // A full shard blocks the producer, even while other shards sit idle.
                if queues[shard].send(Pending { job, key, submitted }).is_err() {
                    break;
                }
            }
            // Dropping `queues` closes every shard.
        })
        .context("cannot start the producer thread")?;
    Ok((workers, producer))
}

/// `dynamic`: one mailbox per key and a ready-queue of keys (`dynamic.rs`), one worker per slot
/// of `queue`.
fn start_dynamic(
    queue: &Arc<KeyedQueue<Pending>>,
    n: usize,
    ctx: &Arc<Ctx>,
    results: &Sender<Done>,
    jobs: Vec<(Job, u64)>,
) -> anyhow::Result<(Vec<thread::JoinHandle<Duration>>, thread::JoinHandle<()>)> {
    let mut workers = Vec::with_capacity(n);
    for id in 1..=n {
        let (ctx, results, queue) = (Arc::clone(ctx), results.clone(), Arc::clone(queue));
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                let mut busy = Duration::ZERO;
                while let Some((key, first)) = queue.take(id - 1) {
                    // A worker keeps its key while the key has more jobs, for up to `--turn` in
                    // a row (an actor's throughput setting): the hottest key, which bounds the
                    // run, never waits behind other keys; a turn lets a long backlog give way.
                    let (mut next, mut turn) = (Some(first), 0);
                    while let Some(p) = next {
                        let done = run_one(id, p, &ctx);
                        turn += 1;
                        // After its `finished` event: the key's next job may start.
                        next = queue.done(key, ctx.turn.is_none_or(|t| turn < t));
                        if !send(&results, done, &mut busy) {
                            return busy; // the collector is gone (not planned)
                        }
                    }
                }
                busy
            })
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    let queue = Arc::clone(queue);
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            for (job, key) in jobs {
                let submitted = Instant::now();
                queue.submit(key, Pending { job, key, submitted });
            }
            queue.close();
        })
        .context("cannot start the producer thread")?;
    Ok((workers, producer))
}

/// What the collector learns from the jobs of each key, in submission (id) order.
#[derive(Debug, Default)]
struct KeyStats {
    /// Jobs of one key that started out of submission order, overlapped the key's previous job,
    /// or started after a later job of the key was handed back.
    order_violations: u64,
    /// The longest a job waited for a worker once it was ready (submitted, and its key's
    /// previous job over): time spent behind other keys. With its job id.
    longest_wait: Option<(Duration, u64)>,
}

fn key_stats(done: &[Done]) -> KeyStats {
    let mut by_key: BTreeMap<u64, Vec<&Done>> = BTreeMap::new();
    for d in done {
        by_key.entry(d.key).or_default().push(d);
    }
    let mut stats = KeyStats::default();
    for jobs in by_key.values_mut() {
        jobs.sort_by_key(|d| d.result.job.id);
        let mut previous_end: Option<Instant> = None;
        let mut handed_back = false;
        for d in jobs.iter() {
            let Some((started, ended)) = d.ran else {
                handed_back = true;
                continue;
            };
            if handed_back || previous_end.is_some_and(|end| started < end) {
                stats.order_violations += 1;
            }
            let ready = previous_end.map_or(d.submitted, |end| end.max(d.submitted));
            let wait = started.saturating_duration_since(ready);
            if stats.longest_wait.is_none_or(|(w, _)| wait > w) {
                stats.longest_wait = Some((wait, d.result.job.id));
            }
            previous_end = Some(ended);
        }
    }
    stats
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 24,
        workers: 4,
        work_ms: 100,
    });
    let args = &cli.pool;
    if let Some(slow) = cli.slow_key.filter(|k| !(1..=cli.keys).contains(k)) {
        return Err(UsageError(format!(
            "--slow-key {slow} is not one of the accounts 1 to {} (see --help)",
            cli.keys
        ))
        .into());
    }
    let work = args.work();
    let slow_work = Work {
        duration: work.duration * SLOW_FACTOR,
        ..work
    };
    let ctx = Arc::new(Ctx {
        work,
        slow_work,
        slow_key: cli.slow_key,
        turn: cli.turn,
        gauge: InFlight::new(),
        report: Reporter::new(&args.output),
        stop,
    });

    // 1. The jobs and their accounts, drawn from --seed.
    let keys = keys::draw(args.jobs, cli.keys, cli.skew, args.seed);
    let jobs: Vec<(Job, u64)> = args.job_list().zip(keys.iter().copied()).collect();

    // 2. The workers and the producer, by strategy; every worker sends its results here.
    //    Under `dynamic` the queue checks, at every change, that no worker idles while a key is
    //    ready; the summary reports what it saw.
    let (results_tx, results_rx) = channel::bounded::<Done>(args.buffer());
    let keyed = (cli.strategy == Strategy::Dynamic)
        .then(|| Arc::new(KeyedQueue::<Pending>::new(args.workers, args.buffer())));
    let (workers, producer) = match &keyed {
        None => start_shards(args.workers, args.buffer(), &ctx, &results_tx, jobs)?,
        Some(queue) => start_dynamic(queue, args.workers, &ctx, &results_tx, jobs)?,
    };
    drop(results_tx); // once every worker is gone, `recv` below fails instead of waiting forever

    // 3. Collect exactly one result per job.
    let mut tally = Tally::new(args.jobs);
    let mut done = Vec::with_capacity(keys.len());
    for _ in 0..args.jobs {
        let Ok(d) = results_rx.recv() else {
            break; // every worker exited early: the summary shows the jobs that are missing
        };
        ctx.report.received(&d.result);
        tally.record(&d.result.outcome);
        done.push(d);
    }

    // 4. Join every thread, keeping how long each worker was busy.
    let mut busy = Vec::with_capacity(workers.len());
    let mut panicked = common::join_all([producer]);
    for handle in workers {
        match handle.join() {
            Ok(b) => busy.push(b),
            Err(_) => panicked += 1,
        }
    }
    let wall = ctx.report.elapsed();
    let run = Ran {
        tally,
        done: &done,
        keys: &keys,
        busy: &busy,
        idle_check: keyed.map(|queue| queue.idle_check()),
        wall,
        panicked,
    };
    Ok(ctx.report.summary(&summary(&cli, &ctx, run)))
}

/// What a run left for its summary.
struct Ran<'a> {
    tally: Tally,
    done: &'a [Done],
    keys: &'a [u64],
    /// How long each worker was busy.
    busy: &'a [Duration],
    /// `dynamic`: what the queue's own check of idle workers and ready keys saw.
    idle_check: Option<IdleCheck>,
    wall: Duration,
    panicked: usize,
}

/// The summary: the standard counts, plus throughput, the longest wait behind other keys, how
/// busy each worker was, whether a worker idled while a key was ready, and the bound the hottest
/// key sets.
fn summary(cli: &Cli, ctx: &Ctx, run: Ran<'_>) -> Summary {
    let Ran {
        tally,
        done,
        keys,
        busy,
        idle_check,
        wall,
        panicked,
    } = run;
    let args = &cli.pool;
    let stats = key_stats(done);
    let per_sec = |n: u64| (n as f64 / wall.as_secs_f64().max(1e-9) * 10.0).round() / 10.0;
    let jobs_per_sec = per_sec(tally.ran());
    let busy_pct: Vec<f64> = busy
        .iter()
        .map(|b| (b.as_secs_f64() / wall.as_secs_f64().max(1e-9) * 1000.0).round() / 10.0)
        .collect();
    let (longest_wait, longest_wait_job) = stats.longest_wait.unzip();
    let longest_wait_ms = longest_wait.map(|w| (w.as_secs_f64() * 1e6).round() / 1e3);

    // The hottest key, and the serial work of each key: no strategy can finish before the
    // busiest key's jobs have run one after another.
    let mut per_key: BTreeMap<u64, u64> = BTreeMap::new();
    for k in keys {
        *per_key.entry(*k).or_default() += 1;
    }
    let (hottest_key, hottest_jobs) = per_key
        .iter()
        .max_by_key(|(k, n)| (**n, std::cmp::Reverse(**k)))
        .map_or((None, 0), |(k, n)| (Some(*k), *n));
    let job_time = |key: u64| {
        if cli.slow_key == Some(key) {
            ctx.slow_work.duration
        } else {
            ctx.work.duration
        }
    };
    // The bounds below count every job at its key's fixed work: with a `--work-dist` there is
    // no bound (and no ideal) here.
    let sleep = args.workload == Workload::Sleep && args.work_dist == WorkDist::Fixed;
    let key_bound = per_key
        .iter()
        .map(|(k, n)| job_time(*k).saturating_mul(u32::try_from(*n).unwrap_or(u32::MAX)))
        .max()
        .unwrap_or_default();
    let total_work: Duration = per_key
        .iter()
        .map(|(k, n)| job_time(*k).saturating_mul(u32::try_from(*n).unwrap_or(u32::MAX)))
        .sum();
    let spread_bound = total_work / u32::try_from(args.workers).unwrap_or(u32::MAX);

    let mut s = Summary::new("keyed-pool", tally, args.workers, ctx.gauge.peak(), wall)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("strategy", cli.strategy.name())
        .field("keys", cli.keys)
        .field("skew", cli.skew.to_string())
        .field("slow_key", cli.slow_key)
        .field("turn", cli.turn)
        .field("jobs_per_sec", jobs_per_sec)
        .field("longest_wait_behind_other_keys_ms", longest_wait_ms)
        .field("longest_wait_job", longest_wait_job)
        .field("worker_busy_pct", busy_pct.clone())
        .field("hottest_key", hottest_key)
        .field("hottest_key_jobs", hottest_jobs)
        .field("order_violations", stats.order_violations)
        .field("idle_while_ready_checks", idle_check.map(|c| c.checks))
        .field("idle_while_ready", idle_check.map(|c| c.idle_while_ready))
        .line(format!(
            "strategy {}: {} accounts ({}), {jobs_per_sec} jobs/s",
            cli.strategy.name(),
            cli.keys,
            cli.skew
        ))
        .line(match (longest_wait_ms, longest_wait_job) {
            (Some(ms), Some(job)) => {
                format!("longest wait of a ready job behind other keys: {ms} ms (job {job})")
            }
            _ => "longest wait of a ready job behind other keys: none ran".to_owned(),
        })
        .line(format!(
            "workers busy: {}",
            busy_pct
                .iter()
                .map(|p| format!("{p}%"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .line(format!(
            "per-key order kept: {} violation(s)",
            stats.order_violations
        ));
    if let Some(check) = idle_check {
        s = s.line(format!(
            "a worker idle while a key was ready: {} of {} states checked",
            check.idle_while_ready, check.checks
        ));
    }
    if let Some(key) = hottest_key {
        s = s.line(format!(
            "hottest account {key}: {hottest_jobs} of {} jobs",
            keys.len()
        ));
    }
    if sleep {
        // The best any strategy can do: the work spread over every worker, or the hottest key's
        // jobs one after another, whichever is longer.
        let bound = key_bound.max(spread_bound);
        s = s
            .with_ideal(bound)
            .field("key_bound_ms", round_ms(key_bound))
            .field("spread_bound_ms", round_ms(spread_bound))
            .line(format!(
                "bound: {:.1} ms (hottest key serial {:.1} ms, work over workers {:.1} ms)",
                round_ms(bound),
                round_ms(key_bound),
                round_ms(spread_bound)
            ));
    }
    if panicked > 0 {
        s = s
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    s
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
