//! The summary: the queue's own fields and lines beside the standard ones.

use std::time::Duration;

use common::{Summary, Tally};

use crate::cli::Cli;
use crate::db::Counts;

/// What the completer counted: claims it really ended (a claim rescued meanwhile is not
/// counted), by how they ended; `malformed`: of the discarded, those whose payload names no
/// job (discarded at their first attempt).
#[derive(Debug, Default, Clone, Copy)]
pub struct Completed {
    pub completed: u64,
    pub retried: u64,
    pub discarded: u64,
    pub malformed: u64,
    pub released: u64,
}

/// What the keeper counted: expired leases returned, of them those discarded, and the leases
/// it extended (one per claim per heartbeat).
#[derive(Debug, Default, Clone, Copy)]
pub struct Rescues {
    pub rescued: u64,
    pub discarded: u64,
    pub extended: u64,
}

/// What the producer did: jobs inserted (committed), and with `--rollback-every` the
/// transactions rolled back (neither their order nor their job exists).
#[derive(Debug, Default, Clone, Copy)]
pub struct Produced {
    pub inserted: u64,
    pub rolled_back: u64,
}

/// What the database side of the run counted.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub consumer: String,
    pub produced: Produced,
    pub done: Completed,
    pub rescues: Rescues,
    /// Idle waits that a notification ended (`--wake notify`).
    pub woken_by_notify: u64,
    /// Connections made again after one was lost, over all threads.
    pub reconnects: u64,
    /// For each job started, ms from when it was due to its start.
    pub waits: Vec<f64>,
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
        let (p50, p99) = (percentile(&self.waits, 0.5), percentile(&self.waits, 0.99));
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
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
            .field("produced", self.produced.inserted)
            .field("rolled_back", self.produced.rolled_back)
            .field("completed", d.completed)
            .field("retried", d.retried)
            .field("discarded", d.discarded + self.rescues.discarded)
            .field("malformed", d.malformed)
            .field("released", d.released)
            .field("rescued", self.rescues.rescued)
            .field("leases_extended", self.rescues.extended)
            .field("woken_by_notify", self.woken_by_notify)
            .field("reconnects", self.reconnects)
            .field("due_to_start_ms_p50", p50)
            .field("due_to_start_ms_p99", p99)
            .field("table_available", t.map(|t| t.available))
            .field("table_running", t.map(|t| t.running))
            .field("table_completed", t.map(|t| t.completed))
            .field("table_discarded", t.map(|t| t.discarded))
            .field("jobs_per_sec", rate)
            .line(format!("consumer {}", self.consumer))
            .line(format!(
                "produced {}, completed {} ({rate} jobs/s), retried {}, discarded {} ({} malformed), released {}, rescued from expired leases {}",
                self.produced.inserted,
                d.completed,
                d.retried,
                d.discarded + self.rescues.discarded,
                d.malformed,
                d.released,
                self.rescues.rescued
            ))
            .line(format!(
                "due to started: p50 {}, p99 {}; woken by NOTIFY {}, leases extended {}, reconnects {}",
                ms(p50),
                ms(p99),
                self.woken_by_notify,
                self.rescues.extended,
                self.reconnects
            ))
            .line(format!("the table now: {table}"))
    }
}

/// The `q`-quantile of `values` (nearest rank), rounded to 0.01 ms; `None` if there are none.
fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).map(|v| (v * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn the_summary_carries_the_queue_fields() {
        let cli = Cli::try_parse_from(["pg-queue", "--workers", "2", "--work-ms", "10"]).expect("valid");
        let mut stats = QueueStats::new("host-1-abc".into());
        stats.produced.inserted = 4;
        stats.waits = vec![3.0, 1.0, 2.0, 40.0];
        stats.done.completed = 4;
        stats.done.malformed = 1;
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
        assert_eq!(event.count("malformed"), Some(1));
        assert_eq!(event.number("jobs_per_sec"), Some(4.0));
        assert_eq!(event.ideal_ms, Some(20.0));
        assert_eq!(event.number("due_to_start_ms_p50"), Some(2.0));
        assert_eq!(event.number("due_to_start_ms_p99"), Some(40.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
