//! # http-fetch — a pool of workers fetching URLs over real HTTP
//!
//! Fetching a thousand URLs one after another takes a thousand round trips; one thread per URL
//! opens a thousand connections at once. A pool of `--workers` threads sharing one HTTP client
//! keeps exactly that many requests in flight, reuses their connections (keep-alive), and turns
//! every URL into one result: a status, a byte count and a latency, or the reason it failed.
//!
//! The mechanics, all in this file:
//! 1. one `fetch::Client` (a blocking ureq `Agent`, its connection pool sized to the workers,
//!    a per-request timeout `--timeout-ms`) shared by every worker;
//! 2. two bounded channels, `jobs` (URLs) and `results`, and `--workers` threads looping
//!    `for job in jobs`;
//! 3. a producer sends every URL, then drops its `Sender` (Go's `close(jobs)`); on Ctrl-C it
//!    stops dispatching and hands the URLs it never sent back as "not started";
//! 4. main collects exactly one result per URL, joins every thread, and stops the embedded server.
//!
//! What to observe: `cargo run -p http-fetch` starts a small HTTP server on 127.0.0.1 (OS-chosen
//! port, `src/server.rs`) and fetches 100 URLs from it with 10 workers: mostly 200s that take
//! 20–50 ms, some bodies of a few KiB, four 404s, two 500s and one `/slow` URL that times out.
//! The summary counts ok / HTTP errors / timeouts / other errors, the requests per second, the
//! latency percentiles, and the most requests the server saw at once: at most 10, the workers.
//! Try `--workers 1` (ten times slower), `--workers 50`, `--retries 2 '{server}/flaky/a/2'`
//! (fails twice, then succeeds), `--max-bytes 100`, or your own list: `--urls FILE` (one URL a
//! line; blank lines and `#` comments skipped) or URLs as arguments, http or https. A malformed
//! URL fails alone ("invalid URL ..."). `{server}` in any URL means the embedded server (it is
//! started whenever a URL mentions it): `--urls list.txt` with a line `{server}/status/418`.
//! Exit code 1 means some URL failed (the default list always has failures, on purpose).
//!
//! Options beyond the shared ones: `--urls FILE`, `URL...`, `--timeout-ms` (default 5000, the
//! Go original's client; 1000 for the embedded default list so its timeout shows in a second),
//! `--max-bytes` (default 1 MiB; a longer body fails as `body_too_large` and is read no further
//! than the cap), `--retries N` (default 0: retries 5xx, timeouts and connection errors with
//! exponential backoff from 50 ms plus random jitter), `--mix mixed|delay` (the generated list;
//! `delay` is all `/delay/{work-ms}`, for benchmarks). For the generated list `--jobs` is its
//! length (default 100) and `--work-ms` the base server latency (default 20). `--workload` and
//! `--fail-every` do not apply to HTTP and are ignored.
//!
//! Go original: 002 "Use Cases: 1. HTTP Request Processing" (10 workers, `http.Client{Timeout:
//! 5 * time.Second}`, `client.Get`, `io.ReadAll`). What differs, and why:
//! - Go builds a client per worker; here one `Agent` is shared, so its connection pool is too
//!   (ureq keeps up to `--workers` idle keep-alive connections, one per worker).
//! - Go's `io.ReadAll` reads a body of any size and ignores its error; here the body is read no
//!   further than `--max-bytes` + 1 and every error is a result with a kind.
//! - Go sends `"Error: ..."` strings down the results channel, and a 404 counts as a success;
//!   here a status ≥ 400 is a failure with its status, and results are structured.
//! - Go's example needs the internet; this one brings its own server, so it runs anywhere and
//!   never sends traffic beyond 127.0.0.1 unless you give it other URLs. The server is a small
//!   std-only HTTP/1.1 server rather than tiny_http, whose threads cannot be joined (see
//!   server.rs): here every thread, the server's too, is joined before the summary.
//! - Ctrl-C stops dispatching, lets the requests in flight finish or time out (no retries after
//!   it), reports the URLs never sent as not started, and exits 130.
//!
//! Run with: cargo run -p http-fetch

mod fetch;
mod server;
mod urls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use common::{Defaults, InFlight, PoolArgs, Reporter, Summary, Tally, work::is_cancelled};
use crossbeam::channel::{self, Receiver, Sender};
use serde_json::json;

use fetch::{Client, ErrorKind, Fetch};
use server::Server;
use urls::{Mix, UrlJob};

/// A pool of workers fetching URLs over real HTTP, with an embedded test server by default.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    pool: PoolArgs,

    /// URLs to fetch; `{server}` stands for the embedded server's base URL. With no URLs and no
    /// --urls, the embedded default list (--jobs URLs) is fetched from the embedded server.
    #[arg(value_name = "URL")]
    url_args: Vec<String>,

    /// A file of URLs, one per line (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE")]
    urls: Option<PathBuf>,

    /// Per-request timeout, connect to last body byte (default 5000; 1000 for the default list).
    #[arg(long, value_name = "MS", value_parser = parse_timeout)]
    timeout_ms: Option<u64>,

    /// Largest body accepted; a longer one fails as body_too_large (read no further).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_bytes: u64,

    /// Retries for 5xx, timeouts and connection errors (exponential backoff with jitter).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10))]
    retries: u32,

    /// The generated default list: mixed outcomes, or only /delay/{work-ms} (benchmarks).
    #[arg(long, value_enum, default_value_t = Mix::Mixed)]
    mix: Mix,
}

fn parse_timeout(s: &str) -> Result<u64, String> {
    match common::cli::parse_millis(s)? {
        0 => Err("the timeout must be at least 1 ms".to_owned()),
        ms => Ok(ms),
    }
}

/// What comes back on the results channel: one per URL.
enum Done {
    Fetched(Fetch),
    NotStarted(UrlJob),
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker: fetch URLs until the jobs channel is closed and drained. After Ctrl-C (`cancel`
/// ready), the URLs still queued are handed back unstarted.
fn worker(
    id: usize,
    jobs: Receiver<UrlJob>,
    results: Sender<Done>,
    client: Client,
    cancel: Receiver<()>,
    gauge: &InFlight,
    report: &Reporter,
) {
    for job in jobs {
        if is_cancelled(&cancel) {
            if results.send(Done::NotStarted(job)).is_err() {
                break;
            }
            continue;
        }
        let in_flight = gauge.enter();
        report_started(report, &job, id);
        let fetch = client.fetch(&job.url, &cancel);
        report_finished(report, &job, id, &fetch);
        drop(in_flight);
        if results.send(Done::Fetched(fetch)).is_err() {
            break; // the collector is gone
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 100,
        workers: 10,
        work_ms: 20,
    });
    let args = &cli.pool;

    // The URL list: a file and/or arguments, else the embedded default list.
    let mut list = match &cli.urls {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the URL list {}", path.display()))?;
            urls::parse_list(&text)
        }
        None => Vec::new(),
    };
    list.extend(cli.url_args.iter().cloned());
    let default_list = cli.urls.is_none() && cli.url_args.is_empty();
    if default_list {
        list = urls::default_list(args.jobs, args.work_ms, args.seed, cli.mix);
    }
    let timeout = Duration::from_millis(cli.timeout_ms.unwrap_or(if default_list { 1000 } else { 5000 }));

    // The embedded server, if any URL mentions it.
    let server = match list.iter().any(|u| u.contains(urls::SERVER)) {
        true => Some(Server::start(args.workers)?),
        false => None,
    };
    let base = server.as_ref().map(Server::base_url);
    let job_list = urls::jobs(&list, base.as_deref());
    let submitted = job_list.len() as u64;

    let report = Arc::new(Reporter::new(&args.output));
    if let Some(base) = &base {
        report.note(format!(
            "Embedded server at {base}; timeout {} ms",
            timeout.as_millis()
        ));
    }
    let gauge = Arc::new(InFlight::new());
    let client = Client::new(args.workers, timeout, cli.max_bytes, cli.retries);

    // Ctrl-C: `cancel` is a channel that never carries a message; dropping its only sender makes
    // it ready for every receiver at once (Go's `ctx.Done()`).
    let (cancel_tx, cancel_rx) = channel::bounded::<()>(0);
    let cancel_tx = Mutex::new(Some(cancel_tx));
    common::signal::on_ctrlc(move || {
        if let Ok(mut sender) = cancel_tx.lock() {
            sender.take();
        }
    })?;

    // 1. The two channels.
    let buffer = args.buffer.unwrap_or_else(|| job_list.len().clamp(1, 1024));
    let (jobs_tx, jobs_rx) = channel::bounded::<UrlJob>(buffer);
    let (results_tx, results_rx) = channel::bounded::<Done>(buffer);

    // 2. The workers, each with a handle on the shared client (same connection pool).
    let mut workers = Vec::with_capacity(args.workers);
    for id in 1..=args.workers {
        let (jobs_rx, results_tx, cancel) = (jobs_rx.clone(), results_tx.clone(), cancel_rx.clone());
        let (client, gauge, report) = (client.clone(), Arc::clone(&gauge), Arc::clone(&report));
        let handle = thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || worker(id, jobs_rx, results_tx, client, cancel, &gauge, &report))?;
        workers.push(handle);
    }
    drop(jobs_rx);
    drop(client); // the workers hold the client now; the last one to finish closes the pool

    // 3. The producer: sends every URL, or on Ctrl-C stops and reports the rest as not started.
    //    Dropping `jobs_tx` when it returns closes the jobs channel.
    let cancel = cancel_rx.clone();
    let producer = thread::Builder::new().name("producer".into()).spawn(move || {
        let mut pending = job_list.into_iter();
        for job in pending.by_ref() {
            channel::select! {
                send(jobs_tx, job.clone()) -> sent => if sent.is_err() { return },
                recv(cancel) -> _ => {
                    let _ = results_tx.send(Done::NotStarted(job));
                    break;
                }
            }
        }
        for job in pending {
            if results_tx.send(Done::NotStarted(job)).is_err() {
                return;
            }
        }
    })?;

    // 4. Collect exactly one result per URL.
    let bar = if submitted >= 200 {
        common::progress::bar(submitted, args.json, args.quiet)
    } else {
        common::progress::ProgressBar::hidden()
    };
    let mut tally = Tally {
        submitted,
        ..Tally::default()
    };
    let mut kinds = Kinds::default();
    let mut latencies_ms: Vec<f64> = Vec::new();
    let mut requests: u64 = 0;
    for _ in 0..submitted {
        let Ok(done) = results_rx.recv() else {
            break; // every worker exited early: the summary shows what is missing
        };
        bar.inc(1);
        match done {
            Done::Fetched(fetch) => {
                tally.record(&outcome(&fetch));
                kinds.count(&fetch);
                requests += u64::from(fetch.attempts);
                if fetch.attempts > 0 {
                    latencies_ms.push(fetch.latency.as_secs_f64() * 1000.0);
                }
            }
            Done::NotStarted(job) => {
                tally.not_started += 1;
                report.event(
                    || format!("Job {} never started: {}", job.id, job.url),
                    || json!({"event": "not_started", "job": job.id, "url": job.url}),
                );
            }
        }
    }
    bar.finish_and_clear();
    // Throughput is measured over the fetching, not the joins and the server shutdown after it.
    let fetch_wall = report.elapsed();

    // Join every thread, then stop the server (which joins its own threads).
    let mut panicked = 0;
    for handle in workers.into_iter().chain([producer]) {
        if handle.join().is_err() {
            panicked += 1;
        }
    }
    let server_stats = server.map(Server::shutdown);
    let wall = report.elapsed();

    let rps = if fetch_wall.as_secs_f64() > 0.0 {
        requests as f64 / fetch_wall.as_secs_f64()
    } else {
        0.0
    };
    latencies_ms.sort_by(f64::total_cmp);
    let [p50, p95, p99] = [0.50, 0.95, 0.99].map(|q| percentile(&latencies_ms, q));
    let mut summary = Summary::new("http-fetch", tally, args.workers, gauge.peak(), wall)
        .with_interrupted(common::signal::interrupted())
        .line(format!(
            "{} ok, {} HTTP errors, {} timeouts, {} other errors; {requests} requests, {rps:.1} requests/s",
            tally.ok, kinds.http_error, kinds.timeout, kinds.other
        ))
        .line(format!(
            "latency p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms (per URL, retries included)"
        ))
        .field("http_error", kinds.http_error)
        .field("timeout", kinds.timeout)
        .field("other", kinds.other)
        .field("requests", requests)
        .field("requests_per_sec", round1(rps))
        .field("latency_p50_ms", round1(p50))
        .field("latency_p95_ms", round1(p95))
        .field("latency_p99_ms", round1(p99))
        .field("timeout_ms", timeout.as_millis() as u64);
    if default_list && cli.mix == Mix::Delay && submitted > 0 {
        // Every URL waits work_ms on the server: ceil(n / workers) rounds at best.
        let ms = submitted.div_ceil(args.workers as u64) * args.work_ms;
        summary.ideal = Some(Duration::from_millis(ms));
        let limit = args.workers as f64 * 1000.0 / args.work_ms.max(1) as f64;
        summary = summary
            .line(format!(
                "limit {limit:.0} requests/s = {} workers / {} ms; reached {:.1}%",
                args.workers,
                args.work_ms,
                rps / limit * 100.0
            ))
            .field("limit_requests_per_sec", round1(limit));
    }
    if let Some(stats) = &server_stats {
        summary = summary
            .line(format!(
                "embedded server: {} requests on {} connections, at most {} at once (workers: {})",
                stats.requests(),
                stats.connections(),
                stats.peak_concurrency(),
                args.workers
            ))
            .field("server_peak_concurrency", stats.peak_concurrency())
            .field("server_requests", stats.requests())
            .field("server_connections", stats.connections());
    }
    if panicked > 0 {
        summary = summary
            .line(format!("{panicked} thread(s) panicked"))
            .field("threads_panicked", panicked);
    }
    Ok(report.summary(&summary))
}

/// The job outcome a fetch gives: ok with the byte count, or failed with its reason.
fn outcome(fetch: &Fetch) -> common::Outcome {
    match &fetch.error {
        None => common::Outcome::Ok(fetch.bytes),
        Some((_, reason)) => common::Outcome::Failed(reason.clone()),
    }
}

/// Failures by kind, for the summary: HTTP status ≥ 400, timeout, anything else.
#[derive(Debug, Default)]
struct Kinds {
    http_error: u64,
    timeout: u64,
    other: u64,
}

impl Kinds {
    fn count(&mut self, fetch: &Fetch) {
        match fetch.error {
            None => {}
            Some((ErrorKind::HttpStatus, _)) => self.http_error += 1,
            Some((ErrorKind::Timeout, _)) => self.timeout += 1,
            Some(_) => self.other += 1,
        }
    }
}

fn report_started(report: &Reporter, job: &UrlJob, worker: usize) {
    report.event(
        || format!("Worker {worker} fetching job {}: {}", job.id, job.url),
        || json!({"event": "started", "job": job.id, "worker": worker, "url": job.url}),
    );
}

/// The standard `finished` event (outcome, output = bytes, or reason) plus the fetch's fields.
fn report_finished(report: &Reporter, job: &UrlJob, worker: usize, fetch: &Fetch) {
    let latency_ms = round1(fetch.latency.as_secs_f64() * 1000.0);
    report.event(
        || match (&fetch.error, fetch.status) {
            (None, status) => format!(
                "Worker {worker} finished job {}: {} {} bytes in {latency_ms} ms",
                job.id,
                status.unwrap_or(0),
                fetch.bytes
            ),
            (Some((kind, reason)), _) => format!(
                "Worker {worker} failed job {} ({}): {reason} [{}]",
                job.id,
                kind.name(),
                job.url
            ),
        },
        || {
            let outcome = outcome(fetch);
            let mut event = json!({
                "event": "finished", "job": job.id, "worker": worker, "outcome": outcome.name(),
                "url": job.url, "status": fetch.status, "bytes": fetch.bytes,
                "latency_ms": latency_ms, "attempts": fetch.attempts,
                "error_kind": fetch.error.as_ref().map(|(kind, _)| kind.name()),
            });
            match outcome {
                common::Outcome::Ok(bytes) => event["output"] = json!(bytes),
                common::Outcome::Failed(reason) => event["reason"] = json!(reason),
                common::Outcome::Cancelled => {}
            }
            event
        },
    );
}

/// The q-quantile of sorted values (nearest rank); 0 for none.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
    fn bad_timeouts_are_usage_errors() {
        assert!(parse_timeout("abc").is_err());
        assert!(parse_timeout("0").is_err());
        assert_eq!(parse_timeout("250"), Ok(250));
    }
}
