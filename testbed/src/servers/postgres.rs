//! A throwaway PostgreSQL cluster for db-batch's tests and benchmark: `initdb` into a fresh
//! temporary folder, `pg_ctl start` listening on a Unix socket in that folder only
//! (`listen_addresses=''`: no TCP port, nothing reachable from outside), stopped and removed on
//! drop. `initdb` refuses to run as root: as root (CI) the cluster runs as the unprivileged
//! `postgres` user (`runuser`), and the folder is given to it. Only the cluster started here is
//! ever stopped here.
//!
//! Local connections are trusted, except for the role [`PASSWORD_ROLE`], which must give its
//! password (for the bad-credentials scenario). `fsync=off`: the data is thrown away, and the
//! scenarios should not wait on the disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;

use super::{is_root, require_binary};

/// Folders where Debian keeps the PostgreSQL server binaries, off `PATH`.
pub fn postgres_dirs() -> Vec<PathBuf> {
    (12..=20)
        .rev()
        .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
        .collect()
}

/// A role that logs in with a password (every other local login is trusted).
pub const PASSWORD_ROLE: &str = "db_batch_pw";
/// Its password.
pub const PASSWORD: &str = "right-password";

/// A running private cluster.
#[derive(Debug)]
pub struct Cluster {
    /// The temporary folder: `data/`, the socket, the log.
    dir: PathBuf,
    bin: PathBuf,
    /// `Some("postgres")` when this process runs as root.
    user: Option<String>,
}

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

impl Cluster {
    /// A new folder name for a cluster of this process (known before the cluster starts, so
    /// scenario command lines can name its socket; nothing is created yet).
    pub fn new_dir() -> PathBuf {
        let n = CLUSTERS.fetch_add(1, Ordering::SeqCst);
        std::env::temp_dir().join(format!("testbed-pg-{}-{n}", std::process::id()))
    }

    /// `initdb` and `pg_ctl start` in `dir` (see [`Cluster::new_dir`]).
    pub fn start(dir: &Path) -> anyhow::Result<Cluster> {
        let dir = dir.to_path_buf();
        // Debian keeps the server binaries in a versioned folder, off PATH: look there first
        // (a wrapper or a stray initdb on PATH may have no psql or pg_ctl beside it).
        let dirs = postgres_dirs();
        let initdb = match dirs.iter().map(|d| d.join("initdb")).find(|p| p.is_file()) {
            Some(path) => path,
            None => require_binary("initdb", "postgresql", &dirs)?,
        };
        let initdb = initdb.canonicalize().unwrap_or(initdb);
        let bin = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
        let user = is_root().then(|| "postgres".to_owned());
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let cluster = Cluster { dir, bin, user };
        if let Some(user) = &cluster.user {
            let status = Command::new("chown")
                .args([&format!("{user}:"), &cluster.dir.display().to_string()])
                .status()?;
            anyhow::ensure!(
                status.success(),
                "cannot give {} to the {user} user (is Debian's postgresql package installed?)",
                cluster.dir.display()
            );
        }
        let data = cluster.data();
        cluster.run_ok(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let hba = format!("local all {PASSWORD_ROLE} scram-sha-256\nlocal all all trust\n");
        std::fs::write(cluster.dir.join("data/pg_hba.conf"), hba).context("cannot write pg_hba.conf")?;
        cluster.start_server()?;
        cluster.psql(&format!(
            "CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'"
        ))?;
        Ok(cluster)
    }

    /// `pg_ctl start`, listening on a socket in the cluster's folder only (no TCP): when the
    /// cluster is made, and again after [`Cluster::kill`] (the server recovers from its log).
    pub fn start_server(&self) -> anyhow::Result<()> {
        let socket = self.dir.display().to_string();
        let options = format!("-c listen_addresses='' -k {socket} -c fsync=off -c max_connections=200");
        let log = self.dir.join("log").display().to_string();
        let data = self.data();
        self.run_ok(
            "pg_ctl",
            &["start", "-D", &data, "-w", "-t", "60", "-l", &log, "-o", &options],
        )
        .map(drop)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`), as when a server dies: every
    /// connection breaks and no new one is accepted until [`Cluster::start_server`].
    pub fn kill(&self) -> anyhow::Result<()> {
        let data = self.data();
        self.run_ok(
            "pg_ctl",
            &["stop", "-D", &data, "-m", "immediate", "-w", "-t", "60"],
        )
        .map(drop)
    }

    /// Stops and starts the server (`pg_ctl restart -m fast`): every connection is closed.
    pub fn restart(&self) -> anyhow::Result<()> {
        // `-l`: the restarted server must not inherit (and hold open) our output pipes.
        let log = self.dir.join("log").display().to_string();
        self.run_ok(
            "pg_ctl",
            &[
                "restart",
                "-D",
                &self.data(),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "-l",
                &log,
            ],
        )
        .map(drop)
    }

    /// Runs one SQL command with `psql` and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let args = self.psql_args(sql);
        let out = self.run_ok("psql", &args.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `psql` running `sql` in the background (for a session that holds a lock while a run
    /// goes on); the child is the caller's to wait for.
    pub fn psql_background(&self, sql: &str) -> anyhow::Result<std::process::Child> {
        self.command("psql")
            .args(self.psql_args(sql))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start psql")
    }

    fn psql_args(&self, sql: &str) -> Vec<String> {
        let socket = self.dir.display().to_string();
        [
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &socket,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `program` from the server's folder, as the cluster's user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run_ok(&self, program: &str, args: &[&str]) -> anyhow::Result<Output> {
        let out = self
            .command(program)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        anyhow::ensure!(
            out.status.success(),
            "{program} {} failed: {}{}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim(),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
        Ok(out)
    }
}

/// The URL of a cluster whose socket is in `dir` (the folder percent-encoded as the host).
pub fn url_for(dir: &Path) -> String {
    let host = dir.display().to_string().replace('/', "%2F");
    format!("postgres://postgres@{host}/postgres")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-D", &data, "-m", "fast", "-w", "-t", "30"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
