//! queue-consumer as one process on its own private redis-server (no `--redis-url`): every
//! message acknowledged once, poison and panicking messages dead-lettered after their deliveries,
//! Ctrl-C leaves the unfinished deliveries pending, and the private server dies with the process,
//! even under `kill -9`. Runs on a server the test starts itself are in `shared_server.rs`.

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use harness::{Interrupt, Run, Scenario, Signal};
use queue_consumer::DeadLetter;

const BIN: &str = env!("CARGO_BIN_EXE_queue-consumer");

#[track_caller]
fn check(scenario: Scenario) {
    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
}

/// Fails unless each summary field (`ok`, `failed` or one of the example's own counts) is `want`.
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

#[test]
fn default_run_acks_every_message() {
    check(
        Scenario::run("default", &["--messages", "2000"], 0)
            .partial_concurrency() // trivial jobs: one worker can take them all
            .check(|run| expect(run, &[("acked", 2000), ("pending_left", 0), ("dead_lettered", 0)])),
    );
}

#[test]
fn eight_workers_with_work() {
    check(
        Scenario::run(
            "work-5ms",
            &["--messages", "400", "--workers", "8", "--work-ms", "5"],
            0,
        )
        .check(|run| expect(run, &[("acked", 400), ("pending_left", 0)])),
    );
}

#[test]
fn unbatched_reads_and_acks() {
    check(
        Scenario::run(
            "unbatched",
            &["--messages", "500", "--count", "1", "--ack-batch", "1"],
            0,
        )
        .partial_concurrency()
        .check(|run| expect(run, &[("acked", 500), ("pending_left", 0)])),
    );
}

#[test]
fn poison_and_panics_are_dead_lettered() {
    check(
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
            let dead: Vec<DeadLetter> = run
                .events()?
                .other("dead_letter")
                .filter_map(|o| o.decode::<DeadLetter>().and_then(Result::ok))
                .collect();
            for (message, error) in [(7, "always fails"), (11, "always panics")] {
                let found = dead
                    .iter()
                    .any(|d| d.job == message && d.deliveries == 3 && d.reason.contains(error));
                if !found {
                    return Err(format!(
                        "no dead_letter for message {message} after 3 deliveries with '{error}'"
                    ));
                }
            }
            Ok(())
        }),
    );
}

/// Ctrl-C (or SIGTERM) mid-run: exit 130, the finished entries acknowledged, the rest left
/// pending (the only consumer of its private server: pending = deliveries taken − acked).
fn stopped_mid_run(name: &str, signal: Signal) -> Scenario {
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

#[test]
fn ctrl_c_sigint_mid_run() {
    check(stopped_mid_run("sigint", Signal::Int));
}

#[test]
fn ctrl_c_sigterm_mid_run() {
    check(stopped_mid_run("sigterm", Signal::Term));
}

/// `embedded-kill-9`: the scenario's folder and the helper that kills the victim (its pid).
type Victim = (std::path::PathBuf, std::thread::JoinHandle<Result<u32, String>>);
static VICTIMS: Mutex<Vec<Victim>> = Mutex::new(Vec::new());

#[test]
fn the_private_server_dies_with_the_process() {
    // The private redis-server dies with the example: killed with SIGKILL (a victim started in
    // `setup` with TMPDIR in the scenario's folder), and at the end of a normal run.
    check(
        Scenario::run("embedded-kill-9", &["--messages", "300"], 0)
            .partial_concurrency()
            .setup(|dir| {
                let out = dir.join("victim.jsonl");
                let mut victim = Command::new(BIN)
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
    );
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

#[test]
fn ctrl_c_before_redis_answers() {
    // Ctrl-C while Redis does not answer yet (a socket that is listening but never accepts, like
    // a server still starting): the run ends with exit 130 and a summary of no jobs, not with an
    // error (a SIGINT just after spawn used to make the first command fail, and exit 2).
    static SILENT: Mutex<Vec<std::os::unix::net::UnixListener>> = Mutex::new(Vec::new());
    check(
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
        }),
    );
}
