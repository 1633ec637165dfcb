//! The summary's own fields and lines, and the job a message stands for.

use std::time::Duration;

use common::{JobRef, Outcome, Summary};

use crate::broker::Delivery;

/// One delivery of a stream entry to this process: a job. `seq` numbers the deliveries this
/// process took (1..=submitted); `value` is the producer's message number.
#[derive(Debug, Clone)]
pub struct Job {
    pub seq: u64,
    pub delivery: Delivery,
}

impl JobRef for Job {
    fn id(&self) -> u64 {
        self.seq
    }
    fn value(&self) -> Option<u64> {
        Some(self.delivery.message)
    }
}

/// Runs one job: output = message × 2 after `--work-ms` of simulated I/O (cancelled by `abort`).
/// A message marked `poison=fail` always fails, `poison=panic` always panics.
pub fn run_job(job: &Job, work_ms: u64, abort: &common::Stop) -> Outcome {
    let message = job.delivery.message;
    if work_ms > 0 {
        crossbeam::select! {
            recv(abort.channel()) -> _ => return Outcome::Cancelled,
            default(Duration::from_millis(work_ms)) => {}
        }
    }
    match job.delivery.poison.as_deref() {
        Some("panic") => panic!("poison message {message}: this job always panics"),
        Some(kind) => Outcome::Failed(format!(
            "poison message {message}: this job always fails ({kind})"
        )),
        None if message == 0 => Outcome::Failed("malformed entry: no numeric `job` field".into()),
        None => Outcome::Ok(message * 2),
    }
}

/// What the broker side of the run counted.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub produced: u64,
    pub acked: u64,
    pub dead_lettered: u64,
    pub claimed: u64,
    pub pending_left: Option<u64>,
    pub consumer: String,
}

impl QueueStats {
    /// Adds the queue's fields and lines to the summary.
    pub fn add_to(&self, summary: Summary, wall: Duration) -> Summary {
        let secs = wall.as_secs_f64();
        let rate = if secs > 0.0 {
            (self.acked as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        };
        let pending = self
            .pending_left
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        summary
            .field("consumer", self.consumer.clone())
            .field("produced", self.produced)
            .field("acked", self.acked)
            .field("dead_lettered", self.dead_lettered)
            .field("claimed", self.claimed)
            .field("pending_left", self.pending_left)
            .field("messages_per_sec", rate)
            .line(format!("consumer {}", self.consumer))
            .line(format!(
                "produced {}, acknowledged {} ({rate} messages/s), dead-lettered {}, claimed from idle consumers {}, left pending in the group {pending}",
                self.produced, self.acked, self.dead_lettered, self.claimed
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(message: u64, poison: Option<&str>) -> Job {
        Job {
            seq: 1,
            delivery: Delivery {
                entry_id: "1-0".into(),
                message,
                deliveries: 1,
                claimed: false,
                poison: poison.map(str::to_owned),
            },
        }
    }

    #[test]
    fn jobs_double_fail_and_cancel() {
        let stop = common::Stop::new();
        assert_eq!(run_job(&job(21, None), 0, &stop), Outcome::Ok(42));
        assert!(
            matches!(run_job(&job(7, Some("fail")), 0, &stop), Outcome::Failed(r) if r.contains("poison message 7"))
        );
        assert!(matches!(run_job(&job(0, None), 0, &stop), Outcome::Failed(r) if r.contains("malformed")));
        stop.set();
        assert_eq!(run_job(&job(3, None), 60_000, &stop), Outcome::Cancelled);
    }

    #[test]
    fn a_panicking_job_panics_with_its_message() {
        let stop = common::Stop::new();
        let caught = std::panic::catch_unwind(|| run_job(&job(9, Some("panic")), 0, &stop));
        let payload = caught.expect_err("must panic");
        assert!(common::panic_message(&*payload).contains("always panics"));
    }
}
