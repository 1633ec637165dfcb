//! Which account each transfer belongs to: `--keys` accounts, drawn `uniform` or `zipf:S` from
//! `--seed`, so a run can be repeated exactly. Under Zipf's law account 1 is the hottest: account
//! k gets a share proportional to 1 / k^S (S = 1.1 on 1,000 accounts gives account 1 about 18%
//! of the transfers).

use std::fmt;

use rand::{Rng as _, SeedableRng as _};
use rand_xoshiro::SplitMix64;

/// How the keys of the jobs are spread over the accounts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Skew {
    /// Every account equally likely.
    Uniform,
    /// Account k with probability ∝ 1 / k^s.
    Zipf(f64),
}

impl fmt::Display for Skew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skew::Uniform => f.write_str("uniform"),
            Skew::Zipf(s) => write!(f, "zipf:{s}"),
        }
    }
}

/// The largest Zipf exponent taken: beyond it nearly every job is account 1's anyway.
const MAX_ZIPF: f64 = 10.0;

/// `--skew`: `uniform`, or `zipf:S` with 0 < S ≤ 10.
pub fn parse_skew(s: &str) -> Result<Skew, String> {
    let s = s.trim();
    if s == "uniform" {
        return Ok(Skew::Uniform);
    }
    let Some(exponent) = s.strip_prefix("zipf:") else {
        return Err(format!(
            "'{s}' is not a skew: write uniform or zipf:S (for example zipf:1.1)"
        ));
    };
    match exponent.parse::<f64>() {
        Ok(e) if e > 0.0 && e <= MAX_ZIPF => Ok(Skew::Zipf(e)),
        _ => Err(format!(
            "the Zipf exponent must be a number above 0 and at most {MAX_ZIPF}, got '{exponent}'"
        )),
    }
}

/// `--keys`: 1 to a million accounts.
pub fn parse_keys(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "keys must be a whole number from 1 to 1000000, got '{s}'"
        )),
    }
}

/// The account of each of `jobs` jobs (index 0 is job 1), accounts 1..=`keys`.
pub fn draw(jobs: u64, keys: u64, skew: Skew, seed: u64) -> Vec<u64> {
    // Its own stream, apart from the one common draws the job values from.
    let mut rng = SplitMix64::seed_from_u64(seed ^ 0x6b65_7973_6b65_7973);
    let unit = |rng: &mut SplitMix64| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    match skew {
        Skew::Uniform => (0..jobs).map(|_| 1 + rng.next_u64() % keys).collect(),
        Skew::Zipf(s) => {
            // The cumulative weights of accounts 1..=keys; a draw is a binary search in them.
            let mut cumulative = Vec::with_capacity(usize::try_from(keys).unwrap_or(0));
            let mut total = 0.0;
            for k in 1..=keys {
                total += (k as f64).powf(-s);
                cumulative.push(total);
            }
            (0..jobs)
                .map(|_| {
                    let target = unit(&mut rng) * total;
                    let index = cumulative.partition_point(|&c| c <= target);
                    (index as u64 + 1).min(keys)
                })
                .collect()
        }
    }
}

/// The shard of `key` among `shards`: a multiplicative hash, so neighbouring accounts spread
/// over the shards (what ants' MultiPool and a Kafka partitioner do with their own hashes).
pub fn shard_of(key: u64, shards: usize) -> usize {
    let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    // `shards` ≥ 1 (clap refuses 0 workers), and the remainder is below it, so it fits a usize.
    usize::try_from(mixed % shards as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skews_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_skew("uniform"), Ok(Skew::Uniform));
        assert_eq!(parse_skew("zipf:1.1"), Ok(Skew::Zipf(1.1)));
        for bad in [
            "zipf:-1", "zipf:0", "zipf:", "zipf:x", "zipf:11", "zipf:NaN", "normal",
        ] {
            assert!(parse_skew(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn draws_stay_in_range_and_repeat_with_the_seed() {
        for skew in [Skew::Uniform, Skew::Zipf(1.1)] {
            let keys = draw(2000, 7, skew, 42);
            assert!(keys.iter().all(|k| (1..=7).contains(k)));
            assert_eq!(keys, draw(2000, 7, skew, 42));
            assert_ne!(keys, draw(2000, 7, skew, 43));
        }
    }

    #[test]
    fn zipf_makes_account_one_the_hottest() {
        let keys = draw(10_000, 1000, Skew::Zipf(1.1), 42);
        let ones = keys.iter().filter(|&&k| k == 1).count();
        // About 18% expected; the bounds are far from it.
        assert!((1200..2400).contains(&ones), "{ones}");
        let uniform = draw(10_000, 1000, Skew::Uniform, 42);
        assert!(uniform.iter().filter(|&&k| k == 1).count() < 50);
    }

    #[test]
    fn shards_cover_every_worker() {
        let mut seen = [false; 8];
        for key in 1..=64 {
            seen[shard_of(key, 8)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(shard_of(5, 1), 0);
    }
}
