//! db-batch on a real SQLite file in each test's own folder: every run keeps the invariants
//! I1–I5 (`harness`), and the rows it reports are the rows in the file, counted by a second
//! process; a bad row fails its batch alone, Ctrl-C leaves whole batches only, and a second run
//! inserts nothing twice. The PostgreSQL scenarios are in `postgres.rs`.

mod support;

use harness::{Interrupt, Run, Scenario, Signal};

use crate::support::{
    accounted_rows, check, count_rows, durable_matches, expect, fill, rejected_with_reason,
};

/// A run long enough to be interrupted: 500 batches of 100 rows, 10 ms of preparation each.
const LONG: &str = "--rows 50000 --batch-size 100 --work-ms 10";

/// `--db {dir}/t.sqlite` and the given flags (split on spaces).
fn args(flags: &str) -> Vec<&str> {
    ["--db", "{dir}/t.sqlite"]
        .into_iter()
        .chain(flags.split_whitespace())
        .collect()
}

fn run(name: &str, flags: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &args(flags), exit_code)
}

/// The scenario's SQLite file.
fn file(run: &Run<'_>) -> String {
    run.dir.join("t.sqlite").display().to_string()
}

/// [`durable_matches`] against the scenario's file.
fn file_matches(run: &Run<'_>) -> Result<(), String> {
    durable_matches(run, &file(run))
}

#[test]
fn small() {
    check(
        run("small", "--rows 5000 --batch-size 500", 0)
            // Batches that take a millisecond can finish before the 5th worker picks one up.
            .partial_concurrency()
            .check(|run| {
                expect(
                    run,
                    &[("rows_inserted", 5000), ("rows_rejected", 0), ("batches", 10)],
                )?;
                file_matches(run)
            }),
    );
}

#[test]
fn bad_rows_fail_their_batches_alone() {
    check(
        run("bad-rows-3", "--rows 5000 --batch-size 500 --bad-rows 3", 1)
            .partial_concurrency()
            .check(|run| {
                expect(run, &[("rows_inserted", 4997), ("rows_rejected", 3)])?;
                if run.summary()?.failed != 3 {
                    return Err(format!(
                        "expected 3 failed batches, got {}",
                        run.summary()?.failed
                    ));
                }
                rejected_with_reason(run, 3, "CHECK constraint failed")?;
                file_matches(run)
            }),
    );
}

#[test]
fn one_worker() {
    check(
        run("workers-1", "--rows 3000 --batch-size 300 --workers 1", 0).check(|run| {
            expect(run, &[("rows_inserted", 3000)])?;
            file_matches(run)
        }),
    );
}

#[test]
fn eight_workers_overlap() {
    // --work-ms keeps each batch in flight long enough for all 8 workers to overlap.
    check(
        run(
            "workers-8",
            "--rows 8000 --batch-size 250 --workers 8 --work-ms 20",
            0,
        )
        .check(|run| {
            expect(run, &[("rows_inserted", 8000), ("batches", 32)])?;
            file_matches(run)
        }),
    );
}

#[test]
fn batches_of_one_row() {
    check(
        run("batch-size-1", "--rows 300 --batch-size 1", 0)
            .partial_concurrency()
            .check(|run| {
                expect(run, &[("rows_inserted", 300), ("batches", 300)])?;
                file_matches(run)
            }),
    );
}

#[test]
fn single_transaction_mode() {
    check(run("single-tx", "--rows 5000 --mode single-tx", 0).check(|run| {
        expect(run, &[("rows_inserted", 5000), ("batches", 1)])?;
        file_matches(run)
    }));
}

/// A run stopped mid-way leaves whole batches of 100, and the file agrees.
fn stopped_with_whole_batches(run: &Run<'_>) -> Result<(), String> {
    support::stopped_with_whole_batches(run, &file(run))
}

#[test]
fn ctrl_c_sigint_mid_run() {
    // Ctrl-C after 3 batches started: 500 batches of 10 ms each on 5 workers take ~1 s.
    check(
        run("sigint", LONG, 130)
            .interrupt(Interrupt::AfterStarted(3))
            .partial_concurrency()
            .check(stopped_with_whole_batches),
    );
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    check(
        run("sigterm", LONG, 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 3))
            .partial_concurrency()
            .check(stopped_with_whole_batches),
    );
}

#[test]
fn ctrl_c_sigint_first_instant() {
    // A signal in the first instants (it used to kill the run before its handler was
    // installed): still a summary, exit 130, and a database that agrees with it.
    check(
        run("sigint-first-instant", LONG, 130)
            .interrupt(Interrupt::SignalAfterMs(Signal::Int, 1))
            .partial_concurrency()
            .check(|run| {
                accounted_rows(run)?;
                file_matches(run)
            }),
    );
}

#[test]
fn ctrl_c_double_sigint_leaves_whole_batches() {
    // A second Ctrl-C exits at once (no summary); the file still holds whole batches only.
    check(
        Scenario::exit_only("double-sigint", &args(LONG), 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 3))
            .check(|run| {
                let counted = count_rows(&file(run))?;
                if counted % 100 != 0 {
                    return Err(format!(
                        "{counted} rows in the file: a batch of 100 landed in part"
                    ));
                }
                Ok(())
            }),
    );
}

#[test]
fn a_second_run_inserts_nothing_twice() {
    // The first run (in setup) fills the file; the second inserts nothing and keeps the count.
    check(
        run("second-run", "--rows 3000 --batch-size 500", 0)
            .setup(|dir| {
                fill(
                    &dir.join("t.sqlite").display().to_string(),
                    "--rows 3000 --batch-size 500",
                )
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
                file_matches(run)
            }),
    );
}

#[test]
fn count_only_of_a_missing_file_creates_nothing() {
    // Counting a file that is not there says so, and does not create an empty database.
    check(
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
    );
}

// Usage errors whose command line names the test's folder; the others are in bad-input.txt.

#[test]
fn bad_input_bad_rows_over_rows() {
    check(Scenario::bad_input(
        "bad-input/bad-rows-over-rows",
        &args("--rows 10 --bad-rows 11"),
    ));
}

#[test]
fn bad_input_rows_negative() {
    check(Scenario::bad_input("bad-input/rows-negative", &args("--rows -1")));
}
