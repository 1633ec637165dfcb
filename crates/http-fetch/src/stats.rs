//! The run's figures and lines, kept out of `main.rs` so the pool stays in view: the detail each
//! URL's events carry (url, status, bytes, latency, attempts, requests, redirects, final URL, error
//! kind, and the human line), and the summary (failures by kind, requests and redirects, requests
//! per second, latency percentiles, the server's view).

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Detail, Outcome, Summary, Tally};
use testbed::http_server::Stats as ServerStats;

use crate::fetch::{ErrorKind, Fetch};
use crate::urls::UrlJob;

/// The `started` event's detail: "Worker 2 fetching job 5: http://…", and `url`.
pub fn started(job: &UrlJob, worker: usize) -> Detail {
    Detail::default()
        .human(format!("Worker {worker} fetching job {}: {}", job.id, job.url))
        .field("url", job.url.as_str())
}

/// The `finished` event's detail: how the fetch went.
pub fn finished(job: &UrlJob, worker: usize, fetch: &Fetch) -> Detail {
    let latency_ms = round1(millis(fetch.latency));
    let via = match (fetch.redirects, &fetch.final_url) {
        (0, _) | (_, None) => String::new(),
        (n, Some(at)) => format!(" via {n} redirect(s), ending at {at}"),
    };
    let human = match &fetch.error {
        None => format!(
            "Worker {worker} finished job {}: {} {} bytes in {latency_ms} ms{via}{}",
            job.id,
            fetch.status.unwrap_or(0),
            fetch.bytes,
            fetch
                .location
                .as_ref()
                .map_or_else(String::new, |to| format!(" (a redirect to {to}, not followed)"))
        ),
        Some((kind, reason)) => format!(
            "Worker {worker} failed job {} ({}): {reason} [{}]{via}",
            job.id,
            kind.name(),
            job.url
        ),
    };
    Detail::default()
        .human(human)
        .field("url", job.url.as_str())
        .field("status", fetch.status)
        .field("bytes", fetch.bytes)
        .field("latency_ms", latency_ms)
        .field("attempts", fetch.attempts)
        .field("requests", fetch.requests)
        .field("redirects", fetch.redirects)
        .field("final_url", fetch.final_url.as_deref())
        .field("location", fetch.location.as_deref())
        .field("error_kind", fetch.error.as_ref().map(|(kind, _)| kind.name()))
}

/// The `not_started` event's detail: "Job 7 never started: http://…", and `url`.
pub fn not_started(job: &UrlJob) -> Detail {
    Detail::default()
        .human(format!("Job {} never started: {}", job.id, job.url))
        .field("url", job.url.as_str())
}

/// What the collector counts as results arrive.
#[derive(Debug)]
pub struct Stats {
    pub tally: Tally,
    http_error: u64,
    timeout: u64,
    other: u64,
    /// HTTP requests sent (retries and redirects included).
    requests: u64,
    /// Redirects followed (over every attempt).
    redirects: u64,
    latencies_ms: Vec<f64>,
}

/// The rest of what the summary reports, known once every thread is joined.
#[derive(Debug)]
pub struct RunInfo {
    pub workers: usize,
    pub peak_in_flight: usize,
    pub wall: Duration,
    /// The time spent fetching (throughput is measured over it, not over the joins after it).
    pub fetch_wall: Duration,
    pub timeout: Duration,
    /// `--redirects`.
    pub max_redirects: u32,
    /// The server latency of every URL, for the generated `delay` list (its ideal time is known).
    pub delay_ms: Option<u64>,
    pub server: Option<Arc<ServerStats>>,
    pub panicked: usize,
    /// When a Ctrl-C stopped the run, if one did.
    pub interrupted_at: Option<Instant>,
}

impl Stats {
    pub fn new(submitted: u64) -> Self {
        Stats {
            tally: Tally::new(submitted),
            http_error: 0,
            timeout: 0,
            other: 0,
            requests: 0,
            redirects: 0,
            latencies_ms: Vec::new(),
        }
    }

    /// One fetched URL.
    pub fn record(&mut self, fetch: &Fetch) {
        self.tally.record(&fetch.outcome());
        match fetch.error {
            None => {}
            Some((ErrorKind::HttpStatus, _)) => self.http_error += 1,
            Some((ErrorKind::Timeout, _)) => self.timeout += 1,
            Some(_) => self.other += 1,
        }
        self.requests += u64::from(fetch.requests);
        self.redirects += u64::from(fetch.redirects_all);
        if fetch.attempts > 0 {
            self.latencies_ms.push(millis(fetch.latency));
        }
    }

    /// One URL handed back unstarted after Ctrl-C.
    pub fn not_started(&mut self) {
        self.tally.record(&Outcome::NotStarted);
    }

    pub fn summary(mut self, run: &RunInfo) -> Summary {
        let fetch_secs = run.fetch_wall.as_secs_f64();
        let rps = if fetch_secs > 0.0 {
            self.requests as f64 / fetch_secs
        } else {
            0.0
        };
        self.latencies_ms.sort_by(f64::total_cmp);
        let [p50, p95, p99] = [0.50, 0.95, 0.99].map(|q| percentile(&self.latencies_ms, q));
        let (t, requests, redirects) = (self.tally, self.requests, self.redirects);
        let mut summary = Summary::new("http-fetch", t, run.workers, run.peak_in_flight, run.wall)
            .with_interrupted_at(run.interrupted_at)
            .line(format!(
                "{} ok, {} HTTP errors, {} timeouts, {} other errors; {requests} requests \
                 ({redirects} redirects followed), {rps:.1} requests/s",
                t.ok, self.http_error, self.timeout, self.other
            ))
            .line(format!(
                "latency p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms (per URL, retries included)"
            ))
            .field("http_error", self.http_error)
            .field("timeout", self.timeout)
            .field("other", self.other)
            .field("requests", requests)
            .field("redirects", redirects)
            .field("max_redirects", run.max_redirects)
            .field("requests_per_sec", round1(rps))
            .field("latency_p50_ms", round1(p50))
            .field("latency_p95_ms", round1(p95))
            .field("latency_p99_ms", round1(p99))
            .field(
                "timeout_ms",
                u64::try_from(run.timeout.as_millis()).unwrap_or(u64::MAX),
            );
        if let Some(ms) = run.delay_ms.filter(|_| t.submitted > 0) {
            // Every URL waits `ms` on the server. The work that ran is the URLs answered (a URL
            // that timed out held its worker for the timeout, not for `ms`): ceil(answered /
            // workers) rounds at best, and none when nothing was answered. The builder drops
            // the ideal after Ctrl-C (the wall time then includes the stop).
            let rounds = u32::try_from(t.ok.div_ceil(run.workers as u64)).unwrap_or(u32::MAX);
            if rounds > 0 {
                summary = summary.with_ideal(Duration::from_millis(ms).saturating_mul(rounds));
            }
            let limit = run.workers as f64 * 1000.0 / ms.max(1) as f64;
            summary = summary.field("limit_requests_per_sec", round1(limit));
            if run.interrupted_at.is_none() {
                summary = summary.line(format!(
                    "limit {limit:.0} requests/s = {} workers / {ms} ms; reached {:.1}%",
                    run.workers,
                    rps / limit * 100.0
                ));
            }
        }
        if let Some(server) = &run.server {
            summary = summary
                .line(format!(
                    "test server: {} requests on {} connections; at most {} at once with a client waiting \
                     (workers: {}); {} counting the {} whose client timed out and left",
                    server.requests(),
                    server.connections(),
                    server.peak_open_requests(),
                    run.workers,
                    server.peak_concurrency(),
                    server.abandoned(),
                ))
                .field("server_peak_open_requests", server.peak_open_requests())
                .field("server_peak_concurrency", server.peak_concurrency())
                .field("server_abandoned", server.abandoned())
                .field("server_requests", server.requests())
                .field("server_connections", server.connections());
        }
        if run.panicked > 0 {
            summary = summary
                .line(format!("{} thread(s) panicked", run.panicked))
                .field("threads_panicked", run.panicked);
        }
        summary
    }
}

/// The q-quantile of sorted values (nearest rank); 0 for none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.50), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn an_interrupted_delay_run_has_no_ideal() {
        let fetch = Fetch {
            status: Some(200),
            bytes: 3,
            latency: Duration::from_millis(20),
            attempts: 1,
            requests: 1,
            ..Fetch::default()
        };
        let mut stats = Stats::new(3);
        stats.record(&fetch);
        stats.not_started();
        stats.not_started();
        let run = RunInfo {
            workers: 2,
            peak_in_flight: 1,
            wall: Duration::from_millis(5),
            fetch_wall: Duration::from_millis(5),
            timeout: Duration::from_secs(1),
            max_redirects: 10,
            delay_ms: Some(20),
            server: None,
            panicked: 0,
            interrupted_at: Some(Instant::now()),
        };
        let summary = stats.summary(&run);
        assert_eq!((summary.tally.ok, summary.tally.not_started), (1, 2));
        assert_eq!((summary.ideal(), summary.efficiency()), (None, None));
        assert_eq!(summary.exit_code(), 130);
    }

    /// The delay ideal counts the URLs answered: 3 of 5 on 2 workers is 2 rounds of 20 ms; none
    /// answered, no ideal.
    #[test]
    fn the_delay_ideal_counts_only_the_answered_urls() {
        let run = |ok: u64, timed_out: u64| {
            let mut stats = Stats::new(ok + timed_out);
            let answered = Fetch {
                status: Some(200),
                latency: Duration::from_millis(20),
                attempts: 1,
                requests: 1,
                ..Fetch::default()
            };
            let timeout = Fetch {
                error: Some((ErrorKind::Timeout, "timeout after 5 ms".to_owned())),
                ..answered.clone()
            };
            (0..ok).for_each(|_| stats.record(&answered));
            (0..timed_out).for_each(|_| stats.record(&timeout));
            stats.summary(&RunInfo {
                workers: 2,
                peak_in_flight: 2,
                wall: Duration::from_millis(45),
                fetch_wall: Duration::from_millis(45),
                timeout: Duration::from_millis(5),
                max_redirects: 10,
                delay_ms: Some(20),
                server: None,
                panicked: 0,
                interrupted_at: None,
            })
        };
        assert_eq!(run(3, 2).ideal(), Some(Duration::from_millis(40)));
        assert_eq!(run(0, 5).ideal(), None);
    }
}
