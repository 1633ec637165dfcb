//! The embedded default database: without `DATABASE_URL`, a private PostgreSQL cluster in a
//! fresh temporary folder, listening only on a Unix socket there. It is a test bed
//! (`testbed::servers::postgres`), not the lesson; dropping the guard stops it and removes its
//! folder.

use anyhow::Context as _;
use testbed::servers::postgres::{Cluster, postgres_dirs, url_for};

/// The database to use: `--database-url` (or `$DATABASE_URL`), else a private cluster started
/// here (kept alive by the returned guard).
pub fn database_url(flag: Option<String>) -> anyhow::Result<(String, Option<Cluster>)> {
    match flag {
        Some(url) => Ok((url, None)),
        None => {
            let dirs = postgres_dirs();
            if testbed::servers::find_binary("initdb", &dirs).is_none() {
                anyhow::bail!(
                    "PostgreSQL is not installed: install it (Debian/Ubuntu: `sudo apt-get install postgresql`, macOS: `brew install postgresql`) or set DATABASE_URL=postgres://user@host/db"
                );
            }
            let dir = Cluster::new_dir();
            let cluster = Cluster::start(&dir).context("cannot start a private PostgreSQL cluster")?;
            Ok((url_for(&dir), Some(cluster)))
        }
    }
}
