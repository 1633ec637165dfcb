//! What the pools' loom models (`crates/*/tests/loom.rs`, `cargo xtask loom`) share: the model
//! runner and a gate a job waits at. Built only under `--cfg loom`.

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::sync::{Arc, Condvar, Mutex};

/// Runs `body` under loom with the preemption bound of `LOOM_MAX_PREEMPTIONS` (2 if unset) and
/// prints how many interleavings it explored, and in how long.
pub fn model(name: &str, body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let bound = builder.preemption_bound;
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&runs);
    let started = std::time::Instant::now();
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        body();
    });
    eprintln!(
        "loom model {name}: {} interleavings (preemption bound {bound:?}) in {:.1} s",
        runs.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

/// A gate a job waits at until the test opens it (a worker held on its job, so that a submit can
/// find the pool full for as long as the test needs).
#[derive(Clone)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Self {
        Gate(Arc::new((Mutex::new(false), Condvar::new())))
    }

    pub fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().expect("no panic while held");
        while !*open {
            open = cv.wait(open).expect("no panic while held");
        }
    }

    pub fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().expect("no panic while held") = true;
        cv.notify_all();
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}
