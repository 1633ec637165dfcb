//! What the SQLite and the PostgreSQL tests share: running a scenario on db-batch, the summary's
//! row counts, and the count of the rows really in the database, made by a second process
//! (`db-batch --count-only`), so the run's own report is checked against the database itself.

use std::process::Command;

use common::event::Event;
use db_batch::RowRejected;
use harness::{Run, Scenario};

/// The example under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_db-batch");

#[track_caller]
pub fn check(scenario: Scenario) {
    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
}

/// Fails unless each of the summary's own counts `key` is `want`.
pub fn expect(run: &Run<'_>, expected: &[(&str, u64)]) -> Result<(), String> {
    for (key, want) in expected {
        let got = run.count(key)?;
        if got != *want {
            return Err(format!("expected summary {key} = {want}, got {got}"));
        }
    }
    Ok(())
}

/// `n` `row_rejected` events, each with a row id and a reason containing `reason`.
pub fn rejected_with_reason(run: &Run<'_>, n: usize, reason: &str) -> Result<(), String> {
    let rejected = run
        .events()?
        .other("row_rejected")
        .map(|o| match o.decode::<RowRejected>() {
            Some(Ok(r)) => Ok(r),
            _ => Err(format!("a row_rejected event that is not one: {o:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let with_reason = rejected
        .iter()
        .filter(|r| r.row > 0 && r.reason.contains(reason))
        .count();
    if rejected.len() != n || with_reason != n {
        return Err(format!(
            "expected {n} row_rejected events with a row id and {reason:?}, got {rejected:?}"
        ));
    }
    Ok(())
}

/// inserted + existing + rejected + not written = generated.
pub fn accounted_rows(run: &Run<'_>) -> Result<(), String> {
    let parts = [
        "rows_inserted",
        "rows_existing",
        "rows_rejected",
        "rows_not_written",
    ]
    .iter()
    .map(|k| run.count(k))
    .sum::<Result<u64, String>>()?;
    let generated = run.count("rows_generated")?;
    if parts != generated {
        return Err(format!(
            "inserted + existing + rejected + not written = {parts} != {generated} generated"
        ));
    }
    Ok(())
}

/// A run stopped mid-way: some batches never started, the inserted rows are whole batches of
/// 100, every row is accounted for, and the database at `db` (a file or a URL) agrees.
pub fn stopped_with_whole_batches(run: &Run<'_>, db: &str) -> Result<(), String> {
    let s = run.summary()?;
    if s.not_started == 0 {
        return Err("the run ended before the signal stopped it: nothing was not_started".into());
    }
    let inserted = run.count("rows_inserted")?;
    if inserted != s.ok * 100 {
        return Err(format!(
            "{inserted} rows inserted by {} ok batches of 100: a batch landed in part",
            s.ok
        ));
    }
    accounted_rows(run)?;
    durable_matches(run, db)
}

/// The example's own count (`durable_rows`) = rows before + rows inserted = what a second
/// process counts in the database at `db` (a SQLite file or a PostgreSQL URL).
pub fn durable_matches(run: &Run<'_>, db: &str) -> Result<(), String> {
    let durable = run.count("durable_rows")?;
    let (before, inserted) = (run.count("rows_before")?, run.count("rows_inserted")?);
    if durable != before + inserted {
        return Err(format!(
            "durable_rows {durable} != rows_before {before} + rows_inserted {inserted}"
        ));
    }
    let counted = count_rows(db)?;
    if counted != durable {
        return Err(format!(
            "the database holds {counted} rows (db-batch --count-only), the run reported {durable}"
        ));
    }
    Ok(())
}

/// The rows in the database at `db`, counted by `db-batch --count-only --json` in a process of
/// its own.
pub fn count_rows(db: &str) -> Result<u64, String> {
    let out = Command::new(BIN)
        .args(["--db", db, "--count-only", "--json"])
        .output()
        .map_err(|e| format!("cannot run db-batch --count-only: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "db-batch --count-only failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    match common::event::parse_line(last) {
        Ok(Event::Summary(s)) => s
            .count("durable_rows")
            .ok_or_else(|| format!("--count-only printed no durable_rows: {last}")),
        _ => Err(format!("--count-only printed {last:?}, not a summary")),
    }
}

/// `db-batch --db <db> <flags> --quiet`, which must succeed (a first run that fills the table).
pub fn fill(db: &str, flags: &str) -> anyhow::Result<()> {
    let status = Command::new(BIN)
        .args(["--db", db, "--quiet"])
        .args(flags.split_whitespace())
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "db-batch {flags} failed: {status}");
    Ok(())
}
