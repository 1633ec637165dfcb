//! Throwaway servers for the examples' embedded defaults, their tests and the tools: a private
//! `redis-server` and a private PostgreSQL cluster, each in a temporary folder of its own,
//! listening only on a Unix socket there (no port to collide with, nothing reachable from
//! outside), stopped (and a private folder removed) when its guard is dropped or whoever started
//! it dies, even by `kill -9`: a watcher process holds a pipe from its starter. Nothing here
//! touches a server it did not start, and nothing here installs a package: a missing program is
//! an error that names the package (`cargo xtask verify`'s preflight installs them before any
//! test runs).

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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

/// `sh -c SUPERVISOR sh <folder> <log> <server> <args>...`: a watcher for a server that is
/// stopped and started again in the same folder (a PostgreSQL cluster killed and restarted by
/// the tests), the folder and the lifeline outliving each server process.
///
/// It creates the folder itself (as the server's user) and answers `ready`, so there is no
/// instant at which the folder exists and nothing would remove it. Its stdin is the lifeline,
/// as for [`WATCHER`], and also carries commands, one a line, each
/// answered on stdout: `start` runs the server in the background (its output appended to the
/// log) and answers `started <pid>`; `stop <SIGNAL>` sends the signal, waits for the server (a
/// SIGKILL after 20 s) and answers `stopped <status>`. At end of file (the starter is done with
/// it, or died, even by `kill -9`) it stops the server with SIGQUIT, removes the folder and
/// exits; nobody reads its answers then, so they go nowhere (and SIGPIPE is ignored, so an
/// answer to a starter that died after asking does not kill the supervisor before it cleans up).
const SUPERVISOR: &str = r#"dir=$1; log=$2; shift 2
trap '' PIPE
mkdir "$dir" && cd "$dir" || exit 1
echo ready
server=
stop() {
  status=none
  [ -n "$server" ] || return 0
  kill -"$1" "$server" 2>/dev/null
  ( trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep 20 & nap=$!; wait "$nap" && kill -KILL "$server" 2>/dev/null ) >/dev/null 2>&1 &
  killer=$!
  wait "$server"; status=$?
  kill "$killer" 2>/dev/null
  server=
}
while read -r command signal; do
  case $command in
  start)
    if [ -n "$server" ]; then echo "error: already running as $server"; continue; fi
    "$@" </dev/null >>"$log" 2>&1 &
    server=$!
    echo "started $server" ;;
  stop) stop "$signal"; echo "stopped $status" ;;
  *) echo "error: unknown command $command" ;;
  esac
done
exec >/dev/null 2>&1
stop QUIT
cd / && rm -rf "$dir""#;

/// A server under [`SUPERVISOR`]: it dies, and its folder goes, with whoever started it, yet it
/// can be stopped (with the signal the caller picks) and started again in between.
#[derive(Debug)]
pub struct Supervised {
    shell: Child,
    /// The write end of the supervisor's stdin: the commands, and the lifeline.
    lifeline: Option<ChildStdin>,
    answers: BufReader<ChildStdout>,
    /// The folder it created, removed (again, after the supervisor) when it is dropped.
    dir: Option<PathBuf>,
    /// The running server's process id.
    pid: Option<u32>,
}

impl Supervised {
    /// Starts the supervisor for `program args` in `dir`, which it creates (it must not exist),
    /// and waits until it has; the server does not run yet (see [`Supervised::start`]). As
    /// `user` through `runuser` when given (the server, which must not run as root, and a
    /// watcher that can signal it), in its own process group.
    pub fn spawn(
        dir: &Path,
        log: &Path,
        user: Option<&str>,
        program: &Path,
        args: &[&OsStr],
    ) -> anyhow::Result<Supervised> {
        let mut command = match user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "sh"]);
                c
            }
            None => Command::new("sh"),
        };
        let mut shell = command
            .args(["-c", SUPERVISOR, "sh"])
            .arg(dir)
            .arg(log)
            .arg(program)
            .args(args)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start sh to run {}", program.display()))?;
        let lifeline = shell.stdin.take();
        let answers = shell.stdout.take().map(BufReader::new);
        let Some(answers) = answers else {
            let _ = shell.kill();
            let _ = shell.wait();
            anyhow::bail!("the supervisor of {} has no stdout pipe", program.display());
        };
        let mut supervised = Supervised {
            shell,
            lifeline,
            answers,
            dir: None,
            pid: None,
        };
        let mut answer = String::new();
        let _ = supervised.answers.read_line(&mut answer);
        if answer.trim() != "ready" {
            // It could not create the folder, and exited (dropping waits for it).
            anyhow::bail!(
                "the supervisor of {} cannot create {}",
                program.display(),
                dir.display()
            );
        }
        supervised.dir = Some(dir.to_path_buf());
        Ok(supervised)
    }

    /// Sends one command and returns the supervisor's answer.
    fn ask(&mut self, command: &str) -> anyhow::Result<String> {
        let lifeline = self.lifeline.as_mut().context("the supervisor was stopped")?;
        writeln!(lifeline, "{command}")
            .and_then(|()| lifeline.flush())
            .context("the supervisor is gone")?;
        let mut answer = String::new();
        self.answers
            .read_line(&mut answer)
            .context("the supervisor is gone")?;
        anyhow::ensure!(!answer.is_empty(), "the supervisor exited");
        Ok(answer.trim().to_owned())
    }

    /// Runs the server; returns its process id (the caller waits for it to be ready).
    pub fn start(&mut self) -> anyhow::Result<u32> {
        let answer = self.ask("start")?;
        let pid = answer
            .strip_prefix("started ")
            .and_then(|pid| pid.parse().ok())
            .with_context(|| format!("cannot start the server: {answer}"))?;
        self.pid = Some(pid);
        Ok(pid)
    }

    /// The running server's process id, if one was started and not stopped since.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Sends `signal` (`INT`, `QUIT`, `TERM`…) to the server and waits until it has exited
    /// (the supervisor sends SIGKILL after 20 s); returns its exit status as the shell gives it.
    pub fn stop(&mut self, signal: &str) -> anyhow::Result<String> {
        let answer = self.ask(&format!("stop {signal}"))?;
        self.pid = None;
        answer
            .strip_prefix("stopped ")
            .map(str::to_owned)
            .with_context(|| format!("cannot stop the server: {answer}"))
    }

    /// Closes the lifeline and waits for the supervisor (it stops the server and removes the
    /// folder); if that takes more than 30 s, kills its whole process group, server included.
    fn end(&mut self) {
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while matches!(self.shell.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let group = format!("-{}", self.shell.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = self.shell.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.end();
    }
}
