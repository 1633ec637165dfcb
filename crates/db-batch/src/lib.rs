//! db-batch's own event kinds (docs/events.md), typed here so that the binary prints them and
//! tests read them back. The lesson is in `main.rs`.

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

/// `batch_retry`: a batch's transaction rolled back and is tried again, row by row after a bad
/// row, or on a new connection after a lost one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRetry {
    pub job: u64,
    pub worker: usize,
    pub reason: String,
    pub t_ms: f64,
}

impl ExampleEvent for BatchRetry {
    const KIND: &'static str = "batch_retry";
}

/// `row_rejected`: one row of a batch the database refused, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowRejected {
    pub job: u64,
    pub worker: usize,
    pub row: u64,
    pub reason: String,
    pub t_ms: f64,
}

impl ExampleEvent for RowRejected {
    const KIND: &'static str = "row_rejected";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::{Event, Other, check_samples, parse_line};

    #[test]
    fn docs_samples_match_the_types() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<BatchRetry>(doc), Ok(1));
        assert_eq!(check_samples::<RowRejected>(doc), Ok(1));
    }

    #[test]
    fn events_print_as_before_and_read_back() {
        let rejected = RowRejected {
            job: 3,
            worker: 1,
            row: 2031,
            reason: "CHECK constraint failed: qty".into(),
            t_ms: 41.0,
        };
        let line = serde_json::to_string(&common::event::Tagged(&rejected)).expect("serializes");
        assert_eq!(
            line,
            r#"{"event":"row_rejected","job":3,"worker":1,"row":2031,"reason":"CHECK constraint failed: qty","t_ms":41.0}"#
        );
        let Event::Other(other) = parse_line(&line).expect("parses") else {
            panic!("an example kind is Other")
        };
        assert_eq!(other, Other::of(&rejected).expect("an object"));
        assert_eq!(
            other.decode::<RowRejected>().map(Result::ok),
            Some(Some(rejected))
        );
        assert!(other.decode::<BatchRetry>().is_none());
    }
}
