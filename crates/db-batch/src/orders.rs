//! The data: deterministic order records drawn from `--seed`, cut into batches.
//!
//! Row ids run 1..=rows and batch ids 1..=ceil(rows / batch_size); batch `b` holds rows
//! `(b-1)*batch_size + 1 ..= min(b*batch_size, rows)`. The same seed gives the same rows, so a
//! second run on the same database file finds every row already there.

use common::Job;
use rand::{RngExt, SeedableRng, rngs::StdRng};

/// One order, as stored in the `orders` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub customer: String,
    /// Money in whole cents (an integer: no floating-point rounding in a ledger).
    pub amount_cents: i64,
    /// Seconds since the Unix epoch (`datetime(created_at, 'unixepoch')` in the sqlite3 shell).
    pub created_at: i64,
}

/// One job for the pool: a run of consecutive rows to insert in one transaction.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: u64,
    pub rows: Vec<Order>,
}

impl Batch {
    /// The batch as a job: its id, and its row count as the job's value.
    pub fn job(&self) -> Job {
        Job {
            id: self.id,
            value: self.rows.len() as u64,
        }
    }
}

/// The first second of 2024 (UTC) as a Unix time: the generated orders fall in the year after it.
const EPOCH_2024: i64 = 1_704_067_200;
const YEAR_SECONDS: i64 = 365 * 24 * 3600;

/// The rows to generate and how to cut them.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rows: u64,
    pub batch_size: u64,
    pub seed: u64,
    /// Row ids made to violate the `amount_cents >= 0` constraint (`--bad-rows`), sorted.
    pub bad: Vec<u64>,
}

impl Plan {
    /// `bad_rows` rows (at most `rows`) are spread evenly over the ids.
    pub fn new(rows: u64, batch_size: u64, seed: u64, bad_rows: u64) -> Self {
        debug_assert!(batch_size > 0 && bad_rows <= rows);
        // Row j of k sits in the middle of the j-th k-th of the ids: distinct as long as k <= rows.
        let bad = (0..bad_rows)
            .map(|j| ((2 * j + 1) * rows) / (2 * bad_rows) + 1)
            .collect();
        Plan {
            rows,
            batch_size,
            seed,
            bad,
        }
    }

    /// The number of batches (jobs): ceil(rows / batch_size).
    pub fn batches(&self) -> u64 {
        self.rows.div_ceil(self.batch_size)
    }

    /// How many rows batch `id` holds (the last one may be short).
    pub fn batch_len(&self, id: u64) -> u64 {
        let first = (id - 1) * self.batch_size;
        self.rows.saturating_sub(first).min(self.batch_size)
    }

    /// Batch `id` as a job (for a batch that never started: its rows were not generated).
    pub fn job(&self, id: u64) -> Job {
        Job {
            id,
            value: self.batch_len(id),
        }
    }

    /// Every batch, in order, generated lazily (the producer thread drives this).
    pub fn generate(&self) -> impl Iterator<Item = Batch> + use<> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let plan = self.clone();
        (1..=plan.batches()).map(move |id| {
            let first = (id - 1) * plan.batch_size + 1;
            let rows = (first..first + plan.batch_len(id))
                .map(|row| plan.order(row, &mut rng))
                .collect();
            Batch { id, rows }
        })
    }

    /// Every row in one vector (for `--mode single-tx`).
    pub fn all_rows(&self) -> Vec<Order> {
        self.generate().flat_map(|b| b.rows).collect()
    }

    fn order(&self, row: u64, rng: &mut StdRng) -> Order {
        let amount: i64 = rng.random_range(100..1_000_000);
        let customer = rng.random_range(1..=5_000u32);
        let offset: i64 = rng.random_range(0..YEAR_SECONDS);
        Order {
            // Row ids are at most --rows, which the command line caps far below i64::MAX.
            id: i64::try_from(row).unwrap_or(i64::MAX),
            customer: format!("customer-{customer:04}"),
            amount_cents: if self.bad.binary_search(&row).is_ok() {
                -amount
            } else {
                amount
            },
            created_at: EPOCH_2024 + offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_row_once() {
        let plan = Plan::new(2_501, 1_000, 7, 0);
        let batches: Vec<Batch> = plan.generate().collect();
        assert_eq!(plan.batches(), 3);
        assert_eq!(
            batches.iter().map(|b| b.rows.len()).collect::<Vec<_>>(),
            [1_000, 1_000, 501]
        );
        assert_eq!(plan.batch_len(3), 501);
        let ids: Vec<i64> = batches.iter().flat_map(|b| b.rows.iter().map(|o| o.id)).collect();
        assert_eq!(ids, (1..=2_501).collect::<Vec<i64>>());
    }

    #[test]
    fn same_seed_same_rows() {
        let a = Plan::new(300, 7, 42, 0).all_rows();
        assert_eq!(a, Plan::new(300, 7, 42, 0).all_rows());
        // The batch size does not change the data, only how it is cut.
        assert_eq!(a, Plan::new(300, 300, 42, 0).all_rows());
        assert_ne!(a, Plan::new(300, 7, 43, 0).all_rows());
    }

    #[test]
    fn bad_rows_are_distinct_and_negative() {
        for (rows, k) in [(5_000, 3), (10, 10), (1, 1), (7, 3)] {
            let plan = Plan::new(rows, 4, 1, k);
            let bad: Vec<i64> = plan
                .all_rows()
                .into_iter()
                .filter(|o| o.amount_cents < 0)
                .map(|o| o.id)
                .collect();
            assert_eq!(bad.len() as u64, k, "rows {rows}, k {k}");
            assert!(bad.iter().all(|id| (1..=rows as i64).contains(id)));
        }
        assert_eq!(Plan::new(5_000, 10, 1, 3).bad, [834, 2_501, 4_167]);
    }

    #[test]
    fn zero_rows_zero_batches() {
        let plan = Plan::new(0, 10, 1, 0);
        assert_eq!(plan.batches(), 0);
        assert_eq!(plan.generate().count(), 0);
    }
}
