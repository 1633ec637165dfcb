//! queue-consumer against what real use does to it, each test a reproduction of something seen on
//! a real `redis-server`: connections killed under the consumers (`CLIENT KILL`, so that some
//! replies are lost after the server carried out the command), the stream replaced mid-run, runs
//! repeated against one group, a long run stopped by Ctrl-C, a local queue that holds entries
//! longer than `--claim-idle-ms`, and a consumer killed while it holds entries. Each test starts its own server (`testbed`) and stops it; the tests of this file
//! run one at a time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::event::{Event, OutcomeKind};
use harness::check::{self, Events, Expect, Output, OutputRule};
use harness::{Interrupt, Scenario, Signal};
use queue_consumer::DeadLetter;
use testbed::servers::redis::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_queue-consumer");

/// One test at a time: each starts several processes on two shared cores.
fn alone() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The test's scratch folder, emptied, with a server of its own in it.
fn server_for(test: &str) -> (PathBuf, RedisServer) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("real-world")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test's folder");
    let server = RedisServer::start(&dir, false).expect("start redis-server");
    (dir, server)
}

/// `produce --messages n` with `extra` flags (poison marks), on `server`.
fn produce(server: &RedisServer, n: u64, extra: &[String]) {
    let status = Command::new(BIN)
        .args(["produce", "--quiet", "--redis-url", &server.url()])
        .args(["--messages", &n.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .status()
        .expect("run produce");
    assert!(status.success(), "produce failed: {status}");
}

fn cli(server: &RedisServer, args: &[&str]) -> String {
    server
        .cli(args)
        .unwrap_or_else(|e| panic!("redis-cli {args:?}: {e:#}"))
}

fn number(server: &RedisServer, args: &[&str]) -> u64 {
    let out = cli(server, args);
    let first = out.lines().next().unwrap_or_default().trim();
    first
        .parse()
        .unwrap_or_else(|_| panic!("redis-cli {args:?} said {out:?}"))
}

/// A `consume --json` process; its stdout and stderr go to files in the test's folder.
struct Consumer {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Consumer {
    fn start(dir: &Path, server: &RedisServer, name: &str, flags: &[&str]) -> Consumer {
        let (out, err) = (
            dir.join(format!("{name}.jsonl")),
            dir.join(format!("{name}.stderr")),
        );
        let child = Command::new(BIN)
            .args(["consume", "--json", "--redis-url", &server.url()])
            .args(flags)
            .stdout(std::fs::File::create(&out).expect("create the stdout file"))
            .stderr(std::fs::File::create(&err).expect("create the stderr file"))
            .spawn()
            .expect("start a consumer");
        Consumer { child, out, err }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// How many jobs it has started so far.
    fn started(&self) -> usize {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .matches(r#""event":"started""#)
            .count()
    }

    /// `kill -<signal> <pid>` (a process that already ended is then seen by [`Consumer::finish`]).
    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status();
    }

    /// Waits for it (killed after 120 s: then I4 names the hang) and checks its run against the
    /// shared invariants (I1–I5, outputs = message × 2) and `exit_code`.
    fn finish(mut self, exit_code: i32) -> Events {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let timed_out = self.running();
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait for a consumer");
        let output = Output {
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
            code: status.code(),
            timed_out,
        };
        let expect = Expect {
            exit_code,
            full_concurrency: false,
            outputs: Some(OutputRule::Double),
            events: true,
            summary: true,
        };
        let (events, errors) = check::check_run(&output, &expect);
        assert!(
            errors.is_empty(),
            "{} broke its promises:\n  {}\nstderr: {}",
            self.out.display(),
            errors.join("\n  "),
            output.stderr.trim()
        );
        events.expect("parsed events")
    }
}

/// A consumer left running by a failed assertion would go on against the next test's server (on
/// the same socket path).
impl Drop for Consumer {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (up to 60 s) until `ready`.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "waited 60 s for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The summary count `key` (the example's own fields).
fn count(ev: &Events, key: &str) -> u64 {
    ev.summary
        .count(key)
        .unwrap_or_else(|| panic!("the summary has no count {key:?}"))
}

fn dead_letter_events(ev: &Events) -> Vec<DeadLetter> {
    ev.other("dead_letter")
        .map(|o| {
            o.decode::<DeadLetter>()
                .and_then(Result::ok)
                .expect("a dead_letter event decodes")
        })
        .collect()
}

/// Each consumer's `dead_lettered` is the number of its `dead_letter` events.
fn dead_letters_match_their_events(runs: &[Events]) {
    for (i, ev) in runs.iter().enumerate() {
        assert_eq!(
            count(ev, "dead_lettered"),
            dead_letter_events(ev).len() as u64,
            "consumer {}: the summary's dead_lettered is not its number of dead_letter events",
            i + 1
        );
    }
}

/// The dead-letter stream, in its order: each entry's message number and deliveries.
fn dead_stream(server: &RedisServer) -> Vec<(u64, u64)> {
    let out = cli(server, &["XRANGE", "jobs:dead", "-", "+"]);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let field = |w: &[&str], name: &str| (w[0] == name).then(|| w[1].parse::<u64>().expect("a number"));
    let messages = lines.windows(2).filter_map(|w| field(w, "job"));
    let deliveries = lines.windows(2).filter_map(|w| field(w, "deliveries"));
    messages.zip(deliveries).collect()
}

/// The messages that finished ok in a run.
fn finished_ok(ev: &Events) -> BTreeSet<u64> {
    ev.finished()
        .filter(|f| f.outcome == OutcomeKind::Ok)
        .filter_map(|f| f.value)
        .collect()
}

fn pending(server: &RedisServer) -> u64 {
    number(server, &["XPENDING", "jobs", "workers"])
}

/// `XINFO CONSUMERS jobs workers`: each consumer's name and pending count.
fn consumers_of_the_group(server: &RedisServer) -> Vec<(String, u64)> {
    let out = cli(server, &["XINFO", "CONSUMERS", "jobs", "workers"]);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut found = Vec::new();
    for (i, w) in lines.windows(2).enumerate() {
        if w[0] == "name" {
            let pending = lines
                .iter()
                .skip(i)
                .skip_while(|l| **l != "pending")
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("a consumer's pending count");
            found.push((w[1].to_owned(), pending));
        }
    }
    found
}

/// Kills every normal client connection (the consumers', never the server's) every `every`, at most
/// `times` times, until no consumer runs. Returns how many kills were sent.
fn kill_connections(
    server: &RedisServer,
    consumers: &mut [Consumer],
    every: Duration,
    times: usize,
) -> usize {
    let mut sent = 0;
    while sent < times && consumers.iter_mut().any(Consumer::running) {
        std::thread::sleep(every);
        cli(server, &["CLIENT", "KILL", "TYPE", "normal"]);
        sent += 1;
    }
    sent
}

#[test]
fn lost_replies_neither_copy_a_dead_letter_nor_lose_an_acknowledgement() {
    // 20,000 messages, every 10th poisoned, three consumers with --max-deliveries 1 (a poisoned
    // message is dead-lettered at its first failure), and every connection killed every 30 ms.
    // Some kills land after the server ran a command and before its reply reached the consumer,
    // which then sends it again on a new connection. Entries whose delivery was lost that way are
    // pending on a consumer that never saw them, and are claimed after --claim-idle-ms.
    let _alone = alone();
    let (dir, server) = server_for("lost-replies");
    let poisoned: BTreeSet<u64> = (10..=20_000).step_by(10).collect();
    let poison: Vec<String> = poisoned
        .iter()
        .flat_map(|n| ["--poison".to_owned(), n.to_string()])
        .collect();
    produce(&server, 20_000, &poison);
    let flags = [
        "--max-deliveries",
        "1",
        "--work-ms",
        "1",
        "--claim-idle-ms",
        "1000",
    ];
    let mut consumers: Vec<Consumer> = (1..=3)
        .map(|i| Consumer::start(&dir, &server, &format!("consumer-{i}"), &flags))
        .collect();
    let kills = kill_connections(&server, &mut consumers, Duration::from_millis(30), 130);
    let runs: Vec<Events> = consumers.into_iter().map(|c| c.finish(1)).collect();
    let reconnects: usize = runs.iter().map(|ev| ev.other("reconnect").count()).sum();
    assert!(
        reconnects > 0,
        "{kills} CLIENT KILLs, and no consumer reconnected"
    );

    // Each poisoned message is in the dead-letter stream once; a message not poisoned only if it
    // was delivered more than once without a result (claimed after a lost delivery).
    let dead = dead_stream(&server);
    let unique: BTreeSet<u64> = dead.iter().map(|d| d.0).collect();
    assert_eq!(
        dead.len(),
        unique.len(),
        "{} dead letters written twice",
        dead.len() - unique.len()
    );
    let missing: Vec<&u64> = poisoned.difference(&unique).collect();
    assert!(
        missing.is_empty(),
        "poisoned messages not dead-lettered: {missing:?}"
    );
    for (message, deliveries) in &dead {
        assert!(
            poisoned.contains(message) || *deliveries > 1,
            "message {message} dead-lettered after {deliveries} delivery"
        );
    }
    dead_letters_match_their_events(&runs);
    let dead_lettered: u64 = runs.iter().map(|ev| count(ev, "dead_lettered")).sum();
    assert_eq!(dead_lettered, dead.len() as u64);
    // Every entry was removed from the group's pending list once, and counted once.
    assert_eq!(pending(&server), 0);
    let acked: u64 = runs.iter().map(|ev| count(ev, "acked")).sum();
    assert_eq!(acked, 20_000, "the consumers' acked add up to {acked}");
}

#[test]
fn a_dead_consumers_entries_are_dead_lettered_once_and_counted_once() {
    // A consumer killed with kill -9 while it holds entries (its jobs never end); another, with
    // --max-deliveries 1, claims them: delivered twice without a result, they go to the
    // dead-letter stream. Each is written once, counted once, and never also done.
    let _alone = alone();
    let (dir, server) = server_for("dead-on-claim");
    produce(&server, 300, &[]);
    let victim_flags = ["--workers", "2", "--work-ms", "600000", "--count", "16"];
    let mut victim = Consumer::start(&dir, &server, "victim", &victim_flags);
    wait_for("the victim's 2 jobs started", || {
        victim.started() >= 2 || !victim.running()
    });
    victim.signal("KILL");
    let _ = victim.child.wait();
    let held = pending(&server);
    assert!(held >= 2, "the victim held {held} entries");

    let flags = ["--max-deliveries", "1", "--claim-idle-ms", "300"];
    let ev = Consumer::start(&dir, &server, "survivor", &flags).finish(0);
    dead_letters_match_their_events(std::slice::from_ref(&ev));
    let dead: Vec<u64> = dead_stream(&server).into_iter().map(|d| d.0).collect();
    assert_eq!(dead.len() as u64, held, "dead letters written: {dead:?}");
    assert_eq!(count(&ev, "dead_lettered"), held);
    let done = finished_ok(&ev);
    let both: Vec<u64> = dead.iter().filter(|m| done.contains(m)).copied().collect();
    assert!(both.is_empty(), "done and dead-lettered: {both:?}");
    assert_eq!(done.len() as u64 + held, 300);
    assert_eq!(pending(&server), 0);
}

#[test]
fn a_refused_command_stops_the_run_as_ctrl_c_does() {
    // The stream replaced mid-run (DEL, then SET of its key): every stream command now answers
    // WRONGTYPE. Like Ctrl-C, the jobs waiting in the local queue are not started, and the jobs
    // in flight get --grace-ms (far longer than their 5 ms) to finish: none is cancelled.
    let _alone = alone();
    let (dir, server) = server_for("refused");
    produce(&server, 2_000, &[]);
    let flags = ["--workers", "2", "--work-ms", "5", "--grace-ms", "600000"];
    let mut consumer = Consumer::start(&dir, &server, "consumer", &flags);
    wait_for("100 jobs started", || {
        consumer.started() >= 100 || !consumer.running()
    });
    cli(&server, &["DEL", "jobs"]);
    cli(&server, &["SET", "jobs", "not a stream"]);
    let ev = consumer.finish(2);
    let s = &ev.summary;
    let error = s.error.as_deref().unwrap_or_default();
    assert!(error.contains("WRONGTYPE"), "the summary's error: {:?}", s.error);
    assert!(!s.interrupted, "no Ctrl-C came");
    assert_eq!(s.cancelled, 0, "jobs in flight were cancelled before --grace-ms");
    assert!(
        s.not_started > 0,
        "the queued jobs were started after the refusal"
    );
    assert!(s.submitted < 2_000, "the stream was not replaced mid-run");
}

#[test]
fn a_stream_deleted_under_a_waiting_read_is_recreated() {
    // `consume --follow` waits on an empty stream (XREADGROUP … BLOCK); the stream is deleted. The
    // waiting read is answered UNBLOCKED: like NOGROUP for a read sent after the deletion, that
    // is a group to recreate, not a refusal that ends the run. Messages produced afterwards are
    // processed; Ctrl-C ends the run (exit 130, no error).
    let _alone = alone();
    let (dir, server) = server_for("deleted");
    produce(&server, 1, &[]);
    let mut consumer = Consumer::start(&dir, &server, "consumer", &["--follow"]);
    wait_for("the first message", || {
        consumer.started() >= 1 || !consumer.running()
    });
    cli(&server, &["DEL", "jobs"]);
    produce(&server, 10, &[]);
    wait_for("10 more messages", || {
        consumer.started() >= 11 || !consumer.running()
    });
    consumer.signal("INT");
    let ev = consumer.finish(130);
    assert_eq!(ev.summary.error, None);
    assert_eq!(ev.summary.ok, 11);
}

#[test]
fn a_clean_exit_removes_its_consumer_from_the_group() {
    let _alone = alone();
    let (dir, server) = server_for("delconsumer");
    // Two runs that end with nothing pending: neither leaves its name (nor anything else of its
    // own) behind.
    for run in 1..=2 {
        produce(&server, 300, &[]);
        let ev = Consumer::start(&dir, &server, &format!("clean-{run}"), &[]).finish(0);
        assert_eq!(count(&ev, "pending_left"), 0);
        assert_eq!(
            consumers_of_the_group(&server),
            Vec::new(),
            "after clean run {run}"
        );
    }
    let keys: BTreeSet<String> = cli(&server, &["KEYS", "*"]).lines().map(str::to_owned).collect();
    assert_eq!(keys, BTreeSet::from(["jobs".to_owned()]));

    // A run stopped by Ctrl-C leaves entries pending for the other consumers: its name stays
    // with them (removing it would drop them from the group).
    produce(&server, 3_000, &[]);
    let flags = ["--work-ms", "20", "--grace-ms", "60000"];
    let mut consumer = Consumer::start(&dir, &server, "ctrl-c", &flags);
    wait_for("8 jobs started", || {
        consumer.started() >= 8 || !consumer.running()
    });
    consumer.signal("INT");
    let ev = consumer.finish(130);
    let left = count(&ev, "pending_left");
    assert!(left > 0, "a Ctrl-C mid-run left nothing pending");
    let name = ev
        .summary
        .extra
        .get("consumer")
        .and_then(|c| c.as_str())
        .expect("a consumer name");
    assert_eq!(consumers_of_the_group(&server), vec![(name.to_owned(), left)]);
}

#[test]
fn no_event_is_later_than_the_summary() {
    // The run that showed it: 50,000 messages produced first, then Ctrl-C mid-run. One clock for
    // the whole run: every event, and the Ctrl-C, within wall_ms (the shared I1 checks it too).
    let _alone = alone();
    let scenario = Scenario::run("one-clock", &["--messages", "50000", "--work-ms", "5"], 130)
        .partial_concurrency()
        .interrupt(Interrupt::SignalAfterStarted(Signal::Int, 40))
        .check(|run| {
            let ev = run.events()?;
            let wall = ev.summary.wall_ms;
            let last = ev.events.iter().filter_map(Event::t_ms).fold(0.0, f64::max);
            if last > wall {
                return Err(format!("an event at {last} ms, after wall_ms {wall}"));
            }
            match ev.summary.interrupted_at_ms {
                Some(at) if at <= wall => Ok(()),
                other => Err(format!("interrupted_at_ms {other:?}, wall_ms {wall}")),
            }
        });
    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
}

#[test]
fn entries_in_the_local_queue_are_not_claimed_back() {
    // The run that showed it: 148 entries per read into a queue of 148, two workers of 5 ms, so
    // entries wait longer than --claim-idle-ms before a worker takes them. They are this
    // consumer's, not a dead one's: none is claimed, none dead-lettered, every message done once.
    let _alone = alone();
    let args = [
        "--messages",
        "346",
        "--workers",
        "2",
        "--count",
        "148",
        "--ack-batch",
        "1",
        "--work-ms",
        "5",
        "--max-deliveries",
        "1",
        "--claim-idle-ms",
        "407",
    ];
    let scenario = Scenario::run("own-queue", &args, 0)
        .outputs(OutputRule::Double)
        .check(|run| {
            let ev = run.events()?;
            for (key, want) in [
                ("acked", 346),
                ("dead_lettered", 0),
                ("claimed", 0),
                ("pending_left", 0),
            ] {
                harness::expect_eq(key, run.count(key)?, want)?;
            }
            harness::expect_eq("ok", ev.summary.ok, 346)?;
            harness::expect_eq("dead_letter events", ev.other("dead_letter").count(), 0)
        });
    harness::assert_scenario(BIN, env!("CARGO_TARGET_TMPDIR"), scenario);
}
