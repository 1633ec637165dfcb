//! A private `redis-server`: queue-consumer's embedded default broker, and the throwaway server
//! of its tests and of the tools. It listens only on `<folder>/redis.sock`, optionally with
//! append-only persistence (so a restart keeps the streams), and runs under the watcher of
//! [`super::Watched`], so it dies with whoever started it, however that process ends.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{Watched, require_binary};

/// A `redis-server` this process started; dropping it stops the server.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    dir: PathBuf,
    appendonly: bool,
    /// The folder is this server's alone and goes with it.
    private: bool,
    server: Option<Watched>,
}

impl RedisServer {
    /// Starts a server in `dir`, which stays when the server stops (a test's scratch folder).
    /// With `appendonly`, every write is fsynced to `dir/appendonlydir`.
    pub fn start(dir: &Path, appendonly: bool) -> anyhow::Result<RedisServer> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Self::start_in(dir.to_path_buf(), appendonly, false)
    }

    /// Starts a server in a fresh folder `<tmp>/<name>-<pid>`, removed when the server stops
    /// (an example's embedded default).
    pub fn start_private(name: &str) -> anyhow::Result<RedisServer> {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Self::start_in(dir, false, true).inspect_err(|_| {
            let _ =
                std::fs::remove_dir_all(std::env::temp_dir().join(format!("{name}-{}", std::process::id())));
        })
    }

    fn start_in(dir: PathBuf, appendonly: bool, private: bool) -> anyhow::Result<RedisServer> {
        let binary = require_binary("redis-server", "redis-server", &[])?;
        let mut server = RedisServer {
            binary,
            dir,
            appendonly,
            private,
            server: None,
        };
        server.spawn()?;
        Ok(server)
    }

    /// The socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// `unix://<dir>/redis.sock`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket); // a stale one would look ready
        let mut args: Vec<&OsStr> = ["--port", "0", "--unixsocket"].map(OsStr::new).to_vec();
        args.push(socket.as_os_str());
        args.extend(["--unixsocketperm", "700", "--save", "", "--dir"].map(OsStr::new));
        args.push(self.dir.as_os_str());
        if self.appendonly {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(OsStr::new));
        } else {
            args.extend(["--appendonly", "no"].map(OsStr::new));
        }
        let mut server = Watched::spawn(&self.dir, self.private, &self.binary, &args)?;
        // Ready once it accepts a connection: the socket file appears at `bind`, a moment
        // before `listen`, and a connection in between is refused.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(status) = server.try_wait()? {
                anyhow::bail!("redis-server exited at start ({status})");
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.server = Some(server);
        Ok(())
    }

    /// Stops the server the way a service manager does (SIGTERM: it writes its data and exits),
    /// then starts it again on the same socket and data folder.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.spawn()
    }

    /// Runs `redis-cli -s <socket> args` and returns its output.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let cli = require_binary("redis-cli", "redis-tools", &[])?;
        let out = Command::new(cli)
            .arg("-s")
            .arg(self.socket())
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
    pub fn stop(&mut self) {
        drop(self.server.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping a private server stops it and removes its folder, and nothing it started runs on.
    #[test]
    fn dropping_a_private_server_stops_it_and_removes_its_folder() {
        if super::super::find_binary("redis-server", &[]).is_none() {
            eprintln!("skipped: no redis-server on PATH");
            return;
        }
        let server = RedisServer::start_private("testbed-redis-test").expect("starts");
        let dir = server.dir.clone();
        assert!(dir.join("redis.sock").exists());
        drop(server);
        assert!(!dir.exists(), "{} left behind", dir.display());
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
