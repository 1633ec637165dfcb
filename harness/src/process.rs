//! The one child runner that verify and compare share: runs a program under a watchdog with its
//! output captured, optionally interrupting it with SIGINT, SIGTERM or two SIGINTs mid-run, and
//! samples its OS thread count (`Threads:` in `/proc/<pid>/status`) while it runs.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::check::Output;
use crate::{Interrupt, Signal};

/// What [`run`] saw: the output and exit, and the most OS threads seen at once.
#[derive(Debug, Clone)]
pub struct Watched {
    pub output: Output,
    /// The highest `Threads:` count sampled from `/proc/<pid>/status` (every few ms, so a peak
    /// shorter than that can be missed); `None` where `/proc` cannot be read.
    pub peak_threads: Option<usize>,
}

/// Runs `program args` in `cwd`, killing it if it outlives `timeout`.
pub fn run_watched(
    program: &Path,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
    interrupt: Option<Interrupt>,
) -> anyhow::Result<Output> {
    run(program, args, cwd, timeout, interrupt).map(|w| w.output)
}

/// [`run_watched`], with the sampled peak of the child's OS threads.
pub fn run(
    program: &Path,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
    interrupt: Option<Interrupt>,
) -> anyhow::Result<Watched> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.display()))?;
    let started = Arc::new(AtomicUsize::new(0));

    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout pipe"))?;
    let seen = Arc::clone(&started);
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("\"event\":\"started\"") {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr pipe"))?;
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let begin = Instant::now();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_threads: Option<usize> = None;
    let mut interrupted = false;
    let mut timed_out = false;
    // For `SignalAfterMs`: when the child's signal handler showed up in `SigCgt`.
    let mut handler_at: Option<Instant> = None;
    let status = loop {
        if let Some(n) = threads_of(&status_file) {
            peak_threads = Some(peak_threads.map_or(n, |p| p.max(n)));
        }
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if !interrupted {
            let due = match interrupt {
                Some(Interrupt::AfterStarted(n) | Interrupt::SignalAfterStarted(_, n)) => {
                    started.load(Ordering::SeqCst) >= n
                }
                Some(Interrupt::SignalAfterSpawnMs(_, ms)) => begin.elapsed() >= Duration::from_millis(ms),
                Some(Interrupt::SignalAfterMs(_, ms)) => {
                    if handler_at.is_none() && handler_installed(&status_file) {
                        handler_at = Some(Instant::now());
                    }
                    // Counted from the instant the handler is installed: a signal that comes
                    // before the process has run any of its own code (exec, loader, runtime)
                    // kills every program. A handler that never comes is caught too: after
                    // HANDLER_WAIT the signal is sent anyway, and the run fails.
                    let since = handler_at.unwrap_or(begin + HANDLER_WAIT);
                    Instant::now().saturating_duration_since(since) >= Duration::from_millis(ms)
                }
                None => false,
            };
            if let Some(signal) = interrupt.filter(|_| due).map(Interrupt::signal) {
                send_signal(child.id(), signal)?;
                interrupted = true;
            }
        }
        if begin.elapsed() >= timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        if matches!(
            interrupt,
            Some(Interrupt::SignalAfterMs(..) | Interrupt::SignalAfterSpawnMs(..))
        ) && !interrupted
        {
            std::thread::yield_now(); // the first instants: do not oversleep them
        } else {
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let stdout = out_reader
        .join()
        .map_err(|_| anyhow::anyhow!("stdout reader panicked"))?;
    let stderr = err_reader
        .join()
        .map_err(|_| anyhow::anyhow!("stderr reader panicked"))?;
    let output = if interrupt.is_some() && !interrupted && !timed_out {
        Output {
            stdout,
            stderr: format!("{stderr}\n[xtask] the run ended before the SIGINT was due: make the run longer"),
            code: Some(-1),
            timed_out,
        }
    } else {
        Output {
            stdout,
            stderr,
            code: status.and_then(|s| s.code()),
            timed_out,
        }
    };
    Ok(Watched { output, peak_threads })
}

/// The `Threads:` line of a `/proc/<pid>/status` file.
/// How long `SignalAfterMs` waits for the child's signal handler before sending anyway.
const HANDLER_WAIT: Duration = Duration::from_secs(3);

/// True once the process has a handler for both SIGINT and SIGTERM (`SigCgt` in its status).
fn handler_installed(status_file: &str) -> bool {
    const SIGINT_AND_SIGTERM: u64 = (1 << (2 - 1)) | (1 << (15 - 1));
    std::fs::read_to_string(status_file)
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("SigCgt:"))?;
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .is_some_and(|mask| mask & SIGINT_AND_SIGTERM == SIGINT_AND_SIGTERM)
}

fn threads_of(status_file: &str) -> Option<usize> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends the signal (through `kill`, so xtask needs no unsafe code). SIGINT is what Ctrl-C in a
/// terminal sends; SIGTERM what `kill` and service managers send.
pub fn send_signal(pid: u32, signal: Signal) -> anyhow::Result<()> {
    let pid = pid.to_string();
    let names: &[&str] = match signal {
        Signal::Int => &["-INT"],
        Signal::Term => &["-TERM"],
        Signal::IntTwice => &["-INT", "-INT"],
    };
    for name in names {
        let status = Command::new("kill").args([*name, pid.as_str()]).status()?;
        anyhow::ensure!(status.success(), "kill {name} {pid} failed");
    }
    Ok(())
}
