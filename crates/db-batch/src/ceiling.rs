//! `--mode single-tx`: the ceiling the pool is measured against, not part of the pool lesson.
//! No pool, no channels: one connection inserts every row in one transaction, timed without
//! generating the rows (with `--copy` on PostgreSQL: one `COPY` of every row).

use std::time::Instant;

use common::Outcome;

use crate::Shared;
use crate::db::{Database, Written};
use crate::orders::{Batch, Plan};
use crate::stats::{self, Stats};

pub fn run(db: &Database, plan: &Plan, shared: &Shared<'_>) -> anyhow::Result<Stats> {
    let mut stats = Stats::new(u64::from(plan.rows > 0), 1, plan.rows);
    if plan.rows == 0 {
        return Ok(stats);
    }
    let mut sink = db.connect()?;
    let batch = Batch {
        id: 1,
        rows: plan.all_rows(),
    };
    let job = batch.job();
    if shared.stop.is_set() {
        // Ctrl-C while the rows were generated: nothing was written.
        shared.report.not_started(&job);
        stats.record(&Outcome::NotStarted, plan.rows, &Written::default());
        return Ok(stats);
    }
    let start = Instant::now();
    let in_flight = shared.gauge.enter();
    shared
        .report
        .started_detail(&job, 1, || stats::started(&batch, 1));
    let (outcome, written) = crate::write::batch(sink.as_mut(), &batch, 1, shared);
    shared
        .report
        .ended(&job, 1, &outcome, || stats::finished(&job, 1, &outcome, &written));
    drop(in_flight);
    stats.insert_time = start.elapsed();
    stats.record(&outcome, plan.rows, &written);
    shared.bar.inc(plan.rows);
    Ok(stats)
}
