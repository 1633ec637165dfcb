//! The jobs table and every statement the queue runs on it. Nothing here knows about threads or
//! channels (that is `main.rs`): each thread of the pool has its own [`Queue`] (a connection with
//! its statements prepared once).
//!
//! A job's life: `available` → (claimed: `attempts + 1`, a lease) `running` → `completed`, or
//! back to `available` with a later `run_at` after a failure, or `discarded` after the last
//! attempt. Every statement that ends a claim names the claim it ends, `(id, attempts)`, and
//! touches the row only while it is still `running` under that attempt: a consumer whose lease
//! expired and whose job was rescued and claimed again cannot complete or fail the new claim.

use std::time::Duration;

use common::UsageError;
use postgres::config::Host;
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
COMMIT;";

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
RETURNING id, kind, (payload->>'n')::bigint, attempts";

/// Completes a batch of claims `(id, attempts)`; returns the ids really completed here.
const COMPLETE: &str = "UPDATE pg_queue_jobs j
   SET state = 'completed', locked_by = NULL, locked_until = NULL, finished_at = now()
  FROM unnest($1::bigint[], $2::int[]) AS d(id, attempt)
 WHERE j.id = d.id AND j.attempts = d.attempt AND j.state = 'running'
RETURNING j.id";

/// Fails a batch of claims: back to `available` after its delay, or `discarded` at the
/// `$5`-th attempt; the error is kept either way.
const FAIL: &str = "UPDATE pg_queue_jobs j
   SET state = CASE WHEN j.attempts >= $5 THEN 'discarded' ELSE 'available' END,
       run_at = CASE WHEN j.attempts >= $5 THEN j.run_at
                     ELSE now() + f.delay_ms * interval '1 millisecond' END,
       finished_at = CASE WHEN j.attempts >= $5 THEN now() END,
       last_error = f.error, locked_by = NULL, locked_until = NULL
  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[]) AS f(id, attempt, error, delay_ms)
 WHERE j.id = f.id AND j.attempts = f.attempt AND j.state = 'running'
RETURNING j.id, j.state, j.attempts, (j.payload->>'n')::bigint, j.last_error";

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
RETURNING id, state, attempts, (payload->>'n')::bigint, last_error";

/// Is any job still to run: available (due or not) or running on some consumer?
const WORK_LEFT: &str = "SELECT EXISTS (SELECT 1 FROM pg_queue_jobs WHERE state = 'available')
    OR EXISTS (SELECT 1 FROM pg_queue_jobs WHERE state = 'running')";

const COUNTS: &str = "SELECT count(*) FILTER (WHERE state = 'available'),
       count(*) FILTER (WHERE state = 'running'),
       count(*) FILTER (WHERE state = 'completed'),
       count(*) FILTER (WHERE state = 'discarded')
  FROM pg_queue_jobs";

/// How long a connection attempt may take (an unreachable server fails within it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the database is and how to connect.
#[derive(Debug, Clone)]
pub struct Db {
    config: Config,
    name: String,
}

/// A claimed job: the row's id, its kind, its job number and this claim's attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub n: u64,
    pub attempt: i32,
}

/// A failure to record: the claim, the error, and the delay before the next attempt.
#[derive(Debug, Clone)]
pub struct Failure {
    pub id: i64,
    pub attempt: i32,
    pub error: String,
    pub delay_ms: u64,
}

/// A job that left `running` for good or for later: its id, new state, attempts, job number
/// and last error.
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

    /// A connection with the queue's statements prepared.
    pub fn connect(&self) -> anyhow::Result<Queue> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {}", self.name, describe(&e)))?;
        let what = |e: postgres::Error| anyhow::anyhow!("{}: {}", self.name, describe(&e));
        client.batch_execute(SCHEMA).map_err(what)?;
        let mut prepare = |sql| client.prepare(sql).map_err(what);
        let statements = [
            prepare(CLAIM)?,
            prepare(COMPLETE)?,
            prepare(FAIL)?,
            prepare(RELEASE)?,
            prepare(RESCUE)?,
        ];
        Ok(Queue { client, statements })
    }
}

/// One connection to the queue.
pub struct Queue {
    client: Client,
    /// CLAIM, COMPLETE, FAIL, RELEASE, RESCUE.
    statements: [Statement; 5],
}

impl Queue {
    /// Inserts jobs `from..=to` in one statement (all or none).
    pub fn produce(&mut self, from: u64, to: u64, poison: &[u64], panics: &[u64]) -> anyhow::Result<u64> {
        let as_i64 = |v: &[u64]| {
            v.iter()
                .map(|&n| i64::try_from(n).unwrap_or(i64::MAX))
                .collect::<Vec<_>>()
        };
        let (from_i, to_i) = (to_i64(from), to_i64(to));
        let n = self
            .client
            .execute(PRODUCE, &[&from_i, &to_i, &as_i64(poison), &as_i64(panics)])
            .map_err(|e| anyhow::anyhow!("cannot insert jobs: {}", describe(&e)))?;
        Ok(n)
    }

    /// Claims up to `limit` due jobs for `consumer`, leased for `lease_ms`; in id order.
    pub fn claim(&mut self, consumer: &str, lease_ms: u64, limit: usize) -> anyhow::Result<Vec<Claimed>> {
        let (lease, limit) = (to_i64(lease_ms), to_i64(limit as u64));
        let rows = self
            .client
            .query(&self.statements[0], &[&consumer, &lease, &limit])
            .map_err(|e| anyhow::anyhow!("cannot claim jobs: {}", describe(&e)))?;
        let mut jobs: Vec<Claimed> = rows
            .iter()
            .map(|r| Claimed {
                id: r.get(0),
                kind: r.get(1),
                n: job_number(r.get(2)),
                attempt: r.get(3),
            })
            .collect();
        jobs.sort_by_key(|j| j.id); // RETURNING has no order
        Ok(jobs)
    }

    /// Completes claims `(id, attempt)`; returns how many this batch really completed.
    pub fn complete(&mut self, done: &[(i64, i32)]) -> anyhow::Result<u64> {
        let (ids, attempts): (Vec<i64>, Vec<i32>) = done.iter().copied().unzip();
        let rows = self
            .client
            .query(&self.statements[1], &[&ids, &attempts])
            .map_err(|e| anyhow::anyhow!("cannot complete {} jobs: {}", done.len(), describe(&e)))?;
        Ok(rows.len() as u64)
    }

    /// Records failures (retry later, or discard at `max_attempts`).
    pub fn fail(&mut self, failures: &[Failure], max_attempts: i32) -> anyhow::Result<Vec<Ended>> {
        let ids: Vec<i64> = failures.iter().map(|f| f.id).collect();
        let attempts: Vec<i32> = failures.iter().map(|f| f.attempt).collect();
        let errors: Vec<&str> = failures.iter().map(|f| f.error.as_str()).collect();
        let delays: Vec<i64> = failures.iter().map(|f| to_i64(f.delay_ms)).collect();
        let rows = self
            .client
            .query(
                &self.statements[2],
                &[&ids, &attempts, &errors, &delays, &max_attempts],
            )
            .map_err(|e| anyhow::anyhow!("cannot record {} failures: {}", failures.len(), describe(&e)))?;
        Ok(rows.iter().map(ended).collect())
    }

    /// Gives claims `(id, attempt, started)` back; returns how many were released.
    pub fn release(&mut self, claims: &[(i64, i32, bool)]) -> anyhow::Result<u64> {
        let ids: Vec<i64> = claims.iter().map(|c| c.0).collect();
        let attempts: Vec<i32> = claims.iter().map(|c| c.1).collect();
        let started: Vec<bool> = claims.iter().map(|c| c.2).collect();
        let rows = self
            .client
            .query(&self.statements[3], &[&ids, &attempts, &started])
            .map_err(|e| anyhow::anyhow!("cannot release {} jobs: {}", claims.len(), describe(&e)))?;
        Ok(rows.len() as u64)
    }

    /// Returns (or discards) jobs whose lease has expired, on any consumer.
    pub fn rescue(&mut self, max_attempts: i32) -> anyhow::Result<Vec<Ended>> {
        let rows = self
            .client
            .query(&self.statements[4], &[&max_attempts])
            .map_err(|e| anyhow::anyhow!("cannot rescue jobs: {}", describe(&e)))?;
        Ok(rows.iter().map(ended).collect())
    }

    /// True while some job is available or running.
    pub fn work_left(&mut self) -> anyhow::Result<bool> {
        let row = self
            .client
            .query_one(WORK_LEFT, &[])
            .map_err(|e| anyhow::anyhow!("cannot read the queue: {}", describe(&e)))?;
        Ok(row.get(0))
    }

    /// The table's rows by state.
    pub fn counts(&mut self) -> anyhow::Result<Counts> {
        let row = self
            .client
            .query_one(COUNTS, &[])
            .map_err(|e| anyhow::anyhow!("cannot count the jobs: {}", describe(&e)))?;
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
        n: job_number(r.get(3)),
        error: r.get::<_, Option<String>>(4).unwrap_or_default(),
    }
}

/// The payload's job number (0 for a payload without one: that job fails as malformed).
fn job_number(n: Option<i64>) -> u64 {
    n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
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
