//! `db-batch`: every run writes a real database, a SQLite file in the scenario's folder or a
//! throwaway PostgreSQL cluster (`servers::postgres`). The row counts the example reports are
//! checked against the database itself, counted by a second process (`db-batch --count-only`),
//! since xtask links neither database.
//!
//! The PostgreSQL scenarios share one cluster: the first one's setup starts it, in a folder known
//! in advance (so the command lines can name its socket), and every PostgreSQL scenario holds an
//! `Arc` of it in its setup and checks. verify drops an example's scenario list once they have
//! all run, so the last `Arc` goes then and the cluster is stopped and removed (its `Drop`); no
//! hook in verify is needed, and a run of the SQLite scenarios alone never starts it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::event::Event;

use super::{Interrupt, Run, Scenario, Signal};
use testbed::servers::postgres::{self as pg, Cluster};

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
    let mut list = sqlite_scenarios();
    list.extend(postgres_scenarios());
    list
}

fn sqlite_scenarios() -> Vec<Scenario> {
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
            if run.summary()?.failed != 3 {
                return Err(format!(
                    "expected 3 failed batches, got {}",
                    run.summary()?.failed
                ));
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
        // A signal in the first instants (before the handler is installed, it would kill the
        // run): still a summary, exit 130, and a database that agrees with it.
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

fn expect(run: &Run<'_>, expected: &[(&str, u64)]) -> Result<(), String> {
    for (key, want) in expected {
        let got = run.count(key)?;
        if got != *want {
            return Err(format!("expected summary {key} = {want}, got {got}"));
        }
    }
    Ok(())
}

/// `n` `row_rejected` events, each with a row id and a reason containing `reason`.
fn rejected_with_reason(run: &Run<'_>, n: usize, reason: &str) -> Result<(), String> {
    let rejected: Vec<_> = run.events()?.other("row_rejected").collect();
    let with_reason = rejected
        .iter()
        .filter(|r| {
            r.count("row").is_some_and(|row| row > 0)
                && r.text("reason").is_some_and(|why| why.contains(reason))
        })
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
/// 100, every row is accounted for, and the file agrees.
fn stopped_with_whole_batches(run: &Run<'_>) -> Result<(), String> {
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
    durable_matches(run)
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

/// The shared cluster, started by the first PostgreSQL scenario's setup, and what a scenario's
/// setup leaves running for its check to wait for (a fault thread, a lock-holding session).
struct Pg {
    /// Where the cluster lives (its socket is named in the command lines).
    dir: PathBuf,
    cluster: Mutex<Option<Cluster>>,
    fault: Mutex<Option<JoinHandle<anyhow::Result<()>>>>,
    holder: Mutex<Option<Child>>,
}

impl Pg {
    /// Starts the cluster if needed, then runs `f` with it.
    fn with<T>(&self, f: impl FnOnce(&Cluster) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut cluster = self.cluster.lock().unwrap_or_else(PoisonError::into_inner);
        if cluster.is_none() {
            *cluster = Some(Cluster::start(&self.dir)?);
        }
        match cluster.as_ref() {
            Some(c) => f(c),
            None => anyhow::bail!("the cluster did not start"),
        }
    }

    /// An empty database: the table dropped (psql waits for any lock a previous scenario's
    /// session still holds).
    fn fresh(&self) -> anyhow::Result<()> {
        self.with(|c| c.psql("DROP TABLE IF EXISTS orders").map(drop))
    }

    /// Waits for what the setup left running.
    fn settle(&self) -> Result<(), String> {
        if let Some(fault) = self.fault.lock().unwrap_or_else(PoisonError::into_inner).take() {
            fault
                .join()
                .map_err(|_| "the fault thread panicked".to_owned())?
                .map_err(|e| format!("the fault did not happen: {e:#}"))?;
        }
        if let Some(mut holder) = self.holder.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = holder.wait();
        }
        Ok(())
    }
}

/// Runs `sql` every 50 ms until it prints a number of at least `n` (or 20 s pass).
fn wait_for(pg: &Pg, sql: &str, n: u64) -> anyhow::Result<()> {
    let since = Instant::now();
    loop {
        let got: u64 = pg.with(|c| c.psql(sql))?.parse().unwrap_or(0);
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

fn postgres_scenarios() -> Vec<Scenario> {
    let pg = Arc::new(Pg {
        dir: Cluster::new_dir(),
        cluster: Mutex::default(),
        fault: Mutex::default(),
        holder: Mutex::default(),
    });
    let url = pg::url_for(&pg.dir);
    // A scenario on the cluster: its setup starts the cluster and empties the table; its checks
    // compare the summary with a count by a second process.
    let on_pg = |name: &str, flags: &str, code: i32| {
        let args: Vec<String> = ["--db", url.as_str()]
            .into_iter()
            .chain(flags.split_whitespace())
            .map(str::to_owned)
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let setup_pg = Arc::clone(&pg);
        Scenario::run(&format!("postgres/{name}"), &args, code)
            .setup(move |_| setup_pg.fresh())
            .timeout(Duration::from_secs(120))
    };
    let durable = |pg: &Arc<Pg>, url: &str| {
        let (pg, url) = (Arc::clone(pg), url.to_owned());
        move |run: &Run<'_>| {
            pg.settle()?;
            durable_matches_at(run, &url)
        }
    };
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
            .check(durable(&pg, &url)),
        // --work-ms keeps each batch in flight long enough for all 8 connections to overlap.
        on_pg(
            "workers-8",
            "--rows 8000 --batch-size 250 --workers 8 --work-ms 20",
            0,
        )
        .check(|run| expect(run, &[("rows_inserted", 8000), ("batches", 32)]))
        .check(durable(&pg, &url)),
        on_pg("copy", "--copy --rows 5000 --batch-size 500", 0)
            .partial_concurrency()
            .check(|run| expect(run, &[("rows_inserted", 5000)]))
            .check(durable(&pg, &url)),
        on_pg("bad-rows-3", "--rows 5000 --batch-size 500 --bad-rows 3", 1)
            .partial_concurrency()
            .check(|run| {
                expect(run, &[("rows_inserted", 4997), ("rows_rejected", 3)])?;
                rejected_with_reason(run, 3, "violates check constraint")
            })
            .check(durable(&pg, &url)),
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
        .check(durable(&pg, &url)),
        // Re-runs insert nothing twice, with INSERT ... ON CONFLICT and with COPY alike.
        second_run(
            &pg,
            &url,
            on_pg("second-run", "--rows 3000 --batch-size 500", 0),
            "",
        ),
        second_run(
            &pg,
            &url,
            on_pg("copy-second-run", "--copy --rows 3000 --batch-size 500", 0),
            "--copy",
        ),
        on_pg("single-tx-copy", "--mode single-tx --copy --rows 5000", 0)
            .check(|run| expect(run, &[("rows_inserted", 5000), ("batches", 1)]))
            .check(durable(&pg, &url)),
        on_pg("sigint", "--rows 50000 --batch-size 100 --work-ms 10", 130)
            .interrupt(Interrupt::AfterStarted(3))
            .partial_concurrency()
            .check(stopped_with_whole_batches_at(&url)),
        on_pg(
            "sigterm",
            "--copy --rows 50000 --batch-size 100 --work-ms 10",
            130,
        )
        .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 3))
        .partial_concurrency()
        .check(stopped_with_whole_batches_at(&url)),
        // The server restarts while batches are in flight: each is retried on a new connection,
        // none fails, none lands twice or in part.
        faulted(&pg, &url, on_pg("server-restart", long, 0), |pg| {
            wait_for(pg, SESSIONS, 5)?;
            pg.with(Cluster::restart)
        }),
        // Another session kills the workers' connections (pg_terminate_backend).
        faulted(&pg, &url, on_pg("terminate-backend", long, 0), |pg| {
            wait_for(pg, SESSIONS, 5)?;
            pg.with(|c| {
                c.psql(&format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM ({}) s",
                    SESSIONS.replace("count(*)", "pid")
                ))
            })
            .map(drop)
        }),
        // 300 batches of 50 ms on 5 workers: 3 s, time for the fault to land mid-run even on a
        // busy machine (the run then ends about a second after it).
        server_gone(
            &pg,
            on_pg(
                "server-gone",
                "--rows 60000 --batch-size 200 --work-ms 50 --reconnect-ms 1000",
                2,
            ),
        ),
        lock_held(
            &pg,
            &url,
            on_pg(
                "lock-timeout",
                "--rows 5000 --batch-size 500 --lock-timeout-ms 300",
                1,
            ),
        ),
        Scenario::bad_input(
            "postgres/bad-input/unreachable",
            &["--db", "postgres://postgres@127.0.0.1:1/postgres"],
        ),
        Scenario::bad_input(
            "postgres/bad-input/no-such-socket",
            &["--db", "postgres://postgres@%2Fnonexistent-dir/x"],
        ),
        secret_kept(
            &pg,
            on_pg_plain(
                "bad-input/bad-password",
                &url.replace("postgres@", &format!("{}:wrong-secret-pw@", pg::PASSWORD_ROLE)),
            ),
            "wrong-secret-pw",
        ),
        secret_kept(
            &pg,
            on_pg_plain(
                "bad-input/malformed-url",
                "postgres://u:hunter2-secret@host:notaport/db",
            ),
            "hunter2-secret",
        ),
    ]
}

/// The server dies mid-run and stays down: each worker tries to reconnect for `--reconnect-ms`,
/// then fails its batch and stops the run (instead of every remaining batch waiting as long);
/// the rows cannot be counted, so the summary carries that error (exit 2) and still accounts for
/// every batch. The check starts the server again for the scenarios after this one.
fn server_gone(pg: &Arc<Pg>, scenario: Scenario) -> Scenario {
    let check_pg = Arc::clone(pg);
    with_fault(pg, scenario, |pg| {
        wait_for(pg, SESSIONS, 5)?;
        pg.with(Cluster::kill)
    })
    .partial_concurrency()
    .check(move |run| {
        let settled = check_pg.settle();
        check_pg
            .with(Cluster::start_server)
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
fn secret_kept(pg: &Arc<Pg>, scenario: Scenario, secret: &'static str) -> Scenario {
    let pg = Arc::clone(pg);
    scenario.setup(move |_| pg.with(|_| Ok(()))).check(move |run| {
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
fn second_run(pg: &Arc<Pg>, url: &str, scenario: Scenario, flags: &'static str) -> Scenario {
    let (setup_pg, url_setup, check_url) = (Arc::clone(pg), url.to_owned(), url.to_owned());
    scenario
        .setup(move |_| {
            setup_pg.fresh()?;
            fill(&url_setup, &format!("--rows 3000 --batch-size 500 {flags}"))
        })
        .partial_concurrency()
        .check(move |run| {
            expect(
                run,
                &[
                    ("rows_before", 3000),
                    ("rows_inserted", 0),
                    ("rows_existing", 3000),
                ],
            )?;
            durable_matches_at(run, &check_url)
        })
}

/// `scenario` on a fresh table, with `fault` run on a thread its setup starts (`Pg::settle` in
/// the check waits for it).
fn with_fault(pg: &Arc<Pg>, scenario: Scenario, fault: fn(&Pg) -> anyhow::Result<()>) -> Scenario {
    let setup_pg = Arc::clone(pg);
    scenario.setup(move |_| {
        setup_pg.fresh()?;
        let pg = Arc::clone(&setup_pg);
        let thread = std::thread::spawn(move || fault(&pg));
        *setup_pg.fault.lock().unwrap_or_else(PoisonError::into_inner) = Some(thread);
        Ok(())
    })
}

/// A run on a fresh table while `fault` (on a thread started by the setup) strikes: every batch
/// ends ok, at least one was retried on a new connection, and the table agrees.
fn faulted(pg: &Arc<Pg>, url: &str, scenario: Scenario, fault: fn(&Pg) -> anyhow::Result<()>) -> Scenario {
    let (check_pg, url) = (Arc::clone(pg), url.to_owned());
    with_fault(pg, scenario, fault).check(move |run| {
        check_pg.settle()?;
        // A COMMIT can reach the server while its acknowledgement is lost with the
        // connection: the retry then finds that batch's rows there (ON CONFLICT DO NOTHING)
        // and counts them as existing. At least once, never twice: every row is written by
        // this run (the table was empty), once.
        let (inserted, existing) = (run.count("rows_inserted")?, run.count("rows_existing")?);
        if inserted + existing != 60000 || run.count("rows_before")? != 0 {
            return Err(format!(
                "rows_inserted {inserted} + rows_existing {existing} != 60000 (or rows_before != 0)"
            ));
        }
        if run.count("durable_rows")? != 60000 || count_rows_at(&url)? != 60000 {
            return Err("the table does not hold exactly the 60000 rows after the fault".into());
        }
        let retried = run
            .events()?
            .other("batch_retry")
            .filter(|r| {
                r.text("reason")
                    .is_some_and(|why| why.contains("connection lost"))
            })
            .count();
        if retried == 0 {
            return Err("no batch was retried on a new connection: the fault missed the run".into());
        }
        Ok(())
    })
}

/// Another session holds a row lock (an uncommitted insert of row 2500) past
/// `--lock-timeout-ms`: that batch fails alone with PostgreSQL's message, the others land.
fn lock_held(pg: &Arc<Pg>, url: &str, scenario: Scenario) -> Scenario {
    let (setup_pg, check_pg, url_setup, url) =
        (Arc::clone(pg), Arc::clone(pg), url.to_owned(), url.to_owned());
    scenario
        .setup(move |_| {
            setup_pg.fresh()?;
            fill(&url_setup, "--rows 0")?; // creates the table
            let holder = setup_pg.with(|c| {
                c.psql_background(
                    "BEGIN; INSERT INTO orders VALUES (2500, 'holder', 1, 0); SELECT pg_sleep(3); ROLLBACK;",
                )
            })?;
            *setup_pg.holder.lock().unwrap_or_else(PoisonError::into_inner) = Some(holder);
            wait_for(
                &setup_pg,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND pid <> pg_backend_pid()",
                1,
            )
        })
        .partial_concurrency()
        .check(move |run| {
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
            check_pg.settle()?;
            durable_matches_at(run, &url)
        })
}

/// `db-batch --db url <flags> --quiet`, which must succeed.
fn fill(url: &str, flags: &str) -> anyhow::Result<()> {
    let status = Command::new(example_binary().map_err(anyhow::Error::msg)?)
        .args(["--db", url, "--quiet"])
        .args(flags.split_whitespace())
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "db-batch {flags} failed: {status}");
    Ok(())
}

fn stopped_with_whole_batches_at(url: &str) -> impl Fn(&Run<'_>) -> Result<(), String> + 'static {
    let url = url.to_owned();
    move |run| {
        let s = run.summary()?;
        if s.not_started == 0 {
            return Err("the run ended before the signal stopped it: nothing was not_started".into());
        }
        let inserted = run.count("rows_inserted")?;
        if inserted != s.ok * 100 {
            return Err(format!("{inserted} rows inserted by {} ok batches of 100", s.ok));
        }
        accounted_rows(run)?;
        durable_matches_at(run, &url)
    }
}

/// [`durable_matches`] against a PostgreSQL URL.
fn durable_matches_at(run: &Run<'_>, url: &str) -> Result<(), String> {
    let durable = run.count("durable_rows")?;
    let (before, inserted) = (run.count("rows_before")?, run.count("rows_inserted")?);
    if durable != before + inserted {
        return Err(format!(
            "durable_rows {durable} != rows_before {before} + rows_inserted {inserted}"
        ));
    }
    let counted = count_rows_at(url)?;
    if counted != durable {
        return Err(format!(
            "the table holds {counted} rows (db-batch --count-only), the run reported {durable}"
        ));
    }
    Ok(())
}
