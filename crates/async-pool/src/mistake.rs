//! `--mistake block-runtime`, reproduced on purpose so that a reader can watch it happen and be
//! caught (docs/mistakes.md), and the timer lateness every sleep job measures, which catches it.
//! The lesson is the correct code in `main.rs`; this module holds what the mistake needs besides
//! its marked lines there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::ValueEnum;

/// A mistake to reproduce (caught: see docs/mistakes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mistake {
    /// CPU work called in the async fn: after its wait each job blocks its runtime thread (cpu
    /// jobs run their check in place), and the other tasks' timers fire late.
    BlockRuntime,
}

impl Mistake {
    pub fn name(self) -> &'static str {
        match self {
            Mistake::BlockRuntime => "block-runtime",
        }
    }
}

/// The block-runtime mistake's CPU work: after its wait, each job holds its runtime thread for its
/// share of one wait per thread (wait × threads / tasks). A round of `tasks` jobs whose timers
/// come due together thus holds every runtime thread for about one wait, and the last task of
/// the round runs again about one wait late, whatever the concurrency (and a run lasts about
/// twice its ideal).
#[derive(Debug, Clone, Copy)]
pub struct BlockRuntime {
    pub runtime_threads: usize,
    pub tasks: usize,
}

impl BlockRuntime {
    /// How long a job that waited `wait` blocks its thread.
    pub fn cpu_part(&self, wait: Duration) -> Duration {
        wait.mul_f64(self.runtime_threads as f64 / self.tasks.max(1) as f64)
    }

    /// The CPU part, called in place on a runtime thread. A blocking sleep stands for the CPU
    /// work: a busy loop, a blocking read or a lock held as long hold the thread the same way
    /// (and a busy loop would also burn a core of a shared machine).
    pub fn cpu_work_in_place(&self, wait: Duration) {
        std::thread::sleep(self.cpu_part(wait));
    }
}

/// How late the sleep jobs' timers were: for each job, from the instant its sleep was due to the
/// instant its task ran again. On a free runtime that is the timer's millisecond tick plus the
/// wake-up; a runtime thread held by blocking work adds the time it is held.
#[derive(Debug)]
pub struct Lateness {
    /// A job counts as late at or above this (half of --work-ms, at least 1 ms).
    late_at: Duration,
    timers: AtomicU64,
    late: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Lateness {
    pub fn new(work: Duration) -> Self {
        Lateness {
            late_at: (work / 2).max(Duration::from_millis(1)),
            timers: AtomicU64::new(0),
            late: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    /// One sleep that ended on its timer, `late` after it was due.
    pub fn record(&self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        self.timers.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
        if late >= self.late_at {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sleeps that ended on their timer.
    pub fn timers(&self) -> u64 {
        self.timers.load(Ordering::Relaxed)
    }

    /// Sleeps whose task ran again at least half of --work-ms after the timer was due.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us.load(Ordering::Relaxed) as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        let n = self.timers().max(1);
        self.sum_us.load(Ordering::Relaxed) as f64 / 1000.0 / n as f64
    }

    /// A block-runtime run's verdict: `Ok` with the broken invariant (timers on time) in one line
    /// naming the cause and the fix, or `Err` with a line saying the mistake did not show (no
    /// timer was late: every task that became ready found a free runtime thread).
    pub fn verdict(&self, work: Duration, mistake: BlockRuntime) -> Result<String, String> {
        let (blocked, runtime_threads, tasks) =
            (mistake.cpu_part(work), mistake.runtime_threads, mistake.tasks);
        let (late, timers) = (self.late(), self.timers());
        if timers == 0 || blocked.is_zero() {
            return Err(
                "block-runtime did not show: it needs jobs that sleep on a timer and then block \
                 (--workload sleep with --work-ms above 0)"
                    .to_owned(),
            );
        }
        if late == 0 {
            return Err(format!(
                "block-runtime did not show: no timer was {} ms late; {tasks} task(s) found a free thread among \
                 the runtime's {runtime_threads} (run more tasks than threads: --concurrency above {runtime_threads})",
                self.late_at.as_millis()
            ));
        }
        Ok(format!(
            "timers on time: {late} of {timers} sleeping job(s) ran again {} ms or more after their timer was due \
             (at most {:.0} ms, mean {:.0} ms): {tasks} task(s) each blocked one of the runtime's {runtime_threads} \
             thread(s) for {:.1} ms after their wait — CPU work called in an async fn holds its thread: run it in \
             task::spawn_blocking or on a pool of its own",
            self.late_at.as_millis(),
            self.max_ms(),
            self.mean_ms(),
            blocked.as_secs_f64() * 1000.0
        ))
    }
}
