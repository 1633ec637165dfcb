//! A throwaway `redis-server` (queue-consumer's scenarios and benchmarks): started in a folder of
//! ours, listening only on `<folder>/redis.sock`, optionally with append-only persistence (so a
//! restart keeps the streams), stopped when dropped. Only servers started here are ever stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::ensure_binary;

/// A `redis-server` this process started.
pub struct RedisServer {
    binary: PathBuf,
    dir: PathBuf,
    appendonly: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server in `dir` (installing Debian's `redis-server` package first if it is missing
    /// and this process may). With `appendonly`, every write is fsynced to `dir/appendonlydir`.
    pub fn start(dir: &Path, appendonly: bool) -> anyhow::Result<RedisServer> {
        let binary = ensure_binary("redis-server", "redis-server", &[])?;
        std::fs::create_dir_all(dir)?;
        let mut server = RedisServer {
            binary,
            dir: dir.to_path_buf(),
            appendonly,
            child: None,
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
        let _ = std::fs::remove_file(&socket);
        let mut command = Command::new(&self.binary);
        command
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--save", ""])
            .arg("--dir")
            .arg(&self.dir);
        if self.appendonly {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).map(|r| r.trim() != "PONG").unwrap_or(true) {
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let cli = ensure_binary("redis-cli", "redis-tools", &[])?;
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
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
