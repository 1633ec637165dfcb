//! The job a stream entry stands for: its identity in the events, the work, and what the acker is
//! told once it is done.

use std::time::Duration;

use common::{Detail, JobRef, Outcome};

use queue_consumer::payload::Message;

use crate::broker::{Ack, Delivery};

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

impl Job {
    /// The entry's fields on every event of this job: `entry_id`, `deliveries`, `claimed`.
    pub fn detail(&self) -> Detail {
        let d = &self.delivery;
        Detail::default()
            .field("entry_id", d.entry_id.clone())
            .field("deliveries", d.deliveries)
            .field("claimed", d.claimed)
    }

    /// What the acker gets for this entry: acknowledge it, first writing it to the dead-letter
    /// stream with its last error when `dead` is set.
    pub fn ack(&self, dead: Option<String>) -> Ack {
        let d = &self.delivery;
        Ack {
            entry_id: d.entry_id.clone(),
            message: d.message,
            deliveries: d.deliveries,
            dead,
        }
    }
}

/// Splits claimed entries into those delivered more than `max` times without ever ending (their
/// consumers kept dying: straight to the dead-letter stream, without running them again) and the
/// live ones.
pub fn split_dead(claimed: Vec<Delivery>, max: u64) -> (Vec<Ack>, Vec<Delivery>) {
    let (dead, live): (Vec<_>, Vec<_>) = claimed.into_iter().partition(|d| d.deliveries > max);
    (dead.into_iter().map(dead_on_claim).collect(), live)
}

fn dead_on_claim(d: Delivery) -> Ack {
    let reason = format!(
        "delivered {} times, never acknowledged (its consumers died)",
        d.deliveries
    );
    Ack {
        entry_id: d.entry_id,
        message: d.message,
        deliveries: d.deliveries,
        dead: Some(reason),
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
    Message {
        job: message,
        poison: job.delivery.poison.clone(),
    }
    .outcome()
}

/// A poison message's panic is caught and reported as a failed job: keep the default hook's
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

    #[test]
    fn acks_carry_the_entry_and_a_dead_letter_its_reason() {
        let j = job(5, None);
        let ack = j.ack(None);
        assert_eq!((ack.entry_id.as_str(), ack.message, ack.dead), ("1-0", 5, None));
        let dead = dead_on_claim(Delivery {
            deliveries: 4,
            ..j.delivery
        });
        assert!(dead.dead.is_some_and(|r| r.contains("delivered 4 times")));
    }
}
