//! # context-cancel — stopping a worker pool on a deadline or Ctrl-C, and accounting for every job
//!
//! ## What it shows
//! A pool that can stop early: at a deadline or Ctrl-C no new job starts, the jobs in flight are
//! interrupted (after an optional `--grace-ms`), and every job still ends one way: done, cancelled
//! in flight, or never started. The token is Go's `ctx.Done()` as a crossbeam channel that nothing
//! is ever sent on: cancelling drops its only `Sender`, and that one drop wakes every worker's
//! `select!`. Two tokens: `stop` (take no new job) and `abort` (give up the job you are running).
//!
//! ## What to watch for
//! - The default run (3 workers, 20 jobs of 100 ms) ends before its 2 s deadline, exit code 0.
//! - `--deadline-ms 250`: 6 jobs done, the 3 in flight cancelled at once ("Worker 1 cancelled job
//!   7"), 11 never started; the summary names the cause and the cancel latency; exit code 1.
//! - `--deadline-ms 250 --grace-ms 80`: the 3 jobs in flight finish instead (they need 50 ms more).
//! - `--workload cpu`: CPU-bound jobs are interrupted too (`cancellable.rs`).
//! - Ctrl-C in a long run (`--jobs 100`) cancels the same way (exit 130); a second exits at once.
//!
//! ## Go original and what differs
//! 002 "with Context" (3 workers, 20 jobs, 100 ms, `context.WithTimeout` 2 s) and "Graceful
//! Shutdown", 004 "with Context" (a worker's `select` on the jobs and `ctx.Done()`).
//! - Go's `select` picks at random when a job and `ctx.Done()` are both ready, so a Go worker may
//!   start a job after the deadline; here `select_biased!` looks at `stop` first, and a worker
//!   checks `stop` again after taking a job (the stop may come just after that look) and hands it
//!   back.
//! - In Go, cancelled and queued jobs just disappear; here each one is counted, and the exit code
//!   (1 after a deadline, 130 after Ctrl-C) says the run was cut short.
//! - Go's shutdown stops *waiting* after its timeout while goroutines run on; here the grace ends
//!   by cancelling the jobs in flight, and every thread is joined before the summary.
//!
//! ## How to run
//! ```sh
//! cargo run -p context-cancel
//! cargo run -p context-cancel -- --deadline-ms 250 --grace-ms 80
//! ```

mod cancellable;
mod handoff;

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use common::event::{Abort, Cancel, CancelCause, Event, WorkerExit};
use common::{Defaults, Detail, InFlight, Job, JobResult, Outcome, PoolArgs, Reporter, Summary, Tally, Work};
use crossbeam::channel::{self, Receiver, Sender, select_biased};
use crossbeam::select;

use cancellable::{is_cancelled, run_until};
use handoff::ready_soon;

/// Cancelling a worker pool on a deadline or Ctrl-C, with a grace period for jobs in flight.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// Cancel the run this many milliseconds after it starts (Go's `context.WithTimeout`).
    #[arg(long, value_name = "MS", default_value = "2000", allow_negative_numbers = true,
          value_parser = common::cli::parse_millis)]
    deadline_ms: u64,

    /// After cancellation, let the jobs in flight run this many milliseconds more before they are
    /// cancelled too (0: cancel them at once). No new job starts during the grace.
    #[arg(long, value_name = "MS", default_value = "0", allow_negative_numbers = true,
          value_parser = common::cli::parse_millis)]
    grace_ms: u64,
}

fn main() -> ExitCode {
    common::main(run)
}

/// The cancellation token: Go's `ctx.Done()`. Nothing is ever sent on its channel (`Infallible`
/// has no values); the token holds the only `Sender`, and cancelling drops it. From then on `recv`
/// on every clone of the `Receiver` returns at once, so one drop wakes every worker.
///
/// Its capacity is 1, not 0, though nothing is ever sent: every worker looks at the token several
/// times per job, and looking at a zero-capacity channel takes its lock (one cache line written by
/// every core in turn), while looking at an empty buffered one only reads two counters.
struct Token {
    sender: Option<Sender<Infallible>>,
    cancelled_at: Option<Instant>,
}

impl Token {
    /// A token and the `Receiver` to clone for everyone who must see the cancellation.
    fn new() -> (Token, Receiver<Infallible>) {
        let (sender, done) = channel::bounded(1);
        let token = Token {
            sender: Some(sender),
            cancelled_at: None,
        };
        (token, done)
    }

    /// Cancels: drops the only Sender (the broadcast). Only the first call does anything.
    fn cancel(&mut self) {
        if let Some(sender) = self.sender.take() {
            drop(sender);
            self.cancelled_at = Some(Instant::now());
        }
    }
}

/// How a job ended, as sent to main: it ran (done or cancelled in flight), or it never started.
enum Ended {
    Ran(JobResult),
    NotStarted(Job),
}

/// Everything a worker needs besides its id.
#[derive(Clone)]
struct WorkerCtx {
    jobs: Receiver<Job>,
    stop: Receiver<Infallible>,
    abort: Receiver<Infallible>,
    ended: Sender<Ended>,
    work: Work,
    gauge: Arc<InFlight>,
    report: Arc<Reporter>,
}

/// One worker: take jobs until `stop` is cancelled or the channel is closed and drained.
/// Returns the instant it exited, for the cancel latency.
fn worker(id: usize, ctx: WorkerCtx) -> Instant {
    let reason = loop {
        // Go: select { case <-ctx.Done(): return; case job, ok := <-jobs: ... }
        // `select_biased!` tries its cases in order, so the stop wins when both are ready (Go's
        // `select`, like crossbeam's `select!`, picks one at random). (`ready_soon`: a thread
        // parked in a select is slow to wake; see handoff.rs.)
        ready_soon(|| !ctx.jobs.is_empty());
        let job = select_biased! {
            recv(ctx.stop) -> _ => break "cancelled",
            recv(ctx.jobs) -> job => match job {
                Ok(job) => job,
                Err(_) => break "no_more_jobs", // closed and drained (Go's `!ok`)
            },
        };
        // The stop may come just after the select looked at it: a job taken then never starts.
        if is_cancelled(&ctx.stop) {
            let _ = ctx.ended.send(Ended::NotStarted(job));
            break "cancelled";
        }
        let in_flight = ctx.gauge.enter();
        ctx.report.started(&job, id);
        let mut outcome = run_until(&ctx.work, &job, &ctx.abort);
        // The clock only where the event is printed: with trivial jobs a read costs more than the job.
        let ended = (!ctx.report.quiet()).then(Instant::now);
        // A job whose work completed just as the abort came is cancelled too: a job is only done
        // if it ended before the abort (its `t_ms` is taken before this check).
        if is_cancelled(&ctx.abort) {
            outcome = Outcome::Cancelled;
        }
        let result = JobResult {
            job,
            worker: id,
            outcome,
        };
        ctx.report.ended(&job, id, &result.outcome, || {
            ended.map_or_else(Detail::default, |at| Detail::default().at(at))
        });
        drop(in_flight);
        if ctx.ended.send(Ended::Ran(result)).is_err() {
            break "collector_gone";
        }
    };
    ctx.report.event(
        || match reason {
            "no_more_jobs" => format!("Worker {id}: no more jobs"),
            _ => format!("Worker {id} cancelled"),
        },
        |t_ms| {
            Event::WorkerExit(WorkerExit {
                worker: id,
                reason: reason.to_owned(),
                t_ms,
            })
        },
    );
    Instant::now()
}

/// How many ends main takes, beyond the one its `select!` received, before it selects again.
const ENDS_PER_SELECT: usize = 64;

/// Main's part of a job's end: report it and count it.
fn collect(ended: Ended, report: &Reporter, tally: &mut Tally) {
    match ended {
        Ended::Ran(result) => {
            report.received(&result);
            tally.record(&result.outcome);
        }
        Ended::NotStarted(job) => {
            report.not_started(&job);
            tally.not_started += 1;
        }
    }
}

/// What a run of the pool produced.
struct PoolRun {
    tally: Tally,
    peak_in_flight: usize,
    cancelled_by: Option<CancelCause>,
    cancelled_at: Option<Instant>,
    aborted_at: Option<Instant>,
    last_worker_exit: Option<Instant>,
    panicked: usize,
}

/// Runs the pool until every job has ended or the run is cancelled by the deadline or by `ctrl_c`
/// becoming ready, with `grace` for the jobs in flight.
fn run_pool(
    args: &PoolArgs,
    deadline: Duration,
    grace: Duration,
    ctrl_c: &Receiver<Infallible>,
    report: &Arc<Reporter>,
) -> anyhow::Result<PoolRun> {
    let gauge = Arc::new(InFlight::new());

    // 1. The two tokens, and the deadline: a channel that receives one message at that instant.
    let (mut stop, stop_rx) = Token::new();
    let (mut abort, abort_rx) = Token::new();
    let deadline_rx = channel::at(Instant::now() + deadline);
    let mut grace_over = channel::never::<Instant>();
    // Ctrl-C's channel stays ready once set: after it fired, main selects on `never` instead.
    let mut ctrl_c = ctrl_c.clone();

    // 2. The jobs channel, and the channel on which every job's end comes back to main.
    let (jobs_tx, jobs_rx) = channel::bounded::<Job>(args.buffer());
    let (ended_tx, ended_rx) = channel::bounded::<Ended>(args.buffer());

    // 3. The workers: each gets clones of the jobs Receiver, of both tokens' Receivers, and of
    //    the `ended` Sender.
    let ctx = WorkerCtx {
        jobs: jobs_rx.clone(),
        stop: stop_rx.clone(),
        abort: abort_rx,
        ended: ended_tx.clone(),
        work: args.work(),
        gauge: Arc::clone(&gauge),
        report: Arc::clone(report),
    };
    let mut workers = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let ctx = ctx.clone();
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, ctx))
            .context("cannot start a worker thread")?;
        workers.push(handle);
    }
    drop(ctx);

    // 4. The producer submits the jobs until it is stopped; dropping `jobs_tx` when it returns
    //    closes the channel (Go's `close(jobs)`). Main keeps `jobs_rx` to drain what is left.
    let mut job_list = args.job_list();
    let producer_ended = ended_tx;
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || {
            for job in job_list.by_ref() {
                ready_soon(|| !jobs_tx.is_full());
                select_biased! {
                    recv(stop_rx) -> _ => {
                        let _ = producer_ended.send(Ended::NotStarted(job));
                        break;
                    }
                    send(jobs_tx, job) -> sent => if let Err(unsent) = sent {
                        let _ = producer_ended.send(Ended::NotStarted(unsent.into_inner()));
                        break;
                    },
                }
            }
            for job in job_list {
                let _ = producer_ended.send(Ended::NotStarted(job));
            }
        })
        .context("cannot start the producer thread")?;

    // 5. Main: collect every job's end, and cancel on the deadline or Ctrl-C, whichever is first.
    let mut tally = Tally::new(args.jobs);
    let mut cancelled_by = None;
    loop {
        let mut cause = None;
        ready_soon(|| !ended_rx.is_empty());
        select! {
            recv(ended_rx) -> ended => match ended {
                // This end, and those already waiting behind it (a bounded number, so the
                // deadline is looked at again soon): one `select!` for many ends in a busy run.
                Ok(ended) => {
                    for ended in std::iter::once(ended).chain(ended_rx.try_iter().take(ENDS_PER_SELECT)) {
                        collect(ended, report, &mut tally);
                    }
                }
                Err(_) => break, // every worker and the producer have exited
            },
            recv(deadline_rx) -> _ => cause = Some(CancelCause::Deadline),
            recv(ctrl_c) -> _ => {
                ctrl_c = channel::never();
                cause = Some(CancelCause::CtrlC);
            },
            recv(grace_over) -> _ => {
                report.event(
                    || "Grace period over: cancelling the jobs still in flight".to_owned(),
                    |t_ms| Event::Abort(Abort { t_ms }),
                );
                abort.cancel(); // the grace is over: cancel the jobs still in flight
            },
        }
        let Some(cause) = cause else { continue };
        if cancelled_by.is_some() {
            abort.cancel(); // a Ctrl-C during the grace period: do not wait for it to end
            continue;
        }
        report.event(
            || {
                let in_flight = if grace.is_zero() {
                    "the jobs in flight are cancelled now".to_owned()
                } else {
                    format!("the jobs in flight get {} ms of grace", grace.as_millis())
                };
                let by = match cause {
                    CancelCause::Deadline => "Deadline reached",
                    CancelCause::CtrlC => "Ctrl-C",
                };
                format!("{by}: no new job starts; {in_flight}")
            },
            |t_ms| {
                Event::Cancel(Cancel {
                    by: cause,
                    grace_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
                    t_ms,
                })
            },
        );
        cancelled_by = Some(cause);
        stop.cancel(); // the broadcast: no worker takes another job, the producer stops
        if grace.is_zero() {
            abort.cancel();
        } else {
            grace_over = channel::after(grace);
        }
    }

    // 6. Join every thread; each worker returns the instant it exited.
    let mut panicked = 0;
    let mut last_worker_exit = None;
    for handle in workers {
        match handle.join() {
            Ok(exited) => last_worker_exit = last_worker_exit.max(Some(exited)),
            Err(_) => panicked += 1,
        }
    }
    if producer.join().is_err() {
        panicked += 1;
    }

    // 7. Jobs still in the channel were submitted but never taken: they never started.
    for job in jobs_rx.try_iter() {
        report.not_started(&job);
        tally.not_started += 1;
    }

    Ok(PoolRun {
        tally,
        peak_in_flight: gauge.peak(),
        cancelled_by,
        cancelled_at: stop.cancelled_at,
        aborted_at: abort.cancelled_at,
        last_worker_exit,
        panicked,
    })
}

fn run() -> anyhow::Result<ExitCode> {
    // Ctrl-C first, before anything else: its channel becomes ready at the first SIGINT or
    // SIGTERM (Go's `signal.Notify`), and main selects on it like on the deadline.
    let ctrl_c = common::signal::ctrl_c()?;
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 20,
        workers: 3,
        work_ms: 100,
    });
    let args = &cli.pool;
    let report = Arc::new(Reporter::new(&args.output));
    let deadline = Duration::from_millis(cli.deadline_ms);
    let grace = Duration::from_millis(cli.grace_ms);

    let run = run_pool(args, deadline, grace, ctrl_c.channel(), &report)?;

    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let latency = match (run.cancelled_at, run.last_worker_exit) {
        (Some(cancelled), Some(exited)) => Some(ms(exited.saturating_duration_since(cancelled))),
        _ => None,
    };
    let mut summary = Summary::new(
        "context-cancel",
        run.tally,
        args.workers,
        run.peak_in_flight,
        report.elapsed(),
    )
    .with_interrupted_at(common::signal::interrupted_at());
    summary = match (run.cancelled_by, run.cancelled_at) {
        (Some(cause), Some(at)) => summary.line(format!(
            "cancelled by {} at {:.1} ms (deadline {} ms, grace {} ms); the last worker exited {:.3} ms after the cancel",
            cause.name(),
            report.t_ms_at(at),
            cli.deadline_ms,
            cli.grace_ms,
            latency.unwrap_or(0.0),
        )),
        _ => summary
            .with_sleep_ideal(args.work(), args.workers)
            .line(format!("finished before the {} ms deadline", cli.deadline_ms)),
    };
    summary = summary
        .field("deadline_ms", cli.deadline_ms)
        .field("grace_ms", cli.grace_ms)
        .field("cancelled_by", run.cancelled_by.map(CancelCause::name))
        .field("cancelled_at_ms", run.cancelled_at.map(|t| report.t_ms_at(t)))
        .field("aborted_at_ms", run.aborted_at.map(|t| report.t_ms_at(t)))
        .field("cancel_latency_ms", latency);
    if run.panicked > 0 {
        summary = summary
            .line(format!("{} thread(s) panicked", run.panicked))
            .field("threads_panicked", run.panicked);
    }
    Ok(report.summary(&summary))
}

#[cfg(test)]
mod tests;
