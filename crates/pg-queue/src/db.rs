//! The jobs table and every statement the queue runs on it. Nothing here knows about threads or
//! channels (that is `main.rs`): each thread of the pool has its own [`Queue`] (a connection with
//! its statements prepared once).
//!
//! A job's life: `available` → (claimed: `attempts + 1`, a lease) `running` → `completed`, or
//! back to `available` with a later `run_at` after a failure, or `discarded` after the last
//! attempt. Every statement that ends a claim names the claim it ends, `(id, attempts)`, and
//! touches the row only while it is still `running` under that attempt: a consumer whose lease
//! expired and whose job was rescued and claimed again cannot complete or fail the new claim.
//!
//! No statement reads inside a payload: any producer may have written a row, and one payload
//! that SQL could not cast would fail the whole statement, so no consumer could claim anything.
//! Statements return `payload::text`, decoded in Rust ([`pg_queue::job_number`]), row by row.

use std::time::{Duration, Instant};

use common::UsageError;
use pg_queue::{PayloadError, job_number};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::{Client, Config, NoTls, Statement};

/// The table, its claim index and its lease index, created if missing. An advisory lock in the
/// transaction keeps two processes starting at once from racing on `CREATE … IF NOT EXISTS`.
const SCHEMA: &str = "BEGIN;
SELECT pg_advisory_xact_lock(7275467);
CREATE TABLE IF NOT EXISTS pg_queue_jobs (
    id           bigserial   PRIMARY KEY,
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL,
    state        text        NOT NULL DEFAULT 'available'
                 CHECK (state IN ('available', 'running', 'completed', 'discarded')),
    attempts     integer     NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_by    text,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- The claim reads available jobs only, in run_at order: a partial index in that order keeps it an
-- index scan however many completed rows the table holds.
CREATE INDEX IF NOT EXISTS pg_queue_jobs_claim ON pg_queue_jobs (run_at, id) WHERE state = 'available';
-- The rescuer reads running jobs only, by lease.
CREATE INDEX IF NOT EXISTS pg_queue_jobs_lease ON pg_queue_jobs (locked_until) WHERE state = 'running';
-- Every INSERT statement wakes the consumers waiting in LISTEN pg_queue_jobs. A notification is
-- delivered at COMMIT, and never for a transaction rolled back.
CREATE OR REPLACE FUNCTION pg_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pg_queue_jobs', '');
    RETURN NULL;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgname = 'pg_queue_jobs_notify' AND tgrelid = 'pg_queue_jobs'::regclass) THEN
        CREATE TRIGGER pg_queue_jobs_notify AFTER INSERT ON pg_queue_jobs
            FOR EACH STATEMENT EXECUTE FUNCTION pg_queue_notify();
    END IF;
END $$;
-- The business rows of --transactional: an order and the job that handles it commit together.
CREATE TABLE IF NOT EXISTS pg_queue_orders (
    id         bigserial   PRIMARY KEY,
    n          bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMIT;";

/// The channel consumers LISTEN on (the trigger above notifies it).
const CHANNEL: &str = "pg_queue_jobs";

/// Jobs `$1..=$2`; numbers in `$3` always fail, in `$4` always panic.
const PRODUCE: &str = "INSERT INTO pg_queue_jobs (kind, payload)
SELECT CASE WHEN n = ANY($3) THEN 'fail' WHEN n = ANY($4) THEN 'panic' ELSE 'double' END,
       jsonb_build_object('n', n)
  FROM generate_series($1::bigint, $2::bigint) AS n";

/// The claim: up to `$3` due jobs, skipping rows another consumer has locked (no waiting, no
/// double claim), each leased to `$1` for `$2` ms.
const CLAIM: &str = "UPDATE pg_queue_jobs
   SET state = 'running', attempts = attempts + 1, locked_by = $1,
       locked_until = now() + $2::bigint * interval '1 millisecond'
 WHERE id IN (SELECT id FROM pg_queue_jobs
               WHERE state = 'available' AND run_at <= now()
               ORDER BY run_at, id
               LIMIT $3
                 FOR UPDATE SKIP LOCKED)
RETURNING id, kind, payload::text, attempts,
          (extract(epoch FROM clock_timestamp() - run_at) * 1000)::float8";

/// Extends the leases of claims `(id, attempts)` this consumer still holds by `$3` ms. It skips
/// rows another statement has locked (the completer ending that claim, a rescuer taking an
/// expired one) instead of waiting: a heartbeat that waited could deadlock with the completer,
/// which locks the same rows in another order.
const EXTEND: &str = "UPDATE pg_queue_jobs
   SET locked_until = now() + $3::bigint * interval '1 millisecond'
 WHERE id IN (SELECT j.id FROM pg_queue_jobs j
                JOIN unnest($1::bigint[], $2::int[]) AS h(id, attempt)
                  ON j.id = h.id AND j.attempts = h.attempt
               WHERE j.state = 'running'
                 FOR UPDATE OF j SKIP LOCKED)
RETURNING id";

/// An order (the business row) inside the producer's transaction.
const ORDER: &str = "INSERT INTO pg_queue_orders (n) VALUES ($1) RETURNING id";

/// The job for order `$3`, inside the same transaction.
const ORDER_JOB: &str = "INSERT INTO pg_queue_jobs (kind, payload)
VALUES ($1, jsonb_build_object('n', $2::bigint, 'order', $3::bigint))";

/// Completes a batch of claims `(id, attempts)`; returns the ids really completed here.
const COMPLETE: &str = "UPDATE pg_queue_jobs j
   SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
  FROM unnest($1::bigint[], $2::int[]) AS d(id, attempt)
 WHERE j.id = d.id AND j.attempts = d.attempt AND j.state = 'running'
RETURNING j.id";

/// Fails a batch of claims: back to `available` after its delay, or `discarded` at the
/// `$5`-th attempt or at once if its `give_up` is set (a malformed payload); the error is kept
/// either way.
const FAIL: &str = "UPDATE pg_queue_jobs j
   SET state = CASE WHEN j.attempts >= $5 OR f.give_up THEN 'discarded' ELSE 'available' END,
       run_at = CASE WHEN j.attempts >= $5 OR f.give_up THEN j.run_at
                     ELSE now() + f.delay_ms * interval '1 millisecond' END,
       finished_at = CASE WHEN j.attempts >= $5 OR f.give_up THEN now() END,
       last_error = f.error, locked_by = NULL, locked_until = NULL
  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[], $6::bool[])
       AS f(id, attempt, error, delay_ms, give_up)
 WHERE j.id = f.id AND j.attempts = f.attempt AND j.state = 'running'
RETURNING j.id, j.state, j.attempts, j.payload::text, j.last_error";

/// Gives claims back at once (Ctrl-C): a job never started gets its attempt back.
const RELEASE: &str = "UPDATE pg_queue_jobs j
   SET state = 'available', locked_by = NULL, locked_until = NULL, run_at = now(),
       attempts = j.attempts - CASE WHEN r.started THEN 0 ELSE 1 END
  FROM unnest($1::bigint[], $2::int[], $3::bool[]) AS r(id, attempt, started)
 WHERE j.id = r.id AND j.attempts = r.attempt AND j.state = 'running'
RETURNING j.id";

/// The rescuer: running jobs whose lease expired go back to `available` (or `discarded` if that
/// was their last attempt), with the lost lease as their error.
const RESCUE: &str = "UPDATE pg_queue_jobs
   SET state = CASE WHEN attempts >= $1 THEN 'discarded' ELSE 'available' END,
       finished_at = CASE WHEN attempts >= $1 THEN now() END,
       last_error = 'lease expired on ' || coalesce(locked_by, 'an unknown consumer')
                    || ' (attempt ' || attempts || ')',
       locked_by = NULL, locked_until = NULL, run_at = now()
 WHERE id IN (SELECT id FROM pg_queue_jobs
               WHERE state = 'running' AND locked_until < now()
               ORDER BY locked_until
               LIMIT 1000
                 FOR UPDATE SKIP LOCKED)
RETURNING id, state, attempts, payload::text, last_error";

/// What an idle consumer needs to know: is a job running on some consumer, and in how many ms
/// the next available job is due (NULL: none is available; 0 or less: due now).
const IDLE: &str = "SELECT EXISTS (SELECT 1 FROM pg_queue_jobs WHERE state = 'running'),
       (SELECT (extract(epoch FROM min(run_at) - clock_timestamp()) * 1000)::float8
          FROM pg_queue_jobs WHERE state = 'available')";

const COUNTS: &str = "SELECT count(*) FILTER (WHERE state = 'available'),
       count(*) FILTER (WHERE state = 'running'),
       count(*) FILTER (WHERE state = 'completed'),
       count(*) FILTER (WHERE state = 'discarded')
  FROM pg_queue_jobs";

/// How long a connection attempt may take (an unreachable server fails within it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a lost connection is tried again (a server restart takes seconds) before the run
/// ends with the error.
const RECONNECT_FOR: Duration = Duration::from_secs(30);

/// Where the database is and how to connect.
#[derive(Debug, Clone)]
pub struct Db {
    config: Config,
    name: String,
}

/// A claimed job: the row's id, its kind, its job number (or why its payload has none), this
/// claim's attempt, and how long it had been due when it was claimed (ms since its `run_at`).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub n: Result<u64, PayloadError>,
    pub attempt: i32,
    pub due_ms: f64,
}

/// What an idle consumer reads: a job runs somewhere; the next available one is due in this
/// many ms (`None`: no job is available).
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    pub running: bool,
    pub next_due_ms: Option<f64>,
}

/// A failure to record: the claim, the error, and the delay before the next attempt, or
/// `give_up`: no next attempt (discarded at once).
#[derive(Debug, Clone)]
pub struct Failure {
    pub id: i64,
    pub attempt: i32,
    pub error: String,
    pub delay_ms: u64,
    pub give_up: bool,
}

/// A job that left `running` for good or for later: its id, new state, attempts, job number
/// (0 if its payload has none) and last error.
#[derive(Debug, Clone)]
pub struct Ended {
    pub id: i64,
    pub state: String,
    pub attempts: i32,
    pub n: u64,
    pub error: String,
}

/// The table's rows by state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub available: u64,
    pub running: u64,
    pub completed: u64,
    pub discarded: u64,
}

impl Db {
    /// Parses a `postgres://` URL (a malformed one is a usage error that does not echo it: it
    /// may hold a password).
    pub fn new(url: &str) -> anyhow::Result<Db> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| {
            UsageError(format!("malformed PostgreSQL URL: {}", describe(&e)))
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("pg-queue"); // names its sessions in pg_stat_activity
        }
        if config.get_user().is_none() {
            // The server's default: the user this process runs as, like psql.
            config.user(std::env::var("USER").as_deref().unwrap_or("postgres"));
        }
        let name = name(&config);
        Ok(Db { config, name })
    }

    /// `postgres://user@host:port/dbname`, without the password.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection with the queue's statements prepared. `notice` hears of a lost connection
    /// and the reconnect that follows.
    pub fn connect<'r>(&self, notice: &'r (dyn Fn(String) + Sync)) -> anyhow::Result<Queue<'r>> {
        let (client, statements) = self
            .open()
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", self.name))?;
        Ok(Queue {
            db: self.clone(),
            client,
            statements,
            listening: false,
            reconnects: 0,
            notice,
        })
    }

    fn open(&self) -> Result<(Client, [Statement; 6]), String> {
        let mut client = self.config.connect(NoTls).map_err(|e| describe(&e))?;
        client.batch_execute(SCHEMA).map_err(|e| describe(&e))?;
        let mut prepare = |sql| client.prepare(sql).map_err(|e| describe(&e));
        let statements = [
            prepare(CLAIM)?,
            prepare(COMPLETE)?,
            prepare(FAIL)?,
            prepare(RELEASE)?,
            prepare(RESCUE)?,
            prepare(EXTEND)?,
        ];
        Ok((client, statements))
    }
}

/// One connection to the queue. A statement that meets a lost connection (a server restart, a
/// network cut) is sent again on a new connection, for up to [`RECONNECT_FOR`]: every statement
/// here may safely run twice (a claim's reply lost after it committed leaves jobs leased to no
/// one, which the rescuer returns after their lease), except the producer's INSERTs, which are
/// never sent again (the error ends the run).
pub struct Queue<'r> {
    db: Db,
    client: Client,
    /// CLAIM, COMPLETE, FAIL, RELEASE, RESCUE, EXTEND.
    statements: [Statement; 6],
    /// LISTEN again after a reconnect.
    listening: bool,
    /// Connections made again after one was lost.
    pub reconnects: u64,
    notice: &'r (dyn Fn(String) + Sync),
}

impl Queue<'_> {
    /// Runs `f` on the connection, reconnecting and running it again while the connection is
    /// lost; any other error is `what` failed.
    fn retry<T>(
        &mut self,
        what: impl Fn() -> String,
        mut f: impl FnMut(&mut Client, &[Statement; 6]) -> Result<T, postgres::Error>,
    ) -> anyhow::Result<T> {
        let mut deadlocks = 0;
        loop {
            match f(&mut self.client, &self.statements) {
                Ok(v) => return Ok(v),
                // The server chose this statement to break a deadlock and rolled it back: run
                // it again (a few times).
                Err(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) && deadlocks < 5 => {
                    deadlocks += 1;
                }
                Err(e) if self.client.is_closed() || connection_lost(&e) => {
                    self.reconnect(&describe(&e))
                        .map_err(|e| anyhow::anyhow!("{}: {e}", what()))?;
                }
                Err(e) => anyhow::bail!("{}: {}", what(), describe(&e)),
            }
        }
    }

    /// A new connection after the old one was lost: tried with a growing pause (50 ms to 1 s)
    /// for up to [`RECONNECT_FOR`].
    fn reconnect(&mut self, why: &str) -> anyhow::Result<()> {
        let name = self.db.name.clone();
        (self.notice)(format!("Lost the connection to {name} ({why}): reconnecting"));
        let deadline = Instant::now() + RECONNECT_FOR;
        let mut pause = Duration::from_millis(50);
        loop {
            std::thread::sleep(pause);
            match self.db.open() {
                Ok((client, statements)) => {
                    (self.client, self.statements) = (client, statements);
                    if self.listening {
                        let listen = format!("LISTEN {CHANNEL}");
                        if let Err(e) = self.client.batch_execute(&listen) {
                            anyhow::ensure!(Instant::now() < deadline, "{}", describe(&e));
                            continue;
                        }
                    }
                    self.reconnects += 1;
                    (self.notice)(format!("Reconnected to {name}"));
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => anyhow::bail!(
                    "lost the connection to {name} ({why}) and could not reconnect within {} s: {e}",
                    RECONNECT_FOR.as_secs()
                ),
                Err(_) => pause = (pause * 2).min(Duration::from_secs(1)),
            }
        }
    }

    /// `LISTEN` for new jobs on this connection (kept across reconnects).
    pub fn listen(&mut self) -> anyhow::Result<()> {
        self.listening = true;
        let listen = format!("LISTEN {CHANNEL}");
        self.retry(
            || "cannot LISTEN for new jobs".into(),
            |c, _| c.batch_execute(&listen),
        )
    }

    /// Waits up to `timeout` for a notification (a job was inserted, or released or rescued
    /// by a consumer); true if one came, or if the connection was lost and made again (a
    /// notification may have been missed meanwhile: look at the table again).
    pub fn wait_notified(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let got = self.client.notifications().timeout_iter(timeout).next();
        match got {
            Ok(Some(_)) => {
                // One INSERT or a hundred: one look at the table.
                while let Ok(Some(_)) = self.client.notifications().iter().next() {}
                Ok(true)
            }
            Ok(None) if !self.client.is_closed() => Ok(false),
            Ok(None) => self.reconnect("the server closed it").map(|()| true),
            Err(e) if self.client.is_closed() || connection_lost(&e) => {
                self.reconnect(&describe(&e)).map(|()| true)
            }
            Err(e) => anyhow::bail!("cannot wait for notifications: {}", describe(&e)),
        }
    }

    /// Wakes the consumers waiting in LISTEN (jobs were given back to `available`).
    fn notify(&mut self) -> anyhow::Result<()> {
        let sql = format!("NOTIFY {CHANNEL}");
        self.retry(|| "cannot NOTIFY".into(), |c, _| c.batch_execute(&sql))
    }

    /// Inserts jobs `from..=to` in one statement (all or none).
    pub fn produce(&mut self, from: u64, to: u64, poison: &[u64], panics: &[u64]) -> anyhow::Result<u64> {
        let as_i64 = |v: &[u64]| {
            v.iter()
                .map(|&n| i64::try_from(n).unwrap_or(i64::MAX))
                .collect::<Vec<_>>()
        };
        let (from_i, to_i) = (to_i64(from), to_i64(to));
        // Never sent again after a lost connection: it may have committed.
        let n = self
            .client
            .execute(PRODUCE, &[&from_i, &to_i, &as_i64(poison), &as_i64(panics)])
            .map_err(|e| anyhow::anyhow!("cannot insert jobs: {}", describe(&e)))?;
        Ok(n)
    }

    /// `--transactional`: order `n` (the business row) and its job of `kind` in one
    /// transaction, committed, or rolled back if `rollback` (then neither row exists). True if
    /// it committed.
    pub fn produce_transactional(&mut self, n: u64, kind: &str, rollback: bool) -> anyhow::Result<bool> {
        let n = to_i64(n);
        let what =
            |e: postgres::Error| anyhow::anyhow!("cannot insert order {n} and its job: {}", describe(&e));
        let mut tx = self.client.transaction().map_err(what)?;
        let order: i64 = tx.query_one(ORDER, &[&n]).map_err(what)?.get(0);
        tx.execute(ORDER_JOB, &[&kind, &n, &order]).map_err(what)?;
        if rollback {
            tx.rollback().map_err(what)?;
        } else {
            tx.commit().map_err(what)?;
        }
        Ok(!rollback)
    }

    /// Claims up to `limit` due jobs for `consumer`, leased for `lease_ms`; in id order.
    pub fn claim(&mut self, consumer: &str, lease_ms: u64, limit: usize) -> anyhow::Result<Vec<Claimed>> {
        let (lease, limit) = (to_i64(lease_ms), to_i64(limit as u64));
        let rows = self.retry(
            || "cannot claim jobs".into(),
            |c, s| c.query(&s[0], &[&consumer, &lease, &limit]),
        )?;
        let mut jobs: Vec<Claimed> = rows
            .iter()
            .map(|r| Claimed {
                id: r.get(0),
                kind: r.get(1),
                n: job_number(r.get(2)),
                attempt: r.get(3),
                due_ms: r.get::<_, Option<f64>>(4).unwrap_or(0.0).max(0.0),
            })
            .collect();
        jobs.sort_by_key(|j| j.id); // RETURNING has no order
        Ok(jobs)
    }

    /// Completes claims `(id, attempt)`; returns how many this batch really completed.
    pub fn complete(&mut self, done: &[(i64, i32)]) -> anyhow::Result<u64> {
        let (ids, attempts): (Vec<i64>, Vec<i32>) = done.iter().copied().unzip();
        let rows = self.retry(
            || format!("cannot complete {} jobs", done.len()),
            |c, s| c.query(&s[1], &[&ids, &attempts]),
        )?;
        Ok(rows.len() as u64)
    }

    /// Records failures (retry later, or discard at `max_attempts`).
    pub fn fail(&mut self, failures: &[Failure], max_attempts: i32) -> anyhow::Result<Vec<Ended>> {
        let ids: Vec<i64> = failures.iter().map(|f| f.id).collect();
        let attempts: Vec<i32> = failures.iter().map(|f| f.attempt).collect();
        let errors: Vec<&str> = failures.iter().map(|f| f.error.as_str()).collect();
        let delays: Vec<i64> = failures.iter().map(|f| to_i64(f.delay_ms)).collect();
        let give_up: Vec<bool> = failures.iter().map(|f| f.give_up).collect();
        let rows = self.retry(
            || format!("cannot record {} failures", failures.len()),
            |c, s| {
                c.query(
                    &s[2],
                    &[&ids, &attempts, &errors, &delays, &max_attempts, &give_up],
                )
            },
        )?;
        Ok(rows.iter().map(ended).collect())
    }

    /// Gives claims `(id, attempt, started)` back; returns how many were released.
    pub fn release(&mut self, claims: &[(i64, i32, bool)]) -> anyhow::Result<u64> {
        let ids: Vec<i64> = claims.iter().map(|c| c.0).collect();
        let attempts: Vec<i32> = claims.iter().map(|c| c.1).collect();
        let started: Vec<bool> = claims.iter().map(|c| c.2).collect();
        let rows = self.retry(
            || format!("cannot release {} jobs", claims.len()),
            |c, s| c.query(&s[3], &[&ids, &attempts, &started]),
        )?;
        if !rows.is_empty() {
            self.notify()?; // other consumers take them at once
        }
        Ok(rows.len() as u64)
    }

    /// Returns (or discards) jobs whose lease has expired, on any consumer.
    pub fn rescue(&mut self, max_attempts: i32) -> anyhow::Result<Vec<Ended>> {
        let rows = self.retry(
            || "cannot rescue jobs".into(),
            |c, s| c.query(&s[4], &[&max_attempts]),
        )?;
        if rows.iter().any(|r| r.get::<_, String>(1) == "available") {
            self.notify()?;
        }
        Ok(rows.iter().map(ended).collect())
    }

    /// The heartbeat: extends the leases of the claims `(id, attempt)` this consumer holds to
    /// `lease_ms` from now; returns how many it extended.
    pub fn extend(&mut self, held: &[(i64, i32)], lease_ms: u64) -> anyhow::Result<u64> {
        let (ids, attempts): (Vec<i64>, Vec<i32>) = held.iter().copied().unzip();
        let lease = to_i64(lease_ms);
        let rows = self.retry(
            || format!("cannot extend {} leases", held.len()),
            |c, s| c.query(&s[5], &[&ids, &attempts, &lease]),
        )?;
        Ok(rows.len() as u64)
    }

    /// Is a job running somewhere, and when is the next available one due?
    pub fn idle(&mut self) -> anyhow::Result<Idle> {
        let row = self.retry(|| "cannot read the queue".into(), |c, _| c.query_one(IDLE, &[]))?;
        Ok(Idle {
            running: row.get(0),
            next_due_ms: row.get(1),
        })
    }

    /// The table's rows by state.
    pub fn counts(&mut self) -> anyhow::Result<Counts> {
        let row = self.retry(|| "cannot count the jobs".into(), |c, _| c.query_one(COUNTS, &[]))?;
        let n = |i: usize| u64::try_from(row.get::<_, i64>(i)).unwrap_or(0);
        Ok(Counts {
            available: n(0),
            running: n(1),
            completed: n(2),
            discarded: n(3),
        })
    }
}

fn ended(r: &postgres::Row) -> Ended {
    Ended {
        id: r.get(0),
        state: r.get(1),
        attempts: r.get(2),
        n: job_number(r.get(3)).unwrap_or(0),
        error: r.get::<_, Option<String>>(4).unwrap_or_default(),
    }
}

/// The connection is gone (the server shut down, restarted or crashed, the socket broke): worth
/// a reconnect, unlike an error in the statement itself.
fn connection_lost(err: &postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    match err.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code)
        }
        // No answer from the server at all: an I/O error on the socket.
        None => std::error::Error::source(err).is_some_and(|cause| cause.is::<std::io::Error>()),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn name(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(dir)) => dir.display().to_string(),
        None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .filter(|&&p| p != 5432)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}{port}/{db}")
}

/// PostgreSQL's own message (`db error` alone says nothing), or the error and its cause.
fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return db.message().to_owned();
    }
    match std::error::Error::source(err) {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_url_is_a_usage_error_without_its_password() {
        let e = Db::new("postgres://u:hunter2@host:notaport/db").expect_err("malformed");
        let text = format!("{e:#}");
        assert!(text.starts_with("malformed PostgreSQL URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn the_name_leaves_the_password_out() {
        let db = Db::new("postgres://u:secret@db.example:5433/q").expect("valid");
        assert_eq!(db.name(), "postgres://u@db.example:5433/q");
    }
}
