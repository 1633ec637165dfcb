//! What db-batch counts and how it says so: the row totals, the detail of its `started` and
//! `finished` events, and the summary. No pool mechanics here: those stay in `main.rs`.

use std::time::Duration;

use common::{Detail, Job, Outcome, Summary, Tally};

use crate::cli::Mode;
use crate::db::{Database, Written};
use crate::orders::{Batch, Plan};

/// How the batches and their rows ended.
#[derive(Debug)]
pub struct Stats {
    pub tally: Tally,
    pub workers: usize,
    /// Rows per batch (the whole run's rows for `--mode single-tx`).
    pub batch_size: u64,
    pub inserted: u64,
    pub existing: u64,
    pub rejected: u64,
    /// Rows of batches that failed whole, were cancelled or never started.
    pub not_written: u64,
    pub panicked: usize,
    /// Batches whose COMMIT landed though its reply was lost with the connection.
    pub replies_lost: u64,
    /// The inserting alone (for `single-tx`, without generating the rows).
    pub insert_time: Duration,
}

impl Stats {
    pub fn new(batches: u64, workers: usize, batch_size: u64) -> Self {
        Stats {
            tally: Tally::new(batches),
            workers,
            batch_size,
            inserted: 0,
            existing: 0,
            rejected: 0,
            not_written: 0,
            panicked: 0,
            replies_lost: 0,
            insert_time: Duration::ZERO,
        }
    }

    /// Counts one batch of `rows` rows that ended with `outcome`.
    pub fn record(&mut self, outcome: &Outcome, rows: u64, written: &Written) {
        self.tally.record(outcome);
        let rejected = written.rejected.len() as u64;
        self.inserted += written.inserted;
        self.existing += written.existing;
        self.rejected += rejected;
        self.replies_lost += u64::from(written.reply_lost);
        self.not_written += rows.saturating_sub(written.inserted + written.existing + rejected);
    }
}

/// A batch that ended with rejected rows is `failed` (some data did not make it), saying how
/// many rows were rejected and how many landed.
pub fn row_by_row_outcome(written: &Written, rows: usize) -> Outcome {
    match written.rejected.first() {
        None => Outcome::Ok(written.inserted),
        Some(first) => Outcome::Failed(format!(
            "{} of {rows} rows rejected (first: row {}: {}); {} inserted row by row, {} already there",
            written.rejected.len(),
            first.row,
            first.reason,
            written.inserted,
            written.existing
        )),
    }
}

/// `started`: the batch's row range.
pub fn started(batch: &Batch, worker: usize) -> Detail {
    let (first, last) = match (batch.rows.first(), batch.rows.last()) {
        (Some(f), Some(l)) => (f.id, l.id),
        _ => (0, 0),
    };
    Detail::default()
        .human(format!(
            "Worker {worker} started batch {} (rows {first}..={last})",
            batch.id
        ))
        .field("rows", batch.rows.len() as u64)
}

/// `finished`: what happened to the batch's rows.
pub fn finished(job: &Job, worker: usize, outcome: &Outcome, written: &Written) -> Detail {
    let id = job.id;
    let mut human = match outcome {
        Outcome::Ok(_) if written.existing > 0 => format!(
            "Worker {worker} finished batch {id}: {} inserted, {} already there",
            written.inserted, written.existing
        ),
        Outcome::Ok(_) => format!(
            "Worker {worker} finished batch {id}: {} inserted",
            written.inserted
        ),
        Outcome::Failed(reason) => format!("Worker {worker} failed batch {id}: {reason}"),
        Outcome::Cancelled | Outcome::NotStarted => {
            format!("Worker {worker} cancelled batch {id}: nothing written")
        }
    };
    if written.reply_lost {
        human += " (its COMMIT's reply was lost with the connection; found committed)";
    }
    Detail::default()
        .human(human)
        .field("rows", job.value)
        .field("inserted", written.inserted)
        .field("existing", written.existing)
        .field("rejected", written.rejected.len() as u64)
}

/// `--count-only`: the rows in the database, nothing else.
pub fn count_only(db: &Database, rows: u64, wall: Duration) -> Summary {
    Summary::new("db-batch", Tally::default(), 0, 0, wall)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("mode", "count-only")
        .field("backend", db.kind())
        .field("db", db.name())
        .field("durable_rows", rows)
        .line(format!("{rows} rows in {}", db.name()))
}

/// What the run knows at the end, beside [`Stats`].
#[derive(Debug)]
pub struct End<'a> {
    pub db: &'a Database,
    pub mode: Mode,
    pub plan: &'a Plan,
    pub rows_before: u64,
    /// `SELECT count(*)` after every worker has finished, or why the database could not say (a
    /// server gone mid-run): the summary then still counts every batch, and carries the error.
    pub durable: anyhow::Result<u64>,
    pub peak: usize,
    pub wall: Duration,
}

/// The closing summary: the standard fields, the row counts, and the rate.
pub fn summary(stats: &Stats, end: &End<'_>) -> Summary {
    let secs = stats.insert_time.as_secs_f64();
    let rows_per_sec = if secs > 0.0 {
        (stats.inserted as f64 / secs).round()
    } else {
        0.0
    };
    let durable = end.durable.as_ref().ok().copied();
    let (db, plan, before) = (end.db.name(), end.plan, end.rows_before);
    let mut summary = Summary::new("db-batch", stats.tally, stats.workers, end.peak, end.wall)
        .with_interrupted_at(common::signal::interrupted_at())
        .field("mode", end.mode.name())
        .field("backend", end.db.kind())
        .field("db", db.clone())
        .field("rows_generated", plan.rows)
        .field("rows_inserted", stats.inserted)
        .field("rows_existing", stats.existing)
        .field("rows_rejected", stats.rejected)
        .field("rows_not_written", stats.not_written)
        .field("commit_replies_lost", stats.replies_lost)
        .field("batches", stats.tally.submitted)
        .field("batch_size", stats.batch_size)
        .field("rows_before", before)
        .field("durable_rows", durable)
        .field("insert_ms", (secs * 1e6).round() / 1e3)
        .field("rows_per_sec", rows_per_sec)
        .line(format!(
            "rows: {} generated, {} inserted, {} already there, {} rejected, {} not written",
            plan.rows, stats.inserted, stats.existing, stats.rejected, stats.not_written
        ))
        .line(format!(
            "{} batches of up to {} rows: {rows_per_sec:.0} rows/s inserted in {:.1} ms",
            stats.tally.submitted,
            stats.batch_size,
            secs * 1e3
        ))
        .line(match durable {
            Some(n) => format!("durable: SELECT count(*) = {n} rows in {db} ({before} before this run)"),
            None => format!("durable: unknown, {db} could not be counted after the run ({before} before it)"),
        });
    if stats.replies_lost > 0 {
        summary = summary.line(format!(
            "{} batch(es) committed though the COMMIT's reply was lost with the connection: found \
             committed on a new connection, not written again",
            stats.replies_lost
        ));
    }
    if stats.inserted == 0 && stats.existing > 0 {
        summary = summary.line("every row was already there from an earlier run: --fresh starts over");
    }
    summary = summary.line(match (end.mode, plan.batch_size) {
        (Mode::Pool, 1) => {
            "hint: one transaction per row; the default --batch-size 1000 shows what batching saves"
        }
        _ => "hint: --batch-size 1 (a transaction per row) shows why batching matters; --mode single-tx is the ceiling",
    });
    if stats.panicked > 0 {
        summary = summary
            .line(format!("{} thread(s) panicked", stats.panicked))
            .field("threads_panicked", stats.panicked);
    }
    if let Err(e) = &end.durable {
        summary = summary.with_error(common::error_chain(e)); // exit 2
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Sqlite;

    #[test]
    fn a_database_that_cannot_be_counted_after_the_run_leaves_durable_unknown() {
        let db = Database::Sqlite(Sqlite::new("/tmp/db-batch-unit.sqlite", Duration::from_secs(1)));
        let plan = Plan::new(20, 10, 1, 0);
        let mut stats = Stats::new(2, 2, 10);
        stats.record(&common::Outcome::Ok(10), 10, &Default::default());
        stats.record(
            &common::Outcome::Failed("server gone".into()),
            10,
            &Default::default(),
        );
        let end = End {
            db: &db,
            mode: Mode::Pool,
            plan: &plan,
            rows_before: 0,
            durable: Err(anyhow::anyhow!("cannot count the rows")),
            peak: 2,
            wall: Duration::from_millis(5),
        };
        let summary = summary(&stats, &end);
        let event = summary.to_event(Some(0), None, None);
        assert!(event.extra.get("durable_rows").is_some_and(|v| v.is_null()));
        assert_eq!(
            (event.ok, event.failed, event.error.as_deref()),
            (1, 1, Some("cannot count the rows"))
        );
        assert!(summary.to_human(Some(0), None).contains("durable: unknown"));
        assert_eq!(summary.exit_code(), common::exit::EXIT_USAGE);
    }
}
