//! What a job does, and how it notices the group's cancellation: the default task fetches pages
//! from the loopback test server (`testbed`), the other runs the shared simulated `--workload`.
//! A job polls the cancellation between two steps (two requests, two slices of a sleep, a block
//! of the prime check): nothing can stop a thread from outside, so a job stops where it looks.

use std::io::Read as _;
use std::time::Duration;

use common::{Job, Outcome, Stop, Work, Workload};

/// The end of the message of the panics `--panic-at` asks for (the panic hook keeps them quiet).
pub const SIMULATED_PANIC: &str = "(--panic-at)";

/// Requests per job of the `http` task: the job is a paginated download.
pub const PAGES: u64 = 4;

/// The most a job's body may be: the test server's `/bytes/{n}` answers `n` < 100 bytes here.
const MAX_BODY: u64 = 1 << 20;

/// How a job ended, as its thread or task hands it to the group.
pub enum JobEnd {
    /// Done, with its output.
    Ok(u64),
    /// A real error: the group's first one cancels the rest.
    Failed(String),
    /// It saw the cancellation and stopped. Never the group's error.
    Cancelled,
    /// It panicked; the payload, for `--on-panic propagate`.
    Panicked(Box<dyn std::any::Any + Send>),
}

impl JobEnd {
    fn from_outcome(outcome: Outcome) -> JobEnd {
        match outcome {
            Outcome::Ok(output) => JobEnd::Ok(output),
            Outcome::Failed(reason) => JobEnd::Failed(reason),
            Outcome::Cancelled | Outcome::NotStarted => JobEnd::Cancelled,
        }
    }
}

/// What every job of a run does.
pub enum Kind {
    /// `PAGES` GETs of `{base}/bytes/{value}?ms={page_ms}`; job `fail_at`'s second page is
    /// `/status/500`. The output is the bytes received.
    Http {
        agent: ureq::Agent,
        base: String,
        page_ms: u64,
    },
    /// The shared simulated work (`--workload`, `--work-ms`, `--fail-every`).
    Simulated(Work),
}

pub struct Task {
    pub kind: Kind,
    /// This job fails (0: none).
    pub fail_at: u64,
    /// This job panics as it starts (0: none).
    pub panic_at: u64,
}

impl Task {
    /// A blocking HTTP client for `limit` jobs at once (one pooled connection each).
    pub fn http_agent(limit: usize) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            // A 500 is a response to report with its status, not an `Err`.
            .http_status_as_error(false)
            .max_idle_connections(limit)
            .max_idle_connections_per_host(limit)
            .proxy(None)
            .build();
        // ureq's own resolver starts a thread per request, which a job thread must not need.
        ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            testbed::http_client::LiteralFirst::default(),
        )
    }

    /// `--panic-at`: job K panics before its work.
    pub fn panic_if_asked(&self, job: &Job) {
        if job.id == self.panic_at {
            panic!("job {} panics {SIMULATED_PANIC}", job.id);
        }
    }

    /// For the sleep workload: how long the job sleeps and how it ends if the sleep is not cut
    /// short (job `fail_at` fails halfway through its work). `None` for any other work.
    pub fn sleep_plan(&self, job: &Job) -> Option<(Duration, JobEnd)> {
        let Kind::Simulated(work) = &self.kind else {
            return None;
        };
        if work.workload != Workload::Sleep {
            return None;
        }
        if job.id == self.fail_at {
            return Some((work.duration_for(job) / 2, JobEnd::Failed(self.failure(job))));
        }
        Some((
            work.duration_for(job),
            JobEnd::from_outcome(work.finish(job, job.value * 2)),
        ))
    }

    fn failure(&self, job: &Job) -> String {
        format!("job {} failed (--fail-at {})", job.id, self.fail_at)
    }

    /// True where a job does no work at all (the dispatch workload): a task may run it itself.
    pub fn is_instant(&self) -> bool {
        matches!(&self.kind, Kind::Simulated(work) if work.workload == Workload::Dispatch)
    }

    /// Runs job `job` on this thread, polling `cancel` between steps.
    pub fn run(&self, job: &Job, cancel: &Stop) -> JobEnd {
        self.panic_if_asked(job);
        if let Some((duration, end)) = self.sleep_plan(job) {
            return if sleep(cancel, duration) {
                end
            } else {
                JobEnd::Cancelled
            };
        }
        match &self.kind {
            Kind::Http { agent, base, page_ms } => self.fetch_pages(agent, base, *page_ms, job, cancel),
            Kind::Simulated(work) => {
                let output = match work.workload {
                    Workload::Cpu => match is_prime_cancellable(job.value, cancel) {
                        Some(prime) => u64::from(prime),
                        None => return JobEnd::Cancelled,
                    },
                    Workload::Sleep | Workload::Dispatch => job.value * 2,
                    Workload::Custom => match common::custom::job(job.value) {
                        Ok(output) => output,
                        Err(e) => return JobEnd::Failed(e),
                    },
                };
                if job.id == self.fail_at {
                    return JobEnd::Failed(self.failure(job));
                }
                JobEnd::from_outcome(work.finish(job, output))
            }
        }
    }

    /// The `http` task: `PAGES` requests, the cancellation checked before each one. A request in
    /// flight is not interrupted (a blocking client has no cancel): it ends within `page_ms`.
    fn fetch_pages(&self, agent: &ureq::Agent, base: &str, page_ms: u64, job: &Job, cancel: &Stop) -> JobEnd {
        let mut bytes = 0;
        for page in 1..=PAGES {
            if cancel.is_set() {
                return JobEnd::Cancelled;
            }
            let url = match job.id == self.fail_at && page == PAGES.min(2) {
                true => format!("{base}/status/500?ms={page_ms}"),
                false => format!("{base}/bytes/{}?ms={page_ms}", job.value),
            };
            let mut response = match agent.get(&url).call() {
                Ok(response) => response,
                Err(e) => return JobEnd::Failed(format!("GET {url}: {e}")),
            };
            let status = response.status().as_u16();
            if status >= 400 {
                return JobEnd::Failed(format!("GET {url}: HTTP {status}"));
            }
            let mut body = Vec::new();
            let read = response
                .body_mut()
                .as_reader()
                .take(MAX_BODY)
                .read_to_end(&mut body);
            match read {
                Ok(n) => bytes += n as u64,
                Err(e) => return JobEnd::Failed(format!("GET {url}: reading the body: {e}")),
            }
        }
        JobEnd::Ok(bytes)
    }
}

/// Sleeps `duration` unless `cancel` is set first (it wakes at once): true if it slept it all.
pub fn sleep(cancel: &Stop, duration: Duration) -> bool {
    crossbeam::select! {
        recv(cancel.channel()) -> _ => false,
        default(duration) => true,
    }
}

/// Divisions between two looks at the cancellation.
const POLL_EVERY: u64 = 4096;

/// The Go original's O(n) prime check (`common::work::is_prime_naive`, with its 32-bit division
/// where the value fits), looking at `cancel` every [`POLL_EVERY`] divisions: `None` once it is
/// set.
pub fn is_prime_cancellable(n: u64, cancel: &Stop) -> Option<bool> {
    if n < 2 {
        return Some(false);
    }
    let small = u32::try_from(n).ok();
    let divides = |d: u64| match small {
        // d < n ≤ u32::MAX here: the cast keeps every bit.
        Some(m) => m.is_multiple_of(d as u32),
        None => n.is_multiple_of(d),
    };
    let mut top = n - 1;
    loop {
        if cancel.is_set() {
            return None;
        }
        let bottom = top.saturating_sub(POLL_EVERY - 1).max(2);
        if (bottom..=top).rev().any(divides) {
            return Some(false);
        }
        if bottom == 2 {
            return Some(true);
        }
        top = bottom - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cancellable_check_agrees_and_stops() {
        let never = Stop::new();
        for n in 0..3_000 {
            assert_eq!(
                is_prime_cancellable(n, &never),
                Some(common::work::is_prime_sqrt(n)),
                "n = {n}"
            );
        }
        let cancelled = Stop::new();
        cancelled.set();
        assert_eq!(is_prime_cancellable(4_999_999, &cancelled), None);
        assert!(!sleep(&cancelled, Duration::from_secs(60)));
    }
}
