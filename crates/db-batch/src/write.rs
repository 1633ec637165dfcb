//! One batch, written: one transaction, and what happens when it fails. A bad row: the batch is
//! retried row by row, so the good rows land and each bad row is reported. A lost connection:
//! the transaction rolled back, so it is tried again on a new connection; if none can be had (the
//! server is gone for good), the batch fails and the run stops dispatching. Unless only the
//! COMMIT's reply was lost: the new connection asks whether it committed, and if it did the batch
//! is done, with its own counts (a retry would find its rows there and count them as already
//! there, not as inserted).

use common::Outcome;
use db_batch::{BatchRetry, RowRejected};

use crate::Shared;
use crate::db::{Sink, WriteError, Written};
use crate::orders::Batch;
use crate::stats;

/// How many times a transaction whose connection was lost is tried again on a new connection.
const MAX_RECONNECTS: u32 = 3;

/// Inserts one batch in one transaction, retrying it as the module says.
pub fn batch(sink: &mut dyn Sink, batch: &Batch, worker: usize, shared: &Shared<'_>) -> (Outcome, Written) {
    let mut reconnects = 0;
    let reason = loop {
        let lost = match sink.insert_batch(&batch.rows) {
            Ok(written) => return (Outcome::Ok(written.inserted), written),
            Err(WriteError::Rows(reason)) => break reason,
            Err(lost @ WriteError::Connection(_)) if reconnects < MAX_RECONNECTS && !shared.stop.is_set() => {
                lost
            }
            Err(err) => return (Outcome::Failed(err.to_string()), Written::default()),
        };
        reconnects += 1;
        let again = format!("{lost}; retrying on a new connection");
        match recover(sink, batch, worker, shared, &lost, again) {
            Ok(Some(written)) => return (Outcome::Ok(written.inserted), written),
            Ok(None) => {} // rolled back: try it again
            Err(failed) => return (failed, Written::default()),
        }
    };
    retrying(shared, batch, worker, format!("{reason}; retrying row by row"));
    let mut reconnects = 0;
    let written = loop {
        let lost = match sink.insert_each(&batch.rows) {
            Ok(written) => break written,
            Err(lost @ WriteError::Connection(_)) if reconnects < MAX_RECONNECTS && !shared.stop.is_set() => {
                lost
            }
            Err(err) => return (Outcome::Failed(format!("row by row: {err}")), Written::default()),
        };
        reconnects += 1;
        let again = format!("{lost}; retrying row by row on a new connection");
        match recover(sink, batch, worker, shared, &lost, again) {
            Ok(Some(written)) => break written,
            Ok(None) => {}
            Err(failed) => return (failed, Written::default()),
        }
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

/// After a lost connection (`lost`): says so (`again`), reconnects, and asks whether the lost
/// transaction had committed ([`Sink::lost_commit`]): `Some` with what it wrote if it had, `None`
/// to try it again, or the batch's failed outcome (no connection to be had: the run stops
/// dispatching, as Ctrl-C does, instead of every remaining batch waiting as long again).
fn recover(
    sink: &mut dyn Sink,
    batch: &Batch,
    worker: usize,
    shared: &Shared<'_>,
    lost: &WriteError,
    again: String,
) -> Result<Option<Written>, Outcome> {
    retrying(shared, batch, worker, again);
    if let Err(err) = sink.reconnect() {
        shared.stop.set();
        return Err(Outcome::Failed(format!("{lost}; {}", common::error_chain(&err))));
    }
    sink.lost_commit().map_err(|err| Outcome::Failed(err.to_string()))
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
