//! verify's thread-limit sweep: every example run under a limit on processes and threads
//! (`RLIMIT_NPROC`), from a limit that refuses its very first thread up to one that lets it
//! finish, so that every thread (and child process) it starts is refused once.
//!
//! A refused thread must end like any other error: one `error:` line and exit code 2, or a
//! summary (0 or 1). Never a panic (`std::thread::scope`'s `spawn` and tokio's runtime builder
//! panic when the OS refuses a thread), never a hang, and nothing left behind: no process (the
//! private `redis-server`), no folder in `TMPDIR`.
//!
//! Root ignores `RLIMIT_NPROC`, so the runs are made as the user `nobody` (`runuser`), from a
//! copy of the binary in a folder that user can read. The limit counts every process and thread
//! of that user, so each run waits until the previous one's are gone. Where this cannot be done
//! (not root, no `runuser`/`prlimit`, no user `nobody`) the step says so in one line and counts
//! as SKIPPED.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::check::Output;

/// The watchdog on each run: a run past it has hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// How the sweep of one example ended.
pub enum Outcome {
    Passed {
        refused: u32,
        first_ok: u32,
    },
    Failed(Vec<String>),
    /// Left out on purpose (`harness::registry`), with the reason.
    Skipped(&'static str),
}

/// The example's short run (`harness::registry`): few workers, so few limits to sweep.
fn quick_args(example: &str) -> Option<&'static [&'static str]> {
    harness::registry::example(example).map(|e| e.quick_args)
}

/// Why the sweep cannot run on this machine, if it cannot.
pub fn unavailable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("needs Linux (RLIMIT_NPROC, /proc)".into());
    }
    if !testbed::servers::is_root() {
        return Some("needs root, to run the examples as the user nobody under a process limit".into());
    }
    for tool in ["runuser", "prlimit"] {
        if testbed::servers::find_binary(tool, &[]).is_none() {
            return Some(format!("`{tool}` is not installed (Debian: util-linux)"));
        }
    }
    if nobody_uid().is_none() {
        return Some("there is no user `nobody` in /etc/passwd".into());
    }
    let tried = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--", "prlimit", "--nproc=100", "--", "true"])
        .stdin(std::process::Stdio::null())
        .output();
    match tried {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`runuser -u nobody -- prlimit --nproc=100 -- true` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run runuser: {e}")),
    }
}

/// Sweeps `example` (the binary `program`): the limit rises from what `nobody` already uses
/// until three runs in a row end normally.
pub fn sweep(program: &Path, example: &str) -> Outcome {
    if let Some(why) = harness::registry::no_thread_limit_sweep(example) {
        return Outcome::Skipped(why);
    }
    let Some(args) = quick_args(example) else {
        return Outcome::Failed(vec![format!("no entry for {example} in harness/src/registry.rs")]);
    };
    let dir = std::env::temp_dir().join(format!("xtask-thread-limit-{}-{example}", std::process::id()));
    let result = prepare(&dir, program).and_then(|binary| run_sweep(&dir, &binary, args));
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap_or_else(|e| Outcome::Failed(vec![format!("{e:#}")]))
}

/// A folder `nobody` can use, with a copy of the binary and an empty `tmp/` for `TMPDIR`.
fn prepare(dir: &Path, program: &Path) -> anyhow::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("tmp"))?;
    for folder in [dir.to_path_buf(), dir.join("tmp")] {
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777))?;
    }
    let binary = dir.join(program.file_name().unwrap_or_default());
    std::fs::copy(program, &binary)?;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
    Ok(binary)
}

fn run_sweep(dir: &Path, binary: &Path, args: &[&str]) -> anyhow::Result<Outcome> {
    let uid = nobody_uid().ok_or_else(|| anyhow::anyhow!("no user nobody"))?;
    let tmp = dir.join("tmp");
    let baseline = processes_of(uid).len();
    let mut why = Vec::new();
    let (mut refused, mut first_ok, mut ok_in_a_row) = (0, None, 0);
    let mut limit = u32::try_from(baseline)? + 1;
    while ok_in_a_row < 3 {
        if limit > u32::try_from(baseline)? + 100 {
            why.push(format!(
                "never ran to its end, up to {limit} processes and threads"
            ));
            break;
        }
        let mut command: Vec<String> = ["-u", "nobody", "--", "env"].map(String::from).to_vec();
        command.push(format!("TMPDIR={}", tmp.display()));
        command.extend(["prlimit".into(), format!("--nproc={limit}"), "--".into()]);
        command.push(binary.display().to_string());
        command.extend(args.iter().map(|a| (*a).to_owned()));
        command.push("--quiet".into());
        let output = crate::process::run_watched(Path::new("runuser"), &command, dir, RUN_TIMEOUT, None)?;
        let at = format!(
            "under {limit} processes and threads (runuser {})",
            command.join(" ")
        );
        if let Err(reason) = judge(&output) {
            why.push(format!("{reason} {at}"));
        }
        if let Err(reason) = left_behind(uid, baseline, &tmp) {
            why.push(format!("{reason} {at}"));
        }
        match output.code {
            Some(0 | 1) => {
                first_ok.get_or_insert(limit);
                ok_in_a_row += 1;
            }
            _ => {
                refused += 1;
                ok_in_a_row = 0;
            }
        }
        if !why.is_empty() {
            break;
        }
        limit += 1;
    }
    if why.is_empty() && refused == 0 {
        why.push("no run was refused a thread: the limit had no effect".into());
    }
    Ok(match (why.is_empty(), first_ok) {
        (true, Some(first_ok)) => Outcome::Passed { refused, first_ok },
        _ => Outcome::Failed(why),
    })
}

/// A refused thread ends in one `error:` line and exit 2, or the run finishes (0 or 1).
fn judge(output: &Output) -> Result<(), String> {
    if output.timed_out {
        return Err(format!("hung (killed after {} s)", RUN_TIMEOUT.as_secs()));
    }
    if let Some(line) = output.stderr.lines().find(|l| l.contains("panicked")) {
        return Err(format!("panicked: {line}"));
    }
    match output.code {
        // A run that ends prints its summary (`--quiet` keeps only that); an exit 1 without one
        // would be runuser or prlimit failing, not the example.
        Some(0 | 1) if output.stdout.trim().is_empty() => Err(format!(
            "exit {:?} without a summary on stdout (stderr: {})",
            output.code,
            output.stderr.trim()
        )),
        Some(0 | 1) => Ok(()),
        Some(2) => match output.stderr.lines().last() {
            Some(line) if line.starts_with("error: ") => Ok(()),
            last => Err(format!(
                "exit 2 without a last `error:` line (last line: {last:?})"
            )),
        },
        code => Err(format!("exit code {code:?}")),
    }
}

/// Waits up to 5 s for the run's processes to be gone; then `TMPDIR` must be empty too.
fn left_behind(uid: u32, baseline: usize, tmp: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = processes_of(uid);
    while left.len() > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left = processes_of(uid);
    }
    if left.len() > baseline {
        return Err(format!("left processes running: {}", left.join("; ")));
    }
    let entries: Vec<String> = std::fs::read_dir(tmp)
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if !entries.is_empty() {
        let _ = std::fs::remove_dir_all(tmp).and_then(|()| std::fs::create_dir(tmp));
        let _ = std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o777));
        return Err(format!("left in TMPDIR: {}", entries.join(", ")));
    }
    Ok(())
}

/// `pid command` of every process whose real user is `uid` (zombies included: not yet reaped).
fn processes_of(uid: u32) -> Vec<String> {
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| uid_in(&e.path().join("status")) == Some(uid))
        .map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            format!("{} {}", e.file_name().to_string_lossy(), cmd.trim())
        })
        .collect()
}

/// The real user id in a `/proc/<pid>/status` file.
fn uid_in(status: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn nobody_uid() -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("nobody:"))?;
    line.split(':').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(code: Option<i32>, stderr: &str) -> Output {
        Output {
            stdout: String::new(),
            stderr: stderr.into(),
            code,
            timed_out: false,
        }
    }

    #[test]
    fn a_refused_thread_must_end_in_one_error_line_or_a_summary() {
        assert!(judge(&output(Some(2), "error: cannot start a thread: os error 11\n")).is_ok());
        let mut summary = output(Some(1), "");
        summary.stdout = "basic: 6 submitted, 5 ok, 1 failed\n".into();
        assert!(judge(&summary).is_ok());
        assert!(judge(&output(Some(1), "runuser: user nobody does not exist\n")).is_err());
        let panicked = "thread 'main' panicked at scoped.rs:206:46:\nfailed to spawn thread\n";
        assert!(judge(&output(Some(101), panicked)).is_err());
        assert!(judge(&output(Some(2), "Resource temporarily unavailable\n")).is_err());
        assert!(judge(&output(None, "")).is_err());
    }

    #[test]
    fn every_example_has_a_quick_run() {
        let root = crate::workspace_root();
        for example in crate::examples(&root).expect("crates/ lists") {
            assert!(quick_args(&example).is_some(), "{example} has no quick run");
        }
    }
}
