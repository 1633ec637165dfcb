//! Scenarios for this example are added together with the example itself.

use super::Scenario;

pub fn scenarios() -> Vec<Scenario> {
    Vec::new()
}
