//! The `dynamic` strategy's scheduler: one queue per active key and a shared ready-queue of keys
//! (actor mailboxes). A key is on at most one worker at a time; any idle worker takes the next
//! ready key.
//!
//! One mutex guards everything, so the rules hold by construction:
//!
//! - a key is in `ready` exactly when it is not running and has queued jobs;
//! - [`KeyedQueue::take`] hands out the front job of the front ready key and marks it running;
//! - [`KeyedQueue::done`] either hands the caller the key's next job at once (the worker keeps
//!   the key: no wait behind other keys for the key on the critical path), or clears running
//!   and, if more jobs of the key wait, puts the key at the back of `ready` (so a key with a long
//!   backlog takes turns with the others instead of holding a worker for ever).
//!
//! A worker waits only while `ready` is empty: no worker idles while a ready key waits.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// One key's mailbox.
#[derive(Debug)]
struct Mailbox<T> {
    jobs: VecDeque<T>,
    running: bool,
}

#[derive(Debug)]
struct State<T> {
    mailboxes: HashMap<u64, Mailbox<T>>,
    ready: VecDeque<u64>,
    /// Jobs in every mailbox, not counting the running ones.
    queued: usize,
    closed: bool,
}

/// Jobs grouped by key, handed to workers one key at a time.
#[derive(Debug)]
pub struct KeyedQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when a key becomes ready, or the queue closes and empties.
    work: Condvar,
    /// Signalled when a job leaves a mailbox (a blocked `submit` may go on).
    space: Condvar,
    capacity: usize,
}

impl<T> KeyedQueue<T> {
    /// A queue that holds at most `capacity` waiting jobs over every key (at least 1): a full
    /// queue blocks `submit`, as a bounded channel does.
    pub fn new(capacity: usize) -> Self {
        KeyedQueue {
            state: Mutex::new(State {
                mailboxes: HashMap::new(),
                ready: VecDeque::new(),
                queued: 0,
                closed: false,
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No code panics while holding the lock; if one did, the state is still consistent
        // (every change under it is a few infallible steps).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` behind the earlier jobs of `key`, waiting while the queue is full.
    pub fn submit(&self, key: u64, job: T) {
        let mut state = self.lock();
        while state.queued >= self.capacity {
            state = self.space.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        let mailbox = state.mailboxes.entry(key).or_insert_with(|| Mailbox {
            jobs: VecDeque::new(),
            running: false,
        });
        let was_idle = !mailbox.running && mailbox.jobs.is_empty();
        mailbox.jobs.push_back(job);
        state.queued += 1;
        if was_idle {
            state.ready.push_back(key);
            self.work.notify_one();
        }
    }

    /// No more jobs will be submitted: workers return `None` once every job has been taken.
    pub fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }

    /// The next job of the next ready key, which is now running on the caller until it calls
    /// [`KeyedQueue::done`]; `None` once the queue is closed and empty.
    pub fn take(&self) -> Option<(u64, T)> {
        let mut state = self.lock();
        loop {
            if let Some(key) = state.ready.pop_front() {
                let mailbox = state.mailboxes.get_mut(&key)?; // a ready key has a mailbox
                let job = mailbox.jobs.pop_front()?; // and a job in it
                mailbox.running = true;
                state.queued -= 1;
                self.space.notify_one();
                if state.closed && state.queued == 0 {
                    self.work.notify_all(); // the idle workers can leave
                }
                return Some((key, job));
            }
            if state.closed && state.queued == 0 {
                return None;
            }
            state = self.work.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The caller's job of `key` is over. With `keep` true and another job of the key waiting,
    /// the caller keeps the key and gets that job at once (no hand-off, no wait behind other
    /// keys); else the key's next job, if any, becomes ready for any worker.
    pub fn done(&self, key: u64, keep: bool) -> Option<T> {
        let mut state = self.lock();
        let mailbox = state.mailboxes.get_mut(&key)?;
        if keep && let Some(job) = mailbox.jobs.pop_front() {
            state.queued -= 1;
            self.space.notify_one();
            if state.closed && state.queued == 0 {
                self.work.notify_all();
            }
            return Some(job);
        }
        mailbox.running = false;
        if mailbox.jobs.is_empty() {
            state.mailboxes.remove(&key);
        } else {
            state.ready.push_back(key);
            self.work.notify_one();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    #[test]
    fn one_key_at_a_time_in_submission_order() {
        let queue = KeyedQueue::new(2);
        queue.submit(1, "1a");
        queue.submit(1, "1b");
        // Both jobs of key 1 wait; only one is ready.
        let taken = queue.take();
        assert_eq!(taken, Some((1, "1a")));
        // Key 2 fits now that 1a left the queue, and is ready while key 1 runs.
        queue.submit(2, "2a");
        assert_eq!(queue.take(), Some((2, "2a")));
        assert_eq!(queue.done(1, false), None);
        assert_eq!(queue.take(), Some((1, "1b")));
        assert_eq!(queue.done(2, true), None); // nothing more of key 2
        queue.submit(1, "1c");
        assert_eq!(queue.done(1, true), Some("1c")); // kept: key 1 stays on this worker
        assert_eq!(queue.done(1, true), None);
        queue.close();
        assert_eq!(queue.take(), None);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // thousands of lock hand-offs: minutes under Miri
    fn threads_keep_per_key_order_and_never_overlap_a_key() {
        const KEYS: u64 = 5;
        let queue = Arc::new(KeyedQueue::new(8));
        let busy: Arc<Vec<AtomicBool>> = Arc::new((0..KEYS).map(|_| AtomicBool::new(false)).collect());
        let seen = Arc::new(Mutex::new(vec![Vec::new(); KEYS as usize]));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (queue, busy, seen) = (Arc::clone(&queue), Arc::clone(&busy), Arc::clone(&seen));
                std::thread::spawn(move || {
                    while let Some((key, first)) = queue.take() {
                        let (mut next, mut turn) = (Some(first), 0);
                        while let Some(id) = next {
                            let slot = &busy[key as usize];
                            assert!(!slot.swap(true, Ordering::SeqCst), "key {key} on two workers");
                            seen.lock().expect("not poisoned")[key as usize].push(id);
                            std::thread::yield_now();
                            slot.store(false, Ordering::SeqCst);
                            turn += 1;
                            next = queue.done(key, turn % 3 != 0);
                        }
                    }
                })
            })
            .collect();
        for id in 0..2000u64 {
            queue.submit(id * 7 % KEYS, id);
        }
        queue.close();
        for w in workers {
            w.join().expect("a worker panicked");
        }
        let seen = seen.lock().expect("not poisoned");
        for (key, ids) in seen.iter().enumerate() {
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "key {key} out of order");
            assert_eq!(ids.len(), 400);
        }
    }
}
