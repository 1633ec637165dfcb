//! pg-queue's own event kinds (docs/events.md), typed here so that the binary prints them and
//! tests read them back, and the decoding of a job row's payload (unit-tested and fuzzed here).
//! The lesson is in `main.rs`.

pub mod fuzzing;

use std::collections::HashMap;

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The largest job number: a job's output is its number × 2, which must fit in a `u64`.
pub const MAX_JOB_NUMBER: u64 = i64::MAX as u64;

/// How much of a bad value an error quotes.
pub const QUOTE_CHARS: usize = 40;

/// Why a job row's payload names no job. Any producer on the database may have written it (other
/// programs, SQL by hand), so it is data, never a reason to stop: the job fails with this as its
/// error, alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("malformed payload: not JSON ({0})")]
    NotJson(String),
    #[error("malformed payload: {0} is not a JSON object")]
    NotAnObject(String),
    #[error("malformed payload: no \"n\"")]
    NoNumber,
    #[error("malformed payload: \"n\" is {0}, not a whole number from 1 to {MAX_JOB_NUMBER}")]
    BadNumber(String),
}

/// The job number in a payload (the row's `payload::text`): `{"n": N, …}` with `N` a JSON whole
/// number in `1..=MAX_JOB_NUMBER`; other keys are ignored. Never panics, whatever the text.
///
/// Values are kept as their text ([`RawValue`]) and only `n` is converted: PostgreSQL's jsonb
/// holds numbers of any size, which a `u64` or `f64` cannot, so converting every value would
/// call a whole payload "not JSON" for a huge number in some other key.
pub fn job_number(payload: &str) -> Result<u64, PayloadError> {
    let fields: HashMap<String, &RawValue> = match serde_json::from_str(payload) {
        Ok(fields) => fields,
        Err(e) => {
            return Err(match serde_json::from_str::<&RawValue>(payload) {
                Ok(value) => PayloadError::NotAnObject(quote(value)),
                Err(_) => PayloadError::NotJson(e.to_string()),
            });
        }
    };
    let n = fields.get("n").ok_or(PayloadError::NoNumber)?;
    serde_json::from_str::<u64>(n.get())
        .ok()
        .filter(|n| (1..=MAX_JOB_NUMBER).contains(n))
        .ok_or_else(|| PayloadError::BadNumber(quote(n)))
}

/// A JSON value's text, cut to [`QUOTE_CHARS`] characters (a payload may be large).
fn quote(value: &RawValue) -> String {
    let text = value.get();
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `rescued`: jobs whose lease expired (their consumer died or hung) returned to the queue by the
/// rescuer, or discarded if they had used up their attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rescued {
    /// How many jobs were returned or discarded.
    pub jobs: u64,
    /// Their ids in the jobs table.
    pub job_ids: Vec<i64>,
    pub t_ms: f64,
}

impl ExampleEvent for Rescued {
    const KIND: &'static str = "rescued";
}

/// `discarded`: a job failed `--max-attempts` times and is kept in the table as `discarded`
/// with its last error (the dead-letter state); `job` is the producer's job number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discarded {
    pub job: u64,
    pub job_id: i64,
    pub attempts: i32,
    pub error: String,
    pub t_ms: f64,
}

impl ExampleEvent for Discarded {
    const KIND: &'static str = "discarded";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::{Event, check_samples, parse_line};

    #[test]
    fn docs_samples_match_the_types() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<Rescued>(doc), Ok(1));
        assert_eq!(check_samples::<Discarded>(doc), Ok(1));
    }

    #[test]
    fn a_discarded_job_prints_and_reads_back() {
        let d = Discarded {
            job: 7,
            job_id: 7,
            attempts: 3,
            error: "poison job 7: this job always fails".into(),
            t_ms: 12.5,
        };
        let line = serde_json::to_string(&common::event::Tagged(&d)).expect("serializes");
        assert_eq!(
            line,
            r#"{"event":"discarded","job":7,"job_id":7,"attempts":3,"error":"poison job 7: this job always fails","t_ms":12.5}"#
        );
        let Event::Other(other) = parse_line(&line).expect("parses") else {
            panic!("an example kind is Other")
        };
        assert_eq!(other.decode::<Discarded>().map(Result::ok), Some(Some(d)));
    }

    #[test]
    fn a_payload_with_a_whole_n_names_its_job() {
        assert_eq!(job_number(r#"{"n": 7}"#), Ok(7));
        assert_eq!(job_number(r#"{"n": 42, "order": 3}"#), Ok(42));
        assert_eq!(job_number(r#"{"order": 3, "n": 1}"#), Ok(1));
        // A number no u64 or f64 holds, in another key (jsonb keeps it), is no matter.
        let other = format!(r#"{{"amount": {}, "n": 5}}"#, "9".repeat(400));
        assert_eq!(job_number(&other), Ok(5));
        let max = format!(r#"{{"n": {MAX_JOB_NUMBER}}}"#);
        assert_eq!(job_number(&max), Ok(MAX_JOB_NUMBER));
    }

    #[test]
    fn a_payload_without_a_whole_n_is_malformed_with_its_reason() {
        let bad_number = |text: &str, quoted: &str| {
            assert_eq!(
                job_number(text),
                Err(PayloadError::BadNumber(quoted.into())),
                "{text}"
            );
        };
        bad_number(r#"{"n": "abc"}"#, r#""abc""#);
        bad_number(r#"{"n": "5"}"#, r#""5""#);
        bad_number(r#"{"n": 1.5}"#, "1.5");
        bad_number(r#"{"n": 1.0}"#, "1.0");
        bad_number(r#"{"n": 0}"#, "0");
        bad_number(r#"{"n": -3}"#, "-3");
        bad_number(r#"{"n": null}"#, "null");
        bad_number(r#"{"n": 9223372036854775808}"#, "9223372036854775808");
        bad_number(r#"{"n": 18446744073709551616}"#, "18446744073709551616");
        let huge = "9".repeat(400);
        bad_number(
            &format!(r#"{{"n": {huge}}}"#),
            &format!("{}…", &huge[..QUOTE_CHARS]),
        );
        assert_eq!(job_number("{}"), Err(PayloadError::NoNumber));
        assert_eq!(job_number(r#"{"m": 1}"#), Err(PayloadError::NoNumber));
        for (text, quoted) in [
            ("[1, 2]", "[1, 2]"),
            ("5", "5"),
            (r#""n""#, r#""n""#),
            ("null", "null"),
        ] {
            assert_eq!(
                job_number(text),
                Err(PayloadError::NotAnObject(quoted.into())),
                "{text}"
            );
        }
        assert!(matches!(job_number(""), Err(PayloadError::NotJson(_))));
        assert!(matches!(job_number("{\"n\": 1"), Err(PayloadError::NotJson(_))));
        let e = job_number(r#"{"n": "abc"}"#).expect_err("malformed").to_string();
        assert!(e.starts_with("malformed payload: \"n\" is \"abc\""), "{e}");
    }

    #[test]
    fn a_long_bad_value_is_quoted_cut() {
        let text = format!(r#"{{"n": "{}"}}"#, "é".repeat(1000));
        let Err(PayloadError::BadNumber(quoted)) = job_number(&text) else {
            panic!("a string n is malformed")
        };
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1, "{quoted}");
        assert!(quoted.ends_with('…'), "{quoted}");
    }
}
