//! A hasher for tokio task ids, for joinset's map of running tasks.

use std::hash::Hasher;

/// Task ids come from a counter, not from input, so nobody can choose them to collide: one
/// multiply spreads them over the table, where the default SipHash was most of the map's cost.
#[derive(Debug, Default)]
pub struct IdHasher(u64);

/// 2^64 divided by the golden ratio (odd): multiplying by it spreads consecutive ids.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(SPREAD);
        }
    }

    // A task id hashes as one u64.
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(SPREAD);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
