//! The PostgreSQL side: the same [`Sink`] as SQLite's, over one server connection per worker.
//!
//! Unlike SQLite, PostgreSQL lets every connection write at once (row locks, not one database
//! lock), so here the pool's workers really insert in parallel. Each batch is one transaction:
//! a prepared multi-row `INSERT ... VALUES ($1..$4), ($5..$8), ... ON CONFLICT (id) DO NOTHING`
//! (at most [`ROWS_PER_STATEMENT`] rows per statement), or with `--copy` one
//! `COPY orders FROM STDIN BINARY`. COPY has no `ON CONFLICT`: when a row is already there (a
//! re-run) the COPY fails with a unique violation, rolls back to its savepoint, and the batch is
//! copied into a temporary table instead and moved over with `INSERT ... SELECT ... ON CONFLICT
//! DO NOTHING`. A batch that breaks a constraint is retried row by row, one savepoint per row
//! (in PostgreSQL a failed statement aborts the whole transaction unless it ran in one).
//!
//! A lost connection (server restart, `pg_terminate_backend`) fails the batch's transaction as a
//! whole; the worker reconnects ([`Sink::reconnect`]) and retries the batch. Unless the COMMIT
//! had been sent: then the server may have committed it and only the reply was lost. Each batch
//! reads its transaction's id first (`txid_current()`), and after such a loss asks the server
//! for that transaction's fate (`txid_status`, [`Sink::lost_commit`]): committed, the batch is
//! done and its counts stand (a retry would find every row there and count none as inserted);
//! aborted, it is retried. `--lock-timeout-ms`
//! is the server's `lock_timeout`: a batch kept waiting longer by another session's lock fails
//! alone with PostgreSQL's message. The password is never printed: [`Postgres::name`] leaves it out.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::{Stop, UsageError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};

use crate::db::{Rejected, Sink, WriteError, Written};
use crate::orders::Order;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS orders (
    id           bigint PRIMARY KEY,
    customer     text   NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    created_at   bigint NOT NULL
)";

/// PostgreSQL binds at most 65,535 parameters per statement: 4 per row.
const ROWS_PER_STATEMENT: usize = 1_000;

/// The columns in order, and their types for the binary COPY.
const COLUMNS: &str = "id, customer, amount_cents, created_at";
const TYPES: [Type; 4] = [Type::INT8, Type::TEXT, Type::INT8, Type::INT8];

/// A PostgreSQL database: where it is and how to connect.
#[derive(Debug, Clone)]
pub struct Postgres {
    config: Config,
    name: String,
    copy: bool,
    /// How long a worker keeps trying to reconnect (`--reconnect-ms`).
    reconnect_for: Duration,
    /// A reconnecting worker gives up on Ctrl-C.
    stop: Stop,
}

/// The knobs of the PostgreSQL backend.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub copy: bool,
    pub connect_timeout: Duration,
    pub lock_timeout: Duration,
    /// How long a worker keeps trying to reconnect before its batch fails and the run stops.
    pub reconnect_for: Duration,
}

impl Postgres {
    /// Parses a `postgres://` URL (a malformed one is a usage error that does not echo it).
    pub fn new(url: &str, options: Options, stop: Stop) -> anyhow::Result<Self> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| {
            UsageError(format!("malformed PostgreSQL URL: {}", describe(&e)))
        })?;
        config
            .connect_timeout(options.connect_timeout)
            .options(&format!("-c lock_timeout={}", options.lock_timeout.as_millis()));
        if config.get_application_name().is_none() {
            config.application_name("db-batch"); // names its sessions in pg_stat_activity
        }
        if config.get_user().is_none() {
            // The server's default: the user this process runs as, like psql.
            config.user(std::env::var("USER").as_deref().unwrap_or("postgres"));
        }
        let name = name(&config);
        Ok(Postgres {
            config,
            name,
            copy: options.copy,
            reconnect_for: options.reconnect_for,
            stop,
        })
    }

    /// `postgres://user@host:port/dbname`, without the password.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The run's own connection: creates the table (after dropping it if `fresh`).
    pub fn setup(&self, fresh: bool) -> anyhow::Result<PgSink> {
        let mut sink = self.connect()?;
        if fresh {
            sink.client
                .batch_execute("DROP TABLE IF EXISTS orders")
                .map_err(|e| anyhow::anyhow!("cannot drop the table in {}: {}", self.name, describe(&e)))?;
        }
        sink.client
            .batch_execute(SCHEMA)
            .map_err(|e| anyhow::anyhow!("cannot create the table in {}: {}", self.name, describe(&e)))?;
        Ok(sink)
    }

    /// One more connection (one per worker).
    pub fn connect(&self) -> anyhow::Result<PgSink> {
        Ok(PgSink {
            client: self.open()?,
            db: self.clone(),
            statements: HashMap::new(),
            staging: false,
            in_doubt: None,
        })
    }

    fn open(&self) -> anyhow::Result<Client> {
        self.config
            .connect(NoTls)
            .map_err(|e| anyhow::anyhow!("cannot connect to {}: {}", self.name, describe(&e)))
    }
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

/// A constraint (class 23) is the rows' fault; a lost or shut-down connection is retried on a
/// new one; anything else (a lock timeout) fails the batch.
fn classify(err: &postgres::Error) -> WriteError {
    let message = describe(err);
    match err.code() {
        None => WriteError::Connection(message),
        Some(code) if code.code().starts_with("23") => WriteError::Rows(message),
        Some(code)
            if code.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                ]
                .contains(code) =>
        {
            WriteError::Connection(message)
        }
        Some(_) => WriteError::Other(message),
    }
}

fn err(e: postgres::Error) -> WriteError {
    classify(&e)
}

fn params(order: &Order) -> [&(dyn ToSql + Sync); 4] {
    [&order.id, &order.customer, &order.amount_cents, &order.created_at]
}

/// One PostgreSQL connection, with its prepared statements.
pub struct PgSink {
    client: Client,
    db: Postgres,
    /// The multi-row INSERT prepared for each row count used so far.
    statements: HashMap<usize, Statement>,
    /// The temporary table the COPY path falls back to exists on this connection.
    staging: bool,
    /// The last batch's transaction while its COMMIT is unanswered.
    in_doubt: Option<InDoubt>,
}

/// A transaction whose COMMIT was sent: its id (`txid_current()`), and what it wrote if the
/// server committed it.
#[derive(Debug)]
struct InDoubt {
    txid: i64,
    written: Written,
}

/// The transaction's id, read first in each batch's transaction (one round trip), so that a
/// COMMIT whose reply is lost can be looked up on a new connection.
fn txid(tx: &mut postgres::Transaction<'_>) -> Result<i64, WriteError> {
    tx.query_one("SELECT txid_current()", &[])
        .map_err(err)?
        .try_get(0)
        .map_err(err)
}

/// Commits `tx`, keeping `in_doubt` set while the COMMIT is unanswered: if the connection goes
/// meanwhile, [`Sink::lost_commit`] finds out whether it committed.
fn commit(
    tx: postgres::Transaction<'_>,
    in_doubt: &mut Option<InDoubt>,
    txid: i64,
    written: Written,
) -> Result<Written, WriteError> {
    *in_doubt = Some(InDoubt {
        txid,
        written: written.clone(),
    });
    tx.commit().map_err(err)?;
    *in_doubt = None;
    Ok(written)
}

impl PgSink {
    /// `INSERT ... VALUES` for `rows` rows, prepared once per connection and row count.
    fn insert_statement(&mut self, rows: usize) -> Result<Statement, WriteError> {
        if let Some(statement) = self.statements.get(&rows) {
            return Ok(statement.clone());
        }
        let mut sql = format!("INSERT INTO orders ({COLUMNS}) VALUES ");
        for row in 0..rows {
            let p = row * 4;
            let sep = if row == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4);
        }
        sql.push_str(" ON CONFLICT (id) DO NOTHING");
        let statement = self.client.prepare(&sql).map_err(err)?;
        self.statements.insert(rows, statement.clone());
        Ok(statement)
    }

    fn insert_values(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        let statements = rows
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| self.insert_statement(chunk.len()))
            .collect::<Result<Vec<_>, _>>()?;
        self.in_doubt = None;
        let mut tx = self.client.transaction().map_err(err)?;
        let txid = txid(&mut tx)?;
        let mut written = Written::default();
        for (chunk, statement) in rows.chunks(ROWS_PER_STATEMENT).zip(&statements) {
            let values: Vec<_> = chunk.iter().flat_map(params).collect();
            let inserted = tx.execute(statement, &values).map_err(err)?;
            written.inserted += inserted;
            written.existing += chunk.len() as u64 - inserted;
        }
        // On any error above, `tx` is dropped instead, which rolls the whole batch back.
        commit(tx, &mut self.in_doubt, txid, written)
    }

    fn insert_copy(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        if !self.staging {
            self.client
                .batch_execute(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS orders_in \
                     (LIKE orders INCLUDING DEFAULTS) ON COMMIT DELETE ROWS",
                )
                .map_err(err)?;
            self.staging = true;
        }
        self.in_doubt = None;
        let mut tx = self.client.transaction().map_err(err)?;
        let txid = txid(&mut tx)?;
        let mut direct = tx.savepoint("copy").map_err(err)?;
        let copied = copy(&mut direct, "orders", rows);
        let written = match copied {
            Ok(n) => {
                direct.commit().map_err(err)?;
                Written {
                    inserted: n,
                    ..Written::default()
                }
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                // Some rows are already there: roll the COPY back, stage, and skip the existing.
                drop(direct);
                copy(&mut tx, "orders_in", rows).map_err(err)?;
                let inserted = tx
                    .execute(
                        &format!(
                            "INSERT INTO orders SELECT {COLUMNS} FROM orders_in ON CONFLICT (id) DO NOTHING"
                        ),
                        &[],
                    )
                    .map_err(err)?;
                Written {
                    inserted,
                    existing: rows.len() as u64 - inserted,
                    ..Written::default()
                }
            }
            Err(e) => return Err(classify(&e)),
        };
        commit(tx, &mut self.in_doubt, txid, written)
    }
}

/// `COPY table FROM STDIN BINARY` of every row; the number of rows copied.
fn copy(tx: &mut postgres::Transaction<'_>, table: &str, rows: &[Order]) -> Result<u64, postgres::Error> {
    let sink = tx.copy_in(&format!("COPY {table} ({COLUMNS}) FROM STDIN BINARY"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &TYPES);
    for order in rows {
        writer.write(&params(order))?;
    }
    writer.finish()
}

impl Sink for PgSink {
    fn insert_batch(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        if self.db.copy {
            self.insert_copy(rows)
        } else {
            self.insert_values(rows)
        }
    }

    fn insert_each(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        let single = self.insert_statement(1)?;
        self.in_doubt = None;
        let mut tx = self.client.transaction().map_err(err)?;
        let txid = txid(&mut tx)?;
        let mut written = Written::default();
        for order in rows {
            let mut savepoint = tx.savepoint("row").map_err(err)?;
            match savepoint.execute(&single, &params(order)) {
                Ok(changed) => {
                    savepoint.commit().map_err(err)?;
                    written.inserted += changed;
                    written.existing += 1 - changed;
                }
                Err(e) => match classify(&e) {
                    // Dropping the savepoint rolls back this row only.
                    WriteError::Rows(reason) => written.rejected.push(Rejected {
                        row: order.id,
                        reason,
                    }),
                    other => return Err(other),
                },
            }
        }
        commit(tx, &mut self.in_doubt, txid, written)
    }

    fn reconnect(&mut self) -> anyhow::Result<()> {
        let since = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            match self.db.open() {
                Ok(client) => {
                    self.client = client;
                    self.statements.clear(); // prepared on the old connection
                    self.staging = false;
                    return Ok(());
                }
                Err(e) if since.elapsed() >= self.db.reconnect_for || self.db.stop.is_set() => {
                    return Err(e.context(format!(
                        "gave up reconnecting after {:.1} s",
                        since.elapsed().as_secs_f64()
                    )));
                }
                Err(_) => {
                    crossbeam::select! {
                        recv(self.db.stop.channel()) -> _ => {},
                        default(pause) => {},
                    }
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    fn lost_commit(&mut self) -> Result<Option<Written>, WriteError> {
        let Some(doubt) = &self.in_doubt else {
            return Ok(None); // the connection went before the COMMIT was sent
        };
        // `in progress`: the old session has not yet noticed its connection is gone (it then
        // rolls back) or is still committing. Ask again until it settles.
        let (txid, written) = (doubt.txid, doubt.written.clone());
        let (since, mut reconnects) = (Instant::now(), 0);
        loop {
            let status: Option<String> = match self.client.query_one("SELECT txid_status($1)", &[&txid]) {
                Ok(row) => row.try_get(0).map_err(err)?,
                Err(e) => match classify(&e) {
                    // The new connection was lost too: ask on another one.
                    WriteError::Connection(_) if reconnects < 3 => {
                        reconnects += 1;
                        self.reconnect()
                            .map_err(|e| WriteError::Other(common::error_chain(&e)))?;
                        continue;
                    }
                    other => return Err(other),
                },
            };
            match status.as_deref() {
                Some("committed") => {
                    self.in_doubt = None;
                    return Ok(Some(Written {
                        reply_lost: true,
                        ..written
                    }));
                }
                Some("aborted") => {
                    self.in_doubt = None;
                    return Ok(None);
                }
                Some("in progress") if since.elapsed() < self.db.reconnect_for => {
                    thread::sleep(Duration::from_millis(10));
                }
                other => {
                    return Err(WriteError::Other(format!(
                        "the COMMIT of transaction {txid} was sent and its reply lost, and the server \
                         cannot tell whether it committed (txid_status: {})",
                        other.unwrap_or("unknown")
                    )));
                }
            }
        }
    }

    fn count(&mut self) -> anyhow::Result<u64> {
        let mut counted = self.client.query_one("SELECT count(*) FROM orders", &[]);
        if let Err(e) = &counted
            && matches!(classify(e), WriteError::Connection(_))
        {
            // The run's own connection was lost too (a server restart): count on a new one.
            self.reconnect()
                .with_context(|| format!("cannot count the rows in {}", self.db.name))?;
            counted = self.client.query_one("SELECT count(*) FROM orders", &[]);
        }
        let row = counted
            .map_err(|e| anyhow::anyhow!("cannot count the rows in {}: {}", self.db.name, describe(&e)))?;
        let n: i64 = row.try_get(0).context("count(*) is not a bigint")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            copy: false,
            connect_timeout: Duration::from_secs(1),
            lock_timeout: Duration::from_secs(1),
            reconnect_for: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_name_never_shows_the_password() {
        let db = Postgres::new(
            "postgres://ann:s3cret@db.example:6543/shop",
            options(),
            Stop::new(),
        )
        .expect("parses");
        assert_eq!(db.name(), "postgres://ann@db.example:6543/shop");
        let socket =
            Postgres::new("postgres://ann@%2Fvar%2Frun/shop", options(), Stop::new()).expect("parses");
        assert_eq!(socket.name(), "postgres://ann@/var/run/shop");
    }

    #[test]
    fn a_malformed_url_is_a_usage_error_without_the_password() {
        let err = Postgres::new("postgres://ann:s3cret@host:notaport/db", options(), Stop::new())
            .expect_err("bad port");
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        assert!(!format!("{err:#}").contains("s3cret"), "{err:#}");
    }

    #[test]
    fn an_unreachable_server_is_one_clear_error() {
        let db = Postgres::new("postgres://ann@127.0.0.1:1/db", options(), Stop::new()).expect("parses");
        let err = db.connect().err().expect("nothing listens on port 1");
        assert!(
            format!("{err:#}").starts_with("cannot connect to postgres://ann@127.0.0.1:1/db"),
            "{err:#}"
        );
    }
}
