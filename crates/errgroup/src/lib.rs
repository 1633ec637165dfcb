//! errgroup's own event kind (docs/events.md), typed here so that the binary prints it and its
//! tests read it back. The lesson is in `main.rs`.

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

/// `group_cancel`: the group is cancelled, by the first job that failed (`by`: `first_error`,
/// with `job` and its `error`) or by Ctrl-C (`by`: `ctrl-c`). No job starts after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCancel {
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub t_ms: f64,
}

impl ExampleEvent for GroupCancel {
    const KIND: &'static str = "group_cancel";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::check_samples;

    #[test]
    fn docs_samples_match_the_types() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<GroupCancel>(doc), Ok(2));
    }
}
