//! The job queue's sending end: numbers each message in queue order, and takes turns for the
//! queue's slots so that a submitter waiting for one holds no lock.
//!
//! The simple way, a lock held around "take the next number, `send`", keeps numbers in queue
//! order but makes a `submit` blocked on a full queue hold the lock: `try_submit` and `close` on
//! other threads would wait behind it, and a reader that closes the pool while a submitter waits
//! would deadlock. Here the lock is held only for a `try_send`, as cheap as a plain `send` when
//! there is room. A submitter that finds the queue full keeps its number, takes the turn
//! (`sending`) and waits *outside* the lock, selecting on the queue and on the `closed` token
//! that `close` disconnects. Until it is done, other submitters wait for their turn (on a
//! condvar, also without the lock) and `try_send` answers `Full`, so nobody overtakes the
//! numbered message.

use std::sync::PoisonError;

use crate::sync::channel::{self, Backoff, Receiver, Sender, TrySendError};
use crate::sync::{Condvar, Mutex, MutexGuard};

/// The sending end and the next number, under one lock so that numbers follow queue order even
/// with several submitting threads.
struct Queue<M> {
    /// `None` once closed: dropping the only `Sender` closes the queue (Go's `close(jobs)`).
    tx: Option<Sender<M>>,
    next_seq: u64,
    /// A submitter found the queue full and waits, outside the lock, to send the message it has
    /// already numbered. Until it is done nobody else sends, so numbers still follow queue order.
    sending: bool,
    /// Submitters waiting for that one to finish (on `Slots::turn`).
    queued: usize,
    /// Dropped by `close`: wakes that waiting submitter (nothing is ever sent on it).
    closing: Option<Sender<()>>,
}

/// A bounded queue's numbered, turn-taking sending end (see the module's docs).
pub(crate) struct Slots<M> {
    queue: Mutex<Queue<M>>,
    /// Notified when `sending` ends or the queue closes: wakes submitters waiting for their turn.
    turn: Condvar,
    /// Ready (disconnected) once the queue is closed: a blocked submitter selects on it.
    closed: Receiver<()>,
    /// Submitters blocked on a full queue (tests use it to know a `submit` is blocked).
    #[cfg(test)]
    waiting: std::sync::atomic::AtomicUsize,
}

impl<M> Slots<M> {
    /// Takes over `tx`, the queue's only `Sender`; numbers start at 0.
    pub(crate) fn new(tx: Sender<M>) -> Self {
        let (closing, closed) = channel::bounded::<()>(0);
        Slots {
            queue: Mutex::new(Queue {
                tx: Some(tx),
                next_seq: 0,
                sending: false,
                queued: 0,
                closing: Some(closing),
            }),
            turn: Condvar::new(),
            closed,
            #[cfg(test)]
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue<M>> {
        // Nothing panics while holding the lock, so a poisoned lock still holds a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers and queues one message that takes `count` numbers, waiting while the queue is full,
    /// and returns its first number; gives the message back if the queue is closed (also while it
    /// waits).
    ///
    /// The fast path takes the lock, numbers the message and `try_send`s it: one uncontended lock
    /// and one channel operation. On a full queue the submitter keeps its numbers, marks the queue
    /// `sending`, and waits outside the lock for room or for `close`.
    pub(crate) fn send(&self, count: u64, make: impl FnOnce(u64) -> M) -> Result<u64, M> {
        let mut queue = self.queue();
        while queue.sending && queue.tx.is_some() {
            queue.queued += 1;
            queue = self.turn.wait(queue).unwrap_or_else(PoisonError::into_inner);
            queue.queued -= 1;
        }
        let first = queue.next_seq;
        let message = make(first);
        let Some(tx) = &queue.tx else {
            return Err(message);
        };
        let message = match tx.try_send(message) {
            Ok(()) => {
                queue.next_seq += count;
                return Ok(first);
            }
            // Every worker is gone (they exit only once the queue is closed).
            Err(TrySendError::Disconnected(message)) => return Err(message),
            Err(TrySendError::Full(message)) => message,
        };
        let tx = tx.clone();
        queue.sending = true;
        queue.next_seq += count;
        drop(queue);
        let sent = self.send_when_room(&tx, message);
        drop(tx); // a closed queue ends only once every `Sender` is gone
        let mut queue = self.queue();
        queue.sending = false;
        if sent.is_err() {
            // Nobody took a number meanwhile (they waited for this turn), so give them back.
            queue.next_seq -= count;
        }
        // (A notify is a system call even with nobody waiting: skip it then.)
        if queue.queued > 0 {
            self.turn.notify_all();
        }
        drop(queue);
        sent.map(|()| first)
    }

    /// Sends `message` on the full queue once a worker makes room, or gives it back if the queue
    /// is closed first. Called without the lock.
    fn send_when_room(&self, tx: &Sender<M>, mut message: M) -> Result<(), M> {
        // A worker usually makes room within microseconds: retry a few times, spinning and then
        // yielding (what crossbeam's own blocking `send` does before it sleeps).
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            message = match tx.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(message)) => return Err(message),
                Err(TrySendError::Full(message)) => message,
            };
        }
        #[cfg(test)]
        self.waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sent = channel::send_or_closed(tx, message, &self.closed);
        #[cfg(test)]
        self.waiting.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        sent
    }

    /// Numbers and queues one message (taking one number) if there is room now; otherwise gives
    /// it back at once: `Full` also while a submitter waits for room (it goes first),
    /// `Disconnected` once the queue is closed.
    pub(crate) fn try_send(&self, make: impl FnOnce(u64) -> M) -> Result<u64, TrySendError<M>> {
        let mut queue = self.queue();
        let seq = queue.next_seq;
        let Some(tx) = &queue.tx else {
            return Err(TrySendError::Disconnected(make(seq)));
        };
        if queue.sending {
            return Err(TrySendError::Full(make(seq)));
        }
        tx.try_send(make(seq))?;
        queue.next_seq += 1;
        Ok(seq)
    }

    /// The number the next message would get, or `None` once the queue is closed.
    pub(crate) fn next_seq(&self) -> Option<u64> {
        let queue = self.queue();
        queue.tx.as_ref().map(|_| queue.next_seq)
    }

    /// Closes the queue: drops its `Sender` (the workers finish the queued messages and exit) and
    /// wakes every submitter waiting for room or for its turn; they get their messages back.
    pub(crate) fn close(&self) {
        let mut queue = self.queue();
        queue.tx.take();
        queue.closing.take();
        drop(queue);
        self.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crossbeam::channel;

    use crate::{SubmitError, WorkerPool};

    #[test]
    fn a_blocked_submit_does_not_hold_up_try_submit_or_close() {
        let (started_tx, started_rx) = channel::unbounded::<u32>();
        let (gate_tx, gate_rx) = channel::bounded::<()>(0);
        let pool = WorkerPool::new(1, 1, move |_, &n: &u32| {
            let _ = started_tx.send(n);
            let _ = gate_rx.recv(); // blocks until the test lets it go
            n
        })
        .expect("start");
        pool.submit(0).expect("open");
        assert_eq!(started_rx.recv(), Ok(0), "the worker holds job 0");
        pool.submit(1).expect("open"); // the queue's one slot: now it is full
        std::thread::scope(|s| {
            let blocked = s.spawn(|| pool.submit(2));
            // Wait until that submit is inside its blocking wait (no clock: it either gets there
            // or returns, which would be a failure).
            while pool.jobs.waiting.load(Ordering::SeqCst) == 0 {
                assert!(!blocked.is_finished(), "submit on a full queue did not block");
                std::thread::yield_now();
            }
            // With the lock held across the blocking send, both of these would wait for ever.
            assert_eq!(pool.try_submit(3), Err(SubmitError::Full(3)));
            pool.close();
            // Closing wakes the blocked submit, which gets its job back.
            assert_eq!(
                blocked.join().expect("submit does not panic"),
                Err(SubmitError::Closed(2))
            );
        });
        assert_eq!(pool.try_submit(4), Err(SubmitError::Closed(4)));
        drop(gate_tx); // release the worker
        let mut seqs: Vec<u64> = pool.join().into_iter().map(|c| c.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, [0, 1], "the refused and the closed-out jobs took no number");
    }

    #[test]
    fn numbers_follow_queue_order_with_several_submitters() {
        // One worker and a one-slot queue: jobs run in queue order, so with every submitter
        // blocking in turn, the numbers the worker sees must rise one by one.
        let pool = WorkerPool::new(1, 1, |_, &n: &u64| n).expect("start");
        std::thread::scope(|s| {
            let reader = s.spawn(|| pool.results().map(|c| c.seq).collect::<Vec<u64>>());
            let submitters: Vec<_> = (0..4u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        for n in 0..50 {
                            pool.submit(t * 100 + n).expect("open");
                        }
                    })
                })
                .collect();
            for submitter in submitters {
                submitter.join().expect("no panic");
            }
            pool.close();
            let order = reader.join().expect("no panic");
            assert_eq!(order, (0..200).collect::<Vec<_>>());
        });
    }

    #[test]
    fn close_while_several_submitters_wait_leaves_no_gap_in_the_numbers() {
        // One worker held on its first job and a one-slot queue: every other submit waits, one
        // for room and the rest for their turn. Closing hands each its job back; the numbers
        // given out (by submit and in the results) are exactly 0, 1, ... with none skipped.
        let (gate_tx, gate_rx) = channel::bounded::<()>(0);
        let pool = WorkerPool::new(1, 1, move |_, &n: &u64| {
            let _ = gate_rx.recv();
            n
        })
        .expect("start");
        let numbers = std::thread::scope(|s| {
            let submitters: Vec<_> = (0..4u64)
                .map(|t| {
                    let pool = &pool;
                    s.spawn(move || {
                        (0..5)
                            .filter_map(|n| pool.submit(t * 10 + n).ok())
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            while pool.jobs.waiting.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            pool.close();
            drop(gate_tx); // release the worker
            let mut numbers: Vec<u64> = submitters
                .into_iter()
                .flat_map(|submitter| submitter.join().expect("no panic"))
                .collect();
            numbers.sort_unstable();
            numbers
        });
        let mut seqs: Vec<u64> = pool.join().into_iter().map(|c| c.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, numbers, "every number given out ran, and only those");
        assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "no gap");
        assert!(
            !seqs.is_empty() && seqs.len() < 20,
            "the first job ran; the queue held back the rest"
        );
    }
}
