//! Running an example under a watchdog, optionally interrupting it with SIGINT, SIGTERM or two
//! SIGINTs mid-run.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::check::Output;
use crate::scenarios::{Interrupt, Signal};

/// Runs `program args` in `cwd`, killing it if it outlives `timeout`.
pub fn run_watched(
    program: &Path,
    args: &[String],
    cwd: &Path,
    timeout: Duration,
    interrupt: Option<Interrupt>,
) -> anyhow::Result<Output> {
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
    let mut interrupted = false;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if !interrupted {
            let due = match interrupt {
                Some(Interrupt::AfterStarted(n) | Interrupt::SignalAfterStarted(_, n)) => {
                    started.load(Ordering::SeqCst) >= n
                }
                Some(Interrupt::SignalAfterMs(_, ms)) => begin.elapsed() >= Duration::from_millis(ms),
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
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader
        .join()
        .map_err(|_| anyhow::anyhow!("stdout reader panicked"))?;
    let stderr = err_reader
        .join()
        .map_err(|_| anyhow::anyhow!("stderr reader panicked"))?;
    if interrupt.is_some() && !interrupted && !timed_out {
        return Ok(Output {
            stdout,
            stderr: format!("{stderr}\n[xtask] the run ended before the SIGINT was due: make the run longer"),
            code: Some(-1),
            timed_out,
        });
    }
    Ok(Output {
        stdout,
        stderr,
        code: status.and_then(|s| s.code()),
        timed_out,
    })
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
