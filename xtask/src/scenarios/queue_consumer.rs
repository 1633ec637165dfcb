//! `queue-consumer`: every scenario runs against a real `redis-server`. The single-process runs use
//! the example's own private server (no `REDIS_URL`); the multi-process ones start a throwaway
//! server in the scenario's folder (`servers::redis`), produce the messages and start the other
//! consumer processes in `setup`, and in `check` collect those processes' events, ask the server
//! (`XPENDING`, the dead-letter stream) and stop everything they started.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::event::{Event, OutcomeKind};

use super::{Interrupt, Run, Scenario, Signal};
use testbed::servers::redis::RedisServer;

/// What a multi-process scenario started, kept from its `setup` to its `check`.
struct Fixture {
    dir: PathBuf,
    server: Arc<Mutex<RedisServer>>,
    consumers: Vec<(Child, PathBuf)>,
    helper: Option<std::thread::JoinHandle<()>>,
}

/// A scenario's server, shared with a helper thread that may restart it.
type SharedServer = Arc<Mutex<RedisServer>>;

static FIXTURES: Mutex<Vec<Fixture>> = Mutex::new(Vec::new());

/// `embedded-kill-9`: the scenario's folder and the helper that kills the victim (its pid).
type Victim = (PathBuf, std::thread::JoinHandle<Result<u32, String>>);
static VICTIMS: Mutex<Vec<Victim>> = Mutex::new(Vec::new());

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::run("default", &["--messages", "2000"], 0)
            .partial_concurrency() // trivial jobs: one worker can take them all
            .check(|run| expect(run, &[("acked", 2000), ("pending_left", 0), ("dead_lettered", 0)])),
        Scenario::run(
            "work-5ms",
            &["--messages", "400", "--workers", "8", "--work-ms", "5"],
            0,
        )
        .check(|run| expect(run, &[("acked", 400), ("pending_left", 0)])),
        Scenario::run(
            "unbatched",
            &["--messages", "500", "--count", "1", "--ack-batch", "1"],
            0,
        )
        .partial_concurrency()
        .check(|run| expect(run, &[("acked", 500), ("pending_left", 0)])),
        Scenario::run(
            "poison",
            &[
                "--messages",
                "300",
                "--poison",
                "7",
                "--panic",
                "11",
                "--claim-idle-ms",
                "200",
                "--max-deliveries",
                "3",
            ],
            1,
        )
        .partial_concurrency()
        .check(|run| {
            expect(
                run,
                &[
                    ("acked", 300),
                    ("dead_lettered", 2),
                    ("pending_left", 0),
                    ("failed", 6),
                    ("ok", 298),
                ],
            )?;
            let ev = run.events()?;
            for (message, error) in [(7, "always fails"), (11, "always panics")] {
                let found = ev.other("dead_letter").any(|d| {
                    d.count("job") == Some(message)
                        && d.count("deliveries") == Some(3)
                        && d.text("reason").is_some_and(|why| why.contains(error))
                });
                if !found {
                    return Err(format!(
                        "no dead_letter for message {message} after 3 deliveries with '{error}'"
                    ));
                }
            }
            Ok(())
        }),
        sigint("sigint", Signal::Int),
        sigint("sigterm", Signal::Term),
        Scenario::run(
            "three-consumers",
            &[
                "consume",
                "--redis-url",
                "unix://{dir}/redis.sock",
                "--workers",
                "4",
                "--work-ms",
                "1",
            ],
            0,
        )
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
        .setup(|dir| {
            let server = RedisServer::start(dir, false)?;
            produce(dir, &server.url(), 20_000)?;
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
        Scenario::run(
            "kill-9",
            &[
                "consume",
                "--redis-url",
                "unix://{dir}/redis.sock",
                "--work-ms",
                "2",
                "--claim-idle-ms",
                "500",
            ],
            0,
        )
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
        .setup(|dir| {
            let server = RedisServer::start(dir, false)?;
            produce(dir, &server.url(), 3_000)?;
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
            // The victim held at most 4 jobs in flight, 16 in the channel, 16 in its fetcher's
            // hand and 8 finished but not yet acknowledged: only those can run twice.
            if duplicates > 4 + 16 + 16 + 8 {
                return Err(format!(
                    "{duplicates} messages ran twice: more than the killed consumer held"
                ));
            }
            // Either survivor may have claimed the victim's entries: count the claims of both (the
            // victim's own file has no summary: it was killed).
            let claimed = run.events()?.summary.count("claimed").unwrap_or(0)
                + others.iter().map(|ev| claims(ev)).sum::<u64>();
            if claimed == 0 && duplicates > 0 {
                return Err(format!(
                    "{duplicates} messages ran twice but no consumer claimed anything"
                ));
            }
            Ok(())
        }),
        Scenario::run(
            "redis-restart",
            &[
                "consume",
                "--redis-url",
                "unix://{dir}/redis.sock",
                "--work-ms",
                "1",
                "--claim-idle-ms",
                "1000",
            ],
            0,
        )
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
        .setup(|dir| {
            let server = RedisServer::start(dir, true)?;
            produce(dir, &server.url(), 10_000)?;
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
            if ev.count_named("reconnect") == 0 {
                return Err("the server restarted but the consumer never reconnected".into());
            }
            Ok(())
        }),
        // Redis refuses a command for good (the stream replaced by a string): not a lost
        // connection, so nothing to retry. The pool ends, and the summary still accounts for every
        // delivery taken and carries the error; exit 2, with the error as the one stderr line.
        Scenario::run(
            "redis-refuses",
            &[
                "consume",
                "--redis-url",
                "unix://{dir}/redis.sock",
                "--workers",
                "2",
                "--work-ms",
                "5",
            ],
            2,
        )
        .timeout(Duration::from_secs(120))
        .partial_concurrency()
        .setup(|dir| {
            let server = RedisServer::start(dir, false)?;
            produce(dir, &server.url(), 2_000)?;
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
            if stderr.len() != 1 || !stderr[0].starts_with("error: ") || !stderr[0].contains("WRONGTYPE") {
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
        // The private redis-server dies with the example: killed with SIGKILL (a victim started
        // in `setup` with TMPDIR in the scenario's folder), and at the end of a normal run.
        Scenario::run("embedded-kill-9", &["--messages", "300"], 0)
            .partial_concurrency()
            .setup(|dir| {
                let out = dir.join("victim.jsonl");
                let mut victim = Command::new(binary(dir))
                    .args(["--json", "--messages", "2000", "--work-ms", "50"])
                    .env("TMPDIR", dir)
                    .stdout(std::fs::File::create(&out)?)
                    .stderr(std::fs::File::create(dir.join("victim.stderr"))?)
                    .spawn()?;
                // kill -9 it once it has started 8 jobs (its server is up and in use).
                let helper = std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    let started = || {
                        std::fs::read_to_string(&out)
                            .unwrap_or_default()
                            .matches("\"event\":\"started\"")
                            .count()
                    };
                    while started() < 8 && Instant::now() < deadline {
                        if victim.try_wait().ok().flatten().is_some() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let running = victim.try_wait().ok().flatten().is_none();
                    let _ = victim.kill(); // SIGKILL
                    let _ = victim.wait();
                    if running && started() >= 8 {
                        Ok(victim.id())
                    } else {
                        Err(format!(
                            "the victim never started 8 jobs while running (see {})",
                            out.display()
                        ))
                    }
                });
                VICTIMS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((dir.to_path_buf(), helper));
                Ok(())
            })
            .check(|run| {
                let helper = {
                    let mut all = VICTIMS.lock().unwrap_or_else(PoisonError::into_inner);
                    let i = all
                        .iter()
                        .position(|v| v.0 == run.dir)
                        .ok_or("no victim for this scenario")?;
                    all.swap_remove(i).1
                };
                let pid = helper.join().map_err(|_| "the kill -9 helper panicked")??;
                // SIGKILL: no destructor ran; the watcher must have stopped the server itself.
                no_server_left(&run.dir.join(format!("queue-consumer-{pid}")), "kill -9")?;
                // The normal run: its server stopped at exit (its folder is named by its pid,
                // which its consumer name carries).
                let consumer = run
                    .events()?
                    .summary
                    .extra
                    .get("consumer")
                    .and_then(|c| c.as_str());
                let pid = consumer
                    .and_then(|c| c.rsplit('-').nth(1))
                    .ok_or_else(|| format!("no pid in the summary's consumer {consumer:?}"))?;
                no_server_left(
                    &std::env::temp_dir().join(format!("queue-consumer-{pid}")),
                    "a normal exit",
                )
            }),
        sigint_before_the_pool(),
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
        Scenario::bad_input("bad-input/unreachable", &["--redis-url", "redis://127.0.0.1:1"]),
        Scenario::bad_input("bad-input/malformed-url", &["--redis-url", "not a url"]),
        Scenario::bad_input("bad-input/count-0", &["--count", "0"]),
    ]
}

/// Ctrl-C (or SIGTERM) mid-run: exit 130, the finished entries acknowledged, the rest left
/// pending (the only consumer of its private server: pending = deliveries taken − acked).
fn sigint(name: &str, signal: Signal) -> Scenario {
    Scenario::run(
        name,
        &["--messages", "3000", "--work-ms", "5", "--grace-ms", "2000"],
        130,
    )
    .partial_concurrency()
    .interrupt(Interrupt::SignalAfterStarted(signal, 40))
    .check(|run| {
        let s = &run.events()?.summary;
        let (acked, pending) = (s.count("acked"), s.count("pending_left"));
        if acked != Some(s.ok) {
            return Err(format!("acked {acked:?} != ok {}", s.ok));
        }
        // Every delivery this consumer took and did not acknowledge is still pending (the
        // entries it never read are not pending: they wait in the stream).
        if pending.zip(acked).map(|(p, a)| p + a) != Some(s.submitted) {
            return Err(format!(
                "pending_left {pending:?} + acked {acked:?} != {} deliveries taken",
                s.submitted
            ));
        }
        if s.not_started + s.cancelled == 0 {
            return Err("a stop mid-run left nothing not_started or cancelled".into());
        }
        Ok(())
    })
}

/// Ctrl-C while Redis does not answer yet (a socket that is listening but never accepts, like a
/// server still starting): the run ends with exit 130 and a summary of no jobs, not with an error
/// (a SIGINT that makes the first command fail must not end the run as exit 2).
fn sigint_before_the_pool() -> Scenario {
    static SILENT: Mutex<Vec<std::os::unix::net::UnixListener>> = Mutex::new(Vec::new());
    Scenario::run(
        "sigint-before-the-pool",
        &["--redis-url", "unix://{dir}/silent.sock", "--messages", "10"],
        130,
    )
    .partial_concurrency()
    .setup(|dir| {
        let listener = std::os::unix::net::UnixListener::bind(dir.join("silent.sock"))?;
        SILENT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
        Ok(())
    })
    .interrupt(Interrupt::SignalAfterMs(Signal::Int, 200))
    .check(|run| {
        SILENT.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let s = &run.events()?.summary;
        if s.submitted != 0 || !s.interrupted {
            return Err(format!(
                "expected an interrupted summary of no jobs, got submitted {} interrupted {}",
                s.submitted, s.interrupted
            ));
        }
        Ok(())
    })
}

/// How many entries of `jobs` the group `workers` has read (`XINFO GROUPS`), 0 if unknown.
fn entries_read(server: &RedisServer) -> u64 {
    let info = server.cli(&["XINFO", "GROUPS", "jobs"]).unwrap_or_default();
    info.lines()
        .skip_while(|l| l.trim() != "entries-read")
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

fn expect(run: &Run<'_>, fields: &[(&str, u64)]) -> Result<(), String> {
    let s = &run.events()?.summary;
    for (key, want) in fields {
        let got = match *key {
            "ok" => Some(s.ok),
            "failed" => Some(s.failed),
            _ => s.count(key),
        };
        if got != Some(*want) {
            return Err(format!("expected summary {key} = {want}, got {got:?}"));
        }
    }
    Ok(())
}

/// The built example, beside the scenario folders (`target/xtask-verify/<example>/<scenario>`).
fn binary(dir: &Path) -> PathBuf {
    dir.ancestors()
        .nth(3)
        .unwrap_or(dir)
        .join("debug")
        .join("queue-consumer")
}

fn produce(dir: &Path, url: &str, messages: u64) -> anyhow::Result<()> {
    let status = Command::new(binary(dir))
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
    let child = Command::new(binary(dir))
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
fn drained(server: &Arc<Mutex<RedisServer>>) -> Result<(), String> {
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

/// Within a few seconds (the watcher needs a moment after its parent died), no process (the
/// `redis-server` or its `sh` watcher) names `folder` on its command line, and `folder` is gone.
fn no_server_left(folder: &Path, after: &str) -> Result<(), String> {
    let needle = folder.display().to_string();
    let naming = || -> Vec<String> {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim().to_owned())
            .filter(|c| c.contains(&needle))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = naming();
    while (!left.is_empty() || folder.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left = naming();
    }
    if !left.is_empty() {
        return Err(format!(
            "after {after}, the embedded server is still running: {left:?}"
        ));
    }
    if folder.exists() {
        return Err(format!("after {after}, {} was not removed", folder.display()));
    }
    Ok(())
}
