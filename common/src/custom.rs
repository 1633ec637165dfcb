//! # Your own job: write it here
//!
//! `--workload custom` makes every simulated-job example (basic, waitgroup, struct-pool, ...)
//! run [`job`] for each job instead of a sleep, so `cargo xtask compare --workload custom` puts
//! every pool design side by side on *your* work. The steps are in `docs/compare.md`:
//!
//! 1. Replace the body of [`job`] with your work (and [`DOCUMENT`] with your input, if any).
//! 2. `cargo test -p basic --test custom_workload`: the runs check every output against `job`.
//! 3. `cargo xtask compare --workload custom` (add `--jobs N`: the default is 2,000 jobs).
//!
//! The contract: `job` is called on a worker thread (async-pool: on tokio's blocking pool) with
//! the job's value (0..100, drawn from `--seed`); it must be deterministic in that value, since
//! the tests recompute it to check each output (invariant I3); an `Err` is the job's failure,
//! reported, not dropped. `--fail-every` still applies on top.
//!
//! The job shipped here is a small real one: parse a JSON price list and price an order of it.

use serde::Deserialize;

/// The input the shipped job parses on every call: a price list (`common/src/custom.json`).
pub const DOCUMENT: &str = include_str!("custom.json");

#[derive(Debug, Deserialize)]
struct PriceList {
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    price_cents: u64,
    discount_pct: u64,
}

/// The custom job: parses [`DOCUMENT`] and prices an order picked by `value`: item
/// `value % items`, quantity `value / items + 1`, the item's discount applied (rounded down).
/// Returns the order's total in cents.
pub fn job(value: u64) -> Result<u64, String> {
    let list: PriceList =
        serde_json::from_str(DOCUMENT).map_err(|e| format!("custom job: bad price list: {e}"))?;
    let count = list.items.len() as u64;
    let index = usize::try_from(value % count.max(1)).map_err(|e| e.to_string())?;
    let item = list
        .items
        .get(index)
        .ok_or_else(|| "custom job: the price list is empty".to_owned())?;
    let quantity = value / count + 1;
    let gross = item.price_cents.saturating_mul(quantity);
    Ok(gross - gross.saturating_mul(item.discount_pct.min(100)) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_an_order_deterministically() {
        // value 3: item 3 (hinge, 349 cents, 5% off), quantity 1: 349 - 17 = 332.
        assert_eq!(job(3), Ok(332));
        // value 16: item 5 (rail-1m, 1299, 15% off), quantity 2: 2598 - 389 = 2209.
        assert_eq!(job(16), Ok(2209));
        for value in 0..100 {
            assert_eq!(job(value), job(value));
        }
    }
}
