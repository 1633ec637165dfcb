//! pg-queue's own event kinds (docs/events.md), typed here so that the binary prints them and
//! tests read them back. The lesson is in `main.rs`.

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

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
}
