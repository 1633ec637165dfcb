//! The database side: the schema, the SQL, and the [`Sink`] each worker writes through.
//!
//! Everything SQLite-specific lives here. `main.rs` only sees the [`Sink`] trait (one value per
//! worker, each with its own connection) and [`Sqlite`] (where the database is, how to open it).
//! A PostgreSQL backend would add a `Postgres` opener and a sink implementing the same three
//! methods: its `insert_batch` would be the same loop inside `BEGIN ... COMMIT`, and its
//! `insert_each` the same savepoint per row (which PostgreSQL needs even more than SQLite: there
//! a failed statement aborts the whole transaction).
//!
//! SQL is never built from strings: every value is a bound parameter of one prepared statement,
//! cached per connection (`prepare_cached`), so it is parsed once per connection, not once per row.

use std::path::{Path, PathBuf};
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

/// How long a connection waits for another writer's lock before it gives up with "database is
/// locked". SQLite has one writer at a time: the workers queue for it here instead of failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a connection waiting for the write lock tries again.
const BUSY_RETRY: Duration = Duration::from_micros(100);

/// The busy handler: while another connection holds the write lock, sleep [`BUSY_RETRY`] and try
/// again, for up to [`BUSY_TIMEOUT`]. SQLite's own `busy_timeout` does the same, but backs off to
/// sleeps of 1, 2, 5, ... 100 ms: fine between processes, but when a batch commits in about a
/// millisecond the lock would sit idle while the next worker sleeps (measured: the pool reached
/// about 0.6 of the single-connection ceiling with it, about 0.85 with this).
fn wait_for_the_lock() -> impl FnMut(i32) -> bool + Send + 'static {
    let mut since = Instant::now();
    move |attempt| {
        if attempt == 0 {
            since = Instant::now(); // a new wait (SQLite counts the attempts of each wait from 0)
        }
        if since.elapsed() >= BUSY_TIMEOUT {
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
}

/// A row the database refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub row: i64,
    pub reason: String,
}

/// Where a worker writes its batches. Each worker owns one.
pub trait Sink: Send {
    /// Inserts every row in one transaction: all of them land, or (on an error) none do.
    fn insert_batch(&mut self, rows: &[Order]) -> anyhow::Result<Written>;

    /// Inserts the rows one by one in one transaction, each under its own savepoint: the good
    /// rows land and each bad one is rejected with the database's reason. An `Err` means the
    /// transaction itself failed (nothing landed).
    fn insert_each(&mut self, rows: &[Order]) -> anyhow::Result<Written>;

    /// The rows in the table right now (`SELECT count(*)`).
    fn count(&mut self) -> anyhow::Result<u64>;
}

/// A SQLite database file.
#[derive(Debug, Clone)]
pub struct Sqlite {
    path: PathBuf,
}

impl Sqlite {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Sqlite { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
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
        let conn = &sink.conn;
        if conn.is_readonly(MAIN_DB)? {
            bail!("the database {} is read-only", self.path.display());
        }
        // WAL: readers never block the writer and a commit appends to the log instead of
        // rewriting pages. The mode is stored in the file, so every later connection gets it.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .with_context(|| format!("cannot switch {} to WAL mode", self.path.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            bail!(
                "the database {} refused WAL mode (journal mode is {mode})",
                self.path.display()
            );
        }
        if fresh {
            conn.execute("DROP TABLE IF EXISTS orders", [])
                .with_context(|| format!("cannot drop the table in {}", self.path.display()))?;
        }
        conn.execute(SCHEMA, [])
            .with_context(|| format!("cannot create the table in {}", self.path.display()))?;
        Ok(sink)
    }

    /// One more connection (one per worker).
    pub fn connect(&self) -> anyhow::Result<SqliteSink> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX // each connection is used by one thread at a time
            | OpenFlags::SQLITE_OPEN_URI;
        let mut conn = Connection::open_with_flags(&self.path, flags)
            .with_context(|| format!("cannot open the database {}", self.path.display()))?;
        conn.busy_handler(Some(wait_for_the_lock()))?;
        // In WAL mode, NORMAL syncs the log at checkpoints, not at every commit: a committed
        // transaction survives the process being killed (Ctrl-C, a crash), though not a power
        // cut. FULL would add one fsync per commit, which is exactly what batching amortises.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(SqliteSink { conn })
    }
}

/// One SQLite connection.
#[derive(Debug)]
pub struct SqliteSink {
    conn: Connection,
}

impl SqliteSink {
    fn insert_one(conn: &Connection, order: &Order) -> rusqlite::Result<usize> {
        conn.prepare_cached(INSERT)?.execute(params![
            order.id,
            order.customer,
            order.amount_cents,
            order.created_at
        ])
    }
}

impl Sink for SqliteSink {
    fn insert_batch(&mut self, rows: &[Order]) -> anyhow::Result<Written> {
        // IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies. A deferred
        // transaction would take it at the first INSERT and could fail at once with "database is
        // locked" if another writer committed in between.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut written = Written::default();
        {
            let mut insert = tx.prepare_cached(INSERT)?;
            for order in rows {
                let changed = insert
                    .execute(params![
                        order.id,
                        order.customer,
                        order.amount_cents,
                        order.created_at
                    ])
                    .with_context(|| format!("row {}", order.id))?;
                if changed == 1 {
                    written.inserted += 1;
                } else {
                    written.existing += 1;
                }
            }
        }
        // On any error above, `tx` is dropped here instead, which rolls the whole batch back.
        tx.commit()?;
        Ok(written)
    }

    fn insert_each(&mut self, rows: &[Order]) -> anyhow::Result<Written> {
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut written = Written::default();
        for order in rows {
            let savepoint = tx.savepoint()?;
            match Self::insert_one(&savepoint, order) {
                Ok(changed) => {
                    savepoint.commit()?;
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
        tx.commit()?;
        Ok(written)
    }

    fn count(&mut self) -> anyhow::Result<u64> {
        let n: i64 = self.conn.query_row(COUNT, [], |row| row.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
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
        let db = Sqlite::new(&tmp.0);
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
        let db = Sqlite::new(&tmp.0);
        let mut control = db.setup(false).expect("setup");
        let plan = Plan::new(100, 100, 5, 2);
        let rows = plan.all_rows();
        let mut sink = db.connect().expect("connect");
        let err = sink.insert_batch(&rows).expect_err("a CHECK violation");
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
        let db = Sqlite::new(&tmp.0);
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
    fn a_missing_folder_is_a_clear_error() {
        let db = Sqlite::new("/nonexistent-dir-db-batch/x.sqlite");
        let err = db.setup(false).expect_err("no such folder");
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    }
}
