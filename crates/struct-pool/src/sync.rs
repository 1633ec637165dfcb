//! The pool's synchronization types, from one place: std's and crossbeam's in every real build,
//! loom's under `--cfg loom` (`cargo xtask loom`), so that the model in `tests/loom.rs` sees
//! every lock, condvar, thread and queue operation of `lib.rs`, `slots.rs` and `batch.rs` and
//! explores their interleavings.
//!
//! loom cannot see inside crossbeam-channel, so under loom the two queues are [`channel`]'s small
//! Mutex-and-Condvar queue with the same contract (bounded, FIFO, `try_send` answers `Full` or
//! `Disconnected`, a queue disconnects when every `Sender` or every `Receiver` is gone). What the
//! model checks is the pool's own synchronization on top of that contract, not crossbeam itself.

#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

/// The bounded queues: crossbeam-channel's, or a loom-visible one with the same contract.
#[cfg(not(loom))]
pub(crate) mod channel {
    pub(crate) use crossbeam::channel::{Receiver, Sender, TrySendError, bounded};
    pub(crate) use crossbeam::utils::Backoff;

    /// Sends `message` once the queue has room, or gives it back as soon as `closed` is
    /// disconnected (or the queue is): a blocking send that `close` can interrupt.
    pub(crate) fn send_or_closed<M>(tx: &Sender<M>, message: M, closed: &Receiver<()>) -> Result<(), M> {
        crossbeam::select! {
            send(tx, message) -> sent => sent.map_err(|e| e.into_inner()),
            recv(closed) -> _ => Err(message),
        }
    }
}

#[cfg(loom)]
pub(crate) use loom_channel as channel;

/// Under loom: a bounded FIFO queue on loom's `Mutex` and `Condvar`, with crossbeam-channel's
/// contract for the operations the pool uses. A capacity of 0 (a hand-over) is modelled as room
/// for one message per receiver blocked in `recv`.
#[cfg(loom)]
pub(crate) mod loom_channel {
    use std::collections::VecDeque;
    use std::sync::PoisonError;

    use super::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) use crossbeam::channel::TrySendError;

    struct State<M> {
        queue: VecDeque<M>,
        senders: usize,
        receivers: usize,
        /// Receivers blocked in `recv` (the room of a capacity-0 queue).
        receiving: usize,
        /// Selectors blocked in `send_or_closed` on this queue: woken by every change.
        watchers: Vec<Arc<Signal>>,
    }

    struct Shared<M> {
        capacity: usize,
        state: Mutex<State<M>>,
        /// Receivers wait on it for a message or for the last `Sender` to go.
        not_empty: Condvar,
        /// Senders wait on it for room or for the last `Receiver` to go.
        not_full: Condvar,
    }

    impl<M> Shared<M> {
        fn lock(&self) -> MutexGuard<'_, State<M>> {
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Wakes the receivers (`for_receivers`) or the senders waiting on this queue, and every
        /// selector watching it (called with the lock held). Only the other side: a receiver that
        /// woke every waiter each time it went back to sleep would wake the next, and so on.
        fn changed(&self, state: &State<M>, for_receivers: bool) {
            if for_receivers {
                self.not_empty.notify_all();
            } else {
                self.not_full.notify_all();
            }
            for watcher in &state.watchers {
                watcher.raise();
            }
        }

        fn has_room(&self, state: &State<M>) -> bool {
            state.queue.len() < self.capacity.max(state.receiving)
        }
    }

    /// A flag and a condvar: what a selector waiting on two queues sleeps on.
    struct Signal {
        raised: Mutex<bool>,
        cv: Condvar,
    }

    impl Signal {
        fn raise(&self) {
            *self.raised.lock().unwrap_or_else(PoisonError::into_inner) = true;
            self.cv.notify_all();
        }
    }

    pub(crate) struct Sender<M>(Arc<Shared<M>>);
    pub(crate) struct Receiver<M>(Arc<Shared<M>>);

    #[derive(Debug)]
    pub(crate) struct SendError<M>(pub(crate) M);

    pub(crate) fn bounded<M>(capacity: usize) -> (Sender<M>, Receiver<M>) {
        let shared = Arc::new(Shared {
            capacity,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                senders: 1,
                receivers: 1,
                receiving: 0,
                watchers: Vec::new(),
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        });
        (Sender(Arc::clone(&shared)), Receiver(shared))
    }

    impl<M> Sender<M> {
        pub(crate) fn try_send(&self, message: M) -> Result<(), TrySendError<M>> {
            let mut state = self.0.lock();
            if state.receivers == 0 {
                return Err(TrySendError::Disconnected(message));
            }
            if !self.0.has_room(&state) {
                return Err(TrySendError::Full(message));
            }
            state.queue.push_back(message);
            self.0.changed(&state, true);
            Ok(())
        }

        pub(crate) fn send(&self, message: M) -> Result<(), SendError<M>> {
            let mut state = self.0.lock();
            loop {
                if state.receivers == 0 {
                    return Err(SendError(message));
                }
                if self.0.has_room(&state) {
                    state.queue.push_back(message);
                    self.0.changed(&state, true);
                    return Ok(());
                }
                state = self
                    .0
                    .not_full
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    impl<M> Clone for Sender<M> {
        fn clone(&self) -> Self {
            self.0.lock().senders += 1;
            Sender(Arc::clone(&self.0))
        }
    }

    impl<M> Drop for Sender<M> {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            state.senders -= 1;
            if state.senders == 0 {
                self.0.changed(&state, true);
            }
        }
    }

    impl<M> Receiver<M> {
        /// The next message; `Err` once the queue is empty and every `Sender` is gone.
        pub(crate) fn recv(&self) -> Result<M, ()> {
            let mut state = self.0.lock();
            loop {
                if let Some(message) = state.queue.pop_front() {
                    self.0.changed(&state, false);
                    return Ok(message);
                }
                if state.senders == 0 {
                    return Err(());
                }
                state.receiving += 1;
                if self.0.capacity == 0 {
                    // A hand-over queue has room now: tell a sender waiting for it.
                    self.0.changed(&state, false);
                }
                state = self
                    .0
                    .not_empty
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.receiving -= 1;
            }
        }

        fn is_disconnected(&self) -> bool {
            self.0.lock().senders == 0
        }
    }

    impl<M> Clone for Receiver<M> {
        fn clone(&self) -> Self {
            self.0.lock().receivers += 1;
            Receiver(Arc::clone(&self.0))
        }
    }

    impl<M> Drop for Receiver<M> {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            state.receivers -= 1;
            if state.receivers == 0 {
                self.0.changed(&state, false);
            }
        }
    }

    impl<'a, M> IntoIterator for &'a Receiver<M> {
        type Item = M;
        type IntoIter = Iter<'a, M>;

        fn into_iter(self) -> Iter<'a, M> {
            Iter(self)
        }
    }

    pub(crate) struct Iter<'a, M>(&'a Receiver<M>);

    impl<M> Iterator for Iter<'_, M> {
        type Item = M;

        fn next(&mut self) -> Option<M> {
            self.0.recv().ok()
        }
    }

    /// crossbeam's `select! { send(tx, message), recv(closed) }`: sends once `tx` has room, or
    /// gives the message back once `closed` (or `tx`) is disconnected. It sleeps on a [`Signal`]
    /// both queues raise on every change, raised before it checks, so no change is missed.
    pub(crate) fn send_or_closed<M>(tx: &Sender<M>, message: M, closed: &Receiver<()>) -> Result<(), M> {
        let signal = Arc::new(Signal {
            raised: Mutex::new(false),
            cv: Condvar::new(),
        });
        tx.0.lock().watchers.push(Arc::clone(&signal));
        closed.0.lock().watchers.push(Arc::clone(&signal));
        let mut message = Some(message);
        let sent = loop {
            {
                let mut state = tx.0.lock();
                if state.receivers == 0 {
                    break false;
                }
                if tx.0.has_room(&state) {
                    state.queue.extend(message.take());
                    tx.0.changed(&state, true);
                    break true;
                }
            }
            if closed.is_disconnected() {
                break false;
            }
            let mut raised = signal.raised.lock().unwrap_or_else(PoisonError::into_inner);
            while !*raised {
                raised = signal.cv.wait(raised).unwrap_or_else(PoisonError::into_inner);
            }
            *raised = false;
        };
        tx.0.lock().watchers.retain(|w| !Arc::ptr_eq(w, &signal));
        closed.0.lock().watchers.retain(|w| !Arc::ptr_eq(w, &signal));
        match message {
            Some(message) if !sent => Err(message),
            _ => Ok(()),
        }
    }

    /// Under loom there is nothing to spin for: the first retry goes straight to the blocking
    /// send, which the model explores instead.
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }

        pub(crate) fn is_completed(&self) -> bool {
            true
        }

        pub(crate) fn snooze(&self) {}
    }
}
