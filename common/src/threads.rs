//! Counting the process's live threads, so a leaked thread is visible in every summary.

use std::sync::atomic::{AtomicUsize, Ordering};

static HELPER_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Records a thread that lives for the whole process by design (the Ctrl-C handler's), so it is
/// not reported as leaked.
pub fn note_process_lifetime_thread() {
    HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
}

/// The number of threads the process has right now (Linux: entries of `/proc/self/task`), or
/// `None` where that cannot be read.
pub fn live_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|dir| dir.count())
}

/// Threads alive beyond the main thread and the process-lifetime helpers: 0 once every worker
/// has been joined.
///
/// A joined thread can stay listed in `/proc/self/task` for a few microseconds after `join`
/// returns (the kernel wakes the joiner before it removes the thread), so a count above 0 is
/// re-read for up to 100 ms before it is reported: a thread that is really still running (a
/// leak) stays visible, a thread that is merely being removed does not.
pub fn alive_beyond_main() -> Option<usize> {
    let extra = || live_threads().map(|n| n.saturating_sub(1 + HELPER_THREADS.load(Ordering::SeqCst)));
    let mut alive = extra()?;
    for _ in 0..100 {
        if alive == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        alive = extra()?;
    }
    Some(alive)
}

/// The process's peak resident set size in KiB (Linux: `VmHWM` in `/proc/self/status`), or `None`
/// where that cannot be read.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The message of a caught panic (`catch_unwind`'s or `join`'s payload): the `&str` or `String`
/// it was raised with, else a placeholder.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// Runs `start`, which starts threads through a library that panics when the OS refuses one
/// (tokio's runtime builder: tokio-rs/tokio#6167), under a panic hook that turns such a panic into
/// the examples' one `error: {what}: …` line and exit code 2 at once. Without it the user gets a
/// backtrace, and dropping the half-started runtime while unwinding can hang. Nothing has been
/// submitted yet at that point, so there is nothing to account for. The previous hook is
/// restored once `start` returns.
pub fn exit_if_start_panics<T>(what: &str, start: impl FnOnce() -> T) -> T {
    let what = what.to_owned();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        crate::exit::print_error_line(&format!("{what}: {}", panic_message(info.payload())));
        std::process::exit(i32::from(crate::exit::EXIT_USAGE));
    }));
    let started = start();
    std::panic::set_hook(previous);
    started
}

/// Joins every thread and returns how many panicked (each one's panic is counted, not re-raised,
/// so the summary can still be printed and say so).
pub fn join_all<T>(handles: impl IntoIterator<Item = std::thread::JoinHandle<T>>) -> usize {
    handles
        .into_iter()
        .map(|h| h.join())
        .filter(Result::is_err)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // reads /proc, which Miri's isolation forbids
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_kb().is_some_and(|kb| kb > 0));
        }
    }

    /// Names of the process's threads (Linux: `/proc/self/task/*/comm`).
    fn thread_names() -> Vec<String> {
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return Vec::new();
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect()
    }

    #[test]
    #[cfg_attr(miri, ignore)] // reads /proc, which Miri's isolation forbids
    fn sees_a_running_thread() {
        // Other tests start and stop threads in parallel, so look for this thread by its name
        // rather than comparing counts.
        if live_threads().is_none() {
            return;
        }
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("probe-7f3a".into())
            .spawn(move || {
                let _ = ready_tx.send(()); // the name is set before this closure runs
                stop_rx.recv()
            })
            .expect("spawn");
        ready_rx.recv().expect("the probe thread started");
        // Listing /proc/self/task while other tests' threads come and go can skip an entry (the
        // directory changes under the reader), so one listing of several must show the probe.
        let seen = (0..50).any(|_| thread_names().iter().any(|n| n == "probe-7f3a"));
        assert!(seen, "{:?}", thread_names());
        drop(stop_tx);
        let _ = handle.join();
    }
}
