//! The database side: the schema, the SQL, and the [`Sink`] each worker writes through.
//!
//! `main.rs` only sees [`Database`] (where the data goes, how to open a connection) and the
//! [`Sink`] trait (one value per worker, each with its own connection). Everything
//! SQLite-specific lives in this file; PostgreSQL's side is in `postgres.rs`.
//!
//! SQL is never built from strings: every value is a bound parameter of a prepared statement,
//! cached per connection, so it is parsed once per connection, not once per row (and looked up
//! in that cache once per batch, not once per row).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rusqlite::{Connection, MAIN_DB, OpenFlags, TransactionBehavior, params};

use crate::orders::Order;

/// `STRICT`: SQLite checks the column types. The CHECK is the constraint `--bad-rows` violates.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS orders (
    id           INTEGER PRIMARY KEY,
    customer     TEXT    NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    created_at   INTEGER NOT NULL
) STRICT";

/// Idempotent: a row whose id is already in the table is left alone (and counted as existing, not
/// inserted), so a second run on the same file does not double-insert. `ON CONFLICT` covers only
/// the primary key: a CHECK violation is still an error.
const INSERT: &str = "INSERT INTO orders (id, customer, amount_cents, created_at)
    VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (id) DO NOTHING";

const COUNT: &str = "SELECT count(*) FROM orders";

/// How often a connection waiting for the write lock tries again.
const BUSY_RETRY: Duration = Duration::from_micros(100);

/// The busy handler: while another connection holds the write lock, sleep [`BUSY_RETRY`] and try
/// again, for up to `timeout` (`--lock-timeout-ms`: SQLite has one writer at a time, so the
/// workers queue for it here instead of failing with "database is locked"). SQLite's own
/// `busy_timeout` does the same, but backs off to sleeps of 1, 2, 5, ... 100 ms: fine between
/// processes, but a batch commits much faster than that, and the lock would sit idle while the
/// next worker sleeps. With this handler the next batch begins almost as soon as the last commits.
fn wait_for_the_lock(timeout: Duration) -> impl FnMut(i32) -> bool + Send + 'static {
    let mut since = Instant::now();
    move |attempt| {
        if attempt == 0 {
            since = Instant::now(); // a new wait (SQLite counts the attempts of each wait from 0)
        }
        if since.elapsed() >= timeout {
            return false; // give up: the statement fails with "database is locked"
        }
        std::thread::sleep(BUSY_RETRY);
        true
    }
}

/// What happened to the rows of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows newly inserted (counted from the statement's change count, not assumed).
    pub inserted: u64,
    /// Rows whose id was already in the table (a re-run): left as they were.
    pub existing: u64,
    /// Rows the database refused, with its reason.
    pub rejected: Vec<Rejected>,
    /// The batch's COMMIT landed but its reply was lost with the connection: found committed
    /// on a new connection ([`Sink::lost_commit`]), not written again.
    pub reply_lost: bool,
}

/// A row the database refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub row: i64,
    pub reason: String,
}

/// Why a batch's transaction did not commit. In every case it rolled back as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The database refused some row (a constraint): retry the batch row by row.
    #[error("{0}")]
    Rows(String),
    /// The connection is gone (server restart, killed session): retry on a new connection.
    #[error("connection lost: {0}")]
    Connection(String),
    /// Anything else (a lock held too long, a full disk): the batch fails whole.
    #[error("{0}")]
    Other(String),
}

/// Where a worker writes its batches. Each worker owns one (one connection).
pub trait Sink: Send {
    /// Inserts every row in one transaction: all of them land, or (on an error) none do.
    fn insert_batch(&mut self, rows: &[Order]) -> Result<Written, WriteError>;

    /// Inserts the rows one by one in one transaction, each under its own savepoint: the good
    /// rows land and each bad one is rejected with the database's reason. An `Err` means the
    /// transaction itself failed (nothing landed).
    fn insert_each(&mut self, rows: &[Order]) -> Result<Written, WriteError>;

    /// Replaces a lost connection with a new one (waiting for the server to come back).
    fn reconnect(&mut self) -> anyhow::Result<()>;

    /// After a lost connection and [`Sink::reconnect`]: if the last `insert_batch` or
    /// `insert_each` had sent its COMMIT when the connection went, whether the server committed it (only the reply was
    /// lost). `Some`: it did, and this is what it wrote (the batch is done; writing it again
    /// would count its rows as already there). `None`: nothing of it committed; retry it.
    fn lost_commit(&mut self) -> Result<Option<Written>, WriteError> {
        Ok(None) // SQLite: a file, no connection to lose
    }

    /// The rows in the table right now (`SELECT count(*)`).
    fn count(&mut self) -> anyhow::Result<u64>;

    /// After the last batch: SQLite copies its write-ahead log into the database file, once for
    /// the whole run (the workers' connections do not checkpoint). PostgreSQL: nothing to do.
    fn checkpoint(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Where the rows go: a SQLite file (a path) or a PostgreSQL server (a `postgres://` URL).
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(Sqlite),
    Postgres(Box<crate::postgres::Postgres>),
}

impl Database {
    /// The database as the summary names it (a PostgreSQL URL without its password).
    pub fn name(&self) -> String {
        match self {
            Database::Sqlite(db) => db.path.display().to_string(),
            Database::Postgres(db) => db.name(),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// The run's own connection: creates the table (after dropping it if `fresh`); main counts
    /// the rows through it before and after.
    pub fn setup(&self, fresh: bool) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            Database::Sqlite(db) => Box::new(db.setup(fresh)?),
            Database::Postgres(db) => Box::new(db.setup(fresh)?),
        })
    }

    /// A connection to the existing table, to count its rows (`--count-only`): an error if
    /// there is no database there, instead of creating one.
    pub fn existing(&self) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            Database::Sqlite(db) => {
                if !db.path.is_file() {
                    return Err(common::UsageError(format!(
                        "the database {} does not exist: nothing to count",
                        db.path.display()
                    ))
                    .into());
                }
                Box::new(db.connect()?)
            }
            Database::Postgres(db) => Box::new(db.connect()?),
        })
    }

    /// One more connection (one per worker).
    pub fn connect(&self) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            Database::Sqlite(db) => Box::new(db.connect()?),
            Database::Postgres(db) => Box::new(db.connect()?),
        })
    }
}

/// A SQLite database file.
#[derive(Debug, Clone)]
pub struct Sqlite {
    path: PathBuf,
    lock_timeout: Duration,
}

impl Sqlite {
    pub fn new(path: impl Into<PathBuf>, lock_timeout: Duration) -> Self {
        Sqlite {
            path: path.into(),
            lock_timeout,
        }
    }

    /// Opens the database once for the run: checks it can be written, switches it to WAL mode,
    /// creates the table (after dropping it if `fresh`). Returns that connection as a sink (main
    /// uses it to count the rows before and after).
    pub fn setup(&self, fresh: bool) -> anyhow::Result<SqliteSink> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            bail!(
                "cannot open the database {}: the folder {} does not exist",
                self.path.display(),
                parent.display()
            );
        }
        let sink = self.connect()?;
        let (conn, path) = (&sink.conn, self.path.display());
        if conn
            .is_readonly(MAIN_DB)
            .with_context(|| format!("cannot open the database {path}"))?
        {
            bail!("the database {path} is read-only");
        }
        // WAL: readers never block the writer and a commit appends to the log instead of
        // rewriting pages. The mode is stored in the file, so every later connection gets it.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .with_context(|| format!("cannot switch {path} to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!("the database {path} refused WAL mode (journal mode is {mode})");
        }
        if fresh {
            conn.execute("DROP TABLE IF EXISTS orders", [])
                .with_context(|| format!("cannot drop the table in {path}"))?;
        }
        conn.execute(SCHEMA, [])
            .with_context(|| format!("cannot create the table in {path}"))?;
        Ok(sink)
    }

    /// One more connection (one per worker).
    pub fn connect(&self) -> anyhow::Result<SqliteSink> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX // each connection is used by one thread at a time
            | OpenFlags::SQLITE_OPEN_URI;
        let path = self.path.display();
        let mut conn = Connection::open_with_flags(&self.path, flags)
            .with_context(|| format!("cannot open the database {path}"))?;
        conn.busy_handler(Some(wait_for_the_lock(self.lock_timeout)))
            .with_context(|| format!("cannot open the database {path}"))?;
        // In WAL mode, NORMAL syncs the log at checkpoints, not at every commit: a committed
        // transaction survives the process being killed (Ctrl-C, a crash), though not a power
        // cut. FULL would add one fsync per commit, which is exactly what batching amortises.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .with_context(|| format!("cannot open the database {path}"))?;
        // A bulk load checkpoints once, at the end ([`Sink::checkpoint`], from main), not every
        // 1,000 pages of log: that automatic checkpoint (copy the log into the file, two fsyncs)
        // runs inside some worker's COMMIT and stalls the whole pool, while `--mode single-tx`
        // (one commit) never reaches it before its timer stops: an unfair comparison. The log holds
        // the whole run until then (about 40 bytes per row, as one transaction needs anyway), and
        // is fsynced then: a power cut before the end loses the run's batches, as it would lose
        // `--mode single-tx`'s one transaction; a killed process loses none (same in both modes).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .with_context(|| format!("cannot open the database {path}"))?;
        Ok(SqliteSink {
            conn,
            path: self.path.clone(),
        })
    }
}

/// One SQLite connection.
#[derive(Debug)]
pub struct SqliteSink {
    conn: Connection,
    path: PathBuf,
}

/// A constraint violation is the row's fault (retry row by row); anything else fails the batch.
fn classify(err: rusqlite::Error) -> WriteError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => WriteError::Rows(err.to_string()),
        _ => WriteError::Other(err.to_string()),
    }
}

fn execute(insert: &mut rusqlite::Statement<'_>, order: &Order) -> rusqlite::Result<usize> {
    insert.execute(params![
        order.id,
        order.customer,
        order.amount_cents,
        order.created_at
    ])
}

fn insert_one(conn: &Connection, order: &Order) -> rusqlite::Result<usize> {
    let mut insert = conn.prepare_cached(INSERT)?;
    execute(&mut insert, order)
}

impl Sink for SqliteSink {
    fn insert_batch(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        // IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies. A deferred
        // transaction would take it at the first INSERT and could fail at once with "database is
        // locked" if another writer committed in between.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let mut written = Written::default();
        // The cached statement, taken once for the batch (a cache lookup per row cost about a
        // quarter of the insert time).
        let mut insert = tx.prepare_cached(INSERT).map_err(classify)?;
        for order in rows {
            let changed = execute(&mut insert, order).map_err(|e| match classify(e) {
                WriteError::Rows(reason) => WriteError::Rows(format!("row {}: {reason}", order.id)),
                other => other,
            })?;
            if changed == 1 {
                written.inserted += 1;
            } else {
                written.existing += 1;
            }
        }
        drop(insert); // back into the connection's cache
        // On any error above, `tx` is dropped instead, which rolls the whole batch back.
        tx.commit().map_err(classify)?;
        Ok(written)
    }

    fn insert_each(&mut self, rows: &[Order]) -> Result<Written, WriteError> {
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let mut written = Written::default();
        for order in rows {
            let savepoint = tx.savepoint().map_err(classify)?;
            match insert_one(&savepoint, order) {
                Ok(changed) => {
                    savepoint.commit().map_err(classify)?;
                    if changed == 1 {
                        written.inserted += 1;
                    } else {
                        written.existing += 1;
                    }
                }
                Err(err) => {
                    // Dropping the savepoint rolls back this row only.
                    drop(savepoint);
                    written.rejected.push(Rejected {
                        row: order.id,
                        reason: err.to_string(),
                    });
                }
            }
        }
        tx.commit().map_err(classify)?;
        Ok(written)
    }

    fn reconnect(&mut self) -> anyhow::Result<()> {
        bail!(
            "the SQLite file {} cannot lose its connection",
            self.path.display()
        )
    }

    fn count(&mut self) -> anyhow::Result<u64> {
        let n: i64 = self
            .conn
            .query_row(COUNT, [], |row| row.get(0))
            .with_context(|| format!("cannot count the rows in {}", self.path.display()))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn checkpoint(&mut self) -> anyhow::Result<()> {
        // TRUNCATE: every frame into the file (fsynced), then the log emptied. Its result row
        // says whether another process's reader kept it from finishing: then the rest stays in
        // the log, as safe there, for the next checkpoint.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .with_context(|| format!("cannot checkpoint {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::Plan;

    /// A fresh database file in the system's temp folder, removed when dropped.
    struct TempDb(PathBuf);

    impl TempDb {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("db-batch-test-{}-{name}.sqlite", std::process::id()));
            let db = TempDb(path);
            db.remove();
            db
        }

        fn remove(&self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.0.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            self.remove();
        }
    }

    #[test]
    fn a_batch_lands_whole_and_a_rerun_inserts_nothing() {
        let tmp = TempDb::new("rerun");
        let db = Sqlite::new(&tmp.0, Duration::from_secs(30));
        let mut control = db.setup(false).expect("setup");
        let rows = Plan::new(250, 250, 3, 0).all_rows();
        let mut sink = db.connect().expect("connect");
        let first = sink.insert_batch(&rows).expect("insert");
        assert_eq!((first.inserted, first.existing), (250, 0));
        let again = sink.insert_batch(&rows).expect("insert again");
        assert_eq!((again.inserted, again.existing), (0, 250));
        assert_eq!(control.count().expect("count"), 250);
        // A fresh setup empties the table.
        let mut control = db.setup(true).expect("fresh setup");
        assert_eq!(control.count().expect("count"), 0);
    }

    #[test]
    fn a_bad_row_fails_its_batch_then_row_by_row_keeps_the_rest() {
        let tmp = TempDb::new("bad");
        let db = Sqlite::new(&tmp.0, Duration::from_secs(30));
        let mut control = db.setup(false).expect("setup");
        let plan = Plan::new(100, 100, 5, 2);
        let rows = plan.all_rows();
        let mut sink = db.connect().expect("connect");
        let err = sink.insert_batch(&rows).expect_err("a CHECK violation");
        assert!(matches!(err, WriteError::Rows(_)), "{err:?}");
        assert!(format!("{err:#}").contains("CHECK constraint failed"), "{err:#}");
        assert_eq!(control.count().expect("count"), 0, "the batch rolled back whole");
        let written = sink.insert_each(&rows).expect("row by row");
        assert_eq!(written.inserted, 98);
        let ids: Vec<i64> = written.rejected.iter().map(|r| r.row).collect();
        assert_eq!(ids, plan.bad.iter().map(|&b| b as i64).collect::<Vec<_>>());
        assert!(written.rejected[0].reason.contains("amount_cents >= 0"));
        assert_eq!(control.count().expect("count"), 98);
    }

    #[test]
    fn concurrent_writers_wait_for_the_lock_instead_of_failing() {
        let tmp = TempDb::new("concurrent");
        let db = Sqlite::new(&tmp.0, Duration::from_secs(30));
        let mut control = db.setup(false).expect("setup");
        let plan = Plan::new(4_000, 100, 9, 0);
        let batches: Vec<_> = plan.generate().collect();
        std::thread::scope(|s| {
            for chunk in batches.chunks(10) {
                let mut sink = db.connect().expect("connect");
                s.spawn(move || {
                    for batch in chunk {
                        let written = sink.insert_batch(&batch.rows).expect("no 'database is locked'");
                        assert_eq!(written.inserted, 100);
                    }
                });
            }
        });
        assert_eq!(control.count().expect("count"), 4_000);
    }

    #[test]
    fn the_log_is_checkpointed_once_at_the_end_not_by_the_writers() {
        let tmp = TempDb::new("checkpoint");
        let db = Sqlite::new(&tmp.0, Duration::from_secs(30));
        let mut control = db.setup(false).expect("setup");
        let mut sink = db.connect().expect("connect");
        let auto: i64 = sink
            .conn
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(auto, 0, "a writer never checkpoints inside its COMMIT");
        for batch in Plan::new(3_000, 1_000, 4, 0).generate() {
            assert_eq!(sink.insert_batch(&batch.rows).expect("insert").inserted, 1_000);
        }
        let wal = |p: &PathBuf| {
            let mut wal = p.clone().into_os_string();
            wal.push("-wal");
            std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
        };
        assert!(wal(&tmp.0) > 0, "the batches are in the log");
        control.checkpoint().expect("checkpoint");
        assert_eq!(wal(&tmp.0), 0, "the log is copied into the file and emptied");
        assert_eq!(control.count().expect("count"), 3_000);
    }

    #[test]
    fn counting_a_missing_file_does_not_create_it() {
        let tmp = TempDb::new("missing");
        let err = Database::Sqlite(Sqlite::new(&tmp.0, Duration::from_secs(30)))
            .existing()
            .err()
            .expect("no such file");
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
        assert!(!tmp.0.exists());
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let db = Sqlite::new("/nonexistent-dir-db-batch/x.sqlite", Duration::from_secs(30));
        let err = db.setup(false).expect_err("no such folder");
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    }
}
