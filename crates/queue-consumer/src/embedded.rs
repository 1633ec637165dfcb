//! The embedded default broker: without `REDIS_URL`, a private `redis-server` listening only on a
//! Unix socket in a fresh temporary folder (no TCP port to collide with, no persistence).
//!
//! It dies with this process however this process ends. Redis has no "exit with my parent"
//! option, so the server runs under a small `sh` watcher whose stdin is a pipe only we hold the
//! write end of: dropping [`EmbeddedRedis`] closes it, and so does the kernel when we are killed
//! (even `kill -9`, or a second Ctrl-C's immediate exit). On that end of file the watcher stops
//! the server, waits for it, removes the folder and exits; if the server dies first, the shell
//! exits too (which is how a failed start shows). If the shell cannot start the watcher (no
//! process left under a limit on processes), it stops the server as it exits (`trap … EXIT`)
//! rather than leave it running with nobody to stop it.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// `sh -c WATCHER sh <folder> <redis-server> <args>...`
const WATCHER: &str = r#"dir=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$dir"' EXIT
( read -r _ <&3; kill "$server" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$server"; status=$?
trap - EXIT
kill "$watcher" 2>/dev/null
rm -rf "$dir"
exit "$status""#;

/// A running private `redis-server`; dropping it stops the server and removes its folder.
pub struct EmbeddedRedis {
    shell: Child,
    /// The write end of the watcher's stdin: closing it stops the server.
    lifeline: Option<ChildStdin>,
    dir: PathBuf,
}

/// The server to use: `--redis-url`, else `$REDIS_URL`, else a private one started here (kept
/// alive by the returned guard).
pub fn server_url(flag: Option<String>) -> anyhow::Result<(String, Option<EmbeddedRedis>)> {
    match flag.or_else(|| std::env::var("REDIS_URL").ok()) {
        Some(url) => Ok((url, None)),
        None => {
            let server = EmbeddedRedis::start()?;
            Ok((server.url(), Some(server)))
        }
    }
}

impl EmbeddedRedis {
    /// Starts `redis-server` (from `PATH`) on `<tmp>/queue-consumer-<pid>/redis.sock`.
    pub fn start() -> anyhow::Result<EmbeddedRedis> {
        let Some(binary) = find_in_path("redis-server") else {
            anyhow::bail!(
                "redis-server is not installed: install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL=redis://host:6379"
            );
        };
        let dir = std::env::temp_dir().join(format!("queue-consumer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let socket = dir.join("redis.sock");
        let _ = std::fs::remove_file(&socket); // a stale one would look ready
        let shell = Command::new("sh")
            .args(["-c", WATCHER, "sh"])
            .arg(&dir)
            .arg(binary)
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop the
            // server after the summary (it must outlive our own shutdown to take the acks).
            .process_group(0)
            .spawn();
        let mut shell = match shell {
            Ok(shell) => shell,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e).context("cannot start sh to run redis-server");
            }
        };
        let lifeline = shell.stdin.take();
        let mut server = EmbeddedRedis { shell, lifeline, dir };
        // Wait until the server accepts a connection: the socket file appears at `bind`, a moment
        // before `listen`, and a connection in between is refused.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(status) = server.shell.try_wait()? {
                anyhow::bail!("redis-server exited at start ({status})");
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(server)
    }

    /// The URL of the server: `unix://<folder>/redis.sock`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.dir.join("redis.sock").display())
    }
}

impl Drop for EmbeddedRedis {
    /// Closes the lifeline and waits for the watcher (it exits once the server has); if that
    /// takes more than 10 s, kills the watcher's whole process group, server included.
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.shell.try_wait(), Ok(None)) {
                // The watcher removes the folder, unless it failed before it could.
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let group = format!("-{}", self.shell.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.shell.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The first executable file called `name` in a `PATH` folder.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping the guard stops the server and removes its folder (skipped without redis-server).
    #[test]
    fn dropping_the_guard_stops_the_server_and_removes_its_folder() {
        if find_in_path("redis-server").is_none() {
            eprintln!("skipped: no redis-server on PATH");
            return;
        }
        let server = EmbeddedRedis::start().expect("starts");
        let dir = server.dir.clone();
        assert!(dir.join("redis.sock").exists());
        drop(server);
        assert!(!dir.exists(), "{} left behind", dir.display());
        // No process (the server or its watcher) still names the folder.
        let needle = dir.display().to_string();
        let left: Vec<String> = std::fs::read_dir("/proc")
            .expect("procfs")
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains(&needle))
            .collect();
        assert!(left.is_empty(), "still running: {left:?}");
    }
}
