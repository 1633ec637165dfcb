//! An in-flight gauge: how many jobs run right now, and the most that ever ran at once.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts jobs in flight and remembers the peak. Share it with `Arc` (or borrow it in a scope).
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl InFlight {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks one job as in flight until the returned guard is dropped (also on panic).
    #[inline]
    pub fn enter(&self) -> InFlightGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        // Reading first keeps the peak's cache line shared between cores: it is written only
        // when the peak really rises, which with short jobs saves a contended write per job.
        if now > self.peak.load(Ordering::SeqCst) {
            self.peak.fetch_max(now, Ordering::SeqCst);
        }
        InFlightGuard { gauge: self }
    }

    /// Jobs in flight right now.
    pub fn current(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The most jobs that were ever in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Returned by [`InFlight::enter`]; leaving the job decrements the gauge.
#[derive(Debug)]
pub struct InFlightGuard<'a> {
    gauge: &'a InFlight,
}

impl Drop for InFlightGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.gauge.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_current_and_peak() {
        let g = InFlight::new();
        {
            let _a = g.enter();
            let _b = g.enter();
            assert_eq!(g.current(), 2);
        }
        let _c = g.enter();
        assert_eq!((g.current(), g.peak()), (1, 2));
    }

    #[test]
    fn peak_across_threads_is_bounded_by_threads() {
        let g = InFlight::new();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        let _guard = g.enter();
                    }
                });
            }
        });
        assert_eq!(g.current(), 0);
        assert!((1..=4).contains(&g.peak()));
    }
}
