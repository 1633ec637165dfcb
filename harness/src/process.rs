//! The one child runner that verify and compare share: runs a program under a watchdog with its
//! output captured, optionally interrupting it with SIGINT, SIGTERM or two SIGINTs mid-run, and
//! samples its OS thread count (`Threads:` in `/proc/<pid>/status`) while it runs.
//!
//! At the instant it sends a signal it reads the child's `SigCgt` (the signals it has a handler
//! for) from the same file, so a judge knows whether that signal could be caught: one that comes
//! before the handler is installed kills any program, one that comes after must end in exit 130.

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
    /// The child's state when the interrupt's (first) signal was sent; `None` if none was sent.
    pub signal_sent: Option<SignalSent>,
}

/// The child as the runner read it from `/proc/<pid>/status` just before sending its signal.
///
/// Linux decides what a signal does when it is sent: with no handler, a SIGINT or SIGTERM kills
/// the process there and then. So `handler_installed: Some(true)` means the signal was caught;
/// `Some(false)` means it may kill the process (or be caught, if the handler came in the instant
/// between the read and the `kill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalSent {
    /// How long after the spawn it was sent.
    pub after: Duration,
    /// The signal's bit in `SigCgt`; `None` if the status could not be read.
    pub handler_installed: Option<bool>,
    /// `Threads:` in the same read (the kernel prints both under one lock: one instant).
    pub threads: Option<usize>,
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
        // Never a server this run did not start: without these, an example falls back to its
        // own private server (a test that wants a server passes its URL as an argument).
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
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
    let mut signal_sent = None;
    let mut interrupted = false;
    let mut timed_out = false;
    // For `SignalAfterMs`: when the child's signal handler showed up in `SigCgt`.
    let mut handler_at: Option<Instant> = None;
    let status = loop {
        if let Some(n) = read_status(&status_file).and_then(|s| threads(&s)) {
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
                    if handler_at.is_none()
                        && read_status(&status_file)
                            .is_some_and(|s| handles(&s, Signal::Int) && handles(&s, Signal::Term))
                    {
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
                // Read last thing before the signal goes: what the kernel will find when it does.
                let status = read_status(&status_file);
                let after = begin.elapsed();
                send_signal(child.id(), signal)?;
                interrupted = true;
                signal_sent = Some(SignalSent {
                    after,
                    handler_installed: status.as_deref().map(|s| handles(s, signal)),
                    threads: status.as_deref().and_then(threads),
                });
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
    Ok(Watched {
        output,
        peak_threads,
        signal_sent,
    })
}

/// How long `SignalAfterMs` waits for the child's signal handler before sending anyway.
const HANDLER_WAIT: Duration = Duration::from_secs(3);

fn read_status(status_file: &str) -> Option<String> {
    std::fs::read_to_string(status_file).ok()
}

/// The value after `key` on its line of a `/proc/<pid>/status` text.
fn field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()
}

/// The `Threads:` count.
fn threads(status: &str) -> Option<usize> {
    field(status, "Threads:")?.parse().ok()
}

/// The `SigCgt:` mask: bit `n - 1` is set when the process has a handler for signal `n`.
fn caught_mask(status: &str) -> Option<u64> {
    u64::from_str_radix(field(status, "SigCgt:")?, 16).ok()
}

/// The `SigCgt:` bit of what `signal` sends first (SIGINT = 2, SIGTERM = 15).
fn signal_bit(signal: Signal) -> u64 {
    match signal {
        Signal::Int | Signal::IntTwice => 1 << (2 - 1),
        Signal::Term => 1 << (15 - 1),
    }
}

/// True if the status shows a handler for `signal` (false if it has no `SigCgt:` line).
fn handles(status: &str, signal: Signal) -> bool {
    caught_mask(status).is_some_and(|mask| mask & signal_bit(signal) != 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A `/proc/<pid>/status` as Linux prints it (trimmed), with `SigCgt` as given.
    fn status(sig_cgt: &str) -> String {
        format!(
            "Name:\tbasic\nState:\tS (sleeping)\nThreads:\t3\nSigQ:\t0/31204\n\
             SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n\
             SigIgn:\t0000000000001000\nSigCgt:\t{sig_cgt}\nCapInh:\t0000000000000000\n"
        )
    }

    #[test]
    fn sig_cgt_is_read_as_a_hex_mask() {
        assert_eq!(caught_mask(&status("0000000000004002")), Some(0x4002));
        assert_eq!(
            caught_mask(&status("fffffffe7ffbfeff")),
            Some(0xffff_fffe_7ffb_feff)
        );
        assert_eq!(caught_mask("Name:\tx\n"), None);
        assert_eq!(caught_mask(&status("zz")), None);
        assert_eq!(threads(&status("0")), Some(3));
        // SigIgn and SigCgt share no prefix with other keys: each is found on its own line.
        assert_eq!(field(&status("0"), "SigIgn:"), Some("0000000000001000"));
    }

    #[test]
    fn sigint_is_bit_1_and_sigterm_bit_14() {
        assert_eq!(signal_bit(Signal::Int), 0x2);
        assert_eq!(signal_bit(Signal::IntTwice), 0x2);
        assert_eq!(signal_bit(Signal::Term), 0x4000);
        // The Rust runtime's own handlers (SIGSEGV, SIGBUS) before main: neither is caught.
        let runtime_only = status("0000000000000440");
        assert!(!handles(&runtime_only, Signal::Int));
        assert!(!handles(&runtime_only, Signal::Term));
        // ctrlc installs SIGINT, then SIGTERM, then SIGHUP: one read can fall in between.
        let sigint_only = status("0000000000000442");
        assert!(handles(&sigint_only, Signal::Int));
        assert!(!handles(&sigint_only, Signal::Term));
        let all = status("0000000000004443");
        assert!(handles(&all, Signal::Int) && handles(&all, Signal::Term));
        assert!(!handles("no status", Signal::Int));
    }

    #[test]
    fn a_live_process_shows_its_own_handlers() {
        let me = read_status("/proc/self/status").expect("/proc is mounted");
        assert!(caught_mask(&me).is_some(), "{me}");
        assert!(threads(&me).is_some_and(|n| n >= 1));
    }
}
