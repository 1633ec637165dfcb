//! queue-consumer's own event kinds (docs/events.md), typed here so that the binary prints them
//! and tests read them back, and the decoding of what comes from Redis ([`payload`]), which the
//! fuzz targets call too. The lesson is in `main.rs`.

#[doc(hidden)]
pub mod fuzzing;
pub mod payload;

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

/// `claimed`: entries idle on another consumer (a dead one) taken over with `XAUTOCLAIM`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claimed {
    /// How many entries were taken over.
    pub entries: u64,
    /// The stream entry ids taken over.
    pub entry_ids: Vec<String>,
    pub t_ms: f64,
}

impl ExampleEvent for Claimed {
    const KIND: &'static str = "claimed";
}

/// `dead_letter`: an entry delivered too often went to the dead-letter stream; `job` is the
/// producer's message number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub job: u64,
    pub entry_id: String,
    pub deliveries: u64,
    pub reason: String,
    pub t_ms: f64,
}

impl ExampleEvent for DeadLetter {
    const KIND: &'static str = "dead_letter";
}

/// `reconnect`: the connection to Redis was lost; the next attempt comes after `delay_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconnect {
    pub attempt: u64,
    pub error: String,
    pub delay_ms: u64,
    pub t_ms: f64,
}

impl ExampleEvent for Reconnect {
    const KIND: &'static str = "reconnect";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::{Event, check_samples, parse_line};

    #[test]
    fn docs_samples_match_the_types() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<Claimed>(doc), Ok(1));
        assert_eq!(check_samples::<DeadLetter>(doc), Ok(1));
        assert_eq!(check_samples::<Reconnect>(doc), Ok(1));
    }

    #[test]
    fn a_dead_letter_prints_as_before_and_reads_back() {
        let dead = DeadLetter {
            job: 17,
            entry_id: "1700000000000-16".into(),
            deliveries: 3,
            reason: "poison".into(),
            t_ms: 900.3,
        };
        let line = serde_json::to_string(&common::event::Tagged(&dead)).expect("serializes");
        assert_eq!(
            line,
            r#"{"event":"dead_letter","job":17,"entry_id":"1700000000000-16","deliveries":3,"reason":"poison","t_ms":900.3}"#
        );
        let Event::Other(other) = parse_line(&line).expect("parses") else {
            panic!("an example kind is Other")
        };
        assert_eq!(other.decode::<DeadLetter>().map(Result::ok), Some(Some(dead)));
    }
}
