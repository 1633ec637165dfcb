//! The broker plumbing: one Redis connection per thread, the stream commands the pool needs, and
//! the reconnect policy. Nothing here knows about workers or channels (that is `main.rs`).
//!
//! Every command goes through [`Broker::call`]: on a lost connection (restart, reset, timeout,
//! a server still loading its append-only file) it reconnects with exponential backoff and says
//! so (a `reconnect` event), and when the group is gone (a server restarted without persistence,
//! the stream deleted) it recreates the group and retries. It never spins (every retry waits) and never
//! gives up silently: it retries until the caller's `give_up` stop is set (Ctrl-C, or a command
//! another thread sent was refused for good), then returns the error.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use common::{Reporter, Stop};
use queue_consumer::Reconnect;
pub use queue_consumer::payload::Acknowledged;
use queue_consumer::payload::{self, Message};
use redis::{Connection, RedisError, RedisResult, Value};

/// How long a connection attempt may take (an unreachable `REDIS_URL` fails within it).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_DELAY_MS: u64 = 50;
const MAX_DELAY_MS: u64 = 2_000;

/// Where the queue lives: the server, the stream, its consumer group, and the dead-letter stream.
#[derive(Debug, Clone)]
pub struct Names {
    pub stream: String,
    pub group: String,
    pub dead: String,
}

/// A stream entry handed to this consumer, either new (`XREADGROUP ... >`) or taken over from an
/// idle consumer (`XAUTOCLAIM`).
#[derive(Debug, Clone)]
pub struct Delivery {
    pub entry_id: String,
    /// The producer's message number (field `job`), 1..=N; 0 if the entry has none.
    pub message: u64,
    /// How many times the group has delivered this entry, this time included.
    pub deliveries: u64,
    /// Taken over from another (idle or dead) consumer.
    pub claimed: bool,
    /// Field `poison`: `fail` (the job always fails) or `panic` (it always panics).
    pub poison: Option<String>,
}

/// One finished entry for the acker: acknowledge it and, when `dead` carries its last error and
/// this acknowledgement is the one that removes it from the pending list, copy it to the
/// dead-letter stream.
#[derive(Debug, Clone)]
pub struct Ack {
    pub entry_id: String,
    pub message: u64,
    pub deliveries: u64,
    pub dead: Option<String>,
}

/// One thread's connection to the queue.
pub struct Broker {
    client: redis::Client,
    con: Option<Connection>,
    names: Arc<Names>,
    reporter: Arc<Reporter>,
    give_up: Stop,
    read_timeout: Duration,
    /// Acknowledgement batches sent: the next one's token ([`Broker::ack`]).
    batches: u64,
}

impl Broker {
    /// Connects (failing within [`CONNECT_TIMEOUT`]) and makes sure the group exists.
    pub fn connect(
        url: &str,
        names: Arc<Names>,
        reporter: Arc<Reporter>,
        give_up: Stop,
        read_timeout: Duration,
    ) -> anyhow::Result<Broker> {
        let client = redis::Client::open(url).with_context(|| format!("invalid Redis URL '{url}'"))?;
        let con = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .with_context(|| format!("cannot reach Redis at {url}"))?;
        con.set_read_timeout(Some(read_timeout))?;
        let mut broker = Broker {
            client,
            con: Some(con),
            names,
            reporter,
            give_up,
            read_timeout,
            batches: 0,
        };
        broker.call(create_group)?;
        Ok(broker)
    }

    /// A second connection to the same server (one per thread: a blocking connection is not shared).
    pub fn another(&self, read_timeout: Duration) -> anyhow::Result<Broker> {
        let con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_read_timeout(Some(read_timeout))?;
        Ok(Broker {
            client: self.client.clone(),
            con: Some(con),
            names: Arc::clone(&self.names),
            reporter: Arc::clone(&self.reporter),
            give_up: self.give_up.clone(),
            read_timeout,
            batches: 0,
        })
    }

    /// Runs `command`, reconnecting with backoff on a lost connection and recreating the group
    /// on `NOGROUP`, until it succeeds, fails for another reason, or `give_up` is set.
    pub fn call<T>(
        &mut self,
        mut command: impl FnMut(&mut Connection, &Names) -> RedisResult<T>,
    ) -> anyhow::Result<T> {
        let mut attempt = 0u64;
        let names = Arc::clone(&self.names);
        loop {
            let error = match self.connection() {
                Ok(con) => match command(con, &names) {
                    Ok(value) => return Ok(value),
                    Err(e) if group_gone(&e) => match create_group(con, &names) {
                        Ok(()) => continue,
                        Err(e) => e,
                    },
                    Err(e) if retryable(&e) => e,
                    Err(e) => return Err(e.into()),
                },
                Err(e) => e,
            };
            self.con = None;
            attempt += 1;
            let delay_ms = (FIRST_DELAY_MS << attempt.min(6)).min(MAX_DELAY_MS);
            let text = error.to_string();
            self.reporter.example_event(
                || format!("Redis connection lost ({text}): reconnect attempt {attempt} in {delay_ms} ms"),
                |t_ms| Reconnect {
                    attempt,
                    error: text.clone(),
                    delay_ms,
                    t_ms,
                },
            );
            if self.give_up.is_set() {
                return Err(anyhow::Error::new(error).context("Redis unreachable while the run stops"));
            }
            crossbeam::select! {
                recv(self.give_up.channel()) -> _ => {}
                default(Duration::from_millis(delay_ms)) => {}
            }
        }
    }

    fn connection(&mut self) -> RedisResult<&mut Connection> {
        if self.con.is_none() {
            let con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            con.set_read_timeout(Some(self.read_timeout))?;
            self.con = Some(con);
        }
        // Cannot fail: set just above when it was None.
        self.con
            .as_mut()
            .ok_or_else(|| RedisError::from((redis::ErrorKind::Io, "no connection")))
    }

    /// `XADD` messages `from..=to` (field `job`), pipelined in chunks of 1,000; `poison` marks
    /// message numbers whose job always fails or panics. Stops between chunks once `stop` is set;
    /// returns how many messages the server confirmed (`from..from + n`).
    pub fn produce(
        &mut self,
        from: u64,
        to: u64,
        poison: &dyn Fn(u64) -> Option<&'static str>,
        stop: &Stop,
    ) -> anyhow::Result<u64> {
        let mut next = from;
        while next <= to && !stop.is_set() {
            let last = (next + 999).min(to);
            self.call(|con, names| {
                let mut pipe = redis::pipe();
                for n in next..=last {
                    let cmd = pipe.cmd("XADD").arg(&names.stream).arg("*");
                    let message = Message {
                        job: n,
                        poison: poison(n).map(str::to_owned),
                    };
                    for (field, value) in message.fields() {
                        cmd.arg(field).arg(value);
                    }
                    cmd.ignore();
                }
                pipe.query::<()>(con)
            })?;
            next = last + 1;
        }
        Ok(next - from)
    }

    /// `XREADGROUP GROUP g consumer COUNT count BLOCK block_ms STREAMS s >`: new entries only.
    pub fn read_new(&mut self, consumer: &str, count: usize, block_ms: u64) -> anyhow::Result<Vec<Delivery>> {
        let reply: Value = self.call(|con, names| {
            redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(&names.group)
                .arg(consumer)
                .arg("COUNT")
                .arg(count)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&names.stream)
                .arg(">")
                .query(con)
        })?;
        let entries = payload::read_reply(reply).context("unexpected XREADGROUP reply")?;
        Ok(entries
            .into_iter()
            .map(|(id, message)| delivery(id, message, 1, false))
            .collect())
    }

    /// `XAUTOCLAIM`: takes over up to `count` entries pending longer than `min_idle_ms` on any
    /// consumer of the group, with their delivery counts (read back with `XPENDING`).
    pub fn claim_idle(
        &mut self,
        consumer: &str,
        min_idle_ms: u64,
        count: usize,
    ) -> anyhow::Result<Vec<Delivery>> {
        let reply: Value = self.call(|con, names| {
            redis::cmd("XAUTOCLAIM")
                .arg(&names.stream)
                .arg(&names.group)
                .arg(consumer)
                .arg(min_idle_ms)
                .arg("0-0")
                .arg("COUNT")
                .arg(count)
                .query(con)
        })?;
        let claimed = payload::claim_reply(reply).context("unexpected XAUTOCLAIM reply")?;
        let (Some((first, _)), Some((last, _))) = (claimed.first(), claimed.last()) else {
            return Ok(Vec::new());
        };
        // [[id, consumer, idle_ms, deliveries], ...] for this consumer's entries in that range.
        let pending: Vec<(String, String, u64, u64)> = self.call(|con, names| {
            redis::cmd("XPENDING")
                .arg(&names.stream)
                .arg(&names.group)
                .arg(first)
                .arg(last)
                .arg(claimed.len())
                .arg(consumer)
                .query(con)
        })?;
        Ok(claimed
            .into_iter()
            .map(|(id, message)| {
                let deliveries = pending.iter().find(|p| p.0 == id).map_or(2, |p| p.3);
                delivery(id, message, deliveries, true)
            })
            .collect())
    }

    /// `XCLAIM stream group consumer 0 ids… JUSTID`: entries this consumer holds (queued or
    /// running) are its own, not a dead consumer's: their idle time goes back to 0, so that no
    /// `XAUTOCLAIM` takes them, and their delivery count stays (`JUSTID`).
    pub fn keep_alive(&mut self, consumer: &str, ids: &[String]) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.call(|con, names| {
            redis::cmd("XCLAIM")
                .arg(&names.stream)
                .arg(&names.group)
                .arg(consumer)
                .arg(0)
                .arg(ids)
                .arg("JUSTID")
                .query::<Value>(con)
                .map(drop)
        })
    }

    /// Entries of the group delivered and not yet acknowledged, over every consumer.
    pub fn pending_count(&mut self) -> anyhow::Result<u64> {
        let reply: Value = self.call(|con, names| {
            redis::cmd("XPENDING")
                .arg(&names.stream)
                .arg(&names.group)
                .query(con)
        })?;
        payload::pending_count(&reply).map_err(anyhow::Error::msg)
    }

    /// At the end of a run: removes `consumer` from the group (`XGROUP DELCONSUMER`) if nothing is
    /// pending on it, so that the group's consumers do not grow with every run, and drops its
    /// record of acknowledgements ([`Broker::ack`]). Entries still pending on it stay with it, for
    /// the others to claim: removing a consumer drops its pending entries from the group. One
    /// script, so nothing can be delivered to it between the check and the removal. Returns
    /// whether it left the group.
    pub fn leave(&mut self, consumer: &str) -> anyhow::Result<bool> {
        const LEAVE_SCRIPT: &str = r"
redis.call('DEL', KEYS[2])
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return 0
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
";
        let left: u64 = self.call(|con, names| {
            redis::cmd("EVAL")
                .arg(LEAVE_SCRIPT)
                .arg(2)
                .arg(&names.stream)
                .arg(ack_record(names, consumer))
                .arg(&names.group)
                .arg(consumer)
                .query(con)
        })?;
        Ok(left == 1)
    }

    /// Acknowledges `acks` in one round trip, writing each dead letter whose entry this batch
    /// removed from the pending list ([`ACK_SCRIPT`]). Counts only what the group really removed
    /// here: an entry already acknowledged (by another consumer that claimed it, say) is neither
    /// counted nor dead-lettered again.
    ///
    /// A batch retried after a lost reply (the server ran it, the connection died before the
    /// answer came) writes nothing twice and gets the first attempt's answer: the script records
    /// it under the batch's token, in `<stream>:acks:<consumer>`.
    pub fn ack(&mut self, consumer: &str, acks: &[Ack]) -> anyhow::Result<Acknowledged> {
        if acks.is_empty() {
            return Ok(Acknowledged::default());
        }
        self.batches += 1;
        let token = self.batches.to_string();
        self.call(|con, names| ack_batch(con, names, consumer, &token, acks))
    }
}

/// Acknowledges a batch and dead-letters, atomically (a script runs alone on the server): one
/// `XACK` for the entries that are done, then one per dead entry, whose copy is written only if
/// that `XACK` removed it. The answer (`<removed> <1 or 0 per dead entry>`) is kept with the
/// batch's token, and a batch that finds its own token there returns that answer and does nothing
/// else. So a retried batch cannot copy a dead letter twice or count an entry as not removed
/// because its first attempt removed it. Only the last batch is kept: the acker sends one at a
/// time.
///
/// KEYS: the stream, the dead-letter stream, the consumer's record. ARGV: the group, the token,
/// the record's lifetime in seconds, then per entry its id, `1` if it is dead, its message, its
/// deliveries and its last error.
const ACK_SCRIPT: &str = r"
local token = ARGV[2] .. ' '
local last = redis.call('GET', KEYS[3])
if last and string.sub(last, 1, #token) == token then
  return string.sub(last, #token + 1)
end
local done, dead = {}, {}
for i = 4, #ARGV, 5 do
  if ARGV[i + 1] == '1' then dead[#dead + 1] = i else done[#done + 1] = ARGV[i] end
end
local removed = 0
for from = 1, #done, 1000 do
  removed = removed + redis.call('XACK', KEYS[1], ARGV[1], unpack(done, from, math.min(from + 999, #done)))
end
local copied = {}
for _, i in ipairs(dead) do
  local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  if n == 1 then
    redis.call('XADD', KEYS[2], '*', 'job', ARGV[i + 2], 'entry_id', ARGV[i],
      'deliveries', ARGV[i + 3], 'error', ARGV[i + 4])
  end
  removed = removed + n
  copied[#copied + 1] = tostring(n)
end
local answer = removed .. ' ' .. table.concat(copied)
redis.call('SET', KEYS[3], token .. answer, 'EX', ARGV[3])
return answer
";

/// How long a consumer's record of its last batch outlives it (a consumer killed mid-run cannot
/// delete its own): far longer than any reconnect.
const ACK_RECORD_SECS: u64 = 24 * 3600;

/// The key of `consumer`'s record of its last acknowledged batch.
fn ack_record(names: &Names, consumer: &str) -> String {
    format!("{}:acks:{consumer}", names.stream)
}

/// One attempt at a batch: [`ACK_SCRIPT`] with `token`.
fn ack_batch(
    con: &mut Connection,
    names: &Names,
    consumer: &str,
    token: &str,
    acks: &[Ack],
) -> RedisResult<Acknowledged> {
    let mut eval = redis::cmd("EVAL");
    eval.arg(ACK_SCRIPT)
        .arg(3)
        .arg(&names.stream)
        .arg(&names.dead)
        .arg(ack_record(names, consumer))
        .arg(&names.group)
        .arg(token)
        .arg(ACK_RECORD_SECS);
    for a in acks {
        eval.arg(&a.entry_id)
            .arg(if a.dead.is_some() { "1" } else { "0" })
            .arg(a.message)
            .arg(a.deliveries)
            .arg(a.dead.as_deref().unwrap_or(""));
    }
    let answer: String = eval.query(con)?;
    let dead = acks.iter().filter(|a| a.dead.is_some()).count();
    match Acknowledged::from_answer(&answer, acks.len(), dead) {
        Some(acknowledged) => Ok(acknowledged),
        None => Err(RedisError::from((
            redis::ErrorKind::Parse,
            "the acknowledgement script's answer is not one for this batch",
            answer,
        ))),
    }
}

/// `XGROUP CREATE stream group 0 MKSTREAM`; a group that already exists is fine.
fn create_group(con: &mut Connection, names: &Names) -> RedisResult<()> {
    let created: RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&names.stream)
        .arg(&names.group)
        .arg("0")
        .arg("MKSTREAM")
        .query(con);
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// The group is gone: `NOGROUP`, or `UNBLOCKED` for a read that was waiting on a stream deleted
/// meanwhile (a read sent after the deletion gets `NOGROUP`: the two are the same case).
fn group_gone(e: &RedisError) -> bool {
    matches!(e.code(), Some("NOGROUP" | "UNBLOCKED"))
}

/// A lost connection, a timeout, or a server still loading its data: worth a reconnect.
///
/// After a restart with `appendonly yes`, a command gets `LOADING` while the server reads its
/// append-only file: nothing ran, so it is retried whole (otherwise that error would end the run
/// at the acker's first batch; verify's `redis-restart` scenario covers it).
fn retryable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || e.code()
            .is_some_and(|code| matches!(code, "LOADING" | "TRYAGAIN" | "MASTERDOWN"))
}

fn delivery(entry_id: String, message: Message, deliveries: u64, claimed: bool) -> Delivery {
    Delivery {
        entry_id,
        message: message.job,
        deliveries,
        claimed,
        poison: message.poison,
    }
}

/// A consumer name no other process will have: host, pid and a random suffix. (A fixed name
/// reused by a restarted process would adopt, and hide, a dead process's pending entries.)
pub fn consumer_name() -> String {
    use std::hash::BuildHasher as _;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    // RandomState is seeded from the OS's randomness: enough for a name suffix.
    let suffix = std::hash::RandomState::new().hash_one(std::time::SystemTime::now()) & 0xff_ffff;
    format!("{host}-{}-{suffix:06x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::Arc;
    use std::time::Duration;

    use testbed::servers::redis::RedisServer;

    use super::{Ack, Acknowledged, Broker, Names};

    /// Reads one command (a RESP array of bulk strings) and returns its words, or None at EOF.
    fn read_command(reader: &mut BufReader<UnixStream>) -> Option<Vec<String>> {
        let mut line = String::new();
        reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
        let n: usize = line.trim().strip_prefix('*')?.parse().ok()?;
        let mut words = Vec::with_capacity(n);
        for _ in 0..n {
            line.clear();
            reader.read_line(&mut line).ok()?; // $<len>
            let len: usize = line.trim().strip_prefix('$')?.parse().ok()?;
            let mut word = vec![0; len + 2]; // the word (a script has newlines), then \r\n
            reader.read_exact(&mut word).ok()?;
            word.truncate(len);
            words.push(String::from_utf8_lossy(&word).into_owned());
        }
        Some(words)
    }

    /// A fake server in the state of a real one restarting with `appendonly yes`: the first
    /// acknowledgement (the script) is refused with `LOADING`, and every later one succeeds.
    /// Returns how many it received.
    fn loading_then_ready(listener: UnixListener) -> usize {
        let mut evals = 0;
        for stream in listener.incoming().take(2) {
            let Ok(stream) = stream else { break };
            let mut out = stream.try_clone().expect("clone the fake server's socket");
            let mut reader = BufReader::new(stream);
            while let Some(words) = read_command(&mut reader) {
                let reply: &[u8] = match words[0].to_ascii_uppercase().as_str() {
                    "XGROUP" => b"-BUSYGROUP Consumer Group name already exists\r\n",
                    "EVAL" if evals == 0 => {
                        evals += 1;
                        b"-LOADING Redis is loading the dataset in memory\r\n"
                    }
                    "EVAL" => {
                        evals += 1;
                        b"$2\r\n2 \r\n"
                    }
                    _ => b"+OK\r\n",
                };
                if out.write_all(reply).is_err() {
                    break;
                }
            }
        }
        evals
    }

    fn names() -> Arc<Names> {
        Arc::new(Names {
            stream: "jobs".into(),
            group: "workers".into(),
            dead: "jobs:dead".into(),
        })
    }

    fn ack(id: &str, message: u64, dead: Option<&str>) -> Ack {
        Ack {
            entry_id: id.into(),
            message,
            deliveries: 1,
            dead: dead.map(str::to_owned),
        }
    }

    #[test]
    fn an_acknowledgement_refused_while_the_server_loads_is_retried() {
        let dir = std::env::temp_dir().join(format!("queue-consumer-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test's folder");
        let socket = dir.join("fake.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("bind the fake server");
        let server = std::thread::spawn(move || loading_then_ready(listener));

        let reporter = Arc::new(common::Reporter::with_flags(false, true));
        let url = format!("unix://{}", socket.display());
        let mut broker = Broker::connect(
            &url,
            names(),
            reporter,
            common::Stop::new(),
            Duration::from_secs(5),
        )
        .expect("connect to the fake server");
        let removed = broker
            .ack("c", &[ack("1-0", 1, None), ack("2-0", 2, None)])
            .expect("the ack is retried, not failed");
        assert_eq!(removed.removed, 2);
        drop(broker);
        assert_eq!(
            server.join().expect("the fake server ended"),
            2,
            "one refused, one retried"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A private redis-server in a scratch folder named for `test`, and a broker connected to it.
    fn on_a_real_server(test: &str) -> (std::path::PathBuf, RedisServer, common::Stop, Broker) {
        let dir = std::env::temp_dir().join(format!("queue-consumer-{test}-{}", std::process::id()));
        let server = RedisServer::start(&dir, false).expect("start redis-server");
        let stop = common::Stop::new();
        let broker = Broker::connect(
            &server.url(),
            names(),
            Arc::new(common::Reporter::with_flags(false, true)),
            stop.clone(),
            Duration::from_secs(5),
        )
        .expect("connect");
        (dir, server, stop, broker)
    }

    #[test]
    fn a_batch_whose_reply_was_lost_is_not_applied_twice() {
        // A real server. The batch's first attempt runs on it, then its reply is lost (as when
        // the connection dies at that moment); `call` reconnects and sends it again.
        let (dir, server, stop, mut broker) = on_a_real_server("lost");
        broker.produce(1, 3, &|_| None, &stop).expect("produce");
        let ids: Vec<String> = broker
            .read_new("c", 10, 1)
            .expect("read")
            .into_iter()
            .map(|d| d.entry_id)
            .collect();
        let batch = [
            ack(&ids[0], 1, None),
            ack(&ids[1], 2, Some("poison")),
            ack(&ids[2], 3, None),
        ];
        let mut lost = false;
        let removed = broker
            .call(|con, names| {
                let answer = super::ack_batch(con, names, "c", "lost", &batch);
                if !lost {
                    lost = true;
                    answer?;
                    return Err(redis::RedisError::from(std::io::Error::from(
                        std::io::ErrorKind::ConnectionReset,
                    )));
                }
                answer
            })
            .expect("retried");
        assert!(lost);
        assert_eq!(
            removed,
            Acknowledged {
                removed: 3,
                dead_lettered: vec![true]
            },
            "the first attempt's answer"
        );
        let xlen = |key: &str| server.cli(&["XLEN", key]).expect("redis-cli").trim().to_owned();
        assert_eq!(xlen("jobs:dead"), "1", "one dead letter, written once");
        // A later batch with the same entries (a duplicate XACK) removes and writes nothing.
        let again = broker.ack("c", &batch).expect("ack");
        assert_eq!((again.removed, again.dead_lettered), (0, vec![false]));
        assert_eq!(xlen("jobs:dead"), "1");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_batch_longer_than_one_xack_is_acknowledged_whole() {
        // The script acknowledges the finished entries 1,000 ids per XACK.
        let (dir, server, stop, mut broker) = on_a_real_server("long");
        broker.produce(1, 2_500, &|_| None, &stop).expect("produce");
        let batch: Vec<Ack> = broker
            .read_new("c", 2_500, 1)
            .expect("read")
            .iter()
            .map(|d| ack(&d.entry_id, d.message, None))
            .collect();
        assert_eq!(batch.len(), 2_500);
        let done = broker.ack("c", &batch).expect("ack");
        assert_eq!((done.removed, done.dead_lettered), (2_500, vec![]));
        assert_eq!(broker.pending_count().expect("XPENDING"), 0);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn consumer_names_are_unique_per_process_start() {
        let (a, b) = (super::consumer_name(), super::consumer_name());
        assert_ne!(a, b);
        assert!(a.contains(&std::process::id().to_string()));
    }
}
