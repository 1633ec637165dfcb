//! The `--json` event contract, written down in docs/events.md: one definition, shared by every
//! example (which prints these types through the reporter) and by `xtask` (which reads them back
//! with [`parse_line`]). A renamed field fails to compile on both sides, and docs/events.md is
//! tested against these types (`docs_schema_matches_the_types` below).
//!
//! Every line on stdout is one [`Event`], tagged by `"event"`:
//!
//! - the standard events [`Started`], [`Finished`], [`NotStarted`] and the closing
//!   [`RunSummary`]; an example adds its own fields to them in `detail` (flattened: they appear
//!   beside the standard fields, never replacing one);
//! - the general kinds, pool concepts more than one example uses, named for the concept:
//!   [`Cancel`], [`Abort`], [`WorkerExit`];
//! - an example's own kinds, defined in its crate ([`ExampleEvent`]); the parser keeps any kind
//!   it does not know whole, as [`Event::Other`], so the tools never break on a new example.
//!
//! `value` is the job's numeric input (Go's `Job.Value`). A job without one (an http-fetch URL)
//! omits it: `value` is optional, and present for every job that has a number.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An example's own fields on a standard event or on the summary.
pub type Fields = Map<String, Value>;

/// One line of `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A worker took the job (printed after it entered the in-flight gauge).
    Started(Started),
    /// Terminal: the job ran and ended `ok`, `failed` or `cancelled` (printed before the job
    /// leaves the gauge).
    Finished(Finished),
    /// Terminal: a submitted job that never ran (after a stop, or refused).
    NotStarted(NotStarted),
    /// Always the last line, also with `--quiet`.
    Summary(RunSummary),
    /// The run was cancelled (`by`: `deadline` | `ctrl-c`).
    Cancel(Cancel),
    /// The grace period after a cancel is over; jobs still in flight are cancelled.
    Abort(Abort),
    /// A worker left its loop (`reason`: `no_more_jobs` | `cancelled` | …).
    WorkerExit(WorkerExit),
    /// A kind this crate does not define (an example's own), kept whole.
    #[serde(untagged)]
    Other(Other),
}

impl Event {
    /// The `"event"` name of this event.
    pub fn name(&self) -> &str {
        match self {
            Event::Started(_) => "started",
            Event::Finished(_) => "finished",
            Event::NotStarted(_) => "not_started",
            Event::Summary(_) => "summary",
            Event::Cancel(_) => "cancel",
            Event::Abort(_) => "abort",
            Event::WorkerExit(_) => "worker_exit",
            Event::Other(o) => &o.kind,
        }
    }

    /// Milliseconds since the run started (the summary's `wall_ms`); `None` only for an
    /// [`Event::Other`] without a numeric `t_ms`.
    pub fn t_ms(&self) -> Option<f64> {
        match self {
            Event::Started(e) => Some(e.t_ms),
            Event::Finished(e) => Some(e.t_ms),
            Event::NotStarted(e) => Some(e.t_ms),
            Event::Summary(e) => Some(e.wall_ms),
            Event::Cancel(e) => Some(e.t_ms),
            Event::Abort(e) => Some(e.t_ms),
            Event::WorkerExit(e) => Some(e.t_ms),
            Event::Other(o) => o.number("t_ms"),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    /// A known kind must have its fields (a renamed one is an error); any other kind is kept
    /// whole as [`Event::Other`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Fields::deserialize(deserializer)?;
        let kind = match fields.shift_remove("event") {
            Some(Value::String(kind)) => kind,
            Some(other) => return Err(D::Error::custom(format!("\"event\" is not a string: {other}"))),
            None => return Err(D::Error::missing_field("event")),
        };
        fn typed<T: DeserializeOwned, E: serde::de::Error>(fields: Fields) -> Result<T, E> {
            serde_json::from_value(Value::Object(fields)).map_err(E::custom)
        }
        Ok(match kind.as_str() {
            "started" => Event::Started(typed(fields)?),
            "finished" => Event::Finished(typed(fields)?),
            "not_started" => Event::NotStarted(typed(fields)?),
            "summary" => Event::Summary(typed(fields)?),
            "cancel" => Event::Cancel(typed(fields)?),
            "abort" => Event::Abort(typed(fields)?),
            "worker_exit" => Event::WorkerExit(typed(fields)?),
            _ => Event::Other(Other { kind, fields }),
        })
    }
}

/// An event kind this crate does not define, as the parser keeps it: its name and every other
/// field, in order. It prints back as it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Other {
    pub kind: String,
    pub fields: Fields,
}

impl Other {
    /// The example event `event` as the parser would read it back (for tests).
    pub fn of<E: ExampleEvent>(event: &E) -> Result<Self, serde_json::Error> {
        match serde_json::to_value(Tagged(event))? {
            Value::Object(mut fields) => {
                fields.shift_remove("event");
                Ok(Other {
                    kind: E::KIND.to_owned(),
                    fields,
                })
            }
            other => Err(serde_json::Error::custom(format!("not an object: {other}"))),
        }
    }

    /// This event as the example's own type, if it is of that kind.
    pub fn decode<E: ExampleEvent + DeserializeOwned>(&self) -> Option<Result<E, serde_json::Error>> {
        (self.kind == E::KIND).then(|| serde_json::from_value(Value::Object(self.fields.clone())))
    }

    /// A field as a count.
    pub fn count(&self, key: &str) -> Option<u64> {
        self.fields.get(key).and_then(Value::as_u64)
    }

    /// A field as a number.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }

    /// A field as text.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
}

impl Serialize for Other {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("event", &self.kind)?;
        for (key, value) in self.fields.iter().filter(|(key, _)| *key != "event") {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// An event kind one example alone prints, defined (typed, with `t_ms`) in that example's crate
/// and printed with `Reporter::example_event` as `{"event":KIND,...its fields}`. The shared
/// parser reads it back as [`Event::Other`]; [`Other::decode`] turns it back into the type.
pub trait ExampleEvent: Serialize {
    /// The `"event"` name, in snake_case, documented in docs/events.md under the example.
    const KIND: &'static str;
}

/// An example event with its `"event"` name first, as it is printed.
#[derive(Debug)]
pub struct Tagged<'a, E>(pub &'a E);

impl<E: ExampleEvent> Serialize for Tagged<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithName<'a, E> {
            event: &'static str,
            #[serde(flatten)]
            fields: &'a E,
        }
        WithName {
            event: E::KIND,
            fields: self.0,
        }
        .serialize(serializer)
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
    /// Why, where the example says: refused by a full queue, dropped, stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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

/// The run was cancelled, by a deadline or Ctrl-C, with this grace period for the jobs in flight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancel {
    pub by: CancelCause,
    pub grace_ms: u64,
    pub t_ms: f64,
}

/// The grace period is over: the jobs still in flight are cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abort {
    pub t_ms: f64,
}

/// A worker left its loop, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerExit {
    pub worker: usize,
    pub reason: String,
    pub t_ms: f64,
}

/// Parses one line of `--json` output. A kind this crate does not define is kept whole as
/// [`Event::Other`]; a known kind with a missing or mistyped field is an error.
pub fn parse_line(line: &str) -> Result<Event, serde_json::Error> {
    serde_json::from_str(line)
}

/// The property the fuzz target `event_line` checks (`fuzz/`), and the replay of its corpus
/// checks on stable (a test below): any bytes as a line of `--json` output; a line that parses
/// prints back, its kind's name first, as a line that parses to the same event. Panics when it
/// does not hold.
#[doc(hidden)]
pub fn fuzz_event_line(bytes: &[u8]) {
    let Ok(line) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(event) = parse_line(line) else {
        return;
    };
    let printed = match serde_json::to_string(&event) {
        Ok(printed) => printed,
        Err(e) => panic!("{event:?} does not print: {e}"),
    };
    let name = serde_json::to_string(event.name()).unwrap_or_default();
    assert!(printed.starts_with(&format!("{{\"event\":{name}")), "{printed}");
    match parse_line(&printed) {
        Ok(again) => assert_eq!(again, event, "{line} printed as {printed}"),
        Err(e) => panic!("{line} printed as {printed}, which does not parse: {e}"),
    }
}

/// Checks the sample lines of an example's own kind `E` in `doc` (docs/events.md) against the
/// type: there is at least one, and each parses, decodes into `E` and prints back the same JSON
/// (so no field is missing, mistyped or unknown). Returns how many lines it checked; for the
/// tests of the example that defines `E`.
pub fn check_samples<E: ExampleEvent + DeserializeOwned>(doc: &str) -> Result<usize, String> {
    let prefix = format!("{{\"event\":\"{}\"", E::KIND);
    let lines: Vec<&str> = doc.lines().filter(|l| l.starts_with(&prefix)).collect();
    if lines.is_empty() {
        return Err(format!("no sample line of {:?}", E::KIND));
    }
    for line in &lines {
        let Event::Other(other) = parse_line(line).map_err(|e| format!("{e}: {line}"))? else {
            return Err(format!("{:?} is a kind common defines: {line}", E::KIND));
        };
        let decoded = other
            .decode::<E>()
            .ok_or_else(|| format!("not of kind {:?}: {line}", E::KIND))?
            .map_err(|e| format!("does not fit the type ({e}): {line}"))?;
        let again = serde_json::to_value(Tagged(&decoded)).map_err(|e| e.to_string())?;
        let original: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if again != original {
            return Err(format!("does not print back the same (unknown fields?): {line}"));
        }
    }
    Ok(lines.len())
}

/// The standard field names, which an example's `detail` may never use.
pub const STANDARD_FIELDS: &[&str] = &[
    "event", "job", "worker", "value", "outcome", "output", "reason", "t_ms",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_printed_number_parses_back_the_same() {
        fuzz_event_line(br#"{"event":"x","v":13999999999999999999999999999999999999999}"#);
    }

    /// One of each event this crate defines, with every optional field present.
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
                reason: Some("the queue is full".into()),
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
            assert!(
                line.starts_with(&format!(r#"{{"event":"{}","#, event.name())),
                "{line}"
            );
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
        assert!(parse_line(r#"{"event":"cancel","by":"a meteor","grace_ms":0,"t_ms":0}"#).is_err());
        // Not an event at all.
        assert!(parse_line(r#"{"job":1,"t_ms":0}"#).is_err());
        assert!(parse_line(r#"{"event":7,"t_ms":0}"#).is_err());
        assert!(parse_line("[1,2]").is_err());
    }

    #[test]
    fn not_started_without_a_reason_prints_none() {
        let e = Event::NotStarted(NotStarted {
            job: 8,
            value: Some(3),
            reason: None,
            t_ms: 600.2,
            detail: Fields::new(),
        });
        let line = serde_json::to_string(&e).expect("serializes");
        assert_eq!(line, r#"{"event":"not_started","job":8,"value":3,"t_ms":600.2}"#);
    }

    #[test]
    fn an_unknown_kind_is_kept_whole_and_prints_back_the_same() {
        let line =
            r#"{"event":"lease_lost","worker":2,"lease":{"id":"a","ttl_ms":30},"t_ms":41.5,"ids":[1,2]}"#;
        let event = parse_line(line).expect("an unknown kind parses");
        let Event::Other(other) = &event else {
            panic!("not kept as Other: {event:?}")
        };
        assert_eq!(other.kind, "lease_lost");
        assert_eq!((event.name(), event.t_ms()), ("lease_lost", Some(41.5)));
        assert_eq!((other.count("worker"), other.text("worker")), (Some(2), None));
        assert!(!other.fields.contains_key("event"));
        assert_eq!(serde_json::to_string(&event).expect("serializes"), line);
        let without_time = parse_line(r#"{"event":"tick"}"#).expect("parses");
        assert_eq!(without_time.t_ms(), None);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct LeaseLost {
        worker: usize,
        reason: String,
        t_ms: f64,
    }

    impl ExampleEvent for LeaseLost {
        const KIND: &'static str = "lease_lost";
    }

    #[test]
    fn an_example_event_prints_with_its_name_first_and_decodes_back() {
        let lost = LeaseLost {
            worker: 2,
            reason: "expired".into(),
            t_ms: 3.5,
        };
        let line = serde_json::to_string(&Tagged(&lost)).expect("serializes");
        assert_eq!(
            line,
            r#"{"event":"lease_lost","worker":2,"reason":"expired","t_ms":3.5}"#
        );
        let Event::Other(other) = parse_line(&line).expect("parses") else {
            panic!("an example kind is Other")
        };
        assert_eq!(other, Other::of(&lost).expect("an object"));
        let back: LeaseLost = other.decode().expect("this kind").expect("its fields");
        assert_eq!(back, lost);
        let tick = Other {
            kind: "tick".into(),
            fields: Fields::new(),
        };
        assert!(tick.decode::<LeaseLost>().is_none());
    }

    #[test]
    fn sample_lines_are_checked_against_an_example_type() {
        let good = r#"{"event":"lease_lost","worker":2,"reason":"expired","t_ms":3.5}"#;
        assert_eq!(check_samples::<LeaseLost>(good), Ok(1));
        assert!(check_samples::<LeaseLost>("no samples here").is_err());
        let unknown = r#"{"event":"lease_lost","worker":2,"reason":"x","t_ms":3.5,"extra":1}"#;
        assert!(check_samples::<LeaseLost>(unknown).is_err());
        let missing = r#"{"event":"lease_lost","worker":2,"t_ms":3.5}"#;
        assert!(check_samples::<LeaseLost>(missing).is_err());
    }

    /// docs/events.md and these types agree: every sample line of a kind defined here parses and
    /// round-trips to the same JSON with no unknown field, every kind defined here has a sample,
    /// and every field of every kind is named in the document. (Each example's own kinds are
    /// checked against the same document by that example's tests.)
    #[test]
    fn docs_schema_matches_the_types() {
        let doc = include_str!("../../docs/events.md");
        let mut named = std::collections::BTreeSet::new();
        for line in doc.lines().filter(|l| l.starts_with("{\"event\"")) {
            let event = parse_line(line)
                .unwrap_or_else(|e| panic!("docs/events.md line does not parse ({e}): {line}"));
            let extra = match &event {
                Event::Started(e) => e.detail.len(),
                Event::Finished(e) => e.detail.len(),
                Event::NotStarted(e) => e.detail.len(),
                Event::Summary(e) => e.extra.len(),
                Event::Other(_) => continue,
                _ => 0,
            };
            assert_eq!(
                extra, 0,
                "docs/events.md line has fields the type does not know: {line}"
            );
            let again: Value = serde_json::to_value(&event).expect("serializes");
            let original: Value = serde_json::from_str(line).expect("json");
            assert_eq!(again, original, "docs/events.md line does not round-trip: {line}");
            named.insert(event.name().to_owned());
        }
        for sample in full_samples() {
            assert!(
                named.contains(sample.name()),
                "docs/events.md has no sample line for {:?}",
                sample.name()
            );
            let value = serde_json::to_value(&sample).expect("serializes");
            for key in value.as_object().expect("an object").keys() {
                assert!(
                    doc.contains(&format!("\"{key}\"")) || doc.contains(&format!("`{key}`")),
                    "docs/events.md never names {key:?} of {:?}",
                    sample.name()
                );
            }
        }
    }
}
