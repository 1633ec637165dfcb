//! `db-batch`: every run writes a real SQLite file in the scenario's folder. The row counts the
//! example reports are checked against the database itself, counted by a second process
//! (`db-batch --count-only`), since xtask does not link SQLite.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Interrupt, Run, Scenario};

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::run(
            "small",
            &["--db", "{dir}/t.sqlite", "--rows", "5000", "--batch-size", "500"],
            0,
        )
        // Batches that take a millisecond can finish before the 5th worker picks one up.
        .partial_concurrency()
        .check(|run| {
            expect_rows(
                run,
                &[("rows_inserted", 5000), ("rows_rejected", 0), ("batches", 10)],
            )?;
            durable_matches(run)
        }),
        Scenario::run(
            "bad-rows-3",
            &[
                "--db",
                "{dir}/t.sqlite",
                "--rows",
                "5000",
                "--batch-size",
                "500",
                "--bad-rows",
                "3",
            ],
            1,
        )
        .partial_concurrency()
        .check(|run| {
            expect_rows(
                run,
                &[("rows_inserted", 4997), ("rows_rejected", 3), ("failed", 3)],
            )?;
            let events = run.events()?;
            let rejected: Vec<&Value> = events.named("row_rejected").collect();
            let with_reason = rejected
                .iter()
                .filter(|e| {
                    e["row"].as_u64().is_some()
                        && e["reason"]
                            .as_str()
                            .is_some_and(|r| r.contains("CHECK constraint failed"))
                })
                .count();
            if rejected.len() != 3 || with_reason != 3 {
                return Err(format!(
                    "expected 3 row_rejected events with a row id and SQLite's reason, got {rejected:?}"
                ));
            }
            durable_matches(run)
        }),
        Scenario::run(
            "workers-1",
            &[
                "--db",
                "{dir}/t.sqlite",
                "--rows",
                "3000",
                "--batch-size",
                "300",
                "--workers",
                "1",
            ],
            0,
        )
        .check(|run| {
            expect_rows(run, &[("rows_inserted", 3000), ("peak_in_flight", 1)])?;
            durable_matches(run)
        }),
        // --work-ms keeps each batch in flight long enough for all 8 workers to overlap.
        Scenario::run(
            "workers-8",
            &[
                "--db",
                "{dir}/t.sqlite",
                "--rows",
                "8000",
                "--batch-size",
                "250",
                "--workers",
                "8",
                "--work-ms",
                "20",
            ],
            0,
        )
        .check(|run| {
            expect_rows(run, &[("rows_inserted", 8000), ("batches", 32)])?;
            durable_matches(run)
        }),
        Scenario::run(
            "batch-size-1",
            &["--db", "{dir}/t.sqlite", "--rows", "300", "--batch-size", "1"],
            0,
        )
        .partial_concurrency()
        .check(|run| {
            expect_rows(run, &[("rows_inserted", 300), ("batches", 300)])?;
            durable_matches(run)
        }),
        Scenario::run(
            "single-tx",
            &["--db", "{dir}/t.sqlite", "--rows", "5000", "--mode", "single-tx"],
            0,
        )
        .check(|run| {
            expect_rows(run, &[("rows_inserted", 5000), ("batches", 1), ("workers", 1)])?;
            durable_matches(run)
        }),
        // Ctrl-C after 3 batches started: 500 batches of 10 ms each on 5 workers take ~1 s.
        Scenario::run(
            "sigint",
            &[
                "--db",
                "{dir}/t.sqlite",
                "--rows",
                "50000",
                "--batch-size",
                "100",
                "--work-ms",
                "10",
            ],
            130,
        )
        .interrupt(Interrupt::AfterStarted(3))
        .partial_concurrency()
        .check(|run| {
            let not_started = run.count("not_started")?;
            if not_started == 0 {
                return Err("the run ended before Ctrl-C stopped it: nothing was not_started".into());
            }
            // Each batch committed or rolled back whole: inserted rows are whole batches.
            let (inserted, ok) = (run.count("rows_inserted")?, run.count("ok")?);
            if inserted != ok * 100 {
                return Err(format!(
                    "{inserted} rows inserted by {ok} ok batches of 100: a batch landed in part"
                ));
            }
            let parts = [
                "rows_inserted",
                "rows_existing",
                "rows_rejected",
                "rows_not_written",
            ]
            .iter()
            .map(|k| run.count(k))
            .sum::<Result<u64, String>>()?;
            if parts != run.count("rows_generated")? {
                return Err(format!(
                    "inserted + existing + rejected + not written = {parts} != 50000"
                ));
            }
            durable_matches(run)
        })
        .timeout(Duration::from_secs(60)),
        // The first run (in setup) fills the file; the second inserts nothing and keeps the count.
        Scenario::run(
            "second-run",
            &["--db", "{dir}/t.sqlite", "--rows", "3000", "--batch-size", "500"],
            0,
        )
        .setup(|dir| {
            let db = dir.join("t.sqlite");
            let status = Command::new(example_binary().map_err(anyhow::Error::msg)?)
                .arg("--db")
                .arg(&db)
                .args(["--rows", "3000", "--batch-size", "500", "--quiet"])
                .stdout(std::process::Stdio::null())
                .status()?;
            anyhow::ensure!(status.success(), "the first run failed: {status}");
            Ok(())
        })
        .partial_concurrency()
        .check(|run| {
            expect_rows(
                run,
                &[
                    ("rows_before", 3000),
                    ("rows_inserted", 0),
                    ("rows_existing", 3000),
                    ("durable_rows", 3000),
                ],
            )?;
            durable_matches(run)
        }),
        Scenario::bad_input(
            "bad-input/db-folder-missing",
            &["--db", "/nonexistent-dir/x.sqlite"],
        ),
        // A folder where no file can be created, even by root (chmod does not stop root).
        Scenario::bad_input(
            "bad-input/db-folder-read-only",
            &["--db", "/proc/db-batch.sqlite"],
        ),
        Scenario::bad_input("bad-input/batch-size-0", &["--batch-size", "0"]),
        Scenario::bad_input(
            "bad-input/bad-rows-over-rows",
            &["--db", "{dir}/t.sqlite", "--rows", "10", "--bad-rows", "11"],
        ),
    ]
}

fn expect_rows(run: &Run<'_>, expected: &[(&str, u64)]) -> Result<(), String> {
    expected
        .iter()
        .try_for_each(|(key, want)| run.expect_count(key, *want))
}

/// The example's own count (`durable_rows`) = rows before + rows inserted = what a second
/// process counts in the file.
fn durable_matches(run: &Run<'_>) -> Result<(), String> {
    let durable = run.count("durable_rows")?;
    let (before, inserted) = (run.count("rows_before")?, run.count("rows_inserted")?);
    if durable != before + inserted {
        return Err(format!(
            "durable_rows {durable} != rows_before {before} + rows_inserted {inserted}"
        ));
    }
    let counted = count_rows(&run.dir.join("t.sqlite"))?;
    if counted != durable {
        return Err(format!(
            "the file holds {counted} rows (db-batch --count-only), the run reported {durable}"
        ));
    }
    Ok(())
}

/// `db-batch` beside the running xtask binary (both are in the target's `debug` folder).
fn example_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find xtask's binary: {e}"))?;
    let bin = exe.with_file_name(format!("db-batch{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} is not built", bin.display()))
    }
}

/// The rows in the file, counted by `db-batch --count-only --json` in a process of its own.
fn count_rows(db: &Path) -> Result<u64, String> {
    let out = Command::new(example_binary()?)
        .arg("--db")
        .arg(db)
        .args(["--count-only", "--json"])
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
    let summary: Value =
        serde_json::from_str(last).map_err(|e| format!("--count-only printed {last:?}: {e}"))?;
    summary["durable_rows"]
        .as_u64()
        .ok_or_else(|| format!("--count-only printed no durable_rows: {last}"))
}
