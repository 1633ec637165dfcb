//! What the scenario and the Ctrl-C tests share: running a scenario on keyed-pool, and the
//! per-key promise read back from the events.

use std::collections::BTreeMap;

use common::event::Event;
use harness::{Run, Scenario};

pub fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_keyed-pool"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// The key an event carries as its extra field.
fn key_of(detail: &common::event::Fields, job: u64) -> Result<u64, String> {
    detail
        .get("key")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("job {job}'s event has no numeric key"))
}

/// From the events, in the order they were printed: for every key, its jobs start in submission
/// order (their ids increase), each one's `finished` comes before the next one's `started` (no
/// two jobs of a key in flight at once), and the jobs that started are the key's first ones (a
/// job handed back after Ctrl-C is never followed by a later job of its key that ran). Every
/// event of a job carries the same key. Also: the summary's own check saw no violation.
pub fn per_key_order_kept(run: &Run<'_>) -> Result<(), String> {
    let events = run.events()?;
    // Per key: what happened, in stdout order: (job, 'S' started | 'F' finished | 'N' not started).
    let mut by_key: BTreeMap<u64, Vec<(u64, char)>> = BTreeMap::new();
    let mut key_of_job: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &events.events {
        let (job, key, what) = match e {
            Event::Started(s) => (s.job, key_of(&s.detail, s.job)?, 'S'),
            Event::Finished(f) => (f.job, key_of(&f.detail, f.job)?, 'F'),
            Event::NotStarted(n) => (n.job, key_of(&n.detail, n.job)?, 'N'),
            _ => continue,
        };
        if *key_of_job.entry(job).or_insert(key) != key {
            return Err(format!("job {job}'s events name two keys"));
        }
        by_key.entry(key).or_default().push((job, what));
    }
    for (key, seq) in &by_key {
        let mut in_flight: Option<u64> = None;
        let mut last_started = 0;
        let mut handed_back: Option<u64> = None;
        for &(job, what) in seq {
            match what {
                'S' => {
                    if let Some(other) = in_flight {
                        return Err(format!(
                            "key {key}: job {job} started while job {other} was in flight"
                        ));
                    }
                    if job <= last_started {
                        return Err(format!("key {key}: job {job} started after job {last_started}"));
                    }
                    if let Some(back) = handed_back.filter(|b| *b < job) {
                        return Err(format!(
                            "key {key}: job {job} ran after job {back} was handed back"
                        ));
                    }
                    in_flight = Some(job);
                    last_started = job;
                }
                'F' => {
                    if in_flight != Some(job) {
                        return Err(format!("key {key}: job {job} finished but was not in flight"));
                    }
                    in_flight = None;
                }
                _ => {
                    if job < last_started {
                        return Err(format!(
                            "key {key}: job {job} handed back after job {last_started} ran"
                        ));
                    }
                    handed_back = Some(handed_back.map_or(job, |b| b.min(job)));
                }
            }
        }
    }
    run.expect_count("order_violations", 0)
}

/// Under `dynamic`, no worker idled while a key was ready: the queue checks it after every change
/// of its state, under its lock (`dynamic.rs`), and the summary says how many states it checked
/// and in how many a worker was parked while a key waited in the ready-queue. At least one state
/// per job submitted is checked (every submit is one, Ctrl-C or not), and none may show a worker
/// idle. Under `shards` the
/// summary has no such check (null), as a shard's worker idles by design while other shards wait.
pub fn no_worker_idle_while_a_key_is_ready(run: &Run<'_>) -> Result<(), String> {
    let summary = run.summary()?;
    let field = |name: &str| summary.extra.get(name).and_then(serde_json::Value::as_u64);
    let strategy = summary.extra.get("strategy").and_then(serde_json::Value::as_str);
    match (
        strategy,
        field("idle_while_ready_checks"),
        field("idle_while_ready"),
    ) {
        (Some("shards"), None, None) => Ok(()),
        (Some("dynamic"), Some(checks), Some(idle)) => {
            if checks < summary.submitted {
                return Err(format!("{checks} states checked for {} jobs", summary.submitted));
            }
            if idle > 0 {
                return Err(format!(
                    "a worker was idle while a key was ready in {idle} of {checks} states"
                ));
            }
            Ok(())
        }
        other => Err(format!("strategy and idle check do not match: {other:?}")),
    }
}
