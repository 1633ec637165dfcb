//! The producer: `XADD` the messages 1..=`--messages` (pipelined), poison marks included.

use common::{Reporter, Stop};

use crate::broker::Broker;
use crate::cli::Cli;

/// Produces the messages unless Ctrl-C came first; returns how many were produced.
pub fn produce(broker: &mut Broker, cli: &Cli, stop: &Stop, reporter: &Reporter) -> anyhow::Result<u64> {
    let mut produced = 0;
    if !stop.is_set() {
        broker.produce(1, cli.messages, &|n| cli.poison_mark(n))?;
        produced = cli.messages;
    }
    reporter.note(format!("Produced {produced} messages on stream '{}'", cli.stream));
    Ok(produced)
}
