//! # elastic-pool — workers that come under load and retire when idle
//!
//! ## What it shows
//! A pool between `--min` and `--max` workers (`pool.rs`, after tokio's blocking pool): a submit
//! that finds no idle worker spawns one while fewer than `--max` are alive; a worker idle for
//! `--keep-alive-ms` exits while more than `--min` remain. The idle count, the spawn decision and
//! the timed wait that reaps are a mutex, two counters and a `Condvar::wait_timeout`. When the
//! pool is full (`--max` busy, `--queue` waiting), `--on-full` says what happens: Go's blocking
//! send, or one of Java's four rejection policies. Every job is still accounted for.
//!
//! ## What to watch for
//! - `--arrivals bursts` (the default): `worker_spawned` as a burst lands, `worker_retired` in the
//!   gap after it, each `burst` finds the pool back at `--min`; the summary adds worker-seconds.
//! - `--on-full abort` (the job comes back to the caller as an error), `drop-newest`, `drop-oldest`:
//!   each refused job is `not_started` with its reason. `caller-runs` runs it on the submitting
//!   thread (`worker` 0): the bound is `--max` + 1.
//! - `--grow queue-first` (Java's rule: grow only when the queue is full) with a large `--queue`
//!   never grows past `--min`: compare `peak_workers` with `--grow spawn-first`.
//! - `--resize-at 300:0:8` moves the bounds mid-run: a blocked submitter wakes and spawns.
//! - Ctrl-C: queued and unsubmitted jobs are `not_started`, the jobs in flight finish, exit 130.
//!
//! ## Go original and what differs
//! None of the five originals: their pools are fixed. Go's answers are libraries (ants' `Tune` and
//! `ExpiryDuration`, pond's autoscaling, gammazero/workerpool's idle reaping).
//! - Go's blocked send is the only full-queue policy; here it is `--on-full block`, one of five.
//! - Java's `ThreadPoolExecutor` grows past core only when its queue is full; `--grow queue-first`
//!   shows the trap, `spawn-first` (the default, as tokio) avoids it.
//! - A retired worker's thread is joined (at the next spawn, or at the end): 0 alive at exit.
//!
//! ## How to run
//! ```sh
//! cargo run -p elastic-pool
//! cargo run -p elastic-pool -- --min 0 --max 8 --keep-alive-ms 50 --burst 16
//! cargo run -p elastic-pool -- --arrivals steady --jobs 40 --max 1 --resize-at 300:0:8
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use common::{
    Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Stop, Summary, Tally, UsageError,
};
use crossbeam::channel::{self, Receiver, Sender};
use elastic_pool::Burst;
use elastic_pool::pool::{Config, Full, Grow, OnFull, Pool, Submitted};
use serde_json::json;

/// A pool that grows under load and retires idle workers, with Java's rejection policies.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// Workers started at once and kept alive when idle (0..=4096).
    #[arg(long, value_name = "N", default_value = "1", allow_negative_numbers = true, value_parser = parse_min)]
    min: usize,

    /// The most workers alive at once (1..=4096; default: --workers).
    #[arg(long, value_name = "M", allow_negative_numbers = true, value_parser = parse_max)]
    max: Option<usize>,

    /// A worker idle this long exits, while more than --min are alive.
    #[arg(long, value_name = "MS", default_value = "200", allow_negative_numbers = true, value_parser = common::cli::parse_millis)]
    keep_alive_ms: u64,

    /// Jobs that may wait for a worker (0: none wait, a job is handed over or refused).
    #[arg(long, value_name = "N", default_value = "16", allow_negative_numbers = true, value_parser = parse_queue)]
    queue: usize,

    /// What a submit does when --max workers are busy and the queue is full.
    #[arg(long, value_enum, default_value_t = OnFull::Block)]
    on_full: OnFull,

    /// Spawn before queueing (tokio) or queue before spawning (Java).
    #[arg(long, value_enum, default_value_t = Grow::SpawnFirst)]
    grow: Grow,

    /// How jobs arrive: all as fast as the pool takes them (`steady`, see --every-ms), or in
    /// bursts of --burst jobs, each after the pool went quiet and --gap-ms more.
    #[arg(long, value_enum, default_value_t = Arrivals::Bursts)]
    arrivals: Arrivals,

    /// With --arrivals steady: a pause between two submits.
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true, value_parser = common::cli::parse_millis)]
    every_ms: u64,

    /// With --arrivals bursts: jobs per burst.
    #[arg(long, value_name = "N", default_value = "8", allow_negative_numbers = true, value_parser = parse_burst)]
    burst: u64,

    /// With --arrivals bursts: the idle gap before each burst after the first, counted from the
    /// moment nothing is queued or running.
    #[arg(long, value_name = "MS", default_value = "500", allow_negative_numbers = true, value_parser = common::cli::parse_millis)]
    gap_ms: u64,

    /// At MS milliseconds into the run, move the bounds to MIN..=MAX (repeatable).
    #[arg(long, value_name = "MS:MIN:MAX", action = clap::ArgAction::Append, allow_negative_numbers = true, value_parser = parse_resize)]
    resize_at: Vec<ResizeAt>,
}

/// One `--resize-at MS:MIN:MAX`.
#[derive(Debug, Clone, Copy)]
struct ResizeAt {
    at_ms: u64,
    min: usize,
    max: usize,
}

fn parse_resize(s: &str) -> Result<ResizeAt, String> {
    let usage = || format!("a resize is MS:MIN:MAX (e.g. 300:0:8), got '{s}'");
    let parts: Vec<&str> = s.split(':').collect();
    let [at_ms, min, max] = parts[..] else {
        return Err(usage());
    };
    let at_ms = common::cli::parse_millis(at_ms).map_err(|_| usage())?;
    let most = common::cli::MAX_WORKERS;
    let min = parse_min(min).map_err(|_| format!("a resize's MIN is 0 to {most}, got '{min}'"))?;
    let max = parse_max(max).map_err(|_| format!("a resize's MAX is 1 to {most}, got '{max}'"))?;
    if min > max {
        return Err(format!("in a resize MIN {min} is more than MAX {max}"));
    }
    Ok(ResizeAt { at_ms, min, max })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Arrivals {
    Steady,
    Bursts,
}

fn parse_min(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n <= common::cli::MAX_WORKERS => Ok(n),
        _ => Err(format!(
            "--min must be between 0 and {}, got '{s}'",
            common::cli::MAX_WORKERS
        )),
    }
}

fn parse_max(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=common::cli::MAX_WORKERS).contains(&n) => Ok(n),
        _ => Err(format!(
            "--max must be between 1 and {}, got '{s}'",
            common::cli::MAX_WORKERS
        )),
    }
}

fn parse_queue(s: &str) -> Result<usize, String> {
    common::cli::parse_buffer(s).map_err(|_| format!("the queue holds 0 to 16777216 jobs, got '{s}'"))
}

fn parse_burst(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("a burst is 1 job or more, got '{s}'")),
    }
}

fn main() -> ExitCode {
    common::main(run)
}

/// Runs one job on the calling thread (a worker, or the submitter under caller-runs: worker 0),
/// reports it and sends its result to the collector.
fn run_job(worker: usize, job: Job, cx: &Cx) {
    let in_flight = cx.gauge.enter();
    cx.report.started(&job, worker);
    let outcome = cx.work.run(&job);
    let result = JobResult { job, worker, outcome };
    cx.report.finished(&result);
    drop(in_flight);
    let _ = cx.results.send(result); // the collector outlives every job
}

/// What running and reporting a job needs, shared by the workers and the submitter.
struct Cx {
    work: common::Work,
    gauge: InFlight,
    report: Arc<Reporter>,
    results: Sender<JobResult>,
}

/// Reports a job that never ran, with why, and sends its result to the collector.
fn not_started(job: Job, reason: String, cx: &Cx) {
    cx.report
        .not_started_detail(&job, || Detail::default().reason(reason));
    let _ = cx.results.send(JobResult {
        job,
        worker: 0,
        outcome: Outcome::NotStarted,
    });
}

/// The counts the submitter keeps.
#[derive(Debug, Default)]
struct Refusals {
    rejected: u64,
    dropped: u64,
    ran_on_caller: u64,
}

/// The submitting thread: every job, in the arrival pattern, through [`Pool::submit`].
fn submit_all(cli: &Cli, pool: &Pool, cx: &Cx, stop: &Stop) -> Refusals {
    let mut counts = Refusals::default();
    let on_full = cli.on_full.name();
    let mut jobs = cli.pool.job_list();
    let mut sent = 0u64;
    let mut burst = 0u64;
    while let Some(job) = jobs.next() {
        let burst_starts = cli.arrivals == Arrivals::Bursts && sent.is_multiple_of(cli.burst);
        if burst_starts && sent > 0 {
            pool.wait_quiet();
            pause(stop, cli.gap_ms);
        }
        if stop.is_set() {
            not_started(job, "stopped before it was submitted".into(), cx);
            for job in jobs.by_ref() {
                not_started(job, "stopped before it was submitted".into(), cx);
            }
            break;
        }
        if burst_starts {
            burst += 1;
            let size = cli.burst.min(cli.pool.jobs - sent);
            let workers = pool.workers();
            cx.report.example_event(
                || format!("Burst {burst}: {size} jobs, {workers} workers alive"),
                |t_ms| Burst {
                    burst,
                    jobs: size,
                    workers,
                    t_ms,
                },
            );
        }
        sent += 1;
        match pool.submit(job) {
            Ok(Submitted::Taken) => {}
            Err(Full(job)) => {
                counts.rejected += 1;
                not_started(
                    job,
                    format!("rejected: the pool is full (--on-full {on_full})"),
                    cx,
                );
            }
            Ok(Submitted::Dropped(job)) => {
                counts.dropped += 1;
                not_started(
                    job,
                    format!("dropped: the pool is full (--on-full {on_full})"),
                    cx,
                );
            }
            Ok(Submitted::DroppedOldest(old)) => {
                counts.dropped += 1;
                let reason = format!(
                    "dropped: the oldest waiting job, for job {} (--on-full {on_full})",
                    job.id
                );
                not_started(old, reason, cx);
            }
            Ok(Submitted::RunHere(job)) => {
                counts.ran_on_caller += 1;
                run_job(0, job, cx);
            }
            Ok(Submitted::Stopped(job)) => not_started(job, "stopped: the pool was closed".into(), cx),
            Ok(Submitted::NoThread(job, why)) => {
                not_started(job, format!("no worker could be started: {why}"), cx);
            }
        }
        if cli.arrivals == Arrivals::Steady && cli.every_ms > 0 {
            pause(stop, cli.every_ms);
        }
    }
    counts
}

/// Sleeps `ms`, or less if the stop comes first.
fn pause(stop: &Stop, ms: u64) {
    crossbeam::select! {
        recv(stop.channel()) -> _ => {}
        default(Duration::from_millis(ms)) => {}
    }
}

/// The resizer thread: each `--resize-at` in time order, at its instant on the reporter's clock,
/// until the run ends (`done`) or Ctrl-C. Returns what it applied, for the summary.
fn resize_on_schedule(
    plan: &[ResizeAt],
    pool: &Pool,
    report: &Reporter,
    stop: &Stop,
    done: &Receiver<()>,
) -> Vec<serde_json::Value> {
    let mut plan = plan.to_vec();
    plan.sort_by_key(|r| r.at_ms); // stable: resizes at one instant apply in the order given
    let mut applied = Vec::new();
    for r in plan {
        let wait = Duration::from_millis(r.at_ms).saturating_sub(report.elapsed());
        crossbeam::select! {
            recv(stop.channel()) -> _ => break,
            recv(done) -> _ => break,
            default(wait) => {}
        }
        let at_ms = report.t_ms();
        let Some(resized) = pool.resize(r.min, r.max) else {
            break;
        };
        report.note(format!(
            "Resize to --min {} --max {}: {} workers alive ({} spawned)",
            r.min, r.max, resized.workers, resized.spawned
        ));
        if let Some(why) = resized.error {
            report.note(format!(
                "Resize: {why}; the pool runs on with {} workers",
                resized.workers
            ));
        }
        applied.push(json!({
            "at_ms": at_ms,
            "min": r.min,
            "max": r.max,
            "workers": resized.workers,
            "spawned": resized.spawned,
        }));
    }
    applied
}

fn run() -> anyhow::Result<ExitCode> {
    let stop = common::signal::ctrl_c()?; // first: a Ctrl-C at any instant ends in a summary
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 24,
        workers: 4,
        work_ms: 100,
    });
    let max = cli.max.unwrap_or(cli.pool.workers);
    if cli.min > max {
        return Err(UsageError(format!("--min {} is more than --max {max}", cli.min)).into());
    }
    if cli.on_full == OnFull::DropOldest && cli.queue == 0 {
        return Err(UsageError(
            "--on-full drop-oldest needs a queue to drop from (--queue 1 or more)".into(),
        )
        .into());
    }
    let report = Arc::new(Reporter::new(&cli.pool.output));
    let (results_tx, results_rx) = channel::unbounded::<JobResult>();
    let cx = Arc::new(Cx {
        work: cli.pool.work(),
        gauge: InFlight::new(),
        report: Arc::clone(&report),
        results: results_tx,
    });
    let cfg = Config {
        min: cli.min,
        max,
        keep_alive: Duration::from_millis(cli.keep_alive_ms),
        queue: cli.queue,
        grow: cli.grow,
        on_full: cli.on_full,
    };
    let pool = Arc::new(Pool::start(cfg, Arc::clone(&report), {
        let cx = Arc::clone(&cx);
        move |worker, job| run_job(worker, job, &cx)
    })?);

    // The submitter (and with --resize-at, the resizer) run beside main, which collects and
    // watches for Ctrl-C.
    let cli = Arc::new(cli);
    let (done_tx, done_rx) = channel::bounded::<()>(0); // dropped when the run ends
    let resizer = if cli.resize_at.is_empty() {
        None
    } else {
        let (cli, resized, report, stop) = (
            Arc::clone(&cli),
            Arc::clone(&pool),
            Arc::clone(&report),
            stop.clone(),
        );
        let spawned = thread::Builder::new()
            .name("resizer".into())
            .spawn(move || resize_on_schedule(&cli.resize_at, &resized, &report, &stop, &done_rx));
        match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                pool.close();
                pool.join();
                return Err(e).context("cannot start the resizer thread");
            }
        }
    };
    let submitter = {
        let (cli, pool, cx, stop) = (Arc::clone(&cli), Arc::clone(&pool), Arc::clone(&cx), stop.clone());
        thread::Builder::new()
            .name("submitter".into())
            .spawn(move || submit_all(&cli, &pool, &cx, &stop))
    };
    let submitter = match submitter {
        Ok(handle) => handle,
        Err(e) => {
            drop(done_tx);
            pool.close();
            if let Some(resizer) = resizer {
                let _ = resizer.join();
            }
            pool.join();
            return Err(e).context("cannot start the submitter thread");
        }
    };

    // Exactly one result per job; on Ctrl-C the queued jobs come back from the pool at once.
    let jobs = cli.pool.jobs;
    let mut tally = Tally::new(jobs);
    let mut received = 0;
    let mut stopped = false;
    while received < jobs {
        let result = if stopped {
            results_rx.recv().ok()
        } else {
            crossbeam::select! {
                recv(results_rx) -> r => r.ok(),
                recv(stop.channel()) -> _ => {
                    stopped = true;
                    for job in pool.stop() {
                        not_started(job, "stopped: still queued".into(), &cx);
                    }
                    continue;
                }
            }
        };
        let Some(result) = result else { break };
        report.received(&result);
        tally.record(&result.outcome);
        received += 1;
    }

    drop(done_tx);
    let resizes = resizer.map(thread::JoinHandle::join);
    pool.close();
    let refusals = submitter.join();
    let (stats, worker_panics) = pool.join();
    let panicked = worker_panics
        + usize::from(refusals.is_err())
        + usize::from(resizes.as_ref().is_some_and(Result::is_err));
    let refusals = refusals.unwrap_or_default();
    let resizes = resizes.and_then(Result::ok).unwrap_or_default();

    // The bound on workers (and jobs in flight) is the largest --max the pool had.
    let caller_runs = cli.on_full == OnFull::CallerRuns;
    let bound = stats.largest_max + usize::from(caller_runs);
    let worker_seconds = (stats.worker_time.as_secs_f64() * 1000.0).round() / 1000.0;
    let mut summary = Summary::new(
        "elastic-pool",
        tally,
        stats.largest_max,
        cx.gauge.peak(),
        report.elapsed(),
    )
    .with_max_in_flight(bound)
    .with_interrupted_at(common::signal::interrupted_at())
    .line(format!(
        "workers: peak {} of --max {}, {} when the pool closed (--min {}); {} spawned, {} retired idle",
        stats.peak_workers,
        stats.largest_max,
        stats.final_workers,
        cli.min,
        stats.spawned,
        stats.retired_idle
    ))
    .line(format!(
        "resizes: {} of {} applied (largest --max {}), {} workers retired over a smaller max",
        resizes.len(),
        cli.resize_at.len(),
        stats.largest_max,
        stats.retired_resize
    ))
    .line(format!("worker-seconds: {worker_seconds:.3}"))
    .line(format!(
        "--on-full {}: {} rejected, {} dropped, {} ran on the submitter, {} submits blocked",
        cli.on_full.name(),
        refusals.rejected,
        refusals.dropped,
        refusals.ran_on_caller,
        stats.blocked_submits
    ))
    .field("min", cli.min)
    .field("max", max)
    .field("keep_alive_ms", cli.keep_alive_ms)
    .field("queue", cli.queue)
    .field("on_full", cli.on_full.name())
    .field(
        "grow",
        if cli.grow == Grow::SpawnFirst {
            "spawn-first"
        } else {
            "queue-first"
        },
    )
    .field(
        "arrivals",
        if cli.arrivals == Arrivals::Bursts {
            "bursts"
        } else {
            "steady"
        },
    )
    .field("peak_workers", stats.peak_workers)
    .field("final_workers", stats.final_workers)
    .field("workers_spawned", stats.spawned)
    .field("workers_retired_idle", stats.retired_idle)
    .field("workers_retired_resize", stats.retired_resize)
    .field("largest_max", stats.largest_max)
    .field("resizes", resizes)
    .field("worker_seconds", worker_seconds)
    .field("peak_queued", stats.peak_queued)
    .field("rejected", refusals.rejected)
    .field("dropped", refusals.dropped)
    .field("ran_on_caller", refusals.ran_on_caller)
    .field("blocked_submits", stats.blocked_submits);
    if caller_runs {
        summary = summary.line(format!("bound: --max {max} + 1, the submitting thread"));
    }
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(report.summary(&summary))
}
