//! The `dynamic` strategy's scheduler: one queue per active key and a shared ready-queue of keys
//! (actor mailboxes). A key is on at most one worker at a time; any idle worker takes the next
//! ready key.
//!
//! One mutex guards everything, so the rules hold by construction:
//!
//! - a key is ready (in `ready`, or handed to a parked worker) exactly when it is not running and
//!   has queued jobs, and it becomes ready in one place, [`KeyedQueue::make_ready`];
//! - a key that becomes ready while a worker is parked goes straight to that worker: the key and
//!   its first job are put in the worker's hand-off slot and only that worker is woken. So `ready`
//!   holds keys only while no worker is parked, and a parked worker wakes for a job, never to
//!   find that another worker took it;
//! - [`KeyedQueue::take`] hands out the front job of the front ready key and marks it running,
//!   or parks the caller;
//! - [`KeyedQueue::done`] either hands the caller the key's next job at once (the worker keeps
//!   the key: no wait behind other keys for the key on the critical path), or clears running
//!   and, if more jobs of the key wait, makes the key ready again, behind the other ready keys.
//!
//! No worker idles while a ready key waits: after every change of the state, still under the
//! lock, the queue checks it (a parked worker and a key in `ready` at once) and counts the checks
//! and any breach ([`IdleCheck`]); the example reports both.

use std::collections::{HashMap, VecDeque};
use std::sync::PoisonError;

use crate::sync::{Condvar, Mutex, MutexGuard};

/// One key's mailbox.
#[derive(Debug)]
struct Mailbox<T> {
    jobs: VecDeque<T>,
    running: bool,
}

#[derive(Debug)]
struct State<T> {
    mailboxes: HashMap<u64, Mailbox<T>>,
    /// Keys ready for a worker, oldest first; never holds a key while a worker is parked.
    ready: VecDeque<u64>,
    /// Workers parked in `take` with nothing to do, the most recently parked last.
    parked: Vec<usize>,
    /// Per worker: the key and job handed over while it was parked, until it wakes.
    handed: Vec<Option<(u64, T)>>,
    /// Jobs in every mailbox, not counting the running ones.
    queued: usize,
    closed: bool,
    check: IdleCheck,
}

/// What the queue's own check of "no worker idles while a ready key waits" saw: it looks after
/// every change of the state (a submit, a take, a job done, a hand-off, the close).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdleCheck {
    /// States checked.
    pub checks: u64,
    /// States in which a worker was parked while a key waited in the ready-queue.
    pub idle_while_ready: u64,
}

/// Jobs grouped by key, handed to workers one key at a time.
#[derive(Debug)]
pub struct KeyedQueue<T> {
    state: Mutex<State<T>>,
    /// One per worker: signalled when a key is handed to it, or when the queue closes and empties.
    wake: Vec<Condvar>,
    /// Signalled when a job leaves a mailbox (a blocked `submit` may go on).
    space: Condvar,
    capacity: usize,
}

impl<T> KeyedQueue<T> {
    /// A queue for `workers` workers (numbered from 0) that holds at most `capacity` waiting jobs
    /// over every key (at least 1): a full queue blocks `submit`, as a bounded channel does.
    pub fn new(workers: usize, capacity: usize) -> Self {
        KeyedQueue {
            state: Mutex::new(State {
                mailboxes: HashMap::new(),
                ready: VecDeque::new(),
                parked: Vec::with_capacity(workers),
                handed: (0..workers).map(|_| None).collect(),
                queued: 0,
                closed: false,
                check: IdleCheck::default(),
            }),
            wake: (0..workers).map(|_| Condvar::new()).collect(),
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
            self.make_ready(&mut state, key);
        }
        Self::check(&mut state);
    }

    /// No more jobs will be submitted: workers return `None` once every job has been taken.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        self.release_if_finished(&mut state);
        Self::check(&mut state);
    }

    /// The next job for `worker` (below the `workers` given to [`KeyedQueue::new`]): the front
    /// job of the front ready key, or, if no key is ready, the first key handed to it while it
    /// waits parked. The key is now running on the caller until it calls [`KeyedQueue::done`].
    /// `None` once the queue is closed and empty.
    pub fn take(&self, worker: usize) -> Option<(u64, T)> {
        let mut state = self.lock();
        if let Some(key) = state.ready.pop_front() {
            let job = self.start(&mut state, key);
            Self::check(&mut state);
            return job.map(|job| (key, job));
        }
        if state.closed && state.queued == 0 {
            return None;
        }
        state.parked.push(worker);
        Self::check(&mut state);
        loop {
            state = self.wake[worker]
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(handed) = state.handed[worker].take() {
                return Some(handed); // whoever handed it took the worker off `parked`
            }
            if state.closed && state.queued == 0 {
                state.parked.retain(|w| *w != worker);
                return None;
            }
            // A spurious wake-up: still parked.
        }
    }

    /// The caller's job of `key` is over. With `keep` true and another job of the key waiting,
    /// the caller keeps the key and gets that job at once (no hand-off, no wait behind other
    /// keys); else the key's next job, if any, becomes ready for any worker.
    pub fn done(&self, key: u64, keep: bool) -> Option<T> {
        let mut state = self.lock();
        let mailbox = state.mailboxes.get_mut(&key)?;
        if keep && let Some(job) = mailbox.jobs.pop_front() {
            self.left_mailbox(&mut state);
            Self::check(&mut state);
            return Some(job);
        }
        mailbox.running = false;
        if mailbox.jobs.is_empty() {
            state.mailboxes.remove(&key);
        } else {
            self.make_ready(&mut state, key);
        }
        Self::check(&mut state);
        None
    }

    /// What the queue's check of idle workers and ready keys saw so far.
    pub fn idle_check(&self) -> IdleCheck {
        self.lock().check
    }

    /// `key` (not running, with queued jobs) becomes ready: handed with its first job to the
    /// most recently parked worker, which alone is woken, or else queued behind the ready keys.
    fn make_ready(&self, state: &mut State<T>, key: u64) {
        let Some(worker) = state.parked.pop() else {
            state.ready.push_back(key);
            return;
        };
        match self.start(state, key) {
            Some(job) => {
                state.handed[worker] = Some((key, job));
                self.wake[worker].notify_one();
            }
            None => state.parked.push(worker), // not a ready key after all: nothing to hand
        }
    }

    /// Marks `key` running and takes its front job out of its mailbox.
    fn start(&self, state: &mut State<T>, key: u64) -> Option<T> {
        let mailbox = state.mailboxes.get_mut(&key)?; // a ready key has a mailbox
        let job = mailbox.jobs.pop_front()?; // and a job in it
        mailbox.running = true;
        self.left_mailbox(state);
        Some(job)
    }

    /// A job left its mailbox for a worker: room for a blocked `submit`, and maybe the end.
    fn left_mailbox(&self, state: &mut State<T>) {
        state.queued -= 1;
        self.space.notify_one();
        self.release_if_finished(state);
    }

    /// Once the queue is closed and empty, no job will come for a parked worker: wake them all.
    fn release_if_finished(&self, state: &mut State<T>) {
        if state.closed && state.queued == 0 {
            for worker in state.parked.drain(..) {
                self.wake[worker].notify_one();
            }
        }
    }

    /// The check, on the state as every operation leaves it: a worker parked while a key is in
    /// the ready-queue is a worker idling while a ready key waits.
    fn check(state: &mut State<T>) {
        state.check.checks += 1;
        if !state.parked.is_empty() && !state.ready.is_empty() {
            state.check.idle_while_ready += 1;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    #[test]
    fn one_key_at_a_time_in_submission_order() {
        let queue = KeyedQueue::new(1, 2);
        queue.submit(1, "1a");
        queue.submit(1, "1b");
        // Both jobs of key 1 wait; only one is ready.
        let taken = queue.take(0);
        assert_eq!(taken, Some((1, "1a")));
        // Key 2 fits now that 1a left the queue, and is ready while key 1 runs.
        queue.submit(2, "2a");
        assert_eq!(queue.take(0), Some((2, "2a")));
        assert_eq!(queue.done(1, false), None);
        assert_eq!(queue.take(0), Some((1, "1b")));
        assert_eq!(queue.done(2, true), None); // nothing more of key 2
        queue.submit(1, "1c");
        assert_eq!(queue.done(1, true), Some("1c")); // kept: key 1 stays on this worker
        assert_eq!(queue.done(1, true), None);
        queue.close();
        assert_eq!(queue.take(0), None);
        let check = queue.idle_check();
        assert_eq!(check.idle_while_ready, 0);
        assert_eq!(check.checks, 12, "one check per operation that ran: {check:?}");
    }

    #[test]
    fn a_key_that_becomes_ready_goes_to_the_parked_worker() {
        let queue = Arc::new(KeyedQueue::new(2, 4));
        queue.submit(7, "7a");
        queue.submit(7, "7b");
        assert_eq!(queue.take(0), Some((7, "7a")));
        // Worker 1 finds nothing ready and parks; key 7's next job is handed to it when worker 0
        // gives the key up.
        let parked = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.take(1))
        };
        while queue.lock().parked.is_empty() {
            std::thread::yield_now();
        }
        assert_eq!(queue.done(7, false), None);
        assert_eq!(parked.join().expect("no panic"), Some((7, "7b")));
        assert!(queue.lock().ready.is_empty(), "handed over, never queued");
        assert_eq!(queue.done(7, true), None);
        queue.close();
        assert_eq!(queue.take(0), None);
        assert_eq!(queue.idle_check().idle_while_ready, 0);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // thousands of lock hand-offs: minutes under Miri
    fn threads_keep_per_key_order_and_never_overlap_a_key() {
        const KEYS: u64 = 5;
        let queue = Arc::new(KeyedQueue::new(4, 8));
        let busy: Arc<Vec<AtomicBool>> = Arc::new((0..KEYS).map(|_| AtomicBool::new(false)).collect());
        let seen = Arc::new(Mutex::new(vec![Vec::new(); KEYS as usize]));
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let (queue, busy, seen) = (Arc::clone(&queue), Arc::clone(&busy), Arc::clone(&seen));
                std::thread::spawn(move || {
                    while let Some((key, first)) = queue.take(worker) {
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
        let check = queue.idle_check();
        assert_eq!(check.idle_while_ready, 0, "{check:?}");
        assert!(check.checks >= 2000 * 2, "{check:?}");
    }
}
