//! The job a claimed row stands for: its identity in the events, the work, and the retry delay.

use std::hash::BuildHasher as _;
use std::time::{Duration, Instant};

use common::{Detail, JobRef, Outcome};

use crate::db::Claimed;

/// The longest retry delay.
const MAX_BACKOFF_MS: u64 = 60_000;

/// One claim of a row by this process: a job. `seq` numbers the claims this process made
/// (1..=submitted); the job's value is its number in the payload.
#[derive(Debug, Clone)]
pub struct Job {
    pub seq: u64,
    pub row: Claimed,
    /// When this process claimed it.
    pub claimed: Instant,
}

impl JobRef for Job {
    fn id(&self) -> u64 {
        self.seq
    }
    fn value(&self) -> Option<u64> {
        self.row.n.as_ref().ok().copied() // none for a malformed payload
    }
}

impl Job {
    /// How long the job had been due when it started, in ms: since its `run_at` (its INSERT,
    /// for a new job) on the database's clock until the claim, then this process's clock.
    pub fn due_to_start_ms(&self) -> f64 {
        self.row.due_ms + self.claimed.elapsed().as_secs_f64() * 1000.0
    }

    /// The row's fields on every event of this job: `job_id`, `attempt`, `kind`.
    pub fn detail(&self) -> Detail {
        Detail::default()
            .field("job_id", self.row.id)
            .field("attempt", self.row.attempt)
            .field("kind", self.row.kind.clone())
    }
}

/// Runs one job: output = number × 2 after `--work-ms` of simulated I/O (cancelled by `abort`).
/// Kind `fail` always fails, `panic` always panics. A payload without a job number fails at once
/// with its reason (and is not retried: see `work` in `main.rs`).
pub fn run_job(job: &Job, work_ms: u64, abort: &common::Stop) -> Outcome {
    let n = match &job.row.n {
        Ok(n) => *n,
        Err(malformed) => return Outcome::Failed(malformed.to_string()),
    };
    if work_ms > 0 {
        crossbeam::select! {
            recv(abort.channel()) -> _ => return Outcome::Cancelled,
            default(Duration::from_millis(work_ms)) => {}
        }
    }
    match job.row.kind.as_str() {
        "panic" => panic!("poison job {n}: this job always panics"),
        "fail" => Outcome::Failed(format!("poison job {n}: this job always fails")),
        _ => Outcome::Ok(n * 2),
    }
}

/// The kind of job number `n`: `fail` if it is in `poison`, `panic` if in `panics`, else
/// `double` (the producer's own INSERT … SELECT says the same in SQL).
pub fn kind_of(n: u64, poison: &[u64], panics: &[u64]) -> &'static str {
    if poison.contains(&n) {
        "fail"
    } else if panics.contains(&n) {
        "panic"
    } else {
        "double"
    }
}

/// The delay before attempt `attempt + 1`: `base × 2^(attempt-1)`, at most a minute, with
/// jitter (a random point in its upper half) so that jobs failing together do not all come
/// back together.
pub fn backoff_ms(base: u64, attempt: i32) -> u64 {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
    let delay = base.saturating_mul(1 << doublings).min(MAX_BACKOFF_MS);
    // RandomState is seeded from the OS's randomness: enough for jitter.
    let random = std::hash::RandomState::new().hash_one(attempt);
    delay / 2 + random % (delay / 2 + 1)
}

/// A poison job's panic is caught and reported as a failed job: keep the default hook's
/// backtrace off stderr for it (any other panic still prints).
pub fn quiet_poison_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !common::panic_message(info.payload()).contains("always panics") {
            default_hook(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u64, kind: &str) -> Job {
        Job {
            seq: 1,
            row: Claimed {
                id: 1,
                kind: kind.into(),
                n: pg_queue::job_number(&format!(r#"{{"n": {n}}}"#)),
                attempt: 1,
                due_ms: 0.0,
            },
            claimed: Instant::now(),
        }
    }

    #[test]
    fn jobs_double_fail_and_cancel() {
        let stop = common::Stop::new();
        assert_eq!(run_job(&job(21, "double"), 0, &stop), Outcome::Ok(42));
        assert!(
            matches!(run_job(&job(7, "fail"), 0, &stop), Outcome::Failed(r) if r.contains("poison job 7"))
        );
        assert!(
            matches!(run_job(&job(0, "double"), 0, &stop), Outcome::Failed(r) if r.starts_with("malformed payload"))
        );
        assert_eq!(job(0, "double").value(), None);
        stop.set();
        assert_eq!(run_job(&job(3, "double"), 60_000, &stop), Outcome::Cancelled);
    }

    #[test]
    fn kinds_follow_the_poison_and_panic_lists() {
        assert_eq!(kind_of(7, &[7], &[8]), "fail");
        assert_eq!(kind_of(8, &[7], &[8]), "panic");
        assert_eq!(kind_of(9, &[7], &[8]), "double");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        for attempt in 1..=5 {
            let full = 100 << (attempt - 1);
            let d = backoff_ms(100, attempt);
            assert!((full / 2..=full).contains(&d), "attempt {attempt}: {d}");
        }
        assert!(backoff_ms(100, 40) <= MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0, 3), 0);
    }
}
