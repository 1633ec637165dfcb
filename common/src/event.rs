//! The `--json` event contract: one definition, shared by every example (which prints these
//! types through [`crate::Reporter`]) and by `xtask` (which reads them back with [`parse_line`]).
//! A renamed field fails to compile on both sides; README.md's "JSON events" section is tested
//! against these types (`readme_schema_matches_the_types` below).
//!
//! Every line on stdout is one [`Event`], tagged by `"event"`. The standard events are
//! [`Started`], [`Finished`], [`NotStarted`] and the closing [`RunSummary`]; an example adds its
//! own fields to them in `detail` (flattened: they appear beside the standard fields, never
//! replacing one) and its own event kinds as variants here.
//!
//! `value` is the job's numeric input (Go's `Job.Value`). A job without one (an http-fetch URL)
//! omits it: `value` is optional, and present for every job that has a number.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An example's own fields on a standard event or on the summary.
pub type Fields = Map<String, Value>;

/// One line of `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A worker took the job (printed after it entered the in-flight gauge).
    Started(Started),
    /// Terminal: the job ran and ended `ok`, `failed` or `cancelled` (printed before the job
    /// leaves the gauge).
    Finished(Finished),
    /// Terminal: a submitted job that never reached a worker (after a stop).
    NotStarted(NotStarted),
    /// Always the last line, also with `--quiet`.
    Summary(RunSummary),
    /// context-cancel, async-pool: the run was cancelled (`by`: `deadline` | `ctrl-c`).
    Cancel(Cancel),
    /// context-cancel: the grace period is over; jobs still in flight are cancelled.
    Abort(Abort),
    /// context-cancel: a worker left its loop (`reason`: `no_more_jobs` | `cancelled` | …).
    WorkerExit(WorkerExit),
    /// db-batch: a batch's transaction failed as a whole and is retried row by row.
    BatchRetry(BatchRetry),
    /// db-batch: one row of a batch was refused by the database, with its reason.
    RowRejected(RowRejected),
    /// queue-consumer: entries idle on another consumer were taken over (`XAUTOCLAIM`).
    Claimed(Claimed),
    /// queue-consumer: an entry delivered too often went to the dead-letter stream.
    DeadLetter(DeadLetter),
    /// queue-consumer: the connection to the broker was lost; retrying after a backoff.
    Reconnect(Reconnect),
}

impl Event {
    /// The `"event"` name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Started(_) => "started",
            Event::Finished(_) => "finished",
            Event::NotStarted(_) => "not_started",
            Event::Summary(_) => "summary",
            Event::Cancel(_) => "cancel",
            Event::Abort(_) => "abort",
            Event::WorkerExit(_) => "worker_exit",
            Event::BatchRetry(_) => "batch_retry",
            Event::RowRejected(_) => "row_rejected",
            Event::Claimed(_) => "claimed",
            Event::DeadLetter(_) => "dead_letter",
            Event::Reconnect(_) => "reconnect",
        }
    }

    /// Milliseconds since the run started (the summary's `wall_ms`).
    pub fn t_ms(&self) -> f64 {
        match self {
            Event::Started(e) => e.t_ms,
            Event::Finished(e) => e.t_ms,
            Event::NotStarted(e) => e.t_ms,
            Event::Summary(e) => e.wall_ms,
            Event::Cancel(e) => e.t_ms,
            Event::Abort(e) => e.t_ms,
            Event::WorkerExit(e) => e.t_ms,
            Event::BatchRetry(e) => e.t_ms,
            Event::RowRejected(e) => e.t_ms,
            Event::Claimed(e) => e.t_ms,
            Event::DeadLetter(e) => e.t_ms,
            Event::Reconnect(e) => e.t_ms,
        }
    }
}

/// A worker took job `job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    pub job: u64,
    pub worker: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    pub t_ms: f64,
    #[serde(flatten)]
    pub detail: Fields,
}

/// How a job that ran ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Ok,
    Failed,
    Cancelled,
}

/// Job `job` ran and ended: `ok` with `output`, `failed` with `reason`, or `cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub job: u64,
    pub worker: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    pub outcome: OutcomeKind,
    /// With `ok`: what the job produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<u64>,
    /// With `failed`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub t_ms: f64,
    #[serde(flatten)]
    pub detail: Fields,
}

/// Job `job` was submitted but never ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotStarted {
    pub job: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    pub t_ms: f64,
    #[serde(flatten)]
    pub detail: Fields,
}

/// The closing summary. `submitted = ok + failed + cancelled + not_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub pattern: String,
    pub submitted: u64,
    pub ok: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub not_started: u64,
    pub workers: usize,
    /// The most jobs that ran at once.
    pub peak_in_flight: usize,
    /// The bound on jobs in flight the example promises, where it is not `workers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    pub wall_ms: f64,
    /// The best possible wall time for the jobs that ran (sleep work), else null.
    pub ideal_ms: Option<f64>,
    /// `ideal_ms / wall_ms`, else null.
    pub efficiency: Option<f64>,
    /// Stopped by Ctrl-C (SIGINT or SIGTERM).
    pub interrupted: bool,
    /// When the first Ctrl-C arrived, in ms since the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_at_ms: Option<f64>,
    /// Threads besides main (and the Ctrl-C handler's) alive at the summary: 0 = all joined.
    pub threads_alive_at_exit: Option<usize>,
    /// Peak resident memory (Linux `VmHWM`), else null.
    pub peak_rss_kb: Option<u64>,
    /// The error that ended the run early (exit 2; the same line is on stderr). The counts are
    /// what the run did until then: a failure of the infrastructure (a broker refusing a
    /// command, say) still gets a summary, so no job goes unaccounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub extra: Fields,
}

impl RunSummary {
    /// The bound on jobs in flight: `max_in_flight`, else `workers`.
    pub fn bound(&self) -> usize {
        self.max_in_flight.unwrap_or(self.workers)
    }

    /// Jobs with a terminal outcome.
    pub fn accounted(&self) -> u64 {
        self.ok + self.failed + self.cancelled + self.not_started
    }

    /// An example field of the summary as a count.
    pub fn count(&self, key: &str) -> Option<u64> {
        self.extra.get(key).and_then(Value::as_u64)
    }

    /// An example field of the summary as a number.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.extra.get(key).and_then(Value::as_f64)
    }
}

/// What cancelled a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CancelCause {
    Deadline,
    CtrlC,
}

impl CancelCause {
    pub fn name(self) -> &'static str {
        match self {
            CancelCause::Deadline => "deadline",
            CancelCause::CtrlC => "ctrl-c",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancel {
    pub by: CancelCause,
    pub grace_ms: u64,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abort {
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerExit {
    pub worker: usize,
    pub reason: String,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRetry {
    pub job: u64,
    pub worker: usize,
    pub reason: String,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowRejected {
    pub job: u64,
    pub worker: usize,
    pub row: u64,
    pub reason: String,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claimed {
    /// How many entries were taken over.
    pub entries: u64,
    /// The stream entry ids taken over.
    pub entry_ids: Vec<String>,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub job: u64,
    pub entry_id: String,
    pub deliveries: u64,
    pub reason: String,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconnect {
    pub attempt: u64,
    pub error: String,
    pub delay_ms: u64,
    pub t_ms: f64,
}

/// Parses one line of `--json` output.
pub fn parse_line(line: &str) -> Result<Event, serde_json::Error> {
    serde_json::from_str(line)
}

/// The standard field names, which an example's `detail` may never use.
pub const STANDARD_FIELDS: &[&str] = &[
    "event", "job", "worker", "value", "outcome", "output", "reason", "t_ms",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One of each event with every optional field present.
    fn full_samples() -> Vec<Event> {
        let summary = RunSummary {
            pattern: "basic".into(),
            submitted: 10,
            ok: 10,
            failed: 0,
            cancelled: 0,
            not_started: 0,
            workers: 3,
            peak_in_flight: 3,
            max_in_flight: Some(3),
            wall_ms: 2003.1,
            ideal_ms: Some(2000.0),
            efficiency: Some(0.998),
            interrupted: false,
            interrupted_at_ms: Some(1.0),
            threads_alive_at_exit: Some(0),
            peak_rss_kb: Some(4000),
            error: Some("the broker refused".into()),
            extra: Fields::new(),
        };
        vec![
            Event::Started(Started {
                job: 5,
                worker: 2,
                value: Some(42),
                t_ms: 12.3,
                detail: Fields::new(),
            }),
            Event::Finished(Finished {
                job: 5,
                worker: 2,
                value: Some(42),
                outcome: OutcomeKind::Ok,
                output: Some(84),
                reason: Some("x".into()),
                t_ms: 1.0,
                detail: Fields::new(),
            }),
            Event::NotStarted(NotStarted {
                job: 8,
                value: Some(3),
                t_ms: 1.0,
                detail: Fields::new(),
            }),
            Event::Summary(summary),
            Event::Cancel(Cancel {
                by: CancelCause::CtrlC,
                grace_ms: 0,
                t_ms: 1.0,
            }),
            Event::Abort(Abort { t_ms: 1.0 }),
            Event::WorkerExit(WorkerExit {
                worker: 1,
                reason: "cancelled".into(),
                t_ms: 1.0,
            }),
            Event::BatchRetry(BatchRetry {
                job: 1,
                worker: 1,
                reason: "x".into(),
                t_ms: 1.0,
            }),
            Event::RowRejected(RowRejected {
                job: 1,
                worker: 1,
                row: 7,
                reason: "x".into(),
                t_ms: 1.0,
            }),
            Event::Claimed(Claimed {
                entries: 1,
                entry_ids: vec!["1-0".into()],
                t_ms: 1.0,
            }),
            Event::DeadLetter(DeadLetter {
                job: 1,
                entry_id: "1-0".into(),
                deliveries: 3,
                reason: "x".into(),
                t_ms: 1.0,
            }),
            Event::Reconnect(Reconnect {
                attempt: 1,
                error: "x".into(),
                delay_ms: 100,
                t_ms: 1.0,
            }),
        ]
    }

    #[test]
    fn events_round_trip_and_name_themselves() {
        for event in full_samples() {
            let line = serde_json::to_string(&event).expect("serializes");
            let back = parse_line(&line).expect("parses");
            assert_eq!(back, event, "{line}");
            let value: Value = serde_json::from_str(&line).expect("json");
            assert_eq!(value["event"], event.name(), "{line}");
        }
    }

    #[test]
    fn example_fields_land_in_detail_and_value_is_optional() {
        let e = parse_line(r#"{"event":"started","job":1,"worker":2,"url":"http://x","t_ms":0.5}"#)
            .expect("parses");
        let Event::Started(s) = e else {
            panic!("not a started event")
        };
        assert_eq!((s.job, s.worker, s.value), (1, 2, None));
        assert_eq!(s.detail.get("url"), Some(&json!("http://x")));
        // A renamed standard field is an error, not an extra field.
        assert!(parse_line(r#"{"event":"started","job_id":1,"worker":2,"t_ms":0}"#).is_err());
        assert!(parse_line(r#"{"event":"no_such_event","t_ms":0}"#).is_err());
    }

    /// README.md's "JSON events" section and these types agree: every sample line there parses
    /// and round-trips to the same JSON with no unknown field, every event kind has a sample,
    /// and every field of every kind is named in the section.
    #[test]
    fn readme_schema_matches_the_types() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("## JSON events")
            .expect("README has a \"## JSON events\" section");
        let rest = &readme[start + 3..];
        let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
        let mut named = std::collections::BTreeSet::new();
        for line in section.lines().filter(|l| l.starts_with("{\"event\"")) {
            let event =
                parse_line(line).unwrap_or_else(|e| panic!("README line does not parse ({e}): {line}"));
            let extra = match &event {
                Event::Started(e) => e.detail.len(),
                Event::Finished(e) => e.detail.len(),
                Event::NotStarted(e) => e.detail.len(),
                Event::Summary(e) => e.extra.len(),
                _ => 0,
            };
            assert_eq!(extra, 0, "README line has fields the type does not know: {line}");
            let again: Value = serde_json::to_value(&event).expect("serializes");
            let original: Value = serde_json::from_str(line).expect("json");
            assert_eq!(again, original, "README line does not round-trip: {line}");
            named.insert(event.name());
        }
        for sample in full_samples() {
            assert!(
                named.contains(sample.name()),
                "README's JSON section has no sample line for {:?}",
                sample.name()
            );
            let value = serde_json::to_value(&sample).expect("serializes");
            for key in value.as_object().expect("an object").keys() {
                assert!(
                    section.contains(&format!("\"{key}\"")) || section.contains(&format!("`{key}`")),
                    "README's JSON section never names {key:?} of {:?}",
                    sample.name()
                );
            }
        }
    }
}
