//! pg-queue as one process on its own private PostgreSQL cluster (no `--database-url`): every
//! job done exactly once and none left running. Runs on a cluster the test starts itself are in
//! `postgres.rs`. (The harness clears `DATABASE_URL` for every run, so a database in the
//! environment is never touched.)

use std::collections::BTreeSet;

use common::event::{Event, OutcomeKind};
use harness::Scenario;

const BIN: &str = env!("CARGO_BIN_EXE_pg-queue");

#[test]
fn default_run_completes_every_job_once() {
    harness::assert_scenario(
        BIN,
        env!("CARGO_TARGET_TMPDIR"),
        Scenario::run("default", &["--jobs", "2000"], 0)
            .partial_concurrency() // trivial jobs: one worker can take them all
            .check(|run| {
                let s = run.summary()?;
                harness::expect_eq("submitted, ok", (s.submitted, s.ok), (2000, 2000))?;
                for (key, want) in [
                    ("produced", 2000),
                    ("completed", 2000),
                    ("table_completed", 2000),
                    ("table_running", 0),
                    ("table_available", 0),
                    ("rescued", 0),
                ] {
                    run.expect_count(key, want)?;
                }
                let done: BTreeSet<u64> = run
                    .events()?
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Finished(f) if f.outcome == OutcomeKind::Ok => f.value,
                        _ => None,
                    })
                    .collect();
                harness::expect_eq("distinct jobs done", done, (1..=2000).collect())
            }),
    );
}
