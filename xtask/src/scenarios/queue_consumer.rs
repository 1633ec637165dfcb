//! Scenarios for `crates/queue-consumer` (filled in by the issue that adds the example).

use super::Scenario;

pub fn scenarios() -> Vec<Scenario> {
    Vec::new()
}
