//! A throwaway PostgreSQL cluster for db-batch's and pg-queue's tests and benchmarks, and
//! pg-queue's embedded default database: `initdb` into a fresh temporary folder, then
//! `postgres` in the foreground under the supervisor of [`super::Supervised`], listening on a
//! Unix socket in that folder only (`listen_addresses` empty: no TCP port, nothing reachable
//! from outside). The server dies and the folder goes
//! when the [`Cluster`] is dropped, and also when whoever started it dies, however it ends
//! (even `kill -9`). `initdb` and `postgres` refuse to run as root: as root (CI) the cluster,
//! and its supervisor with it, runs as the unprivileged `postgres` user (`runuser`), and the
//! folder is given to it. Only the cluster started here is ever stopped here.
//!
//! Local connections are trusted, except for the role [`PASSWORD_ROLE`], which must give its
//! password (for the bad-credentials scenario). `fsync=off`: the data is thrown away, and the
//! scenarios should not wait on the disk.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{Supervised, is_root, require_binary};

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
    /// The server's supervisor, there from before `initdb` until the cluster is dropped.
    server: Mutex<Supervised>,
}

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

impl Cluster {
    /// A new folder name for a cluster of this process (known before the cluster starts, so
    /// scenario command lines can name its socket; nothing is created yet).
    pub fn new_dir() -> PathBuf {
        let n = CLUSTERS.fetch_add(1, Ordering::SeqCst);
        std::env::temp_dir().join(format!("testbed-pg-{}-{n}", std::process::id()))
    }

    /// `initdb` in `dir` (see [`Cluster::new_dir`]), then the server, under a supervisor that
    /// stops it and removes `dir` when the cluster is dropped or this process dies.
    pub fn start(dir: &Path) -> anyhow::Result<Cluster> {
        let dir = dir.to_path_buf();
        // Debian keeps the server binaries in a versioned folder, off PATH: look there first
        // (a wrapper or a stray initdb on PATH may have no psql or postgres beside it).
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
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        // The supervisor first: it creates the folder (as the cluster's user, who must own it),
        // and from then on the folder goes with this process, however it ends.
        let data = dir.join("data");
        let args: Vec<&OsStr> = [
            OsStr::new("-D"),
            data.as_os_str(),
            OsStr::new("-k"),
            dir.as_os_str(),
        ]
        .into_iter()
        .chain(
            [
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
            .map(OsStr::new),
        )
        .collect();
        let supervised = Supervised::spawn(
            &dir,
            &dir.join("log"),
            user.as_deref(),
            &bin.join("postgres"),
            &args,
        )
        .with_context(|| match &user {
            Some(user) => format!("as the {user} user (is Debian's postgresql package installed?)"),
            None => "cannot start the cluster's supervisor".to_owned(),
        })?;
        let cluster = Cluster {
            dir,
            bin,
            user,
            server: Mutex::new(supervised),
        };
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

    /// Starts the server (`postgres` in the foreground under the cluster's supervisor) and waits
    /// until it accepts connections: when the cluster is made, and again after
    /// [`Cluster::kill`] (the server recovers from its log).
    pub fn start_server(&self) -> anyhow::Result<()> {
        let mut server = self.server();
        if let Some(pid) = server.pid() {
            anyhow::ensure!(!alive(pid), "the server is already running");
            server.stop("QUIT")?; // it died by itself: let the supervisor reap it
        }
        let pid = server.start()?;
        let ready = self.wait_ready(pid);
        if ready.is_err() {
            let _ = server.stop("QUIT");
        }
        ready.with_context(|| format!("the server did not start: {}", self.log_tail()))
    }

    /// Stops the server at once (SIGQUIT, PostgreSQL's immediate shutdown), as when a server
    /// dies: every connection breaks and no new one is accepted until [`Cluster::start_server`].
    pub fn kill(&self) -> anyhow::Result<()> {
        self.stop("QUIT")
    }

    /// Stops the server (SIGINT, PostgreSQL's fast shutdown: every connection is closed) and
    /// starts it again.
    pub fn restart(&self) -> anyhow::Result<()> {
        self.stop("INT")?;
        self.start_server()
    }

    fn stop(&self, signal: &str) -> anyhow::Result<()> {
        let mut server = self.server();
        anyhow::ensure!(server.pid().is_some(), "the server is not running");
        server.stop(signal).map(drop)
    }

    fn server(&self) -> MutexGuard<'_, Supervised> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the server `pid` says it is ready in `postmaster.pid` (as `pg_ctl start -w`
    /// does); an error if it exits first or takes more than 60 s.
    fn wait_ready(&self, pid: u32) -> anyhow::Result<()> {
        let pid_file = self.dir.join("data/postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&pid_file).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if lines.first().is_some_and(|l| l.trim() == pid.to_string())
                && lines.get(7).is_some_and(|l| l.trim() == "ready")
            {
                return Ok(());
            }
            anyhow::ensure!(alive(pid), "it exited");
            anyhow::ensure!(Instant::now() < deadline, "not ready within 60 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last lines of the server's log.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
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
            self.log_tail()
        );
        Ok(out)
    }
}

/// The URL of a cluster whose socket is in `dir` (the folder percent-encoded as the host).
pub fn url_for(dir: &Path) -> String {
    let host = dir.display().to_string().replace('/', "%2F");
    format!("postgres://postgres@{host}/postgres")
}

/// True while process `pid` runs (not gone, not a zombie waiting for its parent).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses and may hold anything.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader};

    use super::*;

    /// Set in the child process of [`a_cluster_dies_with_its_starter_even_by_kill_9`]: the folder
    /// of the cluster it starts.
    const CHILD_DIR: &str = "TESTBED_PG_CHILD_DIR";

    fn installed() -> bool {
        postgres_dirs().iter().any(|d| d.join("initdb").is_file())
            || super::super::find_binary("initdb", &[]).is_some()
    }

    /// A process, told apart from a later one with the same id by its start time.
    type Process = (u32, String);

    fn start_time(pid: u32) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Field 22, counted after the command name (field 2, in parentheses).
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)
            .map(str::to_owned)
    }

    /// The running processes whose command line names `dir` (supervisor, postmaster), and the
    /// children of `postmaster` (whose titles do not: "postgres: checkpointer", …).
    fn processes_of(dir: &Path, postmaster: u32) -> Vec<Process> {
        let needle = dir.display().to_string();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("procfs").flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let names_dir = String::from_utf8_lossy(&cmdline).contains(&needle);
            let parent = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                });
            if (names_dir || parent == Some(postmaster) || pid == postmaster)
                && alive(pid)
                && let Some(started) = start_time(pid)
            {
                found.push((pid, started));
            }
        }
        found
    }

    fn still_running(processes: &[Process]) -> Vec<Process> {
        processes
            .iter()
            .filter(|(pid, started)| alive(*pid) && start_time(*pid).as_ref() == Some(started))
            .cloned()
            .collect()
    }

    /// The child process of [`a_cluster_dies_with_its_starter_even_by_kill_9`] (this test binary
    /// run again with [`CHILD_DIR`] set): starts a cluster, says so, and waits to be killed.
    /// Run on its own, it does nothing.
    #[test]
    fn child_starts_a_cluster_and_waits_to_be_killed() {
        let Some(dir) = std::env::var_os(CHILD_DIR) else {
            return;
        };
        let cluster = Cluster::start(Path::new(&dir)).expect("the cluster starts");
        let pid = cluster.server().pid().expect("the server runs");
        println!("ready {pid}");
        std::thread::sleep(Duration::from_secs(300));
        drop(cluster);
    }

    /// A process that started a cluster is killed with SIGKILL (no destructor runs): its server,
    /// every process of it and its folder are gone soon after.
    #[test]
    fn a_cluster_dies_with_its_starter_even_by_kill_9() {
        if !installed() {
            eprintln!("skipped: PostgreSQL is not installed");
            return;
        }
        let dir = Cluster::new_dir();
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "servers::postgres::tests::child_starts_a_cluster_and_waits_to_be_killed",
                "--nocapture",
            ])
            .env(CHILD_DIR, &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the child starts");
        let stdout = child.stdout.take().expect("a stdout pipe");
        let postmaster = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.strip_prefix("ready ")
                    .and_then(|pid| pid.parse::<u32>().ok())
            });
        let Some(postmaster) = postmaster else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not start its cluster (its stderr is above)");
        };
        let before = processes_of(&dir, postmaster);
        assert!(
            before.iter().any(|(pid, _)| *pid == postmaster) && before.len() > 2,
            "expected the supervisor, the postmaster and its children, found {before:?}"
        );
        assert!(dir.join("data/postmaster.pid").exists());

        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = still_running(&before);
            if left.is_empty() && !dir.exists() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "30 s after the starter was killed: still running {left:?}, folder {} {}",
                dir.display(),
                if dir.exists() { "still there" } else { "gone" }
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            processes_of(&dir, postmaster).is_empty(),
            "a process still names {}",
            dir.display()
        );
    }

    /// kill, start_server, restart and drop, as db-batch's scenarios use them.
    #[test]
    fn kill_start_restart_and_drop() {
        if !installed() {
            eprintln!("skipped: PostgreSQL is not installed");
            return;
        }
        let dir = Cluster::new_dir();
        let cluster = Cluster::start(&dir).expect("the cluster starts");
        assert_eq!(cluster.psql("SELECT 1").expect("psql"), "1");
        let session = cluster.psql_background("SELECT pg_sleep(60)").expect("psql");
        let first = cluster.server().pid().expect("running");

        cluster.kill().expect("kill");
        assert!(!alive(first), "the server is still running after kill");
        assert!(
            cluster.psql("SELECT 1").is_err(),
            "a server that was killed answers"
        );
        assert!(cluster.kill().is_err(), "kill of a stopped server");
        cluster.start_server().expect("start after kill");
        assert!(cluster.start_server().is_err(), "start of a running server");
        assert_eq!(cluster.psql("SELECT 2").expect("psql"), "2");

        let second = cluster.server().pid().expect("running");
        cluster.restart().expect("restart");
        assert!(!alive(second));
        assert_eq!(cluster.psql("SELECT 3").expect("psql"), "3");
        let third = cluster.server().pid().expect("running");
        let before = processes_of(&dir, third);

        drop(cluster);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(still_running(&before).is_empty(), "still running after drop");
        let mut session = session;
        let _ = session.wait();
    }
}
