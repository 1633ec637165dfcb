//! compare's latency columns on a real run: `basic --workload sleep --jobs 40 --workers 4
//! --work-ms 5 --work-dist pareto --seed 42 --json`, recorded in `tests/runs/`. Each job's
//! started → finished span must hold its whole sleep, whose duration common draws again here from
//! the same seed (re-record the run if common's draw ever changes).

use std::time::Duration;

use bench::compare::{job_latency, percentile};
use common::{Job, Work, WorkDist, Workload};

const PARETO_RUN: &str = include_str!("runs/basic-sleep-pareto.jsonl");

#[test]
fn a_real_run_gives_one_latency_per_job_each_at_least_its_sleep() {
    let events = harness::check::parse(PARETO_RUN).expect("a recorded run");
    let latency = job_latency(&events).expect("the run printed its per-job events");
    assert_eq!(latency.jobs as u64, events.summary.ok);
    assert_eq!(latency.jobs, 40);

    let work = Work {
        workload: Workload::Sleep,
        duration: Duration::from_millis(5),
        fail_every: 0,
        dist: WorkDist::Pareto,
        seed: 42,
    };
    let mut spans = Vec::new();
    for finished in events.finished() {
        let started = events
            .started()
            .find(|s| s.job == finished.job)
            .expect("every finished job started");
        let span = finished.t_ms - started.t_ms;
        let value = started.value.expect("a sleep job has a value");
        let slept = work.duration_for(&Job {
            id: finished.job,
            value,
        });
        // t_ms is rounded to the microsecond on both ends.
        assert!(
            span + 0.002 >= slept.as_secs_f64() * 1000.0,
            "job {}: {span} ms from start to finish, but it sleeps {slept:?}",
            finished.job
        );
        spans.push(span);
    }
    // Pareto durations: a heavy tail, so the slowest job is well above the median one.
    assert!(latency.p99_ms > latency.p50_ms, "{latency:?}");
    assert_eq!(Some(latency.p50_ms), percentile(&mut spans, 50.0));
    assert_eq!(Some(latency.p99_ms), percentile(&mut spans, 99.0));
}
