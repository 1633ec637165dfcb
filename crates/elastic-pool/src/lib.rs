//! elastic-pool's pool (`pool.rs`, a library so that the loom model in `tests/loom.rs` can drive
//! it) and its own event kinds (docs/events.md), typed here so that the binary prints them and
//! its tests read them back. The lesson is in `main.rs` and `pool.rs`.

pub mod pool;
mod sync;

use common::event::ExampleEvent;
use serde::{Deserialize, Serialize};

/// `worker_spawned`: a worker thread started, at start-up (`reason`: `start`, up to `--min`),
/// because a submit found no idle worker (`grow`), or by a `--resize-at` (`resize`: up to the new
/// min, or for a waiting job). `workers` is the live count after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSpawned {
    pub worker: usize,
    pub reason: String,
    pub workers: usize,
    pub t_ms: f64,
}

impl ExampleEvent for WorkerSpawned {
    const KIND: &'static str = "worker_spawned";
}

/// `worker_retired`: a worker thread left, idle for `--keep-alive-ms` while more than `--min`
/// were alive (`reason`: `idle`), over a smaller max set by `--resize-at` (`resize`), or because
/// the pool closed (`closed`). `workers` is the live count after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRetired {
    pub worker: usize,
    pub reason: String,
    pub workers: usize,
    pub t_ms: f64,
}

impl ExampleEvent for WorkerRetired {
    const KIND: &'static str = "worker_retired";
}

/// `burst`: with `--arrivals bursts`, burst number `burst` (from 1) of `jobs` jobs begins;
/// `workers` is the live worker count at that instant (after an idle gap: `--min`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Burst {
    pub burst: u64,
    pub jobs: u64,
    pub workers: usize,
    pub t_ms: f64,
}

impl ExampleEvent for Burst {
    const KIND: &'static str = "burst";
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::event::check_samples;

    #[test]
    fn docs_samples_match_the_types() {
        let doc = include_str!("../../../docs/events.md");
        assert_eq!(check_samples::<WorkerSpawned>(doc), Ok(2));
        assert_eq!(check_samples::<WorkerRetired>(doc), Ok(2));
        assert_eq!(check_samples::<Burst>(doc), Ok(1));
    }
}
