//! Unit tests of main.rs, kept beside it so the lesson stays short.

use super::*;

#[test]
fn permits_cap_the_jobs_in_flight_and_the_cap_is_reached() {
    let (semaphore, stop) = (Semaphore::new(3), Stop::new());
    let gauge = InFlight::new();
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..20 {
                    let _permit = semaphore.acquire(&stop).expect("not stopped");
                    let _in_flight = gauge.enter();
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            });
        }
    });
    assert_eq!(gauge.peak(), 3);
    assert_eq!(semaphore.in_use(), 0);
}

#[test]
fn a_panic_while_holding_a_permit_releases_it() {
    let (semaphore, stop) = (Semaphore::new(1), Stop::new());
    let unwound = panic::catch_unwind(AssertUnwindSafe(|| {
        let _permit = semaphore.acquire(&stop);
        assert_eq!(semaphore.in_use(), 1);
        panic::resume_unwind(Box::new("boom"));
    }));
    assert!(unwound.is_err());
    assert_eq!(semaphore.in_use(), 0);
    // With one permit, a leaked permit would block here until the stop.
    let _again = semaphore.acquire(&stop).expect("the permit was released");
    assert_eq!(semaphore.in_use(), 1);
}

#[test]
fn a_stop_wakes_a_worker_waiting_for_a_permit() {
    let (semaphore, stop) = (Semaphore::new(1), Stop::new());
    let _held = semaphore.acquire(&stop).expect("free");
    thread::scope(|s| {
        let waiter = s.spawn(|| semaphore.acquire(&stop).is_some());
        stop.set();
        assert!(!waiter.join().expect("no panic"), "no permit after the stop");
    });
    assert_eq!(semaphore.in_use(), 1, "only the held permit");
}

#[test]
fn a_panicking_job_is_a_failure_with_its_message() {
    let work = Work {
        workload: common::Workload::Dispatch,
        duration: std::time::Duration::ZERO,
        fail_every: 0,
        dist: common::WorkDist::Fixed,
        seed: 0,
    };
    assert_eq!(run_job(&work, &Job { id: 1, value: 4 }, 2), Outcome::Ok(8));
    match run_job(&work, &Job { id: 4, value: 4 }, 2) {
        Outcome::Failed(reason) => assert!(reason.contains("job 4"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}
