//! # http-fetch — a pool of workers fetching URLs over real HTTP
//!
//! ## What it shows
//! Fetching a thousand URLs one after another takes a thousand round trips; a thread per URL opens a
//! thousand connections at once. `--workers` threads sharing one HTTP client (a blocking ureq
//! `Agent`, `fetch.rs`, its connection pool sized to the workers) keep exactly that many requests in
//! flight, reuse their keep-alive connections, and turn every URL into one result: a status, a byte
//! count and a latency, or the reason it failed.
//!
//! ## What to watch for
//! - The default run starts a small HTTP server on 127.0.0.1 (`testbed`, not part of the lesson)
//!   and fetches 100 URLs with 10 workers: mostly 200s, four 404s, two 500s and one `/slow` URL
//!   that times out, so the exit code is 1 on purpose.
//! - The summary counts ok, HTTP errors, timeouts and other errors, with latency percentiles, and
//!   the server's view: at most 10 requests at once with a client waiting (the workers), but more
//!   whose client had timed out and gone: a client timeout does not stop the work on the server.
//! - `--workers 1` is ten times slower; `--retries 2 '{server}/flaky/a/2'` fails twice, then
//!   succeeds; `--urls FILE` or URL arguments fetch your own list (`{server}` is the test server).
//!
//! ## Go original and what differs
//! 002 "Use Cases: 1. HTTP Request Processing" (10 workers, a 5 s `http.Client` timeout).
//! - Go builds a client per worker; here one `Agent`, and so its connection pool, is shared.
//! - Go's `io.ReadAll` reads a body of any size and ignores its error; here a body is read no
//!   further than `--max-bytes`, and every error is a result with a kind.
//! - Go sends "Error: ..." strings as results and counts a 404 as a success; here a status ≥ 400
//!   fails with its status. Go's example needs the internet; this one brings its own server.
//!
//! ## How to run
//! ```sh
//! cargo run -p http-fetch
//! cargo run -p http-fetch -- --workers 1
//! cargo run -p http-fetch -- --retries 2 '{server}/flaky/a/2'
//! ```

mod cli;
mod stats;

use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use common::{Defaults, InFlight, Reporter, Stop};
use crossbeam::channel::{self, Receiver, Sender};
use testbed::http_server::Server;

use cli::Cli;
use http_fetch::fetch::{self, Client, Fetch, Limits};
use http_fetch::urls::{self, Mix, UrlJob};
use stats::{RunInfo, Stats};

/// What comes back on the results channel: one per URL.
enum Done {
    Fetched(Fetch),
    NotStarted(UrlJob),
}

fn main() -> ExitCode {
    common::main(run)
}

/// One worker: fetch URLs until the jobs channel is closed and drained. After Ctrl-C (`stop`
/// set), the URLs still queued are handed back unstarted.
fn worker(
    id: usize,
    jobs: Receiver<UrlJob>,
    results: Sender<Done>,
    client: Client,
    stop: Stop,
    gauge: &InFlight,
    report: &Reporter,
) {
    for job in jobs {
        if stop.is_set() {
            if results.send(Done::NotStarted(job)).is_err() {
                break;
            }
            continue;
        }
        let in_flight = gauge.enter();
        report.started_detail(&job, id, || stats::started(&job, id));
        let fetch = client.fetch(&job.url, &stop);
        report.ended(&job, id, &fetch.outcome(), || stats::finished(&job, id, &fetch));
        drop(in_flight);
        if results.send(Done::Fetched(fetch)).is_err() {
            break; // the collector is gone
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    // Ctrl-C first: from here on, a signal ends in a summary and exit 130.
    let stop = common::signal::ctrl_c()?;
    let cli: Cli = common::parse_args(&Defaults {
        jobs: 100,
        workers: 10,
        work_ms: 20,
    });

    // The URL list: a file and/or arguments, else the generated list.
    let mut list = match &cli.urls {
        Some(path) => urls::parse_list(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the URL list {}", path.display()))?,
        ),
        None => Vec::new(),
    };
    list.extend(cli.url_args.iter().cloned());
    let generated = list.is_empty() && cli.urls.is_none();
    if generated {
        list = urls::default_list(cli.jobs, cli.work_ms, cli.seed, cli.mix);
    }
    let timeout = Duration::from_millis(cli.timeout_ms.unwrap_or(if generated { 1000 } else { 5000 }));

    // The test server, if any URL mentions it.
    let server = match list.iter().any(|u| u.contains(urls::SERVER)) {
        true => Some(Server::start(cli.workers)?),
        false => None,
    };
    let base = server.as_ref().map(Server::base_url);
    let job_list = urls::jobs(&list, base.as_deref());
    let submitted = job_list.len() as u64;

    let report = Arc::new(Reporter::new(&cli.output));
    if let Some(base) = &base {
        report.note(format!(
            "Test server at {base}; timeout {} ms",
            timeout.as_millis()
        ));
    }
    let gauge = Arc::new(InFlight::new());
    let client = Client::new(
        cli.workers,
        Limits {
            timeout,
            max_bytes: cli.max_bytes,
            retries: cli.retries,
            max_redirects: cli.redirects,
        },
    );

    // 1. The two channels.
    let buffer = job_list.len().clamp(1, 1024);
    let (jobs_tx, jobs_rx) = channel::bounded::<UrlJob>(buffer);
    let (results_tx, results_rx) = channel::bounded::<Done>(buffer);

    // 2. The producer: sends every URL, or on Ctrl-C stops and hands the rest back as not
    //    started. Dropping `jobs_tx` when it returns closes the jobs channel. It starts first,
    //    so the first workers find URLs waiting while the others are still being started.
    let mut threads = Vec::with_capacity(cli.workers + 1);
    let (producer_stop, producer_results) = (stop.clone(), results_tx.clone());
    threads.push(
        thread::Builder::new()
            .name("producer".into())
            .spawn(move || {
                let mut pending = job_list.into_iter();
                for job in pending.by_ref() {
                    channel::select! {
                        send(jobs_tx, job.clone()) -> sent => if sent.is_err() { return },
                        recv(producer_stop.channel()) -> _ => {
                            let _ = producer_results.send(Done::NotStarted(job));
                            break;
                        }
                    }
                }
                for job in pending {
                    if producer_results.send(Done::NotStarted(job)).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start the producer thread")?,
    );

    // 3. The workers, each with a handle on the shared client (same connection pool).
    for id in 1..=cli.workers {
        let (jobs_rx, results_tx, stop) = (jobs_rx.clone(), results_tx.clone(), stop.clone());
        let (client, gauge, report) = (client.clone(), Arc::clone(&gauge), Arc::clone(&report));
        threads.push(
            thread::Builder::new()
                .name(format!("worker-{id}"))
                .spawn(move || worker(id, jobs_rx, results_tx, client, stop, &gauge, &report))
                .context("cannot start a worker thread")?,
        );
    }
    drop((jobs_rx, results_tx)); // the workers and the producer hold their own ends
    drop(client); // the workers hold the client now; the last one to finish closes the pool

    // 4. Collect one result per URL, until every worker and the producer are done.
    let bar = match submitted >= 200 {
        true => common::progress::bar(submitted, cli.output.json, cli.output.quiet),
        false => common::progress::ProgressBar::hidden(),
    };
    let mut stats = Stats::new(submitted);
    for done in results_rx {
        bar.inc(1);
        match done {
            Done::Fetched(fetch) => stats.record(&fetch),
            Done::NotStarted(job) => {
                stats.not_started();
                report.not_started_detail(&job, || stats::not_started(&job));
            }
        }
    }
    bar.finish_and_clear();
    let fetch_wall = report.elapsed();

    // Join every thread, then stop the server (which joins its own threads). The wall time ends
    // before the server stops, as it began after the server started: the server stands in for
    // the hosts a real list would fetch from, and is not part of the pool.
    let panicked = common::join_all(threads);
    let wall = report.elapsed();
    let server = server.map(Server::shutdown);
    let run = RunInfo {
        workers: cli.workers,
        peak_in_flight: gauge.peak(),
        wall,
        fetch_wall,
        timeout,
        max_redirects: cli.redirects,
        delay_ms: (generated && cli.mix == Mix::Delay).then_some(cli.work_ms),
        server,
        panicked,
        interrupted_at: common::signal::interrupted_at(),
    };
    Ok(report.summary(&stats.summary(&run)))
}
