//! Unit tests of main.rs, kept beside it so the lesson stays short.

use super::*;
use crate::cli::parse_concurrency;

fn pool(work: Work, panic_every: u64, n: usize) -> Arc<Pool> {
    Arc::new(Pool {
        work,
        panic_every,
        panicked: AtomicU64::new(0),
        token: CancellationToken::new(),
        cancelled_by: OnceLock::new(),
        report: Reporter::with_flags(false, true),
        gauge: InFlight::new(),
        free_lanes: Mutex::new((1..=n).rev().collect()),
        lateness: Lateness::new(work.duration),
        block_runtime: None,
    })
}

fn jobs(n: u64) -> JobList {
    JobList {
        iter: Box::new((1..=n).map(|id| Job { id, value: id })),
        len: n,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a test runtime")
}

/// Every style accounts for every job, keeps the cap, and fails the panicking jobs alone.
#[test]
fn every_style_accounts_for_every_job_and_survives_panics() {
    let rt = runtime();
    let work = Work {
        workload: Workload::Sleep,
        duration: Duration::from_millis(2),
        fail_every: 7,
        dist: common::WorkDist::Fixed,
        seed: 0,
    };
    for style in [Style::Workers, Style::BufferUnordered, Style::Joinset] {
        let p = pool(work, 5, 4);
        let tally = rt
            .block_on(async {
                match style {
                    Style::Workers => workers(Arc::clone(&p), jobs(40), 4, 8).await,
                    Style::BufferUnordered => Ok(buffer_unordered(Arc::clone(&p), jobs(40), 4).await),
                    Style::Joinset => joinset(Arc::clone(&p), jobs(40), 4).await,
                }
            })
            .expect("the pool runs");
        // Panics: 5, 10, ..., 40 (8 jobs); --fail-every 7: 7, 14, 21, 28 (35 panics first).
        assert_eq!(
            (tally.ok, tally.failed, tally.accounted()),
            (28, 12, 40),
            "{style:?}"
        );
        assert!(p.gauge.peak() <= 4 && p.gauge.current() == 0, "{style:?}");
        // The 8 panics came before any work: the sleep ideal leaves them out.
        assert_eq!(p.panicked.load(Ordering::Relaxed), 8, "{style:?}");
    }
}

/// A cancelled token: jobs waiting end cancelled, jobs not yet taken never start. The cancel comes
/// once the 3 tasks each hold a job (progress, not a clock: a cancel after a fixed time finds
/// fewer jobs started when the machine is busy), and each job waits a minute, so exactly 3 are
/// in flight at the cancel.
#[test]
fn a_cancel_ends_every_job_cancelled_or_not_started() {
    let rt = runtime();
    let work = Work {
        workload: Workload::Sleep,
        duration: Duration::from_secs(60),
        fail_every: 0,
        dist: common::WorkDist::Fixed,
        seed: 0,
    };
    for style in [Style::Workers, Style::BufferUnordered, Style::Joinset] {
        let p = pool(work, 0, 3);
        let canceller = Arc::clone(&p);
        let tally = rt
            .block_on(async {
                tokio::spawn(async move {
                    while canceller.gauge.current() < 3 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    canceller.cancel(CancelCause::Deadline);
                });
                match style {
                    Style::Workers => workers(Arc::clone(&p), jobs(10), 3, 10).await,
                    Style::BufferUnordered => Ok(buffer_unordered(Arc::clone(&p), jobs(10), 3).await),
                    Style::Joinset => joinset(Arc::clone(&p), jobs(10), 3).await,
                }
            })
            .expect("the pool runs");
        assert_eq!(
            (tally.ok, tally.cancelled, tally.not_started),
            (0, 3, 7),
            "{style:?}"
        );
    }
}

#[test]
fn concurrency_is_checked() {
    assert_eq!(parse_concurrency("10000"), Ok(10_000));
    assert!(parse_concurrency("0").is_err() && parse_concurrency("1000001").is_err());
}
