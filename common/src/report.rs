//! Reporting: the same events as human lines (the Go originals' wording) or as JSON lines.
//!
//! JSON events (one object per line; the contract is docs/events.md): `started`, `finished`
//! (terminal: outcome `ok` | `failed` | `cancelled`), `not_started` (terminal: a submitted job
//! that never reached a worker), the general and example kinds, and one final `summary`. The
//! lines go to stdout, or to the sink a test gives ([`Reporter::with_sink`], [`Capture`]).

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{self, Event, ExampleEvent, Fields, OutcomeKind};
use crate::exit::{EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error_line};
use crate::job::{JobRef, JobResult, Outcome};
use crate::work::{Work, WorkDist, Workload};

/// How an example prints: `--json` and `--quiet`, flattened by every example (`PoolArgs`
/// includes it).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Print one JSON object per line on stdout instead of human-readable lines.
    #[arg(long)]
    pub json: bool,

    /// Print only the summary (no per-job lines or events).
    #[arg(long)]
    pub quiet: bool,
}

/// Prints events as they happen. Shared by reference between workers (`&Reporter` or `Arc`).
#[derive(Debug)]
pub struct Reporter {
    json: bool,
    quiet: bool,
    start: Instant,
    sink: Sink,
}

/// Where the lines go.
enum Sink {
    Stdout,
    Writer(Mutex<Box<dyn Write + Send>>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Stdout => "Stdout",
            Sink::Writer(_) => "Writer",
        })
    }
}

impl Reporter {
    /// A reporter for `--json` / `--quiet` that prints on stdout; its clock (`t_ms`) starts now.
    pub fn new(args: &OutputArgs) -> Self {
        Self::with_flags(args.json, args.quiet)
    }

    pub fn with_flags(json: bool, quiet: bool) -> Self {
        Reporter {
            json,
            quiet,
            start: Instant::now(),
            sink: Sink::Stdout,
        }
    }

    /// The same reporter writing its lines to `sink` instead of stdout (a test's [`Capture`]).
    pub fn with_sink(self, sink: impl Write + Send + 'static) -> Self {
        Reporter {
            sink: Sink::Writer(Mutex::new(Box::new(sink))),
            ..self
        }
    }

    /// A reporter whose clock started at `start` (for a run whose clock starts before its
    /// arguments are parsed).
    pub fn starting_at(args: &OutputArgs, start: Instant) -> Self {
        Reporter {
            start,
            ..Self::new(args)
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Time since the reporter was created.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// When the reporter's clock started.
    pub fn started_instant(&self) -> Instant {
        self.start
    }

    /// Milliseconds since the reporter was created, to the microsecond.
    pub fn t_ms(&self) -> f64 {
        round3(self.start.elapsed().as_secs_f64() * 1000.0)
    }

    /// Milliseconds from the reporter's start to `at`.
    pub fn t_ms_at(&self, at: Instant) -> f64 {
        round3(at.saturating_duration_since(self.start).as_secs_f64() * 1000.0)
    }

    /// "Worker 2 started job 5" / `{"event":"started",...}`.
    pub fn started(&self, job: &impl JobRef, worker: usize) {
        if self.quiet {
            return; // not even a clock read: with trivial jobs it would cost more than the job
        }
        self.started_detail(job, worker, Detail::default);
    }

    /// The standard `started` event plus an example's own detail (see [`Detail`]): its fields,
    /// its human line, or the instant the job began ([`Detail::at`], for a job reported later by
    /// another thread; else now).
    pub fn started_detail(&self, job: &impl JobRef, worker: usize, detail: impl FnOnce() -> Detail) {
        if self.quiet {
            return;
        }
        let Detail {
            human, fields, at, ..
        } = detail();
        if !self.json {
            self.emit(&human.unwrap_or_else(|| format!("Worker {worker} started job {}", job.id())));
            return;
        }
        self.emit_json(&Event::Started(event::Started {
            job: job.id(),
            worker,
            value: job.value(),
            t_ms: self.t_ms_at(at.unwrap_or_else(Instant::now)),
            detail: clean(fields),
        }));
    }

    /// "Worker 2 finished job 5" / `{"event":"finished",...,"outcome":"ok","output":10}`.
    /// Call it on the worker, before the job leaves the in-flight gauge: `t_ms` is now.
    #[inline]
    pub fn finished(&self, result: &JobResult) {
        if self.quiet {
            return;
        }
        self.ended(&result.job, result.worker, &result.outcome, Detail::default);
    }

    /// The terminal event of any job, with an example's own detail (see [`Detail`]): `finished`
    /// for a job that ran, `not_started` for [`Outcome::NotStarted`]. `t_ms` is now, or the
    /// instant the job ended ([`Detail::at`], for a result reported later by another thread).
    pub fn ended(
        &self,
        job: &impl JobRef,
        worker: usize,
        outcome: &Outcome,
        detail: impl FnOnce() -> Detail,
    ) {
        if self.quiet {
            return;
        }
        let id = job.id();
        let (kind, output, reason) = match outcome {
            Outcome::Ok(output) => (OutcomeKind::Ok, Some(*output), None),
            Outcome::Failed(reason) => (OutcomeKind::Failed, None, Some(reason.clone())),
            Outcome::Cancelled => (OutcomeKind::Cancelled, None, None),
            Outcome::NotStarted => return self.not_started_detail(job, detail),
        };
        let Detail {
            human, fields, at, ..
        } = detail();
        if !self.json {
            self.emit(&human.unwrap_or_else(|| match outcome {
                Outcome::Failed(reason) => format!("Worker {worker} failed job {id}: {reason}"),
                Outcome::Cancelled => format!("Worker {worker} cancelled job {id}"),
                _ => format!("Worker {worker} finished job {id}"),
            }));
            return;
        }
        self.emit_json(&Event::Finished(event::Finished {
            job: id,
            worker,
            value: job.value(),
            outcome: kind,
            output,
            reason,
            t_ms: self.t_ms_at(at.unwrap_or_else(Instant::now)),
            detail: clean(fields),
        }));
    }

    /// The collector's line, "Result received: job 5 -> 10" (human form only: in JSON the
    /// `finished` event already carries the result).
    pub fn received(&self, result: &JobResult) {
        if self.json || self.quiet {
            return;
        }
        let job = result.job.id;
        let line = match &result.outcome {
            Outcome::Ok(output) => format!("Result received: job {job} -> {output}"),
            Outcome::Failed(reason) => format!("Result received: job {job} failed: {reason}"),
            Outcome::Cancelled => format!("Result received: job {job} cancelled"),
            Outcome::NotStarted => format!("Result received: job {job} never started"),
        };
        self.emit(&line);
    }

    /// A submitted job that never reached a worker (after a stop).
    pub fn not_started(&self, job: &impl JobRef) {
        self.not_started_detail(job, Detail::default);
    }

    /// The standard `not_started` event plus an example's own detail (see [`Detail`]), such as
    /// why the job never ran ([`Detail::reason`]: refused by a full queue, dropped, stopped).
    pub fn not_started_detail(&self, job: &impl JobRef, detail: impl FnOnce() -> Detail) {
        if self.quiet {
            return;
        }
        let Detail {
            human,
            fields,
            at,
            reason,
        } = detail();
        if !self.json {
            self.emit(&human.unwrap_or_else(|| match &reason {
                Some(reason) => format!("Job {} never started: {reason}", job.id()),
                None => format!("Job {} never started", job.id()),
            }));
            return;
        }
        self.emit_json(&Event::NotStarted(event::NotStarted {
            job: job.id(),
            value: job.value(),
            reason,
            t_ms: self.t_ms_at(at.unwrap_or_else(Instant::now)),
            detail: clean(fields),
        }));
    }

    /// A free line for people (not printed with `--json` or `--quiet`).
    pub fn note(&self, text: impl Display) {
        if !self.json && !self.quiet {
            self.emit(&text.to_string());
        }
    }

    /// A general event (`cancel`, `abort`, `worker_exit`): `human` in the default form; with
    /// `--json`, the event `make` builds from the current `t_ms`. Suppressed by `--quiet`.
    pub fn event(&self, human: impl FnOnce() -> String, make: impl FnOnce(f64) -> Event) {
        if self.quiet {
            return;
        }
        if self.json {
            self.emit_json(&make(self.t_ms()));
        } else {
            self.emit(&human());
        }
    }

    /// An event kind of one example's own, defined in its crate (see [`ExampleEvent`]):
    /// `{"event":KIND,...its fields}`, else as [`Reporter::event`].
    pub fn example_event<E: ExampleEvent>(
        &self,
        human: impl FnOnce() -> String,
        make: impl FnOnce(f64) -> E,
    ) {
        if self.quiet {
            return;
        }
        if self.json {
            self.emit_json(&event::Tagged(&make(self.t_ms())));
        } else {
            self.emit(&human());
        }
    }

    /// Prints the closing summary (always, also with `--quiet`) and returns the exit code the
    /// convention gives. Call it after every worker thread has been joined: it counts the threads
    /// still alive.
    pub fn summary(&self, summary: &Summary) -> ExitCode {
        let alive = crate::threads::alive_beyond_main();
        let rss = crate::threads::peak_rss_kb();
        // A Ctrl-C that came after the example measured its wall time, but before this summary,
        // still stops the run (exit 130): the wall time then reaches to it, so that no Ctrl-C is
        // later than `wall_ms`.
        let extended;
        let summary = match summary.interrupted_at {
            Some(at) if at > self.started_instant() + summary.wall => {
                extended = Summary {
                    wall: at.duration_since(self.started_instant()),
                    ..summary.clone()
                };
                &extended
            }
            _ => summary,
        };
        let interrupted_at = summary.interrupted_at.map(|at| self.t_ms_at(at));
        if self.json {
            self.emit_json(&Event::Summary(summary.to_event(alive, rss, interrupted_at)));
        } else {
            self.emit(&summary.to_human(alive, rss));
        }
        if let Some(error) = &summary.error {
            print_error_line(error);
        }
        ExitCode::from(summary.exit_code())
    }

    fn emit_json(&self, event: &impl Serialize) {
        match serde_json::to_string(event) {
            Ok(line) => self.emit(&line),
            // Cannot happen: the events are plain structs with string keys.
            Err(e) => eprintln!("error: cannot print an event as JSON: {e}"),
        }
    }

    /// One line on the sink. A closed stdout (say, piped into `head`) is not worth a panic: the
    /// run's result is still carried by the exit code, so write errors are ignored on purpose.
    fn emit(&self, line: &str) {
        match &self.sink {
            Sink::Stdout => {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
            Sink::Writer(writer) => {
                let _ = writeln!(writer.lock().unwrap_or_else(PoisonError::into_inner), "{line}");
            }
        }
    }
}

/// An in-memory sink a test reads back: give a clone to [`Reporter::with_sink`], then read the
/// lines or the parsed events.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Every line written so far, parsed as an event.
    pub fn events(&self) -> Result<Vec<Event>, serde_json::Error> {
        self.text().lines().map(event::parse_line).collect()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An example's own detail for a standard event (`started`, `finished`, `not_started`): the
/// human line to print instead of the standard one, and JSON fields added after the standard
/// fields (a standard field is never replaced, so the schema cannot drift).
#[derive(Debug, Clone, Default)]
pub struct Detail {
    human: Option<String>,
    fields: Map<String, Value>,
    at: Option<Instant>,
    reason: Option<String>,
}

impl Detail {
    /// The human line to print instead of the standard one.
    pub fn human(mut self, line: impl Into<String>) -> Self {
        self.human = Some(line.into());
        self
    }

    /// A JSON field added to the event (a standard field's name is ignored).
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// When the event happened, for one reported later by another thread (else: now).
    pub fn at(mut self, at: Instant) -> Self {
        self.at = Some(at);
        self
    }

    /// Why a job never started (`not_started`'s `reason`); a failed job's reason is its outcome's.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// An example's fields without the standard names, which it may not replace.
fn clean(mut fields: Fields) -> Fields {
    fields.retain(|key, _| !event::STANDARD_FIELDS.contains(&key.as_str()));
    fields
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// How the submitted jobs ended. `submitted = ok + failed + cancelled + not_started` once every
/// job is accounted for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub submitted: u64,
    pub ok: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub not_started: u64,
}

impl Tally {
    /// A tally of `submitted` jobs, none ended yet.
    pub fn new(submitted: u64) -> Self {
        Tally {
            submitted,
            ..Tally::default()
        }
    }

    /// Counts one ended job.
    #[inline]
    pub fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Ok(_) => self.ok += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Cancelled => self.cancelled += 1,
            Outcome::NotStarted => self.not_started += 1,
        }
    }

    /// Jobs that ran (ok, failed or cancelled in flight).
    pub fn ran(&self) -> u64 {
        self.ok + self.failed + self.cancelled
    }

    /// Jobs with a terminal outcome so far.
    pub fn accounted(&self) -> u64 {
        self.ok + self.failed + self.cancelled + self.not_started
    }
}

/// The summary's standard fields, which an example's own fields may not replace.
const SUMMARY_FIELDS: &[&str] = &[
    "event",
    "pattern",
    "submitted",
    "ok",
    "failed",
    "cancelled",
    "not_started",
    "workers",
    "peak_in_flight",
    "max_in_flight",
    "wall_ms",
    "ideal_ms",
    "efficiency",
    "interrupted",
    "interrupted_at_ms",
    "threads_alive_at_exit",
    "peak_rss_kb",
    "error",
];

/// The closing summary of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub pattern: String,
    pub tally: Tally,
    pub workers: usize,
    pub peak_in_flight: usize,
    pub wall: Duration,
    /// An ideal wall time set by the example ([`Summary::with_ideal`]).
    ideal: Option<Duration>,
    /// The sleep workload's work and workers, for [`Summary::ideal`].
    sleep_ideal: Option<(Work, usize)>,
    /// Failed jobs that did no work (a panic before it), which the ideal leaves out.
    failed_at_once: u64,
    max_in_flight: Option<usize>,
    pub interrupted: bool,
    /// When the Ctrl-C that stopped the run arrived ([`Summary::with_interrupted_at`]).
    interrupted_at: Option<Instant>,
    /// The error that stopped the run early ([`Summary::with_error`]).
    pub error: Option<String>,
    extra: Map<String, Value>,
    lines: Vec<String>,
}

impl Summary {
    pub fn new(pattern: &str, tally: Tally, workers: usize, peak_in_flight: usize, wall: Duration) -> Self {
        Summary {
            pattern: pattern.to_owned(),
            tally,
            workers,
            peak_in_flight,
            wall,
            ideal: None,
            sleep_ideal: None,
            failed_at_once: 0,
            max_in_flight: None,
            interrupted: false,
            interrupted_at: None,
            error: None,
            extra: Map::new(),
            lines: Vec::new(),
        }
    }

    /// Sets the ideal time for the `sleep` workload on `workers` workers: ceil(jobs / workers) ×
    /// work, or with a `--work-dist` the sum of the jobs' drawn durations over the workers, over
    /// the jobs that did their work (see [`Summary::ideal`]).
    pub fn with_sleep_ideal(mut self, work: Work, workers: usize) -> Self {
        if work.workload == Workload::Sleep {
            self.sleep_ideal = Some((work, workers));
        }
        self
    }

    /// `n` of the failed jobs failed at once, before their work (a planned panic): the sleep
    /// ideal leaves them out, so that `efficiency` stays at most 1.
    pub fn with_failed_at_once(mut self, n: u64) -> Self {
        self.failed_at_once = n;
        self
    }

    /// Sets the ideal wall time directly (an example whose ideal is not the sleep workload's).
    pub fn with_ideal(mut self, ideal: Duration) -> Self {
        self.ideal = Some(ideal);
        self
    }

    /// The best possible wall time for the work that ran, where one is defined: for the sleep
    /// workload ceil(worked / workers) × work, where `worked` leaves out the jobs that did no
    /// work ([`Summary::with_failed_at_once`]); with a `--work-dist` other than `fixed`, the sum
    /// of the worked jobs' drawn durations over the workers (the longest left out for the jobs
    /// that did no work, whose ids the summary does not know), a lower bound all the same. `None` when some job never started or was
    /// cancelled in flight, or the run was stopped (by Ctrl-C or an error), since the wall time
    /// then measures the stop.
    pub fn ideal(&self) -> Option<Duration> {
        let t = &self.tally;
        if t.not_started > 0 || t.cancelled > 0 || self.interrupted || self.error.is_some() {
            return None;
        }
        if let Some((work, workers)) = self.sleep_ideal {
            let worked = t.ran().saturating_sub(self.failed_at_once);
            if worked == 0 || workers == 0 {
                return None;
            }
            if work.dist != WorkDist::Fixed {
                let total = work.total_sleep(t.ran(), self.failed_at_once);
                return Some(total / u32::try_from(workers).unwrap_or(u32::MAX));
            }
            let rounds = u32::try_from(worked.div_ceil(workers as u64)).unwrap_or(u32::MAX);
            return Some(work.duration.saturating_mul(rounds));
        }
        self.ideal
    }

    /// The bound on jobs in flight, where it is not `workers` (a semaphore's cap, say).
    pub fn with_max_in_flight(mut self, bound: usize) -> Self {
        self.max_in_flight = Some(bound);
        self
    }

    /// Tells the summary whether, and when, a Ctrl-C stopped the run: pass
    /// `common::signal::interrupted_at()` (the summary reads no signal state itself).
    pub fn with_interrupted_at(mut self, at: Option<Instant>) -> Self {
        self.interrupted = at.is_some();
        self.interrupted_at = at;
        self
    }

    /// The run stopped early on `error` (a broker that refuses commands, say): the summary still
    /// counts what it did, carries the error, and the exit code is 2 (130 if Ctrl-C came first).
    /// [`Reporter::summary`] also prints the error as the one line on stderr.
    pub fn with_error(mut self, error: impl Display) -> Self {
        self.error = Some(error.to_string());
        self
    }

    /// Adds an example-specific field to the JSON summary (never rename the standard ones).
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a line to the human summary.
    pub fn line(mut self, text: impl Display) -> Self {
        self.lines.push(text.to_string());
        self
    }

    pub fn efficiency(&self) -> Option<f64> {
        let ideal = self.ideal()?.as_secs_f64();
        let wall = self.wall.as_secs_f64();
        (wall > 0.0).then(|| ideal / wall)
    }

    /// 130 if interrupted; 2 if an error stopped the run; 1 if some job failed, was cancelled or
    /// never started; else 0.
    pub fn exit_code(&self) -> u8 {
        let t = &self.tally;
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if self.error.is_some() {
            EXIT_USAGE
        } else if t.failed + t.cancelled + t.not_started > 0 || t.accounted() != t.submitted {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        }
    }

    /// The summary event, as `--json` prints it.
    pub fn to_event(
        &self,
        threads_alive_at_exit: Option<usize>,
        peak_rss_kb: Option<u64>,
        interrupted_at_ms: Option<f64>,
    ) -> event::RunSummary {
        let t = &self.tally;
        let mut extra = self.extra.clone();
        extra.retain(|key, _| !SUMMARY_FIELDS.contains(&key.as_str()));
        event::RunSummary {
            pattern: self.pattern.clone(),
            submitted: t.submitted,
            ok: t.ok,
            failed: t.failed,
            cancelled: t.cancelled,
            not_started: t.not_started,
            workers: self.workers,
            peak_in_flight: self.peak_in_flight,
            max_in_flight: self.max_in_flight,
            wall_ms: round3(self.wall.as_secs_f64() * 1000.0),
            ideal_ms: self.ideal().map(|d| round3(d.as_secs_f64() * 1000.0)),
            efficiency: self.efficiency().map(round3),
            interrupted: self.interrupted,
            interrupted_at_ms: interrupted_at_ms.filter(|_| self.interrupted),
            threads_alive_at_exit,
            peak_rss_kb,
            error: self.error.clone(),
            extra,
        }
    }

    pub fn to_human(&self, threads_alive_at_exit: Option<usize>, peak_rss_kb: Option<u64>) -> String {
        let t = &self.tally;
        let mut out = format!(
            "\nSummary ({}): {} jobs on {} workers: {} ok, {} failed, {} cancelled, {} never started{}\n",
            self.pattern,
            t.submitted,
            self.workers,
            t.ok,
            t.failed,
            t.cancelled,
            t.not_started,
            if self.interrupted {
                " (interrupted by Ctrl-C)"
            } else {
                ""
            },
        );
        out += &format!("  wall time {:.1} ms", self.wall.as_secs_f64() * 1000.0);
        if let Some(eff) = self.efficiency() {
            out += &format!(", efficiency {:.1}% of ideal", eff * 100.0);
        }
        out += "\n";
        for line in &self.lines {
            out += &format!("  {line}\n");
        }
        if let Some(error) = &self.error {
            out += &format!("  stopped early by an error: {error}\n");
        }
        match self.max_in_flight {
            Some(bound) => {
                out += &format!(
                    "  peak jobs in flight: {} (bound: {bound}, workers: {})\n",
                    self.peak_in_flight, self.workers
                )
            }
            None => {
                out += &format!(
                    "  peak jobs in flight: {} (workers: {})\n",
                    self.peak_in_flight, self.workers
                )
            }
        }
        if let Some(kb) = peak_rss_kb {
            out += &format!("  peak memory (resident): {:.1} MiB\n", kb as f64 / 1024.0);
        }
        match threads_alive_at_exit {
            Some(n) => out += &format!("  threads alive at exit besides main: {n}"),
            None => out += "  threads alive at exit: unknown on this platform",
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Job;

    fn summary(tally: Tally) -> Summary {
        Summary::new("test", tally, 3, 3, Duration::from_millis(1000))
    }

    #[test]
    fn exit_codes_follow_the_convention() {
        let all_ok = Tally {
            submitted: 2,
            ok: 2,
            ..Tally::default()
        };
        assert_eq!(summary(all_ok).exit_code(), EXIT_OK);
        let one_failed = Tally {
            submitted: 2,
            ok: 1,
            failed: 1,
            ..Tally::default()
        };
        assert_eq!(summary(one_failed).exit_code(), EXIT_INCOMPLETE);
        let lost = Tally {
            submitted: 2,
            ok: 1,
            ..Tally::default()
        };
        assert_eq!(summary(lost).exit_code(), EXIT_INCOMPLETE);
        assert_eq!(
            summary(all_ok)
                .with_interrupted_at(Some(Instant::now()))
                .exit_code(),
            EXIT_INTERRUPTED
        );
        // An error that stopped the run: exit 2, unless Ctrl-C came first (the user asked).
        assert_eq!(summary(all_ok).with_error("refused").exit_code(), EXIT_USAGE);
        assert_eq!(
            summary(all_ok)
                .with_error("refused")
                .with_interrupted_at(Some(Instant::now()))
                .exit_code(),
            EXIT_INTERRUPTED
        );
    }

    #[test]
    fn an_error_is_carried_by_both_summaries_and_cannot_be_set_as_a_field() {
        let tally = Tally {
            submitted: 3,
            ok: 1,
            not_started: 2,
            ..Tally::default()
        };
        let s = summary(tally)
            .field("error", "an example's field may not take the standard name")
            .with_error("WRONGTYPE Operation against a key holding the wrong kind of value");
        let event = s.to_event(Some(0), None, None);
        assert_eq!(
            event.error.as_deref(),
            Some("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        assert!(!event.extra.contains_key("error"));
        assert!(
            s.to_human(Some(0), None)
                .contains("stopped early by an error: WRONGTYPE")
        );
        assert_eq!(summary(tally).to_event(Some(0), None, None).error, None);
        // Jobs cut short by the stop: no ideal, so no efficiency above 1.
        let cut = Tally {
            submitted: 2,
            ok: 1,
            cancelled: 1,
            ..Tally::default()
        };
        let stopped = summary(cut)
            .with_ideal(Duration::from_secs(1))
            .with_error("refused");
        assert_eq!((stopped.ideal(), stopped.efficiency()), (None, None));
    }

    #[test]
    fn summary_event_keeps_standard_fields_and_adds_the_example_ones() {
        let tally = Tally {
            submitted: 10,
            ok: 9,
            failed: 1,
            ..Tally::default()
        };
        let e = summary(tally)
            .field("extra_field", 7)
            .field("ok", 1000) // a standard name: ignored
            .to_event(Some(0), Some(1000), None);
        assert_eq!((e.ok, e.failed, e.threads_alive_at_exit), (9, 1, Some(0)));
        assert_eq!(e.count("extra_field"), Some(7));
        assert!(!e.extra.contains_key("ok"));
        let line = serde_json::to_string(&event::Event::Summary(e)).expect("serializes");
        assert!(
            line.starts_with(r#"{"event":"summary","pattern":"test""#),
            "{line}"
        );
    }

    #[test]
    fn a_stopped_run_has_no_ideal() {
        let tally = Tally {
            submitted: 10,
            ok: 4,
            not_started: 6,
            ..Tally::default()
        };
        let mut s = summary(tally).with_ideal(Duration::from_millis(500));
        assert_eq!(s.efficiency(), None);
        s.tally.not_started = 0;
        s.tally.ok = 10;
        assert!(s.efficiency().is_some());
        assert_eq!(
            s.clone().with_interrupted_at(Some(Instant::now())).efficiency(),
            None
        );
    }

    #[test]
    fn detail_fields_never_replace_standard_ones() {
        let detail = Detail::default()
            .field("url", "http://127.0.0.1/")
            .field("job", 99)
            .human("line");
        assert_eq!(detail.human.as_deref(), Some("line"));
        let fields = clean(detail.fields);
        assert!(fields.contains_key("url") && !fields.contains_key("job"));
    }

    #[test]
    fn tally_counts_outcomes() {
        let mut t = Tally {
            submitted: 3,
            ..Tally::default()
        };
        t.record(&Outcome::Ok(1));
        t.record(&Outcome::Failed("x".into()));
        t.record(&Outcome::Cancelled);
        assert_eq!((t.ok, t.failed, t.cancelled, t.accounted()), (1, 1, 1, 3));
        t.record(&Outcome::NotStarted);
        assert_eq!((t.not_started, t.ran(), Tally::new(7).submitted), (1, 3, 7));
    }

    #[derive(Serialize)]
    struct Redelivered {
        job: u64,
        deliveries: u64,
        t_ms: f64,
    }

    impl ExampleEvent for Redelivered {
        const KIND: &'static str = "redelivered";
    }

    /// A tiny run reported into a sink: a test reads the run's events back in-process.
    #[test]
    fn a_run_reported_into_a_sink_reads_back_as_events() {
        let capture = Capture::new();
        let report = Reporter::with_flags(true, false).with_sink(capture.clone());
        let (one, two, three) = (
            Job { id: 1, value: 21 },
            Job { id: 2, value: 5 },
            Job { id: 3, value: 8 },
        );
        let began = Instant::now();
        report.started(&one, 1);
        report.finished(&JobResult {
            job: one,
            worker: 1,
            outcome: Outcome::Ok(42),
        });
        report.started_detail(&two, 2, || Detail::default().at(began).field("attempt", 1));
        report.ended(&two, 2, &Outcome::Failed("boom".into()), || {
            Detail::default().field("attempt", 1).field("reason", "not mine")
        });
        report.not_started_detail(&three, || Detail::default().reason("the queue is full"));
        report.event(String::new, |t_ms| Event::Abort(event::Abort { t_ms }));
        report.example_event(String::new, |t_ms| Redelivered {
            job: 2,
            deliveries: 2,
            t_ms,
        });
        let mut tally = Tally::new(3);
        for outcome in [
            Outcome::Ok(42),
            Outcome::Failed("boom".into()),
            Outcome::NotStarted,
        ] {
            tally.record(&outcome);
        }
        let summary = Summary::new("test", tally, 2, 2, report.elapsed())
            .with_interrupted_at(Some(Instant::now()))
            .field("extra", 7);
        assert_eq!(summary.exit_code(), EXIT_INTERRUPTED);
        let _ = report.summary(&summary);

        let events = capture.events().expect("every line is an event");
        let names: Vec<&str> = events.iter().map(Event::name).collect();
        assert_eq!(
            names,
            [
                "started",
                "finished",
                "started",
                "finished",
                "not_started",
                "abort",
                "redelivered",
                "summary"
            ]
        );
        let Event::Started(late) = &events[2] else {
            panic!("not started: {:?}", events[2])
        };
        assert!(
            late.t_ms <= events[1].t_ms().expect("a time"),
            "{late:?} began before job 1 ended"
        );
        assert_eq!(late.detail.get("attempt"), Some(&Value::from(1)));
        let Event::Finished(failed) = &events[3] else {
            panic!("not finished: {:?}", events[3])
        };
        assert_eq!(
            (failed.outcome, failed.reason.as_deref()),
            (OutcomeKind::Failed, Some("boom"))
        );
        let Event::NotStarted(refused) = &events[4] else {
            panic!("not not_started: {:?}", events[4])
        };
        assert_eq!(refused.reason.as_deref(), Some("the queue is full"));
        let Event::Other(other) = &events[6] else {
            panic!("not an example event: {:?}", events[6])
        };
        assert_eq!(
            (other.count("job"), other.count("deliveries")),
            (Some(2), Some(2))
        );
        let Event::Summary(s) = &events[7] else {
            panic!("not the summary: {:?}", events[7])
        };
        assert_eq!((s.submitted, s.ok, s.failed, s.not_started), (3, 1, 1, 1));
        assert!(s.interrupted && s.interrupted_at_ms.is_some(), "{s:?}");
        assert_eq!(s.count("extra"), Some(7));
    }

    #[test]
    fn a_ctrl_c_after_the_wall_time_was_measured_extends_it() {
        let capture = Capture::new();
        let report = Reporter::with_flags(true, true).with_sink(capture.clone());
        let wall = report.elapsed();
        std::thread::sleep(Duration::from_millis(2));
        let at = Instant::now();
        let _ =
            report.summary(&Summary::new("test", Tally::new(0), 1, 0, wall).with_interrupted_at(Some(at)));
        let events = capture.events().expect("events");
        let Event::Summary(s) = &events[0] else {
            panic!("not the summary")
        };
        let interrupted_at = s.interrupted_at_ms.expect("interrupted_at_ms");
        assert!(s.interrupted && interrupted_at <= s.wall_ms, "{s:?}");
        assert!(s.wall_ms > wall.as_secs_f64() * 1000.0, "{s:?}");
    }

    #[test]
    fn human_and_quiet_reporters_write_to_their_sink_too() {
        let capture = Capture::new();
        let report = Reporter::with_flags(false, false).with_sink(capture.clone());
        let job = Job { id: 4, value: 2 };
        report.started(&job, 3);
        report.not_started_detail(&job, || Detail::default().reason("dropped"));
        assert_eq!(
            capture.text(),
            "Worker 3 started job 4\nJob 4 never started: dropped\n"
        );
        let quiet = Capture::new();
        let report = Reporter::with_flags(true, true).with_sink(quiet.clone());
        report.started(&job, 3);
        let _ = report.summary(&Summary::new("test", Tally::new(0), 1, 0, Duration::ZERO));
        let events = quiet.events().expect("events");
        assert_eq!(events.iter().map(Event::name).collect::<Vec<_>>(), ["summary"]);
        let Event::Summary(s) = &events[0] else {
            panic!("not the summary")
        };
        assert!(!s.interrupted && s.interrupted_at_ms.is_none());
    }

    /// The sleep ideal counts only the jobs that did their work, so efficiency stays at most 1.
    #[test]
    fn the_ideal_counts_only_the_work_that_ran() {
        let work = Work {
            workload: Workload::Sleep,
            duration: Duration::from_millis(100),
            fail_every: 0,
            dist: WorkDist::Fixed,
            seed: 42,
        };
        // 8 jobs on 2 workers, 2 of which panicked before their work: 6 jobs of work, 3 rounds.
        let tally = Tally {
            submitted: 8,
            ok: 6,
            failed: 2,
            ..Tally::default()
        };
        let s = Summary::new("test", tally, 2, 2, Duration::from_millis(310)).with_sleep_ideal(work, 2);
        assert_eq!(s.ideal(), Some(Duration::from_millis(400)));
        let s = s.with_failed_at_once(2);
        assert_eq!(s.ideal(), Some(Duration::from_millis(300)));
        assert!(s.efficiency().is_some_and(|e| e <= 1.0), "{:?}", s.efficiency());
        // Every job failed at once: no work, no ideal.
        assert_eq!(s.clone().with_failed_at_once(8).ideal(), None);
        // A job cancelled in flight did part of its work: the wall time measures the cancel.
        let cut = Tally {
            submitted: 3,
            ok: 2,
            cancelled: 1,
            ..Tally::default()
        };
        let s = Summary::new("test", cut, 3, 3, Duration::from_millis(50)).with_sleep_ideal(work, 3);
        assert_eq!((s.ideal(), s.efficiency()), (None, None));
        // Other workloads have no sleep ideal.
        let cpu = Work {
            workload: Workload::Cpu,
            ..work
        };
        let s = Summary::new("test", tally, 2, 2, Duration::from_millis(50)).with_sleep_ideal(cpu, 2);
        assert_eq!(s.ideal(), None);
        // A distribution: the drawn durations of the jobs that worked, over the workers.
        let exp = Work {
            dist: WorkDist::Exp,
            ..work
        };
        let s = Summary::new("test", tally, 2, 2, Duration::from_secs(10)).with_sleep_ideal(exp, 2);
        assert_eq!(s.ideal(), Some(exp.total_sleep(8, 0) / 2));
        assert_eq!(s.with_failed_at_once(2).ideal(), Some(exp.total_sleep(8, 2) / 2));
    }
}
