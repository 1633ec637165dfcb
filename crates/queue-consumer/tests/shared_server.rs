//! queue-consumer on a redis-server the test starts in its own folder (`testbed::servers`):
//! three consumers share the work and each message runs once, a consumer killed with `kill -9`
//! loses nothing (its entries are claimed), a restart of the server is ridden out, a server that
//! refuses a command for good ends the run with that error, and Ctrl-C mid-produce counts exactly
//! what the stream holds. Each test stops everything it started; none touches another's server.
//!
//! A scenario's `setup` starts the server, produces the messages and starts the other consumer
//! processes; its `check` collects their events, asks the server (`XPENDING`, the dead-letter
//! stream) and stops the server (its last handle dropped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::event::{Event, OutcomeKind};
use harness::{Interrupt, Run, Scenario, Signal};
use testbed::servers::redis::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_queue-consumer");

#[track_caller]
fn check(scenario: Scenario) {
    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
}

/// `consume` against the scenario's server, with these flags.
fn consume(name: &str, flags: &[&str], exit_code: i32) -> Scenario {
    let args: Vec<&str> = ["consume", "--redis-url", "unix://{dir}/redis.sock"]
        .into_iter()
        .chain(flags.iter().copied())
        .collect();
    Scenario::run(name, &args, exit_code)
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
}

#[test]
fn three_consumers_share_the_work() {
    check(
        consume("three-consumers", &["--workers", "4", "--work-ms", "1"], 0)
            .setup(|dir| {
                let server = RedisServer::start(dir, false)?;
                produce(&server.url(), 20_000)?;
                let consumers = (1..=2)
                    .map(|i| consumer(dir, &server.url(), i, &["--work-ms", "1"]))
                    .collect::<anyhow::Result<_>>()?;
                keep(dir, server, consumers, None);
                Ok(())
            })
            .check(|run| {
                let (others, server) = collect(run)?;
                let mut runs: Vec<Vec<u64>> = others.iter().map(|ev| finished_ok(ev)).collect();
                runs.push(finished_ok(&run.events()?.events));
                expect_all_once(&runs, 20_000, true)?;
                drained(&server)?;
                if let Some(i) = runs.iter().position(|r| r.is_empty()) {
                    return Err(format!(
                        "consumer {} processed nothing: the work was not spread",
                        i + 1
                    ));
                }
                Ok(())
            }),
    );
}

#[test]
fn a_consumer_killed_with_kill_9_loses_nothing() {
    check(
        consume("kill-9", &["--work-ms", "2", "--claim-idle-ms", "500"], 0)
            .setup(|dir| {
                let server = RedisServer::start(dir, false)?;
                produce(&server.url(), 3_000)?;
                let victim_args = [
                    "--work-ms",
                    "2",
                    "--claim-idle-ms",
                    "500",
                    "--count",
                    "16",
                    "--ack-batch",
                    "8",
                ];
                let victim = consumer(dir, &server.url(), 1, &victim_args)?;
                let other = consumer(
                    dir,
                    &server.url(),
                    2,
                    &["--work-ms", "2", "--claim-idle-ms", "500"],
                )?;
                let (victim_pid, victim_out) = (victim.0.id(), victim.1.clone());
                // kill -9 the victim once it has started 200 jobs.
                let helper = std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while Instant::now() < deadline {
                        let text = std::fs::read_to_string(&victim_out).unwrap_or_default();
                        if text.matches("\"event\":\"started\"").count() >= 200 {
                            let _ = Command::new("kill")
                                .args(["-KILL", &victim_pid.to_string()])
                                .status();
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
                keep(dir, server, vec![victim, other], Some(helper));
                Ok(())
            })
            .check(|run| {
                let (others, server) = collect(run)?;
                let mut runs: Vec<Vec<u64>> = others.iter().map(|ev| finished_ok(ev)).collect();
                runs.push(finished_ok(&run.events()?.events));
                let duplicates = expect_all_once(&runs, 3_000, false)?;
                drained(&server)?;
                // The victim held at most 4 jobs in flight, 16 in the channel, 16 in its
                // fetcher's hand and 8 finished but not yet acknowledged: only those can run twice.
                if duplicates > 4 + 16 + 16 + 8 {
                    return Err(format!(
                        "{duplicates} messages ran twice: more than the killed consumer held"
                    ));
                }
                // Either survivor may have claimed the victim's entries: count the claims of both
                // (the victim's own file has no summary: it was killed).
                let claimed = run.events()?.summary.count("claimed").unwrap_or(0)
                    + others.iter().map(|ev| claims(ev)).sum::<u64>();
                if claimed == 0 && duplicates > 0 {
                    return Err(format!(
                        "{duplicates} messages ran twice but no consumer claimed anything"
                    ));
                }
                Ok(())
            }),
    );
}

#[test]
fn a_server_restart_is_ridden_out() {
    check(
        consume("redis-restart", &["--work-ms", "1", "--claim-idle-ms", "1000"], 0)
            .setup(|dir| {
                let server = RedisServer::start(dir, true)?;
                produce(&server.url(), 10_000)?;
                // Restart the server once 2,000 entries have been read, while some are left.
                let ready = |s: &RedisServer| {
                    let left: u64 = s
                        .cli(&["XLEN", "jobs"])
                        .ok()
                        .and_then(|l| l.trim().parse().ok())
                        .unwrap_or(0);
                    left > 0 && entries_read(s) >= 2_000
                };
                keep_and_then(dir, server, ready, |s| drop(s.restart()));
                Ok(())
            })
            .check(|run| {
                let (_, server) = collect(run)?;
                let ev = run.events()?;
                expect_all_once(&[finished_ok(&ev.events)], 10_000, false)?;
                drained(&server)?;
                if ev.other("reconnect").count() == 0 {
                    return Err("the server restarted but the consumer never reconnected".into());
                }
                Ok(())
            }),
    );
}

#[test]
fn a_server_that_refuses_a_command_ends_the_run() {
    // Redis refuses a command for good (the stream replaced by a string): not a lost
    // connection, so nothing to retry. The pool ends, and the summary still accounts for every
    // delivery taken and carries the error; exit 2, with the error as the one stderr line.
    check(
        consume("redis-refuses", &["--workers", "2", "--work-ms", "5"], 2)
            .setup(|dir| {
                let server = RedisServer::start(dir, false)?;
                produce(&server.url(), 2_000)?;
                // Once 100 entries have been read, SET replaces the stream (and its group) with a
                // string, in one command: every stream command then answers WRONGTYPE.
                let ready = |s: &RedisServer| entries_read(s) >= 100;
                keep_and_then(dir, server, ready, |s| {
                    drop(s.cli(&["SET", "jobs", "not a stream"]))
                });
                Ok(())
            })
            .check(|run| {
                collect(run)?;
                let s = run.summary()?;
                let error = s.error.as_deref().unwrap_or_default();
                if !error.contains("WRONGTYPE") {
                    return Err(format!(
                        "expected the summary's error to name WRONGTYPE, got {:?}",
                        s.error
                    ));
                }
                let stderr: Vec<&str> = run.output.stderr.lines().collect();
                if stderr.len() != 1 || !stderr[0].starts_with("error: ") || !stderr[0].contains("WRONGTYPE")
                {
                    return Err(format!(
                        "expected one 'error: …WRONGTYPE…' line on stderr, got {stderr:?}"
                    ));
                }
                if !(100..2_000).contains(&s.submitted) {
                    return Err(format!(
                        "{} deliveries taken: the stream was not replaced mid-run",
                        s.submitted
                    ));
                }
                let acked = run.count("acked")?;
                if acked > s.ok {
                    return Err(format!("acked {acked} > ok {}", s.ok));
                }
                Ok(())
            }),
    );
}

#[test]
fn ctrl_c_mid_produce_counts_what_the_stream_holds() {
    check(
        Scenario::run(
            "produce-sigint",
            &[
                "produce",
                "--redis-url",
                "unix://{dir}/redis.sock",
                "--messages",
                "1000000",
            ],
            130,
        )
        .timeout(Duration::from_secs(120))
        .interrupt(Interrupt::SignalAfterMs(Signal::Int, 300))
        .setup(|dir| {
            let server = RedisServer::start(dir, false)?;
            keep(dir, server, Vec::new(), None);
            Ok(())
        })
        .check(|run| {
            // Ctrl-C mid-produce: the count is what the server holds, exactly (no chunk's reply
            // cut short by the signal), and it stopped early.
            let (_, server) = collect(run)?;
            let produced = run.events()?.summary.count("produced");
            let xlen = server
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cli(&["XLEN", "jobs"])
                .map_err(|e| e.to_string())?;
            let xlen: u64 = xlen.trim().parse().map_err(|_| format!("XLEN said {xlen:?}"))?;
            if produced != Some(xlen) {
                return Err(format!(
                    "summary produced {produced:?}, but the stream holds {xlen}"
                ));
            }
            if xlen == 0 || xlen >= 1_000_000 {
                return Err(format!(
                    "{xlen} of 1,000,000 produced: the Ctrl-C did not land mid-produce"
                ));
            }
            Ok(())
        }),
    );
}

/// What a scenario started, kept from its `setup` to its `check`.
struct Fixture {
    dir: PathBuf,
    server: SharedServer,
    consumers: Vec<(Child, PathBuf)>,
    helper: Option<std::thread::JoinHandle<()>>,
}

/// A scenario's server, shared with a helper thread that may restart it.
type SharedServer = Arc<Mutex<RedisServer>>;

/// Each scenario's fixture, found by its scratch folder.
static FIXTURES: Mutex<Vec<Fixture>> = Mutex::new(Vec::new());

/// How many entries of `jobs` the group `workers` has read (`XINFO GROUPS`), 0 if unknown.
fn entries_read(server: &RedisServer) -> u64 {
    let info = server.cli(&["XINFO", "GROUPS", "jobs"]).unwrap_or_default();
    info.lines()
        .skip_while(|l| l.trim() != "entries-read")
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

fn produce(url: &str, messages: u64) -> anyhow::Result<()> {
    let status = Command::new(BIN)
        .args([
            "produce",
            "--quiet",
            "--redis-url",
            url,
            "--messages",
            &messages.to_string(),
        ])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "produce failed: {status}");
    Ok(())
}

/// Starts consumer `i` with its `--json` events going to `<dir>/consumer-<i>.jsonl`.
fn consumer(dir: &Path, url: &str, i: usize, extra: &[&str]) -> anyhow::Result<(Child, PathBuf)> {
    let out = dir.join(format!("consumer-{i}.jsonl"));
    let child = Command::new(BIN)
        .args(["consume", "--json", "--redis-url", url])
        .args(extra)
        .stdout(std::fs::File::create(&out)?)
        .stderr(std::fs::File::create(dir.join(format!("consumer-{i}.stderr")))?)
        .spawn()?;
    Ok((child, out))
}

/// Keeps the scenario's server, consumers and helper thread for its check.
fn keep(
    dir: &Path,
    server: RedisServer,
    consumers: Vec<(Child, PathBuf)>,
    helper: Option<std::thread::JoinHandle<()>>,
) {
    keep_shared(dir, Arc::new(Mutex::new(server)), consumers, helper);
}

/// [`keep`], for a server a helper thread already shares.
fn keep_shared(
    dir: &Path,
    server: SharedServer,
    consumers: Vec<(Child, PathBuf)>,
    helper: Option<std::thread::JoinHandle<()>>,
) {
    FIXTURES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Fixture {
            dir: dir.to_path_buf(),
            server,
            consumers,
            helper,
        });
}

/// Keeps `server` for the scenario's check, with a helper thread that polls it (for up to 60 s)
/// and does `act` once `ready` says so: the fault a scenario brings in mid-run.
fn keep_and_then(
    dir: &Path,
    server: RedisServer,
    ready: impl Fn(&RedisServer) -> bool + Send + 'static,
    act: impl FnOnce(&mut RedisServer) + Send + 'static,
) {
    let server = Arc::new(Mutex::new(server));
    let shared = Arc::clone(&server);
    let helper = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if ready(&s) {
                return act(&mut s);
            }
            drop(s);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    keep_shared(dir, server, Vec::new(), Some(helper));
}

/// Waits for the scenario's other consumers (killing any still running after 60 s) and returns
/// the events each printed, with the server (stopped when the last handle is dropped).
fn collect(run: &Run<'_>) -> Result<(Vec<Vec<Event>>, SharedServer), String> {
    let fixture = {
        let mut all = FIXTURES.lock().unwrap_or_else(PoisonError::into_inner);
        let i = all
            .iter()
            .position(|f| f.dir == run.dir)
            .ok_or("no fixture for this scenario")?;
        all.swap_remove(i)
    };
    if let Some(helper) = fixture.helper {
        let _ = helper.join();
    }
    let mut runs = Vec::new();
    for (mut child, out) in fixture.consumers {
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
        let events: Vec<Event> = text
            .lines()
            .filter_map(|l| common::event::parse_line(l).ok())
            .collect();
        runs.push(events);
    }
    Ok((runs, fixture.server))
}

/// The `claimed` count of a consumer's summary (0 without one: a killed consumer prints none).
fn claims(events: &[Event]) -> u64 {
    events
        .iter()
        .find_map(|e| match e {
            Event::Summary(s) => s.count("claimed"),
            _ => None,
        })
        .unwrap_or(0)
}

fn finished_ok(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finished(f) if f.outcome == OutcomeKind::Ok => f.value,
            _ => None,
        })
        .collect()
}

/// Every message 1..=n finished ok at least once over all runs (exactly once if `exactly`).
/// Returns how many ran more than once.
fn expect_all_once(runs: &[Vec<u64>], n: u64, exactly: bool) -> Result<usize, String> {
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for v in runs.iter().flatten() {
        *seen.entry(*v).or_default() += 1;
    }
    let missing: Vec<u64> = (1..=n).filter(|m| !seen.contains_key(m)).take(10).collect();
    if !missing.is_empty() {
        return Err(format!("messages never processed: {missing:?}…"));
    }
    let twice = seen.values().filter(|c| **c > 1).count();
    if exactly && twice > 0 {
        return Err(format!(
            "{twice} messages processed twice in a run without faults"
        ));
    }
    Ok(twice)
}

/// `XPENDING` of the group is empty and nothing was dead-lettered.
fn drained(server: &SharedServer) -> Result<(), String> {
    let server = server.lock().unwrap_or_else(PoisonError::into_inner);
    let pending = server
        .cli(&["XPENDING", "jobs", "workers"])
        .map_err(|e| e.to_string())?;
    if pending.lines().next().map(str::trim) != Some("0") {
        return Err(format!("XPENDING is not empty: {pending}"));
    }
    let dead = server.cli(&["XLEN", "jobs:dead"]).map_err(|e| e.to_string())?;
    if dead.trim() != "0" {
        return Err(format!("{} dead letters in a run without poison", dead.trim()));
    }
    Ok(())
}
