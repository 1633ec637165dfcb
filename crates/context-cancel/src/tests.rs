//! Unit tests of main.rs, kept beside it so the lesson stays short.

use super::*;

fn pool(jobs: u64, workers: usize, work_ms: u64) -> PoolArgs {
    let cli: Cli = common::cli::try_parse_args_from(
        &Defaults {
            jobs,
            workers,
            work_ms,
        },
        ["test"],
    )
    .expect("the defaults parse");
    cli.pool
}

fn quiet() -> Arc<Reporter> {
    Arc::new(Reporter::with_flags(false, true))
}

fn assert_accounted(run: &PoolRun) {
    assert_eq!(run.tally.accounted(), run.tally.submitted, "{:?}", run.tally);
    assert_eq!(run.panicked, 0);
}

#[test]
fn cancelling_wakes_every_receiver_and_happens_once() {
    let (mut token, done) = Token::new();
    let clones: Vec<_> = (0..4).map(|_| done.clone()).collect();
    assert!(clones.iter().all(|rx| !is_cancelled(rx)));
    token.cancel();
    let first = token.cancelled_at;
    assert!(first.is_some());
    assert!(clones.iter().all(is_cancelled));
    token.cancel();
    assert_eq!(token.cancelled_at, first);
}

#[test]
fn a_deadline_shorter_than_the_work_cancels_in_flight_and_reports_the_rest() {
    // Jobs of 60 s: without cancellation this test would take minutes.
    let args = pool(8, 2, 60_000);
    let run = run_pool(
        &args,
        Duration::from_millis(30),
        Duration::ZERO,
        &channel::never(),
        &quiet(),
    )
    .expect("run");
    assert_accounted(&run);
    assert_eq!(run.cancelled_by, Some(CancelCause::Deadline));
    assert_eq!((run.tally.ok, run.tally.failed), (0, 0));
    assert!(run.tally.cancelled <= 2 && run.tally.not_started >= 6);
    assert!(run.cancelled_at.is_some() && run.aborted_at.is_some());
    assert!(run.last_worker_exit >= run.cancelled_at);
}

#[test]
fn a_run_that_ends_before_its_deadline_is_not_cancelled() {
    let args = pool(9, 3, 1);
    let run = run_pool(
        &args,
        Duration::from_secs(600),
        Duration::ZERO,
        &channel::never(),
        &quiet(),
    )
    .expect("run");
    assert_accounted(&run);
    assert_eq!(run.tally.ok, 9);
    assert_eq!(run.cancelled_by, None);
    assert!(run.cancelled_at.is_none() && run.aborted_at.is_none());
    assert!((1..=3).contains(&run.peak_in_flight));
}

#[test]
fn ctrl_c_cancels_the_same_way() {
    let args = pool(6, 2, 60_000);
    let ctrl_c = common::Stop::new();
    ctrl_c.set();
    let run = run_pool(
        &args,
        Duration::from_secs(600),
        Duration::ZERO,
        ctrl_c.channel(),
        &quiet(),
    )
    .expect("run");
    assert_accounted(&run);
    assert_eq!(run.cancelled_by, Some(CancelCause::CtrlC));
    assert_eq!(run.tally.ok, 0);
}

#[test]
fn a_long_grace_lets_jobs_in_flight_finish() {
    let args = pool(10, 2, 50);
    let run = run_pool(
        &args,
        Duration::from_millis(10),
        Duration::from_secs(600),
        &channel::never(),
        &quiet(),
    )
    .expect("run");
    assert_accounted(&run);
    assert_eq!(run.cancelled_by, Some(CancelCause::Deadline));
    assert_eq!(run.tally.cancelled, 0, "the grace outlasts every job in flight");
    assert!(run.tally.ok <= 2 && run.tally.not_started >= 8);
    assert!(
        run.aborted_at.is_none(),
        "every worker exited before the grace ended"
    );
}

#[test]
fn bad_durations_are_usage_errors() {
    let defaults = Defaults::default();
    for bad in [
        &["--deadline-ms", "abc"][..],
        &["--grace-ms", "-5"],
        &["--deadline-ms", "-1"],
    ] {
        let parsed = common::cli::try_parse_args_from::<Cli, _, _>(
            &defaults,
            std::iter::once("test").chain(bad.iter().copied()),
        );
        assert!(parsed.is_err(), "{bad:?} should be rejected");
    }
}
