//! Reporting: the same events as human lines (the Go originals' wording) or as JSON lines.
//!
//! JSON events (one object per line on stdout; the schema is documented in README.md):
//! `started`, `finished` (terminal: outcome `ok` | `failed` | `cancelled`), `not_started`
//! (terminal: a submitted job that never reached a worker), and one final `summary`.

use std::fmt::Display;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::{Job, JobResult, Outcome, PoolArgs};

/// Every job ended ok.
pub const EXIT_OK: u8 = 0;
/// The run finished, but some job failed, was cancelled or never started.
pub const EXIT_INCOMPLETE: u8 = 1;
/// Bad usage or configuration (one line on stderr).
pub const EXIT_USAGE: u8 = 2;
/// Stopped by Ctrl-C (SIGINT or SIGTERM).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Prints events as they happen. Shared by reference between workers (`&Reporter` or `Arc`).
#[derive(Debug)]
pub struct Reporter {
    json: bool,
    quiet: bool,
    start: Instant,
}

impl Reporter {
    /// A reporter for `--json` / `--quiet`; its clock (`t_ms`) starts now.
    pub fn new(args: &PoolArgs) -> Self {
        Self::with_flags(args.json, args.quiet)
    }

    pub fn with_flags(json: bool, quiet: bool) -> Self {
        Reporter {
            json,
            quiet,
            start: Instant::now(),
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

    /// Milliseconds since the reporter was created, to the microsecond.
    pub fn t_ms(&self) -> f64 {
        round3(self.start.elapsed().as_secs_f64() * 1000.0)
    }

    /// Milliseconds from the reporter's start to `at`.
    pub fn t_ms_at(&self, at: Instant) -> f64 {
        round3(at.saturating_duration_since(self.start).as_secs_f64() * 1000.0)
    }

    /// "Worker 2 started job 5" / `{"event":"started",...}`.
    pub fn started(&self, job: &Job, worker: usize) {
        if self.quiet {
            return; // not even a clock read: with trivial jobs it would cost more than the job
        }
        self.started_detail(job, worker, Instant::now(), Detail::default);
    }

    /// [`Reporter::started`] for a job that began at `began` (for jobs reported later by another
    /// thread, such as a check whose job id is only known once its result arrives).
    pub fn started_at(&self, job: &Job, worker: usize, began: Instant) {
        self.started_detail(job, worker, began, Detail::default);
    }

    /// The standard `started` event plus an example's own detail (see [`Detail`]).
    pub fn started_detail(&self, job: &Job, worker: usize, began: Instant, detail: impl FnOnce() -> Detail) {
        self.standard(
            detail,
            || format!("Worker {worker} started job {}", job.id),
            || json!({"event": "started", "job": job.id, "worker": worker, "value": job.value}),
            began,
        );
    }

    /// "Worker 2 finished job 5" / `{"event":"finished",...,"outcome":"ok","output":10}`.
    /// Call it on the worker, before the job leaves the in-flight gauge: `t_ms` is now.
    pub fn finished(&self, result: &JobResult) {
        if self.quiet {
            return;
        }
        self.finished_detail(result, Instant::now(), Detail::default);
    }

    /// [`Reporter::finished`] for a job that ended at `ended` (for results reported later by
    /// another thread, such as a panicked job seen by a results printer).
    pub fn finished_at(&self, result: &JobResult, ended: Instant) {
        self.finished_detail(result, ended, Detail::default);
    }

    /// The standard `finished` event plus an example's own detail (see [`Detail`]).
    pub fn finished_detail(&self, result: &JobResult, ended: Instant, detail: impl FnOnce() -> Detail) {
        let JobResult { job, worker, outcome } = result;
        self.standard(
            detail,
            || match outcome {
                Outcome::Ok(_) => format!("Worker {worker} finished job {}", job.id),
                Outcome::Failed(reason) => format!("Worker {worker} failed job {}: {reason}", job.id),
                Outcome::Cancelled => format!("Worker {worker} cancelled job {}", job.id),
            },
            || {
                let mut event = json!({
                    "event": "finished", "job": job.id, "worker": worker, "value": job.value,
                    "outcome": outcome.name(),
                });
                match outcome {
                    Outcome::Ok(output) => event["output"] = json!(output),
                    Outcome::Failed(reason) => event["reason"] = json!(reason),
                    Outcome::Cancelled => {}
                }
                event
            },
            ended,
        );
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
        };
        emit(&line);
    }

    /// A submitted job that never reached a worker (after cancellation).
    pub fn not_started(&self, job: &Job) {
        self.not_started_detail(job, Detail::default);
    }

    /// The standard `not_started` event plus an example's own detail (see [`Detail`]).
    pub fn not_started_detail(&self, job: &Job, detail: impl FnOnce() -> Detail) {
        self.standard(
            detail,
            || format!("Job {} never started", job.id),
            || json!({"event": "not_started", "job": job.id, "value": job.value}),
            Instant::now(),
        );
    }

    /// Prints a standard event: the example's human line if it gave one, else the standard line;
    /// in JSON the standard fields, then the example's fields (never replacing a standard one),
    /// then `t_ms`.
    fn standard(
        &self,
        detail: impl FnOnce() -> Detail,
        human: impl FnOnce() -> String,
        event: impl FnOnce() -> Value,
        at: Instant,
    ) {
        if self.quiet {
            return;
        }
        let Detail {
            human: own_line,
            fields,
        } = detail();
        if !self.json {
            emit(&own_line.unwrap_or_else(human));
            return;
        }
        let mut event = event();
        if let Value::Object(map) = &mut event {
            for (key, value) in fields {
                map.entry(key).or_insert(value);
            }
            map.insert("t_ms".into(), json!(self.t_ms_at(at)));
        }
        emit(&event.to_string());
    }

    /// A free line for people (not printed with `--json` or `--quiet`).
    pub fn note(&self, text: impl Display) {
        if !self.json && !self.quiet {
            emit(&text.to_string());
        }
    }

    /// An example-specific event: `human` in the default form, `event` (an object whose
    /// `"event"` names it; `t_ms` is added) with `--json`. Suppressed by `--quiet`.
    pub fn event(&self, human: impl FnOnce() -> String, event: impl FnOnce() -> Value) {
        self.per_job(human, || {
            let mut event = event();
            if let Value::Object(map) = &mut event {
                map.insert("t_ms".into(), json!(self.t_ms()));
            }
            event
        });
    }

    fn per_job(&self, human: impl FnOnce() -> String, event: impl FnOnce() -> Value) {
        if self.quiet {
            return;
        }
        if self.json {
            emit(&event().to_string());
        } else {
            emit(&human());
        }
    }

    /// Prints the closing summary (always, also with `--quiet`) and returns the exit code the
    /// convention gives. Call it after every worker thread has been joined: it counts the threads
    /// still alive.
    pub fn summary(&self, summary: &Summary) -> ExitCode {
        let alive = crate::threads::alive_beyond_main();
        let rss = crate::threads::peak_rss_kb();
        if self.json {
            emit(&summary.to_json(alive, rss).to_string());
        } else {
            emit(&summary.to_human(alive, rss));
        }
        ExitCode::from(summary.exit_code())
    }
}

/// An example's own detail for a standard event (`started`, `finished`, `not_started`): the
/// human line to print instead of the standard one, and JSON fields added after the standard
/// fields (a standard field is never replaced, so the schema cannot drift).
#[derive(Debug, Clone, Default)]
pub struct Detail {
    human: Option<String>,
    fields: Map<String, Value>,
}

impl Detail {
    /// The human line to print instead of the standard one.
    pub fn human(mut self, line: impl Into<String>) -> Self {
        self.human = Some(line.into());
        self
    }

    /// A JSON field added to the event.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }
}

/// One line on stdout. A closed stdout (say, piped into `head`) is not worth a panic: the run's
/// result is still carried by the exit code, so write errors are ignored here on purpose.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
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
    /// Counts one finished job.
    pub fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Ok(_) => self.ok += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Cancelled => self.cancelled += 1,
        }
    }

    /// Jobs with a terminal outcome so far.
    pub fn accounted(&self) -> u64 {
        self.ok + self.failed + self.cancelled + self.not_started
    }
}

/// The closing summary of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub pattern: String,
    pub tally: Tally,
    pub workers: usize,
    pub peak_in_flight: usize,
    pub wall: Duration,
    /// The best possible wall time, where one is defined (sleep work: ceil(jobs/workers) × work).
    pub ideal: Option<Duration>,
    pub interrupted: bool,
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
            interrupted: false,
            extra: Map::new(),
            lines: Vec::new(),
        }
    }

    /// Sets the ideal time for the `sleep` workload: ceil(jobs / workers) × work.
    pub fn with_sleep_ideal(mut self, args: &PoolArgs) -> Self {
        if args.workload == crate::Workload::Sleep && args.jobs > 0 {
            let rounds = args.jobs.div_ceil(args.workers as u64);
            let ms = rounds.saturating_mul(args.work_ms);
            self.ideal = Some(Duration::from_millis(ms));
            self.lines.push(format!(
                "ideal {ms} ms = ceil({} jobs / {} workers) x {} ms",
                args.jobs, args.workers, args.work_ms
            ));
        }
        self
    }

    pub fn with_interrupted(mut self, interrupted: bool) -> Self {
        self.interrupted = interrupted;
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
        let ideal = self.ideal?.as_secs_f64();
        let wall = self.wall.as_secs_f64();
        (wall > 0.0).then(|| ideal / wall)
    }

    /// 130 if interrupted; 1 if some job failed, was cancelled or never started; else 0.
    pub fn exit_code(&self) -> u8 {
        let t = &self.tally;
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if t.failed + t.cancelled + t.not_started > 0 || t.accounted() != t.submitted {
            EXIT_INCOMPLETE
        } else {
            EXIT_OK
        }
    }

    pub fn to_json(&self, threads_alive_at_exit: Option<usize>, peak_rss_kb: Option<u64>) -> Value {
        let t = &self.tally;
        let mut event = json!({
            "event": "summary",
            "pattern": self.pattern,
            "submitted": t.submitted,
            "ok": t.ok,
            "failed": t.failed,
            "cancelled": t.cancelled,
            "not_started": t.not_started,
            "workers": self.workers,
            "peak_in_flight": self.peak_in_flight,
            "wall_ms": round3(self.wall.as_secs_f64() * 1000.0),
            "ideal_ms": self.ideal.map(|d| round3(d.as_secs_f64() * 1000.0)),
            "efficiency": self.efficiency().map(round3),
            "interrupted": self.interrupted,
            "threads_alive_at_exit": threads_alive_at_exit,
            "peak_rss_kb": peak_rss_kb,
        });
        if let Value::Object(map) = &mut event {
            map.extend(self.extra.clone());
        }
        event
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
        out += &format!(
            "  peak jobs in flight: {} (workers: {})\n",
            self.peak_in_flight, self.workers
        );
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
            summary(all_ok).with_interrupted(true).exit_code(),
            EXIT_INTERRUPTED
        );
    }

    #[test]
    fn json_summary_has_the_documented_fields() {
        let tally = Tally {
            submitted: 10,
            ok: 9,
            failed: 1,
            ..Tally::default()
        };
        let v = summary(tally)
            .field("extra_field", 7)
            .to_json(Some(0), Some(1000));
        for key in [
            "event",
            "pattern",
            "submitted",
            "ok",
            "failed",
            "cancelled",
            "not_started",
            "workers",
            "peak_in_flight",
            "wall_ms",
            "threads_alive_at_exit",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["event"], "summary");
        assert_eq!(v["failed"], 1);
        assert_eq!(v["extra_field"], 7);
    }

    #[test]
    fn detail_adds_fields_but_never_replaces_standard_ones() {
        let detail = Detail::default()
            .field("url", "http://127.0.0.1/")
            .field("job", 99)
            .human("line");
        assert_eq!(detail.human.as_deref(), Some("line"));
        let mut event = json!({"event": "started", "job": 1});
        if let Value::Object(map) = &mut event {
            for (key, value) in detail.fields {
                map.entry(key).or_insert(value);
            }
        }
        assert_eq!(event["job"], 1);
        assert_eq!(event["url"], "http://127.0.0.1/");
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
    }
}
