//! Throwaway servers for the examples' embedded defaults, their tests and the tools: a private
//! `redis-server` and a private PostgreSQL cluster, each in a temporary folder of its own,
//! listening only on a Unix socket there (no port to collide with, nothing reachable from
//! outside), stopped when its guard is dropped. Nothing here touches a server it did not start,
//! and nothing here installs a package: a missing program is an error that names the package
//! (`cargo xtask verify`'s preflight installs them before any test runs).

use std::ffi::OsStr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

pub mod postgres;
pub mod redis;

/// `binary` on `PATH` or in one of `extra_dirs`.
pub fn find_binary(binary: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().cloned())
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
}

/// `binary` as [`find_binary`] finds it, or an error naming the Debian package that brings it.
pub fn require_binary(binary: &str, package: &str, extra_dirs: &[PathBuf]) -> anyhow::Result<PathBuf> {
    find_binary(binary, extra_dirs).with_context(|| {
        format!(
            "{binary} is not installed: install Debian's {package} package (`sudo apt-get install {package}`; `cargo xtask verify` does it as root)"
        )
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `sh -c WATCHER sh <folder> <remove: 1|0> <server> <args>...`: runs the server with a lifeline.
///
/// A server has no "exit with my parent" option, so it runs under this small `sh` watcher whose
/// stdin is a pipe only its starter holds the write end of: dropping the [`Watched`] guard
/// closes it, and so does the kernel when the starter dies (even `kill -9`). On that end of file
/// the watcher stops the server (SIGTERM), waits for it, removes the folder if asked, and exits;
/// if the server dies first, the shell exits too (which is how a failed start shows). If the
/// shell cannot start the watcher (no process left under a limit on processes), it stops the
/// server as it exits (`trap … EXIT`) rather than leave it running with nobody to stop it.
const WATCHER: &str = r#"dir=$1; remove=$2; shift 2
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
trap 'kill "$server" 2>/dev/null; [ "$remove" = 1 ] && rm -rf "$dir"' EXIT
( read -r _ <&3; kill "$server" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$server"; status=$?
trap - EXIT
kill "$watcher" 2>/dev/null
[ "$remove" = 1 ] && rm -rf "$dir"
exit "$status""#;

/// A server process that dies with whoever started it (see [`WATCHER`]).
#[derive(Debug)]
pub struct Watched {
    shell: Child,
    /// The write end of the watcher's stdin: closing it stops the server.
    lifeline: Option<ChildStdin>,
    dir: PathBuf,
    remove_dir: bool,
}

impl Watched {
    /// Starts `program args` under the watcher, in its own process group (a Ctrl-C in the
    /// terminal reaches only the starter, which stops the server when it is done with it).
    /// With `remove_dir`, the watcher removes `dir` once the server has exited.
    pub fn spawn(dir: &Path, remove_dir: bool, program: &Path, args: &[&OsStr]) -> anyhow::Result<Watched> {
        let shell = Command::new("sh")
            .args(["-c", WATCHER, "sh"])
            .arg(dir)
            .arg(if remove_dir { "1" } else { "0" })
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start sh to run {}", program.display()))?;
        let mut watched = Watched {
            shell,
            lifeline: None,
            dir: dir.to_path_buf(),
            remove_dir,
        };
        watched.lifeline = watched.shell.stdin.take();
        Ok(watched)
    }

    /// The server's exit status, if it has exited.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        Ok(self.shell.try_wait()?)
    }

    /// Closes the lifeline and waits for the watcher (it exits once the server has); if that
    /// takes more than 10 s, kills the watcher's whole process group, server included.
    pub fn stop(&mut self) {
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.shell.try_wait(), Ok(None)) {
                self.cleanup();
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let group = format!("-{}", self.shell.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.shell.wait();
        self.cleanup();
    }

    /// The watcher removes the folder, unless it failed before it could.
    fn cleanup(&self) {
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}
