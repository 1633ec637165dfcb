//! The producer: `XADD` the messages 1..=`--messages` (pipelined), poison marks included.

use common::{Reporter, Stop};

use crate::broker::Broker;
use crate::cli::Cli;

/// Produces the messages, stopping between chunks at Ctrl-C; returns how many were produced.
pub fn produce(broker: &mut Broker, cli: &Cli, stop: &Stop, reporter: &Reporter) -> anyhow::Result<u64> {
    // Shielded: a Ctrl-C cannot cut a chunk's reply short (EINTR), so every chunk is either
    // confirmed and counted or never sent; the stop is checked between chunks.
    let produced =
        common::signal::shielded(|| broker.produce(1, cli.messages, &|n| cli.poison_mark(n), stop))??;
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
