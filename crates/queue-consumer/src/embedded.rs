//! The embedded default broker: without `REDIS_URL`, a private `redis-server` child process
//! listening only on a Unix socket in a fresh temporary folder (no TCP port to collide with, no
//! persistence), stopped and removed when the guard is dropped.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// A running private `redis-server`; dropping it stops the server and removes its folder.
pub struct EmbeddedRedis {
    child: Child,
    dir: PathBuf,
}

impl EmbeddedRedis {
    /// Starts `redis-server` (from `PATH`) on `<tmp>/queue-consumer-<pid>/redis.sock`.
    pub fn start() -> anyhow::Result<EmbeddedRedis> {
        let dir = std::env::temp_dir().join(format!("queue-consumer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop the
            // server after the summary (it must outlive our own shutdown to take the acks).
            .process_group(0)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_dir_all(&dir);
                anyhow::bail!(
                    "redis-server is not installed: install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL=redis://host:6379"
                );
            }
            Err(e) => return Err(e).context("cannot start redis-server"),
        };
        let mut server = EmbeddedRedis { child, dir };
        // Wait for the socket to appear (the server is ready once it listens).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if let Some(status) = server.child.try_wait()? {
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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
