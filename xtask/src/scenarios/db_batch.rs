//! `db-batch`: every run writes a real SQLite file in the scenario's folder. The row counts the
//! example reports are checked against the database itself, counted by a second process
//! (`db-batch --count-only`), since xtask does not link SQLite.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::event::{Event, RunSummary};

use super::{Interrupt, Run, Scenario, Signal};

/// A run long enough to be interrupted: 500 batches of 100 rows, 10 ms of preparation each.
const LONG: &[&str] = &[
    "--db",
    "{dir}/t.sqlite",
    "--rows",
    "50000",
    "--batch-size",
    "100",
    "--work-ms",
    "10",
];

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::run("small", &args("--rows 5000 --batch-size 500"), 0)
            // Batches that take a millisecond can finish before the 5th worker picks one up.
            .partial_concurrency()
            .check(|run| {
                expect(
                    run,
                    &[("rows_inserted", 5000), ("rows_rejected", 0), ("batches", 10)],
                )?;
                durable_matches(run)
            }),
        Scenario::run(
            "bad-rows-3",
            &args("--rows 5000 --batch-size 500 --bad-rows 3"),
            1,
        )
        .partial_concurrency()
        .check(|run| {
            expect(run, &[("rows_inserted", 4997), ("rows_rejected", 3)])?;
            if summary(run)?.failed != 3 {
                return Err(format!("expected 3 failed batches, got {}", summary(run)?.failed));
            }
            rejected_with_reason(run, 3, "CHECK constraint failed")?;
            durable_matches(run)
        }),
        Scenario::run("workers-1", &args("--rows 3000 --batch-size 300 --workers 1"), 0).check(|run| {
            expect(run, &[("rows_inserted", 3000)])?;
            durable_matches(run)
        }),
        // --work-ms keeps each batch in flight long enough for all 8 workers to overlap.
        Scenario::run(
            "workers-8",
            &args("--rows 8000 --batch-size 250 --workers 8 --work-ms 20"),
            0,
        )
        .check(|run| {
            expect(run, &[("rows_inserted", 8000), ("batches", 32)])?;
            durable_matches(run)
        }),
        Scenario::run("batch-size-1", &args("--rows 300 --batch-size 1"), 0)
            .partial_concurrency()
            .check(|run| {
                expect(run, &[("rows_inserted", 300), ("batches", 300)])?;
                durable_matches(run)
            }),
        Scenario::run("single-tx", &args("--rows 5000 --mode single-tx"), 0).check(|run| {
            expect(run, &[("rows_inserted", 5000), ("batches", 1)])?;
            durable_matches(run)
        }),
        // Ctrl-C after 3 batches started: 500 batches of 10 ms each on 5 workers take ~1 s.
        Scenario::run("sigint", LONG, 130)
            .interrupt(Interrupt::AfterStarted(3))
            .partial_concurrency()
            .check(stopped_with_whole_batches),
        Scenario::run("sigterm", LONG, 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 3))
            .partial_concurrency()
            .check(stopped_with_whole_batches),
        // A signal in the first instants (issue 12: it used to kill the run before its handler
        // was installed): still a summary, exit 130, and a database that agrees with it.
        Scenario::run("sigint-first-instant", LONG, 130)
            .interrupt(Interrupt::SignalAfterMs(Signal::Int, 1))
            .partial_concurrency()
            .check(|run| {
                accounted_rows(run)?;
                durable_matches(run)
            }),
        // A second Ctrl-C exits at once (no summary); the file still holds whole batches only.
        Scenario::exit_only("double-sigint", LONG, 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 3))
            .check(|run| {
                let counted = count_rows(&run.dir.join("t.sqlite"))?;
                if counted % 100 != 0 {
                    return Err(format!(
                        "{counted} rows in the file: a batch of 100 landed in part"
                    ));
                }
                Ok(())
            }),
        // The first run (in setup) fills the file; the second inserts nothing and keeps the count.
        Scenario::run("second-run", &args("--rows 3000 --batch-size 500"), 0)
            .setup(|dir| {
                let status = Command::new(example_binary().map_err(anyhow::Error::msg)?)
                    .arg("--db")
                    .arg(dir.join("t.sqlite"))
                    .args(["--rows", "3000", "--batch-size", "500", "--quiet"])
                    .stdout(std::process::Stdio::null())
                    .status()?;
                anyhow::ensure!(status.success(), "the first run failed: {status}");
                Ok(())
            })
            .partial_concurrency()
            .check(|run| {
                expect(
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
        // Counting a file that is not there says so, and does not create an empty database.
        Scenario::exit_only("count-only-missing-file", &args("--count-only"), 2).check(|run| {
            if run.dir.join("t.sqlite").exists() {
                return Err("--count-only created the missing database".into());
            }
            let stderr = run.output.stderr.trim();
            if !stderr.contains("does not exist") || stderr.lines().count() != 1 {
                return Err(format!(
                    "expected one line saying the file does not exist, got {stderr:?}"
                ));
            }
            Ok(())
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
        Scenario::bad_input("bad-input/bad-rows-over-rows", &args("--rows 10 --bad-rows 11")),
        Scenario::bad_input("bad-input/rows-negative", &args("--rows -1")),
    ]
}

/// `--db {dir}/t.sqlite` and the given flags (split on spaces).
fn args(flags: &str) -> Vec<&str> {
    ["--db", "{dir}/t.sqlite"]
        .into_iter()
        .chain(flags.split_whitespace())
        .collect()
}

fn summary<'a>(run: &'a Run<'_>) -> Result<&'a RunSummary, String> {
    Ok(&run.events()?.summary)
}

/// The summary's count `key`.
fn count(run: &Run<'_>, key: &str) -> Result<u64, String> {
    summary(run)?
        .count(key)
        .ok_or_else(|| format!("the summary has no count {key:?}"))
}

fn expect(run: &Run<'_>, expected: &[(&str, u64)]) -> Result<(), String> {
    for (key, want) in expected {
        let got = count(run, key)?;
        if got != *want {
            return Err(format!("expected summary {key} = {want}, got {got}"));
        }
    }
    Ok(())
}

/// `n` `row_rejected` events, each with a row id and a reason containing `reason`.
fn rejected_with_reason(run: &Run<'_>, n: usize, reason: &str) -> Result<(), String> {
    let rejected: Vec<_> = run
        .events()?
        .events
        .iter()
        .filter_map(|e| match e {
            Event::RowRejected(r) => Some(r),
            _ => None,
        })
        .collect();
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
fn accounted_rows(run: &Run<'_>) -> Result<(), String> {
    let parts = [
        "rows_inserted",
        "rows_existing",
        "rows_rejected",
        "rows_not_written",
    ]
    .iter()
    .map(|k| count(run, k))
    .sum::<Result<u64, String>>()?;
    let generated = count(run, "rows_generated")?;
    if parts != generated {
        return Err(format!(
            "inserted + existing + rejected + not written = {parts} != {generated} generated"
        ));
    }
    Ok(())
}

/// A run stopped mid-way: some batches never started, the inserted rows are whole batches of
/// 100, every row is accounted for, and the file agrees.
fn stopped_with_whole_batches(run: &Run<'_>) -> Result<(), String> {
    let s = summary(run)?;
    if s.not_started == 0 {
        return Err("the run ended before the signal stopped it: nothing was not_started".into());
    }
    let inserted = count(run, "rows_inserted")?;
    if inserted != s.ok * 100 {
        return Err(format!(
            "{inserted} rows inserted by {} ok batches of 100: a batch landed in part",
            s.ok
        ));
    }
    accounted_rows(run)?;
    durable_matches(run)
}

/// The example's own count (`durable_rows`) = rows before + rows inserted = what a second
/// process counts in the file.
fn durable_matches(run: &Run<'_>) -> Result<(), String> {
    let durable = count(run, "durable_rows")?;
    let (before, inserted) = (count(run, "rows_before")?, count(run, "rows_inserted")?);
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

/// The rows in the database, counted by `db-batch --count-only --json` in a process of its own.
fn count_rows(db: &Path) -> Result<u64, String> {
    count_rows_at(&db.display().to_string())
}

fn count_rows_at(db: &str) -> Result<u64, String> {
    let out = Command::new(example_binary()?)
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
