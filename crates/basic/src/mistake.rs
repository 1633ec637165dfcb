//! `--mistake`: the common mistakes of Go's worker pools, reproduced on purpose so that a reader
//! can watch one happen and be caught (docs/mistakes.md). The lesson is the correct code in
//! `main.rs`; this module holds what the mistakes need besides their few marked lines there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::Outcome;

use clap::ValueEnum;
use common::watchdog::{PoolView, Watchdog};
use common::{InFlight, Job, JobResult, Stop};
use crossbeam::channel::Receiver;

/// A mistake to reproduce (each one is caught: see docs/mistakes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mistake {
    /// Go: forgetting close(jobs). Main keeps a jobs Sender: the workers wait forever for more.
    KeepSender,
    /// Go 002's main: send every job before reading any result. With `--buffer` below the job
    /// count, main waits on a full jobs queue while the workers wait on a full results queue.
    ResultsAfterSubmit,
    /// Go: one goroutine per job. No bound: threads and memory grow with the job count, and
    /// under a thread limit the spawn fails.
    ThreadPerJob,
    /// Go 004's race: the workers count their ok jobs in a shared counter with a separate load
    /// and store (Go: counter++), not one atomic add. Updates made in between are overwritten.
    LostUpdate,
}

impl Mistake {
    pub fn name(self) -> &'static str {
        match self {
            Mistake::KeepSender => "keep-sender",
            Mistake::ResultsAfterSubmit => "results-after-submit",
            Mistake::ThreadPerJob => "thread-per-job",
            Mistake::LostUpdate => "lost-update",
        }
    }
}

/// What the watchdog reads: jobs handed to the queue and results read by main (either grows
/// when a job starts or ends), and who still holds or reads a channel.
#[derive(Debug, Default)]
pub struct Progress {
    pub submitted: AtomicU64,
    pub received: AtomicU64,
    /// Every jobs `Sender` that should exist has been dropped.
    pub jobs_closed: AtomicBool,
    /// Main is reading the results channel.
    pub reading: AtomicBool,
}

impl Progress {
    pub fn count(&self) -> u64 {
        self.submitted.load(Ordering::SeqCst) + self.received.load(Ordering::SeqCst)
    }
}

/// Arms the watchdog over the pool: on no progress it describes the pool ([`PoolView`]).
/// `kept_sender`: main holds a jobs `Sender` it never drops (the keep-sender mistake).
pub fn watch(
    limit: Option<std::time::Duration>,
    stop: &Stop,
    workers: usize,
    (jobs, results): (&Receiver<Job>, &Receiver<JobResult>),
    gauge: &Arc<InFlight>,
    progress: &Arc<Progress>,
    kept_sender: bool,
) -> anyhow::Result<Watchdog> {
    let counted = Arc::clone(progress);
    let (progress, gauge) = (Arc::clone(progress), Arc::clone(gauge));
    // The watchdog only reads the queues' lengths; while it runs, its receivers also mean that a
    // send cannot fail for want of a receiver (it is armed only for a mistake or on request).
    let (jobs, results) = (jobs.clone(), results.clone());
    Watchdog::arm(
        limit,
        stop,
        move || counted.count(),
        move || {
            PoolView {
                workers,
                busy: gauge.current(),
                jobs_queued: jobs.len(),
                jobs_capacity: jobs.capacity(),
                jobs_sender_alive: kept_sender || !progress.jobs_closed.load(Ordering::SeqCst),
                results_queued: results.len(),
                results_capacity: results.capacity(),
                results_read: progress.reading.load(Ordering::SeqCst),
            }
            .diagnose()
        },
    )
}

/// MISTAKE lost-update: a count of ok jobs shared by the workers, updated the way Go's
/// `counter++` is compiled: a load, then a store of the value loaded plus one. Here the load comes
/// when the worker takes its job and the store when the job is done, so the window between them
/// is the job itself: a count stored by another worker meanwhile is overwritten, and lost. (The
/// real `counter++` has a window of nanoseconds, so it loses counts now and then; this one loses
/// them whenever two jobs overlap, which is what a pool is for.) Every access is atomic: there is
/// no data race, and the compiler has nothing to refuse (the data race itself does not compile:
/// `src/lib.rs`). The fix is one read-modify-write, `fetch_add(1)`, or counting on main from the
/// results, as `main.rs` does.
#[derive(Debug, Default)]
pub struct SharedCount(AtomicU64);

impl SharedCount {
    /// Reads the count as the job starts: the value the worker will store back, plus one.
    pub fn load(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// After the job: stores `loaded + 1` if it ended ok, over whatever the count is now.
    pub fn store_after(&self, loaded: u64, outcome: &Outcome) {
        if matches!(outcome, Outcome::Ok(_)) {
            self.0.store(loaded + 1, Ordering::SeqCst);
        }
    }

    /// What the workers counted, and the invariant it breaks when it is not `ok` (the results'
    /// count, read on main).
    pub fn verdict(&self, ok: u64) -> (u64, Option<String>) {
        let counted = self.0.load(Ordering::SeqCst);
        let broken = (counted != ok).then(|| {
            format!(
                "lost update: the workers' shared counter says {counted} job(s) ok, the results say \
                 {ok}: {} increment(s) lost, each overwritten by a store of a count loaded before it \
                 (count with one atomic read-modify-write, fetch_add, or on main from the results)",
                ok.saturating_sub(counted)
            )
        });
        (counted, broken)
    }
}
