//! The producer: `XADD` the messages 1..=`--messages` (pipelined), poison marks included.

use anyhow::Context as _;
use common::{Reporter, Stop};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

use crate::broker::Broker;
use crate::cli::Cli;

/// Produces the messages, stopping between chunks at Ctrl-C; returns how many were produced.
pub fn produce(broker: &mut Broker, cli: &Cli, stop: &Stop, reporter: &Reporter) -> anyhow::Result<u64> {
    // Shielded: a Ctrl-C cannot cut a chunk's reply short (EINTR), so every chunk is either
    // confirmed and counted or never sent; the stop is checked between chunks.
    let produced = shielded(|| broker.produce(1, cli.messages, &|n| cli.poison_mark(n), stop))??;
    let of = if produced < cli.messages {
        format!(" of {} (Ctrl-C)", cli.messages)
    } else {
        String::new()
    };
    reporter.note(format!(
        "Produced {produced}{of} messages on stream '{}'",
        cli.stream
    ));
    Ok(produced)
}

/// Runs `f` with SIGINT and SIGTERM blocked in this thread, so that a Ctrl-C meanwhile goes to
/// ctrlc's thread (which sets the stop as always) and never interrupts a system call here.
///
/// Why: Linux gives a process's signal to its main thread first, and a blocking socket read
/// with a timeout (`SO_RCVTIMEO`) is not restarted after a handler, even with `SA_RESTART`: it
/// fails with EINTR. A request whose reply is then lost may or may not have been carried out,
/// and the producer counts the messages the server confirmed. `f` checks the stop between
/// requests itself. Threads and child processes started inside `f` inherit the blocked
/// signals: start none there.
fn shielded<T>(f: impl FnOnce() -> T) -> anyhow::Result<T> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    let mut before = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&signals), Some(&mut before))
        .context("cannot block Ctrl-C in this thread")?;
    let value = f();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None)
        .context("cannot unblock Ctrl-C in this thread")?;
    Ok(value)
}
