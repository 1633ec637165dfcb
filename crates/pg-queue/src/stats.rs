//! The summary: the queue's own fields and lines beside the standard ones.

use std::time::Duration;

use common::{Summary, Tally};

use crate::cli::Cli;
use crate::db::Counts;

/// What the completer counted: claims it really ended (a claim rescued meanwhile is not
/// counted), by how they ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct Completed {
    pub completed: u64,
    pub retried: u64,
    pub discarded: u64,
    pub released: u64,
}

/// What the rescuer counted: expired leases returned, and of them those discarded.
#[derive(Debug, Default, Clone, Copy)]
pub struct Rescues {
    pub rescued: u64,
    pub discarded: u64,
}

/// What the database side of the run counted.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub consumer: String,
    pub produced: u64,
    pub done: Completed,
    pub rescues: Rescues,
    /// The table's rows by state at the end (None: could not be read).
    pub table: Option<Counts>,
}

impl QueueStats {
    pub fn new(consumer: String) -> QueueStats {
        QueueStats {
            consumer,
            ..QueueStats::default()
        }
    }

    /// The run's summary: every claim this process made is a job; with `--work-ms`, the ideal
    /// is that many rounds of the workers. `wall` is the whole run's (the clock of its events);
    /// the rate is over `pool`, the time the pool ran.
    pub fn summary(&self, cli: &Cli, tally: Tally, peak: usize, wall: Duration, pool: Duration) -> Summary {
        let mut summary = Summary::new("pg-queue", tally, cli.workers, peak, wall)
            .with_interrupted_at(common::signal::interrupted_at());
        if cli.work_ms > 0 && tally.ran() > 0 {
            let rounds = u32::try_from(tally.ran().div_ceil(cli.workers as u64)).unwrap_or(u32::MAX);
            summary = summary.with_ideal(Duration::from_millis(cli.work_ms) * rounds);
        }
        let secs = pool.as_secs_f64();
        let rate = if secs > 0.0 {
            (self.done.completed as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        };
        let d = self.done;
        let t = self.table;
        let table = t.map_or_else(
            || "unknown".to_owned(),
            |t| {
                format!(
                    "{} available, {} running, {} completed, {} discarded",
                    t.available, t.running, t.completed, t.discarded
                )
            },
        );
        summary
            .field("consumer", self.consumer.clone())
            .field("produced", self.produced)
            .field("completed", d.completed)
            .field("retried", d.retried)
            .field("discarded", d.discarded + self.rescues.discarded)
            .field("released", d.released)
            .field("rescued", self.rescues.rescued)
            .field("table_available", t.map(|t| t.available))
            .field("table_running", t.map(|t| t.running))
            .field("table_completed", t.map(|t| t.completed))
            .field("table_discarded", t.map(|t| t.discarded))
            .field("jobs_per_sec", rate)
            .line(format!("consumer {}", self.consumer))
            .line(format!(
                "produced {}, completed {} ({rate} jobs/s), retried {}, discarded {}, released {}, rescued from expired leases {}",
                self.produced,
                d.completed,
                d.retried,
                d.discarded + self.rescues.discarded,
                d.released,
                self.rescues.rescued
            ))
            .line(format!("the table now: {table}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn the_summary_carries_the_queue_fields() {
        let cli = Cli::try_parse_from(["pg-queue", "--workers", "2", "--work-ms", "10"]).expect("valid");
        let mut stats = QueueStats::new("host-1-abc".into());
        stats.produced = 4;
        stats.done.completed = 4;
        stats.table = Some(Counts {
            completed: 4,
            ..Counts::default()
        });
        let mut tally = Tally::new(0);
        for _ in 0..4 {
            tally.submitted += 1;
            tally.record(&common::Outcome::Ok(1));
        }
        let event = stats
            .summary(&cli, tally, 2, Duration::from_secs(1), Duration::from_secs(1))
            .to_event(None, None, None);
        assert_eq!(event.count("completed"), Some(4));
        assert_eq!(event.count("table_running"), Some(0));
        assert_eq!(event.number("jobs_per_sec"), Some(4.0));
        assert_eq!(event.ideal_ms, Some(20.0));
    }
}
