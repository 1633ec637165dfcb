//! One batch, written: one transaction, and what happens when it fails. A lost connection: the
//! transaction rolled back, so the whole batch is retried on a new connection; if none can be
//! had (the server is gone for good), the batch fails and the run stops dispatching. Unless only
//! the COMMIT's reply was lost: the new connection asks whether it committed, and if it did the
//! batch is done, with its own counts (a retry would find its rows there and count them as
//! already there, not as inserted). A bad row:
//! the batch is retried row by row, so the good rows land and each bad row is reported.

use common::Outcome;
use db_batch::{BatchRetry, RowRejected};

use crate::Shared;
use crate::db::{Sink, WriteError, Written};
use crate::orders::Batch;
use crate::stats;

/// How many times a batch whose connection was lost is retried on a new connection.
const MAX_RECONNECTS: u32 = 3;

/// Inserts one batch in one transaction, retrying it as the module says.
pub fn batch(sink: &mut dyn Sink, batch: &Batch, worker: usize, shared: &Shared<'_>) -> (Outcome, Written) {
    let mut reconnects = 0;
    let reason = loop {
        match sink.insert_batch(&batch.rows) {
            Ok(written) => return (Outcome::Ok(written.inserted), written),
            Err(WriteError::Rows(reason)) => break reason,
            Err(lost @ WriteError::Connection(_)) if reconnects < MAX_RECONNECTS && !shared.stop.is_set() => {
                reconnects += 1;
                retrying(
                    shared,
                    batch,
                    worker,
                    format!("{lost}; retrying on a new connection"),
                );
                if let Err(err) = sink.reconnect() {
                    // Still unreachable after trying for a while: stop dispatching, as Ctrl-C
                    // does, instead of every remaining batch waiting as long again.
                    shared.stop.set();
                    return (
                        Outcome::Failed(format!("{lost}; {}", common::error_chain(&err))),
                        Written::default(),
                    );
                }
                match sink.lost_commit() {
                    Ok(Some(written)) => return (Outcome::Ok(written.inserted), written),
                    Ok(None) => {} // rolled back: retry it
                    Err(err) => return (Outcome::Failed(err.to_string()), Written::default()),
                }
            }
            Err(err) => return (Outcome::Failed(err.to_string()), Written::default()),
        }
    };
    retrying(shared, batch, worker, format!("{reason}; retrying row by row"));
    let written = match sink.insert_each(&batch.rows) {
        Ok(written) => written,
        Err(err) => return (Outcome::Failed(format!("row by row: {err}")), Written::default()),
    };
    for rejected in &written.rejected {
        let (job, row, reason) = (
            batch.id,
            u64::try_from(rejected.row).unwrap_or(0),
            &rejected.reason,
        );
        shared.bar.suspend(|| {
            shared.report.example_event(
                || format!("Worker {worker}: row {row} rejected: {reason}"),
                |t_ms| RowRejected {
                    job,
                    worker,
                    row,
                    reason: reason.clone(),
                    t_ms,
                },
            );
        });
    }
    (stats::row_by_row_outcome(&written, batch.rows.len()), written)
}

/// A `batch_retry` event: the batch's transaction rolled back and is being tried again.
fn retrying(shared: &Shared<'_>, batch: &Batch, worker: usize, reason: String) {
    let job = batch.id;
    shared.bar.suspend(|| {
        shared.report.example_event(
            || format!("Worker {worker}: batch {job} rolled back ({reason})"),
            |t_ms| BatchRetry {
                job,
                worker,
                reason: reason.clone(),
                t_ms,
            },
        );
    });
}
