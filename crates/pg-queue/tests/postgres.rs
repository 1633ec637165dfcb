//! pg-queue on a throwaway PostgreSQL cluster (`testbed::servers::postgres`), one per test
//! binary: three consumer processes of 4 workers share the queue and none runs a job twice, a
//! consumer killed with `kill -9` loses nothing (its leases are rescued), a poison job ends
//! `discarded` after `--max-attempts` with its error, Ctrl-C releases what was claimed and not
//! run, a wrong password is refused without being printed, `--transactional` with rolled-back
//! transactions leaves neither their order nor their job, an idle `--follow` consumer that never
//! polls is woken by NOTIFY, and a job that runs three leases long keeps its lease (the
//! heartbeat), also with a heartbeat every 20 ms beside thousands of completions, and rows whose
//! payload names no job, inserted by SQL among good ones, each fail alone at once with their
//! reason while every good job is done. The table is read back after each run. (The server restarted mid-run is in `restart.rs`: it needs a
//! cluster of its own.)
//!
//! Each scenario has a database of its own on the one cluster, so they run side by side, each
//! on a thread of the one test below, which stops the cluster when they are done (a `static` is
//! never dropped, and the cluster's server is not a child of this process).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use common::event::{Event, OutcomeKind};
use harness::{Interrupt, Run, Scenario, Signal};
use pg_queue::{Discarded, Rescued};
use testbed::servers::postgres::{self as pg, Cluster};

const BIN: &str = env!("CARGO_BIN_EXE_pg-queue");

struct Pg {
    dir: PathBuf,
    cluster: Mutex<Option<Cluster>>,
}

static PG: OnceLock<Pg> = OnceLock::new();

fn pg() -> &'static Pg {
    PG.get_or_init(|| Pg {
        dir: Cluster::new_dir(),
        cluster: Mutex::default(),
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the cluster if needed (an error names the missing package), then runs `f` with it.
fn with_cluster<T>(f: impl FnOnce(&Cluster) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut cluster = lock(&pg().cluster);
    if cluster.is_none() {
        *cluster = Some(Cluster::start(&pg().dir)?);
    }
    match cluster.as_ref() {
        Some(c) => f(c),
        None => anyhow::bail!("the cluster did not start"),
    }
}

/// The URL of database `db` on the cluster.
fn url(db: &str) -> String {
    let base = pg::url_for(&pg().dir);
    let server = base.strip_suffix("/postgres").unwrap_or(&base);
    format!("{server}/{db}")
}

/// A new empty database `db`.
fn fresh(db: &str) -> anyhow::Result<()> {
    with_cluster(|c| {
        c.psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
        c.psql(&format!("CREATE DATABASE {db}"))
    })
    .map(drop)
}

/// Runs `sql` in `db` and returns the first column of every row, as text.
fn query(db: &str, sql: &str) -> Result<Vec<String>, String> {
    let mut client = postgres::Client::connect(&url(db), postgres::NoTls).map_err(|e| e.to_string())?;
    let rows = client.query(sql, &[]).map_err(|e| e.to_string())?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// The table's rows by state, as `state=count` words in state order.
fn states(db: &str) -> Result<String, String> {
    let rows = query(
        db,
        "SELECT state || '=' || count(*) FROM pg_queue_jobs GROUP BY state ORDER BY state",
    )?;
    Ok(rows.join(" "))
}

/// `pg-queue produce --jobs n` into `db`.
fn produce(db: &str, n: u64) -> anyhow::Result<()> {
    let status = Command::new(BIN)
        .args(["produce", "--quiet", "--database-url", &url(db)])
        .args(["--jobs", &n.to_string()])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "produce failed: {status}");
    Ok(())
}

/// A `consume --json` process on `db`, its events going to `<dir>/<name>.jsonl`.
fn consumer(dir: &Path, db: &str, name: &str, extra: &[&str]) -> anyhow::Result<(Child, PathBuf)> {
    let out = dir.join(format!("{name}.jsonl"));
    let child = Command::new(BIN)
        .args(["consume", "--json", "--database-url", &url(db)])
        .args(extra)
        .stdout(std::fs::File::create(&out)?)
        .stderr(std::fs::File::create(dir.join(format!("{name}.stderr")))?)
        .spawn()?;
    Ok((child, out))
}

/// What a scenario's setup leaves for its check, found by the scenario's folder.
struct Fixture {
    dir: PathBuf,
    others: Vec<(Child, PathBuf)>,
    /// Rows left `running` by a killed consumer.
    held: u64,
    /// A thread that acts during the run (a producer that waits for the consumer first).
    helper: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

static FIXTURES: Mutex<Vec<Fixture>> = Mutex::new(Vec::new());

/// Waits for the scenario's other consumers (killing any still running after 60 s) and returns
/// each one's events, with what the setup counted.
fn collect(run: &Run<'_>) -> Result<(Vec<Vec<Event>>, u64), String> {
    let fixture = {
        let mut all = lock(&FIXTURES);
        let i = all
            .iter()
            .position(|f| f.dir == run.dir)
            .ok_or("no fixture for this scenario")?;
        all.swap_remove(i)
    };
    if let Some(helper) = fixture.helper {
        match helper.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("the scenario's helper thread failed: {e:#}")),
            Err(_) => return Err("the scenario's helper thread panicked".into()),
        }
    }
    let mut events = Vec::new();
    for (mut child, out) in fixture.others {
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
        events.push(
            text.lines()
                .filter_map(|l| common::event::parse_line(l).ok())
                .collect(),
        );
    }
    Ok((events, fixture.held))
}

/// The job numbers that finished ok.
fn finished_ok(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finished(f) if f.outcome == OutcomeKind::Ok => f.value,
            _ => None,
        })
        .collect()
}

/// Every job 1..=n finished ok at least once over all runs; returns how many ran more than once.
fn all_done(runs: &[Vec<u64>], n: u64) -> Result<usize, String> {
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for v in runs.iter().flatten() {
        *seen.entry(*v).or_default() += 1;
    }
    let missing: Vec<u64> = (1..=n).filter(|m| !seen.contains_key(m)).take(10).collect();
    if !missing.is_empty() {
        return Err(format!("jobs never done: {missing:?}…"));
    }
    if seen.len() as u64 != n {
        return Err(format!("{} distinct jobs done, expected {n}", seen.len()));
    }
    Ok(seen.values().filter(|c| **c > 1).count())
}

/// `consume` on database `db` with these flags (the database is made fresh by the setup).
fn consume(db: &'static str, flags: &[&str], code: i32) -> Scenario {
    let url = url(db);
    let args: Vec<&str> = ["consume", "--database-url", url.as_str()]
        .into_iter()
        .chain(flags.iter().copied())
        .collect();
    Scenario::run(&format!("postgres/{db}"), &args, code)
        .timeout(Duration::from_secs(60))
        .partial_concurrency()
}

/// Three consumer processes of 4 workers on one queue: every job done exactly once, by one of
/// them, and each did some (two start first; alone, one needs 1.5 s of work for its share).
fn three_consumers() -> Scenario {
    let flags = ["--work-ms", "2", "--workers", "4"];
    consume("three_consumers", &flags, 0)
        .setup(move |dir| {
            fresh("three_consumers")?;
            produce("three_consumers", 4000)?;
            let others = (1..=2)
                .map(|i| consumer(dir, "three_consumers", &format!("other-{i}"), &flags))
                .collect::<anyhow::Result<Vec<_>>>()?;
            lock(&FIXTURES).push(Fixture {
                dir: dir.to_path_buf(),
                others,
                held: 0,
                helper: None,
            });
            Ok(())
        })
        .check(|run| {
            let (others, _) = collect(run)?;
            let mut runs: Vec<Vec<u64>> = others.iter().map(|e| finished_ok(e)).collect();
            runs.push(finished_ok(&run.events()?.events));
            let twice = all_done(&runs, 4000)?;
            if twice > 0 {
                return Err(format!("{twice} jobs ran twice without any fault"));
            }
            if let Some(i) = runs.iter().position(Vec::is_empty) {
                return Err(format!("consumer {i} did no job: the work was not shared"));
            }
            harness::expect_eq("table", states("three_consumers")?, "completed=4000".into())
        })
}

/// `--transactional --rollback-every 7`: each job is inserted with its order in one
/// transaction; the 10 rolled back leave neither row, the 60 committed are done, each with its
/// own order.
fn transactional() -> Scenario {
    let url = url("transactional");
    let args = [
        "--database-url",
        url.as_str(),
        "--jobs",
        "70",
        "--transactional",
        "--rollback-every",
        "7",
    ];
    Scenario::run("postgres/transactional", &args, 0)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .setup(|_| fresh("transactional"))
        .check(|run| {
            let s = run.summary()?;
            harness::expect_eq("submitted, ok", (s.submitted, s.ok), (60, 60))?;
            run.expect_count("produced", 60)?;
            run.expect_count("rolled_back", 10)?;
            let count = |sql: &str| -> Result<String, String> {
                Ok(query("transactional", sql)?.join(","))
            };
            harness::expect_eq(
                "orders and jobs of a rolled-back transaction",
                count(
                    "SELECT ((SELECT count(*) FROM pg_queue_orders WHERE n % 7 = 0)
                           + (SELECT count(*) FROM pg_queue_jobs WHERE (payload->>'n')::bigint % 7 = 0))::text",
                )?,
                "0".into(),
            )?;
            harness::expect_eq(
                "orders, and jobs naming their own order",
                count(
                    "SELECT (SELECT count(*) FROM pg_queue_orders) || ' ' || count(*)
                       FROM pg_queue_jobs j JOIN pg_queue_orders o
                         ON o.id = (j.payload->>'order')::bigint AND o.n = (j.payload->>'n')::bigint",
                )?,
                "60 60".into(),
            )?;
            harness::expect_eq("table", states("transactional")?, "completed=60".into())
        })
}

/// An idle `consume --follow --wake notify` that would poll once a day: 20 jobs inserted one by
/// one after it went idle each wake it (NOTIFY); Ctrl-C after the 20th started.
fn notify_wakes() -> Scenario {
    let flags = ["--follow", "--wake", "notify", "--poll-ms", "86400000"];
    consume("notify_wakes", &flags, 130)
        .interrupt(Interrupt::AfterStarted(20))
        .setup(|dir| {
            fresh("notify_wakes")?;
            // Once the claimer has claimed nothing, looked at the table and gone to wait, the
            // jobs come, one INSERT each.
            let helper = std::thread::spawn(|| -> anyhow::Result<()> {
                let deadline = Instant::now() + Duration::from_secs(30);
                let waiting = "SELECT count(*)::text FROM pg_stat_activity
                                WHERE datname = 'notify_wakes' AND state = 'idle'
                                  AND query LIKE 'SELECT EXISTS (SELECT 1 FROM pg_queue_jobs WHERE state = ''running'')%'";
                while query("notify_wakes", waiting).map_err(anyhow::Error::msg)? != ["1"] {
                    anyhow::ensure!(Instant::now() < deadline, "the consumer never went idle");
                    std::thread::sleep(Duration::from_millis(20));
                }
                let status = Command::new(BIN)
                    .args(["produce", "--quiet", "--database-url", &url("notify_wakes")])
                    .args(["--jobs", "20", "--every-ms", "20"])
                    .stdout(Stdio::null())
                    .status()?;
                anyhow::ensure!(status.success(), "produce failed: {status}");
                Ok(())
            });
            lock(&FIXTURES).push(Fixture {
                dir: dir.to_path_buf(),
                others: Vec::new(),
                held: 0,
                helper: Some(helper),
            });
            Ok(())
        })
        .check(harness::stopped(false))
        .check(|run| {
            collect(run)?;
            let s = run.summary()?;
            harness::expect_eq("ok", s.ok, 20)?;
            if run.count("woken_by_notify")? == 0 {
                return Err("no wait was ended by a notification".into());
            }
            harness::expect_eq("table", states("notify_wakes")?, "completed=20".into())
        })
}

/// Jobs of 4 s on a lease of 1.5 s: the heartbeat extends the leases, so none is rescued or
/// runs twice.
fn heartbeat() -> Scenario {
    let url = url("heartbeat");
    let args = [
        "--database-url",
        url.as_str(),
        "--jobs",
        "4",
        "--workers",
        "4",
        "--work-ms",
        "4000",
        "--lease-ms",
        "1500",
    ];
    Scenario::run("postgres/heartbeat", &args, 0)
        .timeout(Duration::from_secs(60))
        .setup(|_| fresh("heartbeat"))
        .check(|run| {
            let s = run.summary()?;
            harness::expect_eq("submitted, ok", (s.submitted, s.ok), (4, 4))?;
            run.expect_count("rescued", 0)?;
            if run.count("leases_extended")? < 4 {
                return Err(format!(
                    "expected every lease extended at least once, got {} extensions",
                    run.count("leases_extended")?
                ));
            }
            harness::expect_eq(
                "attempts",
                query(
                    "heartbeat",
                    "SELECT string_agg(DISTINCT attempts::text, ',') FROM pg_queue_jobs",
                )?,
                vec!["1".to_owned()],
            )?;
            harness::expect_eq("table", states("heartbeat")?, "completed=4".into())
        })
}

/// A consumer is killed with `kill -9` mid-run, holding claims; the next consumer's rescuer
/// returns exactly those after their lease, and every job is done (a job the victim finished
/// but had not yet completed in the table runs twice: at-least-once).
fn kill_9() -> Scenario {
    let lease = ["--work-ms", "2", "--lease-ms", "1000"];
    consume("kill_9", &lease, 0)
        .setup(move |dir| {
            fresh("kill_9")?;
            produce("kill_9", 2000)?;
            let flags = [&lease[..], &["--batch", "16"]].concat();
            let (mut victim, out) = consumer(dir, "kill_9", "victim", &flags)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while std::fs::read_to_string(&out)?
                .matches("\"event\":\"started\"")
                .count()
                < 100
            {
                anyhow::ensure!(Instant::now() < deadline, "the victim never started 100 jobs");
                anyhow::ensure!(victim.try_wait()?.is_none(), "the victim ended before its kill");
                std::thread::sleep(Duration::from_millis(5));
            }
            victim.kill()?; // SIGKILL
            victim.wait()?;
            // A statement the victim sent just before (a claim) still runs, and commits, on
            // its server session: count the rows it holds once every session of it has ended.
            let sessions = "SELECT count(*)::text FROM pg_stat_activity
                             WHERE datname = 'kill_9' AND pid <> pg_backend_pid()";
            let deadline = Instant::now() + Duration::from_secs(30);
            while query("kill_9", sessions).map_err(anyhow::Error::msg)? != ["0"] {
                anyhow::ensure!(Instant::now() < deadline, "the victim's sessions never ended");
                std::thread::sleep(Duration::from_millis(10));
            }
            let held = query(
                "kill_9",
                "SELECT count(*)::text FROM pg_queue_jobs WHERE state = 'running'",
            )
            .map_err(anyhow::Error::msg)?;
            let held = held.first().and_then(|n| n.parse().ok()).unwrap_or(0);
            lock(&FIXTURES).push(Fixture {
                dir: dir.to_path_buf(),
                others: vec![(victim, out)],
                held,
                helper: None,
            });
            Ok(())
        })
        .check(|run| {
            let (others, held) = collect(run)?;
            if held == 0 {
                return Err("the victim held no claim when it was killed".into());
            }
            let mut runs: Vec<Vec<u64>> = others.iter().map(|e| finished_ok(e)).collect();
            runs.push(finished_ok(&run.events()?.events));
            let twice = all_done(&runs, 2000)? as u64;
            if twice > held {
                return Err(format!(
                    "{twice} jobs ran twice, more than the {held} the victim held"
                ));
            }
            let rescued: u64 = run
                .events()?
                .other("rescued")
                .filter_map(|o| o.decode::<Rescued>().and_then(Result::ok))
                .map(|r| r.jobs)
                .sum();
            harness::expect_eq("jobs rescued", rescued, held)?;
            run.expect_count("rescued", held)?;
            harness::expect_eq("table", states("kill_9")?, "completed=2000".into())
        })
}

/// Job 7 always fails: three attempts, then `discarded` with its error; the others complete.
fn poison() -> Scenario {
    let url = url("poison");
    let args = [
        "--database-url",
        url.as_str(),
        "--jobs",
        "300",
        "--poison",
        "7",
        "--max-attempts",
        "3",
        "--backoff-ms",
        "5",
    ];
    Scenario::run("postgres/poison", &args, 1)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .setup(|_| fresh("poison"))
        .check(|run| {
            let s = run.summary()?;
            harness::expect_eq("ok, failed", (s.ok, s.failed), (299, 3))?;
            run.expect_count("discarded", 1)?;
            run.expect_count("retried", 2)?;
            let discarded: Vec<Discarded> = run
                .events()?
                .other("discarded")
                .filter_map(|o| o.decode::<Discarded>().and_then(Result::ok))
                .collect();
            if !(discarded.len() == 1 && discarded[0].job == 7 && discarded[0].attempts == 3) {
                return Err(format!("expected one discarded event for job 7 after 3 attempts: {discarded:?}"));
            }
            let row = query(
                "poison",
                "SELECT state || ' ' || attempts || ' ' || last_error FROM pg_queue_jobs WHERE payload->>'n' = '7'",
            )?;
            harness::expect_eq(
                "job 7's row",
                row,
                vec!["discarded 3 poison job 7: this job always fails".to_owned()],
            )?;
            harness::expect_eq("table", states("poison")?, "completed=299 discarded=1".into())
        })
}

/// Payloads no job number can be read from, as another producer might write them (SQL by hand):
/// each cast in SQL would fail the whole claim statement.
const MALFORMED: [&str; 8] = [
    r#"{"n": "abc"}"#,
    r#"{"n": 1.5}"#,
    "{}",
    "[1, 2]",
    r#""just text""#,
    r#"{"n": -3}"#,
    r#"{"n": null}"#,
    r#"{"n": 99999999999999999999}"#,
];

/// 200 good jobs and the [`MALFORMED`] rows, four due before every good one and four after
/// them, claimed 16 at a time: every good job completes; each malformed row fails at its first
/// attempt with its reason and is discarded at once (the dead letter); exit 1 (jobs failed).
fn malformed() -> Scenario {
    let url = url("malformed");
    let args = [
        "consume",
        "--database-url",
        url.as_str(),
        "--batch",
        "16",
        "--max-attempts",
        "3",
        "--backoff-ms",
        "5",
    ];
    Scenario::run("postgres/malformed", &args, 1)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .setup(|_| {
            fresh("malformed")?;
            produce("malformed", 200)?; // also creates the table
            let mut client = postgres::Client::connect(&self::url("malformed"), postgres::NoTls)?;
            let insert = "INSERT INTO pg_queue_jobs (kind, payload, run_at)
                          SELECT 'double', p::jsonb, now() + d * interval '1 hour'
                            FROM unnest($1::text[], $2::int[]) AS m(p, d)";
            let payloads: Vec<&str> = MALFORMED.to_vec();
            let hours: Vec<i32> = (0..MALFORMED.len()).map(|i| if i < 4 { -1 } else { 0 }).collect();
            client.execute(insert, &[&payloads, &hours])?;
            Ok(())
        })
        .check(|run| {
            let s = run.summary()?;
            let bad = MALFORMED.len() as u64;
            harness::expect_eq(
                "submitted, ok, failed",
                (s.submitted, s.ok, s.failed),
                (200 + bad, 200, bad),
            )?;
            run.expect_count("completed", 200)?;
            run.expect_count("discarded", bad)?;
            run.expect_count("malformed", bad)?;
            run.expect_count("retried", 0)?;
            let twice = all_done(&[finished_ok(&run.events()?.events)], 200)?;
            harness::expect_eq("good jobs run twice", twice, 0)?;
            let discarded: Vec<Discarded> = run
                .events()?
                .other("discarded")
                .filter_map(|o| o.decode::<Discarded>().and_then(Result::ok))
                .collect();
            if discarded.len() as u64 != bad
                || !discarded
                    .iter()
                    .all(|d| d.job == 0 && d.attempts == 1 && d.error.starts_with("malformed payload: "))
            {
                return Err(format!(
                    "expected {bad} discarded events of malformed jobs: {discarded:?}"
                ));
            }
            // Each malformed row: discarded at its first attempt, its reason as its last error.
            let rows = query(
                "malformed",
                "SELECT payload::text || E'\\t' || state || ' ' || attempts || ' ' || coalesce(last_error, '')
                   FROM pg_queue_jobs WHERE state <> 'completed' ORDER BY id",
            )?;
            let mut got: Vec<String> = Vec::new();
            let mut want: Vec<String> = Vec::new();
            for row in rows {
                let (payload, rest) = row.split_once('\t').ok_or("no tab in the row")?;
                let reason = match pg_queue::job_number(payload) {
                    Ok(n) => format!("a well-formed job {n}"),
                    Err(e) => e.to_string(),
                };
                want.push(format!("{payload}: discarded 1 {reason}"));
                got.push(format!("{payload}: {rest}"));
            }
            harness::expect_eq("rows not completed", got.len() as u64, bad)?;
            harness::expect_eq("rows not completed", got, want)?;
            harness::expect_eq(
                "table",
                states("malformed")?,
                format!("completed=200 discarded={bad}"),
            )
        })
}

/// Ctrl-C mid-run: no claim is left `running`; what was claimed and not run is released.
fn sigint() -> Scenario {
    let url = url("sigint");
    let args = [
        "--database-url",
        url.as_str(),
        "--jobs",
        "3000",
        "--work-ms",
        "5",
        "--grace-ms",
        "2000",
    ];
    Scenario::run("postgres/sigint", &args, 130)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 40))
        .setup(|_| fresh("sigint"))
        .check(harness::stopped(true))
        .check(|run| {
            let s = run.summary()?;
            run.expect_count("completed", s.ok)?;
            run.expect_count("released", s.not_started + s.cancelled)?;
            let want = format!("available={} completed={}", 3000 - s.ok, s.ok);
            harness::expect_eq("table", states("sigint")?, want)
        })
}

/// A wrong password: exit 2, one line, the password never printed.
fn bad_password() -> Scenario {
    let url = url("postgres").replace("postgres@", &format!("{}:wrong-secret-pw@", pg::PASSWORD_ROLE));
    Scenario::exit_only("postgres/bad-password", &["--database-url", &url], 2)
        .setup(|_| with_cluster(|_| Ok(())))
        .check(|run| {
            let stderr = run.output.stderr.trim();
            if stderr.lines().count() != 1 || !stderr.starts_with("error: ") {
                return Err(format!("expected one error line, got {stderr:?}"));
            }
            if stderr.contains("wrong-secret-pw") || run.output.stdout.contains("wrong-secret-pw") {
                return Err(format!("the password was printed: {stderr:?}"));
            }
            Ok(())
        })
}

/// A heartbeat every 20 ms (a lease of 60 ms) beside thousands of completions of the same rows:
/// neither waits on the other (the heartbeat skips rows being completed), so the run ends well
/// (a deadlock between them would be an error and exit 2) with every job completed.
fn heartbeat_beside_completions() -> Scenario {
    let url = url("heartbeat_busy");
    let args = [
        "--database-url",
        url.as_str(),
        "--jobs",
        "3000",
        "--work-ms",
        "1",
        "--lease-ms",
        "60",
    ];
    Scenario::run("postgres/heartbeat-busy", &args, 0)
        .partial_concurrency()
        .timeout(Duration::from_secs(60))
        .setup(|_| fresh("heartbeat_busy"))
        .check(|run| {
            if run.count("leases_extended")? == 0 {
                return Err("no lease was extended".into());
            }
            harness::expect_eq("table", states("heartbeat_busy")?, "completed=3000".into())
        })
}

/// A scenario, made on the thread that runs it (a scenario's checks are not `Send`).
type MakeScenario = fn() -> Scenario;

/// Stops and removes the cluster when the test ends, passed or failed.
struct StopCluster;

impl Drop for StopCluster {
    fn drop(&mut self) {
        drop(lock(&pg().cluster).take());
    }
}

#[test]
fn postgres_scenarios_on_one_cluster() {
    let _stop = StopCluster;
    with_cluster(|_| Ok(())).expect("start the test's PostgreSQL cluster");
    let scenarios: [(&str, MakeScenario); 10] = [
        ("three_consumers", three_consumers),
        ("transactional", transactional),
        ("notify_wakes", notify_wakes),
        ("heartbeat", heartbeat),
        ("heartbeat_beside_completions", heartbeat_beside_completions),
        ("kill_9", kill_9),
        ("poison", poison),
        ("malformed", malformed),
        ("sigint", sigint),
        ("bad_password", bad_password),
    ];
    // Each on its own database, side by side; a failed one panics with its reasons (printed
    // above) and the others still run.
    let broken: Vec<&str> = std::thread::scope(|s| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|&(name, scenario)| {
                let check = move || {
                    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario());
                };
                (
                    name,
                    s.spawn(move || catch_unwind(AssertUnwindSafe(check)).is_ok()),
                )
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|(name, h)| (!h.join().unwrap_or(false)).then_some(name))
            .collect()
    });
    assert!(
        broken.is_empty(),
        "PostgreSQL scenario(s) broke their promises (reasons above): {}",
        broken.join(", ")
    );
}
