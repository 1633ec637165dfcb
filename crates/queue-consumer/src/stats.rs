//! The summary: the queue's own fields and lines beside the standard ones.

use std::time::Duration;

use common::{Summary, Tally};

use crate::cli::Cli;

/// What the fetcher counted: entries taken over from idle consumers.
#[derive(Debug, Default)]
pub struct Fetched {
    pub claimed: u64,
}

/// What the acker counted: entries the group really removed from its pending list (one another
/// consumer already acknowledged is not counted twice; a batch retried after a lost reply counts
/// what its first attempt removed), and dead letters written: the workers' and those of entries
/// claimed too often, each written (and counted) by the acker once.
#[derive(Debug, Default)]
pub struct Acked {
    pub acked: u64,
    pub dead: u64,
}

/// What the broker side of the run counted.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub produced: u64,
    pub acked: u64,
    pub dead_lettered: u64,
    pub claimed: u64,
    pub pending_left: Option<u64>,
    pub consumer: String,
    /// How long the pool ran (the run's wall time less connecting and producing): the rate's base.
    pub consuming: Duration,
}

impl QueueStats {
    pub fn new(consumer: String) -> QueueStats {
        QueueStats {
            consumer,
            ..QueueStats::default()
        }
    }

    /// Takes the fetcher's and the acker's counts, and how long the pool ran.
    pub fn count(&mut self, fetched: &Fetched, acked: &Acked, consuming: Duration) {
        self.consuming = consuming;
        self.claimed = fetched.claimed;
        self.acked = acked.acked;
        self.dead_lettered = acked.dead;
    }

    /// `produce` alone: no jobs ran here.
    pub fn producer_summary(&self, cli: &Cli, wall: Duration) -> Summary {
        self.add_to(
            Summary::new("queue-consumer", Tally::new(0), cli.workers, 0, wall)
                .with_interrupted_at(common::signal::interrupted_at()),
        )
    }

    /// The pool's run: every delivery this process took is a job; with `--work-ms`, the ideal
    /// is that many rounds of the workers. `wall` is the whole run's, on the clock of its events.
    pub fn pool_summary(&self, cli: &Cli, tally: Tally, peak: usize, wall: Duration) -> Summary {
        let mut summary = Summary::new("queue-consumer", tally, cli.workers, peak, wall)
            .with_interrupted_at(common::signal::interrupted_at());
        if cli.work_ms > 0 && tally.ran() > 0 {
            let rounds = u32::try_from(tally.ran().div_ceil(cli.workers as u64)).unwrap_or(u32::MAX);
            summary = summary.with_ideal(Duration::from_millis(cli.work_ms) * rounds);
        }
        self.add_to(summary)
    }

    /// Adds the queue's fields and lines to the summary.
    fn add_to(&self, summary: Summary) -> Summary {
        let secs = self.consuming.as_secs_f64();
        let rate = if secs > 0.0 {
            (self.acked as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        };
        let pending = self
            .pending_left
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        summary
            .field("consumer", self.consumer.clone())
            .field("produced", self.produced)
            .field("acked", self.acked)
            .field("dead_lettered", self.dead_lettered)
            .field("claimed", self.claimed)
            .field("pending_left", self.pending_left)
            .field("messages_per_sec", rate)
            .line(format!("consumer {}", self.consumer))
            .line(format!(
                "produced {}, acknowledged {} ({rate} messages/s while consuming), dead-lettered {}, claimed from idle consumers {}, left pending in the group {pending}",
                self.produced, self.acked, self.dead_lettered, self.claimed
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn the_summary_carries_the_queue_fields() {
        let cli =
            Cli::try_parse_from(["queue-consumer", "--workers", "2", "--work-ms", "10"]).expect("valid");
        let mut stats = QueueStats::new("host-1-abc".into());
        (stats.produced, stats.acked, stats.pending_left) = (4, 4, Some(0));
        stats.consuming = Duration::from_secs(1);
        let mut tally = Tally::new(0);
        for _ in 0..4 {
            tally.submitted += 1;
            tally.record(&common::Outcome::Ok(1));
        }
        let summary = stats.pool_summary(&cli, tally, 2, Duration::from_secs(1));
        let event = summary.to_event(None, None, None);
        assert_eq!(event.count("acked"), Some(4));
        assert_eq!(event.count("pending_left"), Some(0));
        assert_eq!(event.number("messages_per_sec"), Some(4.0));
        // 4 jobs of 10 ms on 2 workers: 2 rounds.
        assert_eq!(event.ideal_ms, Some(20.0));
    }
}
