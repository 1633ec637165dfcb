//! A no-progress watchdog for the `--mistake` runs: when no job has started or finished for a
//! while, it prints one line naming the likely cause, sets the run's stop, and the run ends with
//! its summary and exit code 3 ([`EXIT_NO_PROGRESS`]).
//!
//! It is armed only by `--mistake` (at [`MISTAKE_LIMIT`]) or an explicit `--watchdog-ms`, never by
//! default: a quiet pool waiting for a restarted server, or a job longer than the limit, is not a
//! hang. The example tells it two things, both read on the watchdog's own thread: a progress
//! count that grows whenever a job starts or ends, and a diagnosis of what its threads wait on
//! ([`PoolView::diagnose`] for a jobs/results pool).
//!
//! A mistake that does not hang (a leak, a wait that returns too early, no bound at all) is
//! reported the same way through a [`Verdict`]: the summary names the invariant it broke.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use crossbeam::channel::{self, RecvTimeoutError, Sender};

use crate::exit::{EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_NO_PROGRESS, EXIT_USAGE};
use crate::report::Summary;
use crate::signal::Stop;

/// The limit under `--mistake` when `--watchdog-ms` is not given.
pub const MISTAKE_LIMIT: Duration = Duration::from_secs(2);

/// `--watchdog-ms`, flattened by the examples that have a `--mistake`.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct WatchdogArgs {
    /// End the run (summary, exit code 3) when no job has started or finished for MS
    /// milliseconds. Off by default; `--mistake` arms it at 2000.
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = parse_limit)]
    pub watchdog_ms: Option<u64>,
}

impl WatchdogArgs {
    /// The limit to arm the watchdog with: `--watchdog-ms`, else [`MISTAKE_LIMIT`] under a
    /// mistake, else none (disarmed).
    pub fn limit(&self, mistake: bool) -> Option<Duration> {
        match self.watchdog_ms {
            Some(ms) => Some(Duration::from_millis(ms)),
            None => mistake.then_some(MISTAKE_LIMIT),
        }
    }
}

/// A limit in whole milliseconds: 1 to one day.
fn parse_limit(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(ms) if (1..=86_400_000).contains(&ms) => Ok(ms),
        _ => Err(format!(
            "--watchdog-ms must be a whole number of milliseconds from 1 to 86400000, got '{s}'"
        )),
    }
}

/// The watchdog: a thread that reads the run's progress count and fires once it has not moved
/// for the limit. [`Watchdog::finish`] (or dropping it) stops and joins that thread.
#[derive(Debug)]
pub struct Watchdog {
    fired: Arc<OnceLock<String>>,
    done: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// A watchdog that never fires (no limit): no thread is started.
    pub fn disarmed() -> Self {
        Watchdog {
            fired: Arc::new(OnceLock::new()),
            done: None,
            thread: None,
        }
    }

    /// Arms a watchdog with `limit` (none: [`Watchdog::disarmed`]). `progress` must grow whenever
    /// a job starts or ends; `diagnose` says what the threads wait on, when it fires. Firing
    /// prints `no progress for X s: <diagnosis>` on stderr and sets `stop`. A stop set by anyone
    /// else (Ctrl-C) ends the watch: an interrupted run is never reported as a hang.
    pub fn arm(
        limit: Option<Duration>,
        stop: &Stop,
        progress: impl Fn() -> u64 + Send + 'static,
        diagnose: impl Fn() -> String + Send + 'static,
    ) -> anyhow::Result<Self> {
        let Some(limit) = limit else {
            return Ok(Self::disarmed());
        };
        let fired = Arc::new(OnceLock::new());
        let (done, done_rx) = channel::bounded::<()>(0);
        let tick = (limit / 20).clamp(Duration::from_millis(1), Duration::from_millis(50));
        let (on_fire, stop) = (Arc::clone(&fired), stop.clone());
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let (mut last, mut since) = (progress(), Instant::now());
                loop {
                    match done_rx.recv_timeout(tick) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return, // finished, or the watchdog was dropped
                    }
                    if stop.is_set() {
                        return;
                    }
                    let now = progress();
                    if now != last {
                        (last, since) = (now, Instant::now());
                    } else if since.elapsed() >= limit {
                        let line = format!(
                            "no progress for {:.1} s: {}",
                            since.elapsed().as_secs_f64(),
                            diagnose()
                        );
                        eprintln!("{line}");
                        let _ = on_fire.set(line);
                        stop.set();
                        return;
                    }
                }
            })
            .context("cannot start the watchdog thread")?;
        Ok(Watchdog {
            fired,
            done: Some(done),
            thread: Some(thread),
        })
    }

    /// The line the watchdog printed, once it has fired.
    pub fn fired(&self) -> Option<&str> {
        self.fired.get().map(String::as_str)
    }

    /// Stops the watch and joins its thread (before the summary counts the threads); returns the
    /// line it printed if it fired.
    pub fn finish(mut self) -> Option<String> {
        self.stop_thread();
        self.fired.get().cloned()
    }

    fn stop_thread(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join(); // it only reads counters and prints one line
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// What a jobs/results pool knows about itself when the watchdog fires: enough to say which
/// threads wait on what, and so to name the likely mistake.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolView {
    pub workers: usize,
    /// Workers inside a job right now.
    pub busy: usize,
    pub jobs_queued: usize,
    pub jobs_capacity: Option<usize>,
    /// Some `Sender` of the jobs channel is still alive (the channel is not closed).
    pub jobs_sender_alive: bool,
    pub results_queued: usize,
    pub results_capacity: Option<usize>,
    /// Somebody is reading the results channel right now.
    pub results_read: bool,
}

impl PoolView {
    /// One line: which threads wait on what, and the likely mistake.
    pub fn diagnose(&self) -> String {
        let idle = self.workers.saturating_sub(self.busy);
        let full = |queued: usize, capacity: Option<usize>| capacity.is_some_and(|c| queued >= c);
        let of = |queued: usize, capacity: Option<usize>| match capacity {
            Some(c) => format!("{queued} of {c}"),
            None => queued.to_string(),
        };
        if full(self.results_queued, self.results_capacity) && !self.results_read {
            let submitter = if full(self.jobs_queued, self.jobs_capacity) && self.jobs_sender_alive {
                format!(
                    ", and the submitter waits on a full jobs queue ({})",
                    of(self.jobs_queued, self.jobs_capacity)
                )
            } else {
                String::new()
            };
            return format!(
                "{idle} worker(s) wait to send on a full results queue ({}) that nobody reads{submitter} — \
                 are the results read only after every job is submitted (read them while submitting)?",
                of(self.results_queued, self.results_capacity)
            );
        }
        if self.busy == 0 && self.jobs_queued == 0 && self.jobs_sender_alive {
            return format!(
                "{idle} worker(s) wait for jobs, the jobs queue is empty and still has a sender — \
                 was it dropped (Go: close(jobs))?"
            );
        }
        format!(
            "{} of {} worker(s) inside a job, jobs queue {}, results queue {} — a job that never ends?",
            self.busy,
            self.workers,
            of(self.jobs_queued, self.jobs_capacity),
            of(self.results_queued, self.results_capacity)
        )
    }
}

/// How a `--mistake` run ended, for its summary and exit code: the mistake's name, the
/// watchdog's line if it fired, the invariant the run broke, and the threads it leaked on
/// purpose (the harness accepts `threads_alive_at_exit` = `threads_leaked` only in a summary that
/// names its `mistake`).
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub mistake: Option<&'static str>,
    pub no_progress: Option<String>,
    pub broken_invariant: Option<String>,
    pub threads_leaked: usize,
}

impl Verdict {
    /// The summary with the verdict's fields (`mistake`, `no_progress`, `broken_invariant`,
    /// `threads_leaked`) and lines; unchanged for a run without a mistake or a watchdog line.
    pub fn apply(&self, mut summary: Summary) -> Summary {
        if let Some(mistake) = self.mistake {
            summary = summary
                .field("mistake", mistake)
                .line(format!("mistake reproduced on purpose: --mistake {mistake}"));
        }
        if let Some(line) = &self.no_progress {
            summary = summary
                .field("no_progress", line.as_str())
                .line(format!("watchdog: {line}"));
        }
        if let Some(broken) = &self.broken_invariant {
            summary = summary
                .field("broken_invariant", broken.as_str())
                .line(format!("broken invariant: {broken}"));
        }
        if self.mistake.is_some() && self.threads_leaked > 0 {
            summary = summary.field("threads_leaked", self.threads_leaked);
        }
        summary
    }

    /// 130 if Ctrl-C came first, 2 for an error, 3 if the watchdog fired, 1 for a broken
    /// invariant, else the summary's own code.
    pub fn exit_code(&self, summary: &Summary) -> ExitCode {
        ExitCode::from(self.code(summary))
    }

    fn code(&self, summary: &Summary) -> u8 {
        if summary.interrupted {
            EXIT_INTERRUPTED
        } else if summary.error.is_some() {
            EXIT_USAGE
        } else if self.no_progress.is_some() {
            EXIT_NO_PROGRESS
        } else if self.broken_invariant.is_some() {
            EXIT_INCOMPLETE
        } else {
            summary.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::report::Tally;

    #[test]
    fn it_fires_only_without_progress_and_sets_the_stop() {
        let stop = Stop::new();
        let count = Arc::new(AtomicU64::new(0));
        let progress = {
            let count = Arc::clone(&count);
            move || count.load(Ordering::SeqCst)
        };
        let dog = Watchdog::arm(Some(Duration::from_millis(100)), &stop, progress, || {
            "stuck".into()
        })
        .expect("armed");
        // Progress every 20 ms for 300 ms: no alarm.
        for _ in 0..15 {
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(dog.fired().is_none() && !stop.is_set());
        let _ = stop.channel().recv_timeout(Duration::from_secs(10));
        assert!(stop.is_set());
        let line = dog.finish().expect("fired");
        assert!(line.starts_with("no progress for 0.1 s: stuck"), "{line}");
    }

    #[test]
    fn disarmed_or_stopped_it_never_fires() {
        let stop = Stop::new();
        assert!(
            Watchdog::arm(None, &stop, || 0, String::new)
                .expect("disarmed")
                .finish()
                .is_none()
        );
        let dog = Watchdog::arm(Some(Duration::from_millis(50)), &stop, || 0, String::new).expect("armed");
        stop.set(); // Ctrl-C first
        std::thread::sleep(Duration::from_millis(150));
        assert!(dog.finish().is_none());
        assert_eq!(WatchdogArgs::default().limit(false), None);
        assert_eq!(WatchdogArgs::default().limit(true), Some(MISTAKE_LIMIT));
        assert!(parse_limit("0").is_err() && parse_limit("-1").is_err() && parse_limit("x").is_err());
    }

    #[test]
    fn the_diagnosis_names_the_likely_mistake() {
        let kept_sender = PoolView {
            workers: 3,
            jobs_capacity: Some(10),
            jobs_sender_alive: true,
            results_capacity: Some(10),
            ..PoolView::default()
        };
        assert!(
            kept_sender
                .diagnose()
                .starts_with("3 worker(s) wait for jobs, the jobs queue is empty and still has a sender"),
            "{}",
            kept_sender.diagnose()
        );
        let results_after_submit = PoolView {
            jobs_queued: 1,
            results_queued: 1,
            results_capacity: Some(1),
            ..kept_sender
        };
        let line = results_after_submit.diagnose();
        assert!(
            line.contains("full results queue (1 of 1) that nobody reads"),
            "{line}"
        );
        assert!(!line.contains("a full jobs queue"), "{line}");
        let both_full = PoolView {
            jobs_capacity: Some(1),
            ..results_after_submit
        };
        assert!(
            both_full
                .diagnose()
                .contains("the submitter waits on a full jobs queue (1 of 1)")
        );
        let busy = PoolView {
            busy: 3,
            ..kept_sender
        };
        assert!(busy.diagnose().contains("a job that never ends?"));
    }

    #[test]
    fn the_verdict_sets_the_fields_and_the_exit_code() {
        let summary = || {
            Summary::new(
                "t",
                Tally {
                    submitted: 1,
                    ok: 1,
                    ..Tally::default()
                },
                1,
                1,
                Duration::ZERO,
            )
        };
        let none = Verdict::default();
        assert_eq!(none.code(&summary()), 0);
        assert!(
            none.apply(summary())
                .to_event(Some(0), None, None)
                .extra
                .is_empty()
        );
        let hung = Verdict {
            mistake: Some("keep-sender"),
            no_progress: Some("no progress for 2.0 s: x".into()),
            ..Verdict::default()
        };
        assert_eq!(hung.code(&summary()), EXIT_NO_PROGRESS);
        let event = hung.apply(summary()).to_event(Some(0), None, None);
        assert_eq!(
            event.extra.get("mistake").and_then(|v| v.as_str()),
            Some("keep-sender")
        );
        let leaked = Verdict {
            mistake: Some("leak-generator"),
            broken_invariant: Some("I5 threads".into()),
            threads_leaked: 5,
            ..Verdict::default()
        };
        assert_eq!(leaked.code(&summary()), EXIT_INCOMPLETE);
        assert_eq!(
            leaked
                .apply(summary())
                .to_event(Some(5), None, None)
                .count("threads_leaked"),
            Some(5)
        );
        assert_eq!(
            hung.code(&summary().with_interrupted_at(Some(Instant::now()))),
            EXIT_INTERRUPTED
        );
    }
}
