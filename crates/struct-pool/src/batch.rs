//! Batches: for tiny jobs the per-job channel operations dominate, so `submit_batch` sends a `Vec`
//! of jobs as one message; the worker that takes it runs them one by one (each panic still fails
//! only its own job) and sends their results back as one message too. `results()` hands them out
//! one by one either way, with consecutive submission numbers for the jobs of a batch.
//!
//! So the job queue carries a [`Task`] (one job, or a batch) and the results queue a [`Done`].

use std::ops::Range;

use crate::sync::channel::Receiver;
use crate::{Completed, Panicked, SubmitError, WorkerPool};

/// One message on the job queue: a single job, or a batch whose jobs are numbered `first..`.
pub(crate) enum Task<J> {
    One { seq: u64, job: J },
    Batch { first: u64, jobs: Vec<J> },
}

/// One message on the results queue: the result of a single job, or of a whole batch.
pub(crate) enum Done<J, R> {
    One(Completed<J, R>),
    Batch(Vec<Completed<J, R>>),
}

impl<J: Send + 'static, R: Send + 'static> WorkerPool<J, R> {
    /// Queues `jobs` as one message, blocking while the queue is full, and returns their
    /// submission numbers (consecutive, in the `Vec`'s order). One worker runs the whole batch and
    /// sends its results back as one message, so a batch costs one channel operation at each end
    /// instead of one per job. An empty `Vec` queues nothing. Gives the jobs back if the pool is
    /// closed.
    ///
    /// ```
    /// use struct_pool::WorkerPool;
    ///
    /// let pool = WorkerPool::new(2, 4, |_worker, &n: &u64| n * 2).expect("threads start");
    /// assert_eq!(pool.submit_batch((0..100).collect()).expect("the pool is open"), 0..100);
    /// assert_eq!(pool.submit(100).expect("the pool is open"), 100);
    /// let mut outputs: Vec<u64> = pool.join().into_iter().filter_map(|done| done.result.ok()).collect();
    /// outputs.sort();
    /// assert_eq!(outputs, (0..=100).map(|n| n * 2).collect::<Vec<_>>());
    /// ```
    pub fn submit_batch(&self, jobs: Vec<J>) -> Result<Range<u64>, SubmitError<Vec<J>>> {
        if jobs.is_empty() {
            return match self.jobs.next_seq() {
                Some(next) => Ok(next..next),
                None => Err(SubmitError::Closed(jobs)),
            };
        }
        let count = jobs.len() as u64;
        self.jobs
            .send(count, |first| Task::Batch { first, jobs })
            .map(|first| first..first + count)
            .map_err(|task| SubmitError::Closed(task.into_jobs()))
    }
}

impl<J> Task<J> {
    /// Runs the message's job or jobs on worker `worker` with `run` (which catches a panic), and
    /// returns the message for the results queue.
    pub(crate) fn run<R>(self, worker: usize, run: impl Fn(&J) -> Result<R, Box<Panicked>>) -> Done<J, R> {
        match self {
            Task::One { seq, job } => Done::One(Completed {
                seq,
                worker,
                result: run(&job),
                job,
            }),
            Task::Batch { first, jobs } => Done::Batch(
                (first..)
                    .zip(jobs)
                    .map(|(seq, job)| Completed {
                        seq,
                        worker,
                        result: run(&job),
                        job,
                    })
                    .collect(),
            ),
        }
    }

    /// The job of a message sent by `submit`/`try_submit` (which only send `Task::One`).
    pub(crate) fn into_one(self) -> J {
        match self {
            Task::One { job, .. } => job,
            // Cannot happen: a send error hands back the very message that was sent.
            Task::Batch { .. } => unreachable!("submit and try_submit only send Task::One"),
        }
    }

    /// The jobs of a message sent by `submit_batch`.
    fn into_jobs(self) -> Vec<J> {
        match self {
            Task::One { job, .. } => vec![job],
            Task::Batch { jobs, .. } => jobs,
        }
    }
}

/// The results queue, one result at a time: a single job's result as it comes, a batch's one by
/// one. (A plain loop rather than `flat_map`: the reader pays this per job.)
pub(crate) struct Results<'a, J, R> {
    rx: &'a Receiver<Done<J, R>>,
    /// What is left of the batch being handed out.
    batch: std::vec::IntoIter<Completed<J, R>>,
}

impl<'a, J, R> Results<'a, J, R> {
    pub(crate) fn new(rx: &'a Receiver<Done<J, R>>) -> Self {
        Results {
            rx,
            batch: Vec::new().into_iter(),
        }
    }
}

impl<J, R> Iterator for Results<'_, J, R> {
    type Item = Completed<J, R>;

    fn next(&mut self) -> Option<Completed<J, R>> {
        loop {
            if let Some(done) = self.batch.next() {
                return Some(done);
            }
            match self.rx.recv().ok()? {
                Done::One(done) => return Some(done),
                Done::Batch(batch) => self.batch = batch.into_iter(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{SubmitError, WorkerPool};

    #[test]
    fn batches_are_numbered_in_order_and_every_job_runs_once() {
        let pool = WorkerPool::new(3, 2, |worker, &n: &u64| (worker, n * 2)).expect("start");
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(pool.submit(1000).expect("open"), 0);
                assert_eq!(pool.submit_batch((0..10).collect()).expect("open"), 1..11);
                assert_eq!(pool.submit_batch(Vec::new()).expect("open"), 11..11);
                for chunk in 0..50u64 {
                    let first = 11 + chunk * 7;
                    let jobs: Vec<u64> = (0..7).map(|k| 100 + chunk * 7 + k).collect();
                    assert_eq!(pool.submit_batch(jobs).expect("open"), first..first + 7);
                }
                assert_eq!(pool.submit(2000).expect("open"), 361);
                pool.close();
            });
            let mut seen: Vec<(u64, u64)> = Vec::new();
            for done in pool.results() {
                let (worker, output) = done.result.expect("no job panics");
                assert_eq!(worker, done.worker);
                assert!((1..=3).contains(&worker));
                seen.push((done.seq, output));
            }
            seen.sort_unstable();
            let seqs: Vec<u64> = seen.iter().map(|&(seq, _)| seq).collect();
            assert_eq!(seqs, (0..362).collect::<Vec<_>>(), "each job exactly once");
            assert_eq!(seen[0].1, 2000);
            assert_eq!(seen[1].1, 0);
            assert_eq!(seen[11].1, 200);
            assert_eq!(seen[361].1, 4000);
        });
        assert!(pool.join().is_empty());
    }

    #[test]
    fn a_panic_inside_a_batch_fails_only_its_job() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let pool = WorkerPool::new(1, 1, |_, &n: &u32| {
            assert!(n % 4 != 3, "job {n} exploded");
            n
        })
        .expect("start");
        pool.submit_batch((0..8).collect()).expect("open");
        let results = pool.join();
        std::panic::set_hook(previous);
        let failed: Vec<u64> = results
            .iter()
            .filter(|c| c.result.is_err())
            .map(|c| c.seq)
            .collect();
        assert_eq!(failed, [3, 7]);
        assert_eq!(results.iter().filter(|c| c.result.is_ok()).count(), 6);
    }

    #[test]
    fn submit_batch_after_close_gives_the_jobs_back() {
        let pool = WorkerPool::new(1, 1, |_, &n: &u8| n).expect("start");
        pool.close();
        assert_eq!(
            pool.submit_batch(vec![1, 2, 3]),
            Err(SubmitError::Closed(vec![1, 2, 3]))
        );
        assert!(pool.join().is_empty());
    }

    #[test]
    fn dropping_with_unread_batches_joins_every_thread() {
        let witness = Arc::new(());
        {
            let witness = Arc::clone(&witness);
            let pool = WorkerPool::new(2, 1, move |_, &n: &u64| {
                let _keep = &witness;
                n
            })
            .expect("start");
            // More batches than both queues hold: Drop must drain results for workers to finish.
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..3 {
                        pool.submit_batch((0..100).collect()).expect("open");
                    }
                });
            });
        }
        assert_eq!(Arc::strong_count(&witness), 1);
    }
}
