//! The state every style of group shares: the limit's lanes, the cancellation flag and the
//! first-error slot, and the books (which job started, how each ended). One mutex guards it all,
//! and every event is printed under it, so the events' order is the order of the decisions: no
//! `started` can follow the `group_cancel`, and the first `failed` is the error `wait` returns.

use std::any::Any;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use common::{Detail, Job, Outcome, Reporter, Stop, Tally};
use errgroup::GroupCancel;
use tokio_util::sync::CancellationToken;

use crate::task::JobEnd;

/// What `--on-panic` does with a job's panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnPanic {
    /// The panic is the job's error (the first one cancels the group).
    Error,
    /// It also cancels the group, and `wait` hands it to its caller, who re-raises it.
    Propagate,
}

/// How `admit` treats a job when every lane is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait for a free lane (Go's `Go` after `SetLimit`).
    Block,
    /// Refuse the job (Go's `TryGo` returning false): it is reported, never started.
    Try,
}

/// The first real error: a `cancelled` job is never one.
#[derive(Debug, Clone)]
pub struct FirstError {
    pub job: u64,
    pub error: String,
}

/// What cancelled the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    FirstError,
    CtrlC,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::FirstError => "first_error",
            Cause::CtrlC => "ctrl-c",
        }
    }
}

struct State {
    /// Lane numbers free now (1..=limit): the `worker` of a job's events.
    free_lanes: Vec<usize>,
    running: usize,
    peak: usize,
    cancelled: Option<(Cause, Instant)>,
    first_error: Option<FirstError>,
    /// The first panic's payload, kept for `wait` with `--on-panic propagate`.
    panic: Option<Box<dyn Any + Send>>,
    tally: Tally,
    /// Job id − 1 → it has its terminal event.
    ended: Vec<bool>,
    refused: u64,
    /// Jobs that ran to the end after the cancellation (nothing told them to stop).
    finished_after_cancel: u64,
}

/// The shared state of one group.
pub struct Shared {
    state: Mutex<State>,
    lane_freed: Condvar,
    limit: usize,
    /// Go's `ctx`: set once, by the first error or by Ctrl-C. Threads poll it or select on it.
    cancel: Stop,
    /// The same, for tokio tasks to `await` (`--style tokio`).
    token: CancellationToken,
    on_panic: OnPanic,
    pub report: Reporter,
}

/// What the books say once the group is over.
pub struct Books {
    pub tally: Tally,
    pub peak: usize,
    pub cancelled: Option<(Cause, Instant)>,
    pub first_error: Option<FirstError>,
    pub refused: u64,
    pub finished_after_cancel: u64,
    pub running: usize,
}

impl Shared {
    pub fn new(jobs: u64, limit: usize, on_panic: OnPanic, report: Reporter) -> Self {
        let jobs = usize::try_from(jobs).unwrap_or(usize::MAX);
        Shared {
            state: Mutex::new(State {
                free_lanes: (1..=limit).rev().collect(),
                running: 0,
                peak: 0,
                cancelled: None,
                first_error: None,
                panic: None,
                tally: Tally::new(jobs as u64),
                ended: vec![false; jobs],
                refused: 0,
                finished_after_cancel: 0,
            }),
            lane_freed: Condvar::new(),
            limit,
            cancel: Stop::new(),
            token: CancellationToken::new(),
            on_panic,
            report,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The cancellation a job polls (`is_set`) or waits on (`channel`).
    pub fn cancel(&self) -> &Stop {
        &self.cancel
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens while the lock is held (jobs run outside it); if one did, the
        // books are still whole: every change under the lock is one assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets job `job` start, on a free lane, unless the group is cancelled (then, or when `wait`
    /// is `Try` and no lane is free, the job is reported never started, with why).
    pub fn admit(&self, job: &Job, wait: Wait) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if let Some((cause, _)) = state.cancelled {
                let reason = not_started_reason(cause, state.first_error.as_ref());
                self.not_started_locked(&mut state, job, reason);
                return None;
            }
            if let Some(lane) = state.free_lanes.pop() {
                state.running += 1;
                state.peak = state.peak.max(state.running);
                self.report.started(job, lane);
                return Some(lane);
            }
            if wait == Wait::Try {
                state.refused += 1;
                let reason = format!("refused by try_spawn: all {} slots were busy", self.limit);
                self.not_started_locked(&mut state, job, reason);
                return None;
            }
            state = self
                .lane_freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Job `job` on `lane` has ended. The first real error fills the slot and cancels the group.
    pub fn end(&self, job: &Job, lane: usize, end: JobEnd) {
        let mut state = self.lock();
        let outcome = match end {
            JobEnd::Ok(output) => {
                if state.cancelled.is_some() {
                    state.finished_after_cancel += 1;
                }
                Outcome::Ok(output)
            }
            JobEnd::Failed(error) => Outcome::Failed(error),
            JobEnd::Cancelled => Outcome::Cancelled,
            JobEnd::Panicked(payload) => {
                let message = format!("panic: {}", common::panic_message(&*payload));
                if self.on_panic == OnPanic::Propagate && state.panic.is_none() {
                    state.panic = Some(payload);
                }
                Outcome::Failed(message)
            }
        };
        if let Outcome::Failed(error) = &outcome
            && state.first_error.is_none()
        {
            state.first_error = Some(FirstError {
                job: job.id,
                error: error.clone(),
            });
            self.cancel_locked(&mut state, Cause::FirstError);
        }
        state.tally.record(&outcome);
        mark_ended(&mut state, job);
        self.report.ended(job, lane, &outcome, Detail::default);
        state.running -= 1;
        state.free_lanes.push(lane);
        self.lane_freed.notify_all();
    }

    /// Ctrl-C: cancels the group (if nothing did before).
    pub fn cancel_by_ctrl_c(&self) {
        let mut state = self.lock();
        self.cancel_locked(&mut state, Cause::CtrlC);
    }

    fn cancel_locked(&self, state: &mut State, cause: Cause) {
        if state.cancelled.is_some() {
            return;
        }
        state.cancelled = Some((cause, Instant::now()));
        let (job, error) = match (&state.first_error, cause) {
            (Some(first), Cause::FirstError) => (Some(first.job), Some(first.error.clone())),
            _ => (None, None),
        };
        let human = error.clone();
        self.report.example_event(
            || match (job, human) {
                (Some(job), Some(error)) => format!("Group cancelled by job {job}'s error: {error}"),
                _ => "Group cancelled by Ctrl-C".to_owned(),
            },
            |t_ms| GroupCancel {
                by: cause.name().to_owned(),
                job,
                error,
                t_ms,
            },
        );
        self.cancel.set();
        self.token.cancel();
        // A spawner waiting for a lane must see the cancel now, not when a lane frees up.
        self.lane_freed.notify_all();
    }

    /// A job that never got to `admit` (rayon's `try_for_each` stopped before it): reported
    /// never started, unless it already ended.
    pub fn never_reached(&self, job: &Job) {
        let mut state = self.lock();
        if state.ended.get(index(job)).copied().unwrap_or(true) {
            return;
        }
        let reason = match state.cancelled {
            Some((cause, _)) => not_started_reason(cause, state.first_error.as_ref()),
            None => "never handed out".to_owned(),
        };
        self.not_started_locked(&mut state, job, reason);
    }

    fn not_started_locked(&self, state: &mut State, job: &Job, reason: String) {
        state.tally.record(&Outcome::NotStarted);
        mark_ended(state, job);
        self.report
            .not_started_detail(job, || Detail::default().reason(reason));
    }

    /// Blocks until no job runs (the scope style's `wait`).
    pub fn wait_idle(&self) {
        let mut state = self.lock();
        while state.running > 0 {
            state = self
                .lane_freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The first error, and the panic to hand on (`--on-panic propagate`).
    pub fn outcome(&self) -> (Option<FirstError>, Option<Box<dyn Any + Send>>) {
        let mut state = self.lock();
        (state.first_error.clone(), state.panic.take())
    }

    /// The books, once the group is over.
    pub fn books(&self) -> Books {
        let state = self.lock();
        Books {
            tally: state.tally,
            peak: state.peak,
            cancelled: state.cancelled,
            first_error: state.first_error.clone(),
            refused: state.refused,
            finished_after_cancel: state.finished_after_cancel,
            running: state.running,
        }
    }
}

fn index(job: &Job) -> usize {
    usize::try_from(job.id.saturating_sub(1)).unwrap_or(usize::MAX)
}

fn mark_ended(state: &mut State, job: &Job) {
    if let Some(ended) = state.ended.get_mut(index(job)) {
        *ended = true;
    }
}

fn not_started_reason(cause: Cause, first: Option<&FirstError>) -> String {
    match (cause, first) {
        (Cause::FirstError, Some(first)) => format!("the group was cancelled by job {}'s error", first.job),
        _ => "the group was cancelled by Ctrl-C".to_owned(),
    }
}
