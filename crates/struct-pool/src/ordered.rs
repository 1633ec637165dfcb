//! Results in submission order (`--ordered` in `main.rs`): a reorder buffer keyed by `seq` holds
//! each result that completes before an earlier one, until the earlier ones have come out.

use std::collections::BTreeMap;

use crate::{Completed, WorkerPool};

impl<J: Send + 'static, R: Send + 'static> WorkerPool<J, R> {
    /// Results in submission order, held back in a reorder buffer until their turn comes.
    pub fn ordered_results(&self) -> Ordered<impl Iterator<Item = Completed<J, R>> + '_, J, R> {
        Ordered::new(self.results())
    }
}

/// Puts completed jobs back into submission order (a reorder buffer keyed by `seq`).
pub struct Ordered<I, J, R> {
    inner: I,
    next: u64,
    held: BTreeMap<u64, Completed<J, R>>,
}

impl<I: Iterator<Item = Completed<J, R>>, J, R> Ordered<I, J, R> {
    pub fn new(inner: I) -> Self {
        Ordered {
            inner,
            next: 0,
            held: BTreeMap::new(),
        }
    }

    /// How many results are waiting for an earlier one.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

impl<I: Iterator<Item = Completed<J, R>>, J, R> Iterator for Ordered<I, J, R> {
    type Item = Completed<J, R>;

    fn next(&mut self) -> Option<Completed<J, R>> {
        loop {
            if let Some(done) = self.held.remove(&self.next) {
                self.next += 1;
                return Some(done);
            }
            match self.inner.next() {
                Some(done) => {
                    self.held.insert(done.seq, done);
                }
                // The source is exhausted: whatever is held (only if numbers were skipped) comes
                // out in order rather than being lost.
                None => return self.held.pop_first().map(|(_, done)| done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Ordered;
    use crate::{Completed, WorkerPool};

    #[test]
    fn ordered_results_come_in_submission_order() {
        let pool = WorkerPool::new(4, 64, |_, &n: &u64| {
            // Later jobs finish sooner, so completion order is scrambled.
            std::thread::sleep(Duration::from_millis(20 - n));
            n
        })
        .expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                for n in 0..20 {
                    pool.submit(n).expect("open");
                }
                pool.close();
            });
            let order: Vec<u64> = pool.ordered_results().map(|c| c.seq).collect();
            assert_eq!(order, (0..20).collect::<Vec<_>>());
        });
    }

    #[test]
    fn ordered_results_work_across_batches() {
        let pool = WorkerPool::new(4, 8, |_, &n: &u64| {
            std::thread::sleep(Duration::from_millis(n % 3));
            n
        })
        .expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                for chunk in 0..20u64 {
                    pool.submit_batch((chunk * 5..chunk * 5 + 5).collect())
                        .expect("open");
                }
                pool.close();
            });
            let order: Vec<(u64, u64)> = pool
                .ordered_results()
                .map(|c| (c.seq, c.result.unwrap_or(u64::MAX)))
                .collect();
            assert_eq!(order, (0..100).map(|n| (n, n)).collect::<Vec<_>>());
        });
    }

    #[test]
    fn the_reorder_buffer_flushes_what_it_holds() {
        let done = |seq| Completed {
            job: (),
            seq,
            worker: 1,
            result: Ok(seq),
        };
        let order: Vec<u64> = Ordered::new([done(2), done(0), done(3)].into_iter())
            .map(|c| c.seq)
            .collect();
        assert_eq!(order, [0, 2, 3]);
    }
}
