//! db-batch on a throwaway PostgreSQL cluster (`testbed::servers::postgres`): INSERT and COPY
//! batches land whole and once, a restart or a killed connection is retried on a new one, a
//! server gone for good stops the run with its error, a held lock fails one batch, and a password
//! is never printed. The rows a run reports are counted again by a second process.
//!
//! One cluster for the whole binary, started by the first scenario and stopped at the end of the
//! one test below, which runs every scenario in this order and names each that fails: scenarios
//! kill and restart the server, so none may run beside another, and a `static` is never dropped.
//! `cargo test -p db-batch --test postgres` runs them alone.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod proxy;
mod support;

use common::event::Event;
use db_batch::BatchRetry;
use harness::{Interrupt, Run, Scenario, Signal};
use testbed::servers::postgres::{self as pg, Cluster};

use crate::proxy::{Cut, LossyProxy, Which};
use crate::support::{check, count_rows, durable_matches, expect, fill, rejected_with_reason};

/// The cluster, started by the first scenario's setup, and what a scenario's setup leaves
/// running for its check to wait for (a fault thread, a lock-holding session).
struct Pg {
    /// Where the cluster lives (its socket is named in the command lines).
    dir: PathBuf,
    cluster: Mutex<Option<Cluster>>,
    fault: Mutex<Option<JoinHandle<anyhow::Result<()>>>>,
    holder: Mutex<Option<Child>>,
}

static PG: OnceLock<Pg> = OnceLock::new();

fn pg() -> &'static Pg {
    PG.get_or_init(|| Pg {
        dir: Cluster::new_dir(),
        cluster: Mutex::default(),
        fault: Mutex::default(),
        holder: Mutex::default(),
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pg {
    /// Starts the cluster if needed (an error names the missing package), then runs `f` with it.
    fn with<T>(&self, f: impl FnOnce(&Cluster) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut cluster = lock(&self.cluster);
        if cluster.is_none() {
            *cluster = Some(Cluster::start(&self.dir)?);
        }
        match cluster.as_ref() {
            Some(c) => f(c),
            None => anyhow::bail!("the cluster did not start"),
        }
    }

    /// An empty database: what a previous scenario left running settled (its check failed
    /// before waiting for it; an error there is that scenario's), then the table dropped.
    fn fresh(&self) -> anyhow::Result<()> {
        let _ = self.settle();
        self.with(|c| c.psql("DROP TABLE IF EXISTS orders").map(drop))
    }

    /// Waits for what the setup left running.
    fn settle(&self) -> Result<(), String> {
        if let Some(fault) = lock(&self.fault).take() {
            fault
                .join()
                .map_err(|_| "the fault thread panicked".to_owned())?
                .map_err(|e| format!("the fault did not happen: {e:#}"))?;
        }
        if let Some(mut holder) = lock(&self.holder).take() {
            // It would hold its lock for a minute: end its session now, which rolls it back.
            let ended = self.with(|c| {
                c.psql(&format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE application_name = '{HOLDER}'"
                ))
            });
            let _ = holder.wait();
            ended.map_err(|e| format!("cannot end the lock holder's session: {e:#}"))?;
        }
        Ok(())
    }
}

/// Stops and removes the cluster when the test ends, passed or failed (a `static` is never
/// dropped, and the cluster's server is not a child of this process).
struct StopCluster;

impl Drop for StopCluster {
    fn drop(&mut self) {
        let _ = pg().settle();
        drop(lock(&pg().cluster).take());
    }
}

/// The cluster's URL (its socket's folder).
fn url() -> String {
    pg::url_for(&pg().dir)
}

/// [`durable_matches`] against the cluster.
fn table_matches(run: &Run<'_>) -> Result<(), String> {
    pg().settle()?;
    durable_matches(run, &url())
}

/// Runs `sql` every 50 ms until it prints a number of at least `n` (or 20 s pass).
fn wait_for(sql: &str, n: u64) -> anyhow::Result<()> {
    let since = Instant::now();
    loop {
        let got: u64 = pg().with(|c| c.psql(sql))?.parse().unwrap_or(0);
        if got >= n {
            return Ok(());
        }
        anyhow::ensure!(
            since.elapsed() < Duration::from_secs(20),
            "{sql} stayed below {n}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sessions of db-batch that are connected right now.
const SESSIONS: &str = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'db-batch'";

/// A scenario on the cluster: its setup starts the cluster and empties the table.
fn on_pg(name: &str, flags: &str, code: i32) -> Scenario {
    let url = url();
    let args: Vec<&str> = ["--db", url.as_str()]
        .into_iter()
        .chain(flags.split_whitespace())
        .collect();
    Scenario::run(&format!("postgres/{name}"), &args, code)
        .setup(|_| pg().fresh())
        .timeout(Duration::from_secs(120))
}

/// The proxy scenarios' runs: 100 batches on 4 workers, and 10 with 3 bad rows.
const BIG: &str = "--rows 20000 --batch-size 200 --workers 4";
const BAD: &str = "--rows 5000 --batch-size 500 --bad-rows 3";

/// Every 7th COMMIT cut, 5 times.
fn every_7th(cut: Cut) -> Cuts {
    Cuts {
        cut,
        which: Which::All,
        every: 7,
        times: 5,
    }
}

/// The first row-by-row COMMIT cut, once.
fn first_row_by_row(cut: Cut) -> Cuts {
    Cuts {
        cut,
        which: Which::RowByRow,
        every: 1,
        times: 1,
    }
}

/// Every row counted once as inserted, 5 COMMIT replies lost, or none.
const LOST_5: &[(&str, u64)] = &[
    ("rows_inserted", 20000),
    ("rows_existing", 0),
    ("durable_rows", 20000),
    ("commit_replies_lost", 5),
];
const LOST_0: &[(&str, u64)] = &[
    ("rows_inserted", 20000),
    ("rows_existing", 0),
    ("durable_rows", 20000),
    ("commit_replies_lost", 0),
];

/// Every PostgreSQL scenario, in the order they run on the one cluster.
fn scenarios() -> Vec<Scenario> {
    let long = "--rows 60000 --batch-size 200 --work-ms 20 --workers 4";
    vec![
        on_pg("small", "--rows 5000 --batch-size 500", 0)
            .partial_concurrency()
            .check(|run| {
                expect(
                    run,
                    &[("rows_inserted", 5000), ("rows_rejected", 0), ("batches", 10)],
                )
            })
            .check(table_matches),
        // --work-ms keeps each batch in flight long enough for all 8 connections to overlap.
        on_pg(
            "workers-8",
            "--rows 8000 --batch-size 250 --workers 8 --work-ms 20",
            0,
        )
        .check(|run| expect(run, &[("rows_inserted", 8000), ("batches", 32)]))
        .check(table_matches),
        on_pg("copy", "--copy --rows 5000 --batch-size 500", 0)
            .partial_concurrency()
            .check(|run| expect(run, &[("rows_inserted", 5000)]))
            .check(table_matches),
        on_pg("bad-rows-3", "--rows 5000 --batch-size 500 --bad-rows 3", 1)
            .partial_concurrency()
            .check(|run| {
                expect(run, &[("rows_inserted", 4997), ("rows_rejected", 3)])?;
                rejected_with_reason(run, 3, "violates check constraint")
            })
            .check(table_matches),
        on_pg(
            "copy-bad-rows-3",
            "--copy --rows 5000 --batch-size 500 --bad-rows 3",
            1,
        )
        .partial_concurrency()
        .check(|run| {
            expect(run, &[("rows_inserted", 4997), ("rows_rejected", 3)])?;
            rejected_with_reason(run, 3, "violates check constraint")
        })
        .check(table_matches),
        // Re-runs insert nothing twice, with INSERT ... ON CONFLICT and with COPY alike.
        second_run(on_pg("second-run", "--rows 3000 --batch-size 500", 0), ""),
        second_run(
            on_pg("copy-second-run", "--copy --rows 3000 --batch-size 500", 0),
            "--copy",
        ),
        on_pg("single-tx-copy", "--mode single-tx --copy --rows 5000", 0)
            .check(|run| expect(run, &[("rows_inserted", 5000), ("batches", 1)]))
            .check(table_matches),
        on_pg("sigint", "--rows 50000 --batch-size 100 --work-ms 10", 130)
            .interrupt(Interrupt::AfterStarted(3))
            .partial_concurrency()
            .check(|run| support::stopped_with_whole_batches(run, &url())),
        on_pg(
            "sigterm",
            "--copy --rows 50000 --batch-size 100 --work-ms 10",
            130,
        )
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 3))
        .partial_concurrency()
        .check(|run| support::stopped_with_whole_batches(run, &url())),
        // The server restarts while batches are in flight: each is retried on a new connection,
        // none fails, none lands twice or in part.
        faulted(on_pg("server-restart", long, 0), || {
            wait_for(SESSIONS, 5)?;
            pg().with(Cluster::restart)
        }),
        // Another session kills the workers' connections (pg_terminate_backend).
        faulted(on_pg("terminate-backend", long, 0), || {
            wait_for(SESSIONS, 5)?;
            pg().with(|c| {
                c.psql(&format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM ({}) s",
                    SESSIONS.replace("count(*)", "pid")
                ))
            })
            .map(drop)
        }),
        // 300 batches of 50 ms on 5 workers: 3 s, time for the fault to land mid-run even on a
        // busy machine (the run then ends about a second after it).
        server_gone(on_pg(
            "server-gone",
            "--rows 60000 --batch-size 200 --work-ms 50 --reconnect-ms 1000",
            2,
        )),
        // A COMMIT lands but its reply is lost with the connection (a proxy cuts it): the batch
        // is found committed on the new connection and counted as inserted, not retried.
        lost_commit("commit-reply-lost", BIG, every_7th(Cut::Reply), 0, LOST_5),
        lost_commit(
            "copy-commit-reply-lost",
            &format!("{BIG} --copy"),
            every_7th(Cut::Reply),
            0,
            LOST_5,
        ),
        // The COMMIT itself is lost: nothing committed, the batch is retried and inserts.
        lost_commit("commit-lost", BIG, every_7th(Cut::Request), 0, LOST_0),
        // The same for the row-by-row retry of a batch with a bad row: its rejected rows are
        // still reported, each once.
        lost_commit(
            "row-by-row-reply-lost",
            BAD,
            first_row_by_row(Cut::Reply),
            1,
            &[
                ("rows_inserted", 4997),
                ("rows_rejected", 3),
                ("rows_existing", 0),
                ("commit_replies_lost", 1),
            ],
        )
        .check(|run| rejected_with_reason(run, 3, "violates check constraint")),
        lost_commit(
            "row-by-row-commit-lost",
            BAD,
            first_row_by_row(Cut::Request),
            1,
            &[
                ("rows_inserted", 4997),
                ("rows_rejected", 3),
                ("rows_existing", 0),
                ("commit_replies_lost", 0),
            ],
        )
        .check(|run| rejected_with_reason(run, 3, "violates check constraint")),
        lock_held(on_pg(
            "lock-timeout",
            "--rows 5000 --batch-size 500 --lock-timeout-ms 300",
            1,
        )),
        secret_kept(
            on_pg_plain(
                "bad-input/bad-password",
                &url().replace("postgres@", &format!("{}:wrong-secret-pw@", pg::PASSWORD_ROLE)),
            ),
            "wrong-secret-pw",
        ),
        secret_kept(
            on_pg_plain(
                "bad-input/malformed-url",
                "postgres://u:hunter2-secret@host:notaport/db",
            ),
            "hunter2-secret",
        ),
    ]
}

#[test]
fn postgres_scenarios_on_one_cluster() {
    let _stop = StopCluster;
    let mut broken = Vec::new();
    let mut ran = 0;
    for scenario in scenarios() {
        let name = scenario.name.clone();
        ran += 1;
        // A failed scenario panics with its name and reasons (printed above); the others still
        // run, on the same cluster, and the cluster is stopped after the last.
        if catch_unwind(AssertUnwindSafe(|| check(scenario))).is_err() {
            broken.push(name);
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {ran} PostgreSQL scenario(s) broke their promises (each one's reasons are above; its \
         re-run line names this test's cluster, stopped when the test ended): {}",
        broken.len(),
        broken.join(", ")
    );
}

/// The server dies mid-run and stays down: each worker tries to reconnect for `--reconnect-ms`,
/// then fails its batch and stops the run (instead of every remaining batch waiting as long);
/// the rows cannot be counted, so the summary carries that error (exit 2) and still accounts for
/// every batch. The check starts the server again for the scenarios after this one.
fn server_gone(scenario: Scenario) -> Scenario {
    with_fault(scenario, || {
        wait_for(SESSIONS, 5)?;
        pg().with(Cluster::kill)
    })
    .partial_concurrency()
    .check(|run| {
        let settled = pg().settle();
        pg().with(Cluster::start_server)
            .map_err(|e| format!("cannot start the server again: {e:#}"))?;
        settled?;
        let s = run.summary()?;
        if !s
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot count the rows")
        {
            return Err(format!(
                "expected the summary's error to say the rows could not be counted, got {:?}",
                s.error
            ));
        }
        let durable_null = s.extra.get("durable_rows").is_some_and(|v| v.is_null());
        if s.failed == 0 || s.not_started == 0 || !durable_null {
            return Err(format!(
                "expected failed batches, batches not started and durable_rows null; \
                 got failed {}, not_started {}, durable_rows {:?}",
                s.failed,
                s.not_started,
                s.extra.get("durable_rows")
            ));
        }
        let gave_up = |e: &Event| {
            matches!(e, Event::Finished(f)
                if f.reason.as_deref().is_some_and(|r| r.contains("gave up reconnecting")))
        };
        if !run.events()?.events.iter().any(gave_up) {
            return Err("no batch failed with 'gave up reconnecting'".into());
        }
        if run.output.stderr.trim().lines().count() != 1 {
            return Err(format!(
                "expected one line on stderr, got {:?}",
                run.output.stderr
            ));
        }
        Ok(())
    })
}

/// A bad-input run against `db` that must exit 2 (checks run, unlike [`Scenario::bad_input`]).
fn on_pg_plain(name: &str, db: &str) -> Scenario {
    Scenario::exit_only(&format!("postgres/{name}"), &["--db", db, "--rows", "10"], 2)
}

/// Exit 2 with one line on stderr that never shows `secret`; the cluster runs (started here).
fn secret_kept(scenario: Scenario, secret: &'static str) -> Scenario {
    scenario.setup(|_| pg().with(|_| Ok(()))).check(move |run| {
        let stderr = run.output.stderr.trim();
        if stderr.lines().count() != 1 || !stderr.starts_with("error: ") {
            return Err(format!("expected one error line, got {stderr:?}"));
        }
        if stderr.contains(secret) || run.output.stdout.contains(secret) {
            return Err(format!("the password was printed: {stderr:?}"));
        }
        Ok(())
    })
}

/// The first run (in setup) fills the table; the second inserts nothing and keeps the count.
fn second_run(scenario: Scenario, flags: &'static str) -> Scenario {
    scenario
        .setup(move |_| {
            pg().fresh()?;
            fill(&url(), &format!("--rows 3000 --batch-size 500 {flags}"))
        })
        .partial_concurrency()
        .check(|run| {
            expect(
                run,
                &[
                    ("rows_before", 3000),
                    ("rows_inserted", 0),
                    ("rows_existing", 3000),
                ],
            )?;
            durable_matches(run, &url())
        })
}

/// `scenario` on a fresh table, with `fault` run on a thread its setup starts (`Pg::settle` in
/// the check waits for it).
fn with_fault(scenario: Scenario, fault: fn() -> anyhow::Result<()>) -> Scenario {
    scenario.setup(move |_| {
        pg().fresh()?;
        *lock(&pg().fault) = Some(std::thread::spawn(fault));
        Ok(())
    })
}

/// A run on a fresh table while `fault` (on a thread started by the setup) strikes: every batch
/// ends ok, at least one was retried on a new connection, and the table agrees.
fn faulted(scenario: Scenario, fault: fn() -> anyhow::Result<()>) -> Scenario {
    with_fault(scenario, fault).check(|run| {
        pg().settle()?;
        // Exactly once: every row is written by this run (the table was empty), and counted as
        // inserted, also when a COMMIT reached the server and its reply was lost with the
        // connection (the batch is then found committed, not written again).
        expect(
            run,
            &[("rows_before", 0), ("rows_inserted", 60000), ("rows_existing", 0)],
        )?;
        table_matches(run)?;
        if run.count("durable_rows")? != 60000 || count_rows(&url())? != 60000 {
            return Err("the table does not hold exactly the 60000 rows after the fault".into());
        }
        let retried = run
            .events()?
            .other("batch_retry")
            .filter_map(|o| o.decode::<BatchRetry>().and_then(Result::ok))
            .filter(|r| r.reason.contains("connection lost"))
            .count();
        if retried == 0 {
            return Err("no batch was retried on a new connection: the fault missed the run".into());
        }
        Ok(())
    })
}

/// The lock-holding session's name in `pg_stat_activity`.
const HOLDER: &str = "db-batch-test-lock-holder";

/// Another session holds a row lock (an uncommitted insert of row 2500) past
/// `--lock-timeout-ms`: that batch fails alone with PostgreSQL's message, the others land. The
/// session holds it until the check ends it ([`Pg::settle`]), however long the run takes to
/// reach that row on a busy machine.
fn lock_held(scenario: Scenario) -> Scenario {
    scenario
        .setup(|_| {
            pg().fresh()?;
            fill(&url(), "--rows 0")?; // creates the table
            let holder = pg().with(|c| {
                c.psql_background(&format!(
                    "SET application_name = '{HOLDER}'; BEGIN; \
                     INSERT INTO orders VALUES (2500, 'holder', 1, 0); SELECT pg_sleep(60); ROLLBACK;"
                ))
            })?;
            *lock(&pg().holder) = Some(holder);
            wait_for(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND pid <> pg_backend_pid()",
                1,
            )
        })
        .partial_concurrency()
        .check(|run| {
            let events = run.events()?;
            let failed: Vec<_> = events
                .finished()
                .filter(|f| f.reason.as_deref().is_some_and(|r| r.contains("lock timeout")))
                .collect();
            if events.summary.failed != 1 || failed.len() != 1 {
                return Err(format!(
                    "expected one batch failed by the lock timeout, got {failed:?}"
                ));
            }
            expect(run, &[("rows_inserted", 4500), ("rows_not_written", 500)])?;
            table_matches(run)
        })
}

/// How a [`LossyProxy`] scenario loses COMMITs: where the cut falls, which COMMITs count, and
/// every how many of those it cuts, how many times.
struct Cuts {
    cut: Cut,
    which: Which,
    every: u64,
    times: u64,
}

/// A run on a fresh table through a proxy that loses COMMITs as `cuts` says: the proxy cut
/// exactly `cuts.times` times, each cut transaction was retried on a new connection (one
/// `batch_retry` each), the summary's counts are `expected` (every row counted once, as what
/// it is), and `durable_rows` = before + inserted = the table's count.
fn lost_commit(
    name: &str,
    flags: &str,
    cuts: Cuts,
    code: i32,
    expected: &'static [(&'static str, u64)],
) -> Scenario {
    // Listening now (the scenario's arguments need its port); it connects to the cluster's
    // socket only when db-batch connects, after the setup has started the cluster. It lives as
    // long as this test process.
    let socket = pg().dir.join(".s.PGSQL.5432");
    let proxy: &'static LossyProxy =
        match LossyProxy::start(socket, (cuts.cut, cuts.which), cuts.every, cuts.times) {
            Ok(proxy) => Box::leak(Box::new(proxy)),
            Err(e) => panic!("cannot start the proxy for {name}: {e}"),
        };
    let url = proxy.url();
    let args: Vec<&str> = ["--db", url.as_str()]
        .into_iter()
        .chain(flags.split_whitespace())
        .collect();
    let times = cuts.times;
    Scenario::run(&format!("postgres/{name}"), &args, code)
        .setup(|_| pg().fresh())
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
        .check(move |run| {
            if proxy.cuts() != times {
                return Err(format!(
                    "the proxy cut {} connection(s) at {} COMMIT(s), not {times}",
                    proxy.cuts(),
                    proxy.commits()
                ));
            }
            expect(run, &[("rows_before", 0)])?;
            expect(run, expected)?;
            table_matches(run)?;
            let retried = run
                .events()?
                .other("batch_retry")
                .filter_map(|o| o.decode::<BatchRetry>().and_then(Result::ok))
                .filter(|r| r.reason.contains("connection lost"))
                .count() as u64;
            if retried != times {
                return Err(format!(
                    "{retried} transaction(s) retried on a new connection, not {times}"
                ));
            }
            Ok(())
        })
}
