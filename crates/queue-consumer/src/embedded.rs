//! The embedded default broker: without `REDIS_URL`, a private `redis-server` listening only on a
//! Unix socket in a fresh temporary folder (no TCP port to collide with, no persistence). It is
//! a test bed (`testbed::servers::redis`), not the lesson: it dies with this process however
//! this process ends, even `kill -9`, and takes its folder with it.

use testbed::servers::redis::RedisServer;

/// The server to use: `--redis-url` (or `$REDIS_URL`), else a private one started here (kept
/// alive by the returned guard; dropping it stops the server and removes its folder).
pub fn server_url(flag: Option<String>) -> anyhow::Result<(String, Option<RedisServer>)> {
    match flag {
        Some(url) => Ok((url, None)),
        None => {
            if testbed::servers::find_binary("redis-server", &[]).is_none() {
                anyhow::bail!(
                    "redis-server is not installed: install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL=redis://host:6379"
                );
            }
            let server = RedisServer::start_private("queue-consumer")?;
            Ok((server.url(), Some(server)))
        }
    }
}
