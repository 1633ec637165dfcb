//! The example's own events (the standard job events come from `common::Reporter`).

use common::Reporter;
use queue_consumer::{Claimed, DeadLetter};

use crate::broker::{Ack, Delivery};

/// `claimed`: entries taken over from idle (dead) consumers.
pub fn claimed(reporter: &Reporter, batch: &[Delivery]) {
    if batch.is_empty() {
        return;
    }
    let ids: Vec<String> = batch.iter().map(|d| d.entry_id.clone()).collect();
    reporter.example_event(
        || format!("Claimed {} idle entries: {}", ids.len(), ids.join(" ")),
        |t_ms| Claimed {
            entries: ids.len() as u64,
            entry_ids: ids.clone(),
            t_ms,
        },
    );
}

/// `dead_letter`: an entry written to the dead-letter stream (and acknowledged) with its reason.
pub fn dead_letter(reporter: &Reporter, a: &Ack) {
    let reason = a.dead.clone().unwrap_or_default();
    reporter.example_event(
        || {
            format!(
                "Dead letter: message {} ({}) after {} deliveries: {reason}",
                a.message, a.entry_id, a.deliveries
            )
        },
        |t_ms| DeadLetter {
            job: a.message,
            entry_id: a.entry_id.clone(),
            deliveries: a.deliveries,
            reason: reason.clone(),
            t_ms,
        },
    );
}
