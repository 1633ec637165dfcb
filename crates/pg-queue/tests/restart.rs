//! PostgreSQL restarted under a running consumer: every connection of it is cut (a fast
//! shutdown ends every session; a crash, SIGQUIT, drops them with no goodbye), each thread
//! connects again and sends its statement again, and the run ends with every job done at least
//! once and none left behind. Each test has a cluster of its own: the other scenarios share one
//! that must not restart under them.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::event::{Event, OutcomeKind};
use harness::Scenario;
use testbed::servers::postgres::{self as pg, Cluster};

const BIN: &str = env!("CARGO_BIN_EXE_pg-queue");
const JOBS: u64 = 3000;

/// Jobs done so far, read with psql (None while the server is down or the table is missing).
fn completed(cluster: &Cluster) -> Option<u64> {
    cluster
        .psql("SELECT count(*) FROM pg_queue_jobs WHERE state = 'completed'")
        .ok()?
        .parse()
        .ok()
}

#[test]
fn a_server_restart_mid_run_is_ridden_out() {
    ridden_out("restart", |c| c.restart());
}

#[test]
fn a_server_crash_and_start_mid_run_is_ridden_out() {
    // SIGQUIT: PostgreSQL's immediate shutdown, as when the server dies; it recovers from its
    // log when started again.
    ridden_out("crash", |c| {
        c.kill()?;
        std::thread::sleep(Duration::from_millis(300)); // the consumers meet a dead server
        c.start_server()
    });
}

/// Produces the jobs, runs `consume`, and does `stop_and_start` to the server once a sixth of
/// the jobs are done.
fn ridden_out(name: &str, stop_and_start: fn(&Cluster) -> anyhow::Result<()>) {
    let dir = Cluster::new_dir();
    let cluster = Cluster::start(&dir).expect("start the test's PostgreSQL cluster");
    let url = pg::url_for(&dir);
    let status = Command::new(BIN)
        .args([
            "produce",
            "--quiet",
            "--database-url",
            &url,
            "--jobs",
            &JOBS.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("run produce");
    assert!(status.success(), "produce failed: {status}");

    let (restarted, done) = (AtomicBool::new(false), AtomicBool::new(false));
    std::thread::scope(|s| {
        // Restart once a sixth of the jobs are done, while most are left.
        s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                if completed(&cluster).is_some_and(|n| n >= JOBS / 6) {
                    stop_and_start(&cluster).expect("stop and start the server");
                    restarted.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let args = [
            "consume",
            "--database-url",
            url.as_str(),
            "--work-ms",
            "2",
            "--lease-ms",
            "3000",
        ];
        let scenario = Scenario::run(name, &args, 0)
            .partial_concurrency()
            .timeout(Duration::from_secs(120))
            .check(|run| {
                let s = run.summary()?;
                let done: BTreeSet<u64> = run
                    .events()?
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Finished(f) if f.outcome == OutcomeKind::Ok => f.value,
                        _ => None,
                    })
                    .collect();
                harness::expect_eq("distinct jobs done", done, (1..=JOBS).collect())?;
                if s.ok < JOBS {
                    return Err(format!("{} ok, fewer than the {JOBS} jobs", s.ok));
                }
                if run.count("reconnects")? == 0 {
                    return Err("the server restarted but no connection was made again".into());
                }
                Ok(())
            });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
        }));
        done.store(true, Ordering::SeqCst);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    });
    assert!(
        restarted.load(Ordering::SeqCst),
        "the run ended before the server was restarted"
    );
    let table = cluster
        .psql("SELECT string_agg(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM pg_queue_jobs GROUP BY state) t")
        .expect("read the table");
    assert_eq!(table, format!("completed={JOBS}"));
}
