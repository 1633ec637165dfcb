//! http-fetch: every scenario runs against the example's own test server on 127.0.0.1 (the
//! generated list, or URLs written with the `{server}` placeholder); nothing leaves the machine.
//! Each route's outcome must match what the server was told to return, the server's peak of
//! requests served at once with a client waiting stays within the workers (also when clients time
//! out and retry), and every URL is accounted for, also after SIGINT or SIGTERM.

use std::time::Duration;

use common::event::{Finished, OutcomeKind};
use serde_json::Value;

use super::{Interrupt, Run, Scenario, Signal};

/// The number after `marker` in `url` (up to `/`, `?` or the end).
fn number_after(url: &str, marker: &str) -> Option<u64> {
    let rest = &url[url.find(marker)? + marker.len()..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn text<'a>(e: &'a Finished, key: &str) -> Option<&'a str> {
    e.detail.get(key).and_then(Value::as_str)
}

fn number(e: &Finished, key: &str) -> Option<u64> {
    e.detail.get(key).and_then(Value::as_u64)
}

fn expect(what: &str, got: u64, want: u64) -> Result<(), String> {
    match got == want {
        true => Ok(()),
        false => Err(format!("expected {what} = {want}, got {got}")),
    }
}

/// Every finished URL on the test server ended as its route says: `/delay` 200 ok, `/status/N`
/// status N (a failure of kind http_status from 400), `/bytes/N` exactly N bytes (or
/// body_too_large with max_bytes + 1 read when N > max_bytes), `/slow` a timeout. Returns how
/// many events it checked.
fn routes_match(run: &Run<'_>, max_bytes: u64) -> Result<usize, String> {
    let mut checked = 0;
    for e in run.events()?.finished() {
        let url = text(e, "url").ok_or_else(|| format!("finished without url: {e:?}"))?;
        let (status, bytes, kind, ok) = (
            number(e, "status"),
            number(e, "bytes"),
            text(e, "error_kind"),
            e.outcome == OutcomeKind::Ok,
        );
        let fail = |what: &str| Err(format!("{url}: expected {what}, got {e:?}"));
        if url.contains("/slow") {
            if kind != Some("timeout") || e.outcome != OutcomeKind::Failed {
                return fail("a timeout");
            }
        } else if let Some(code) = number_after(url, "/status/") {
            let want_kind = (code >= 400).then_some("http_status");
            if status != Some(code) || kind != want_kind || ok != (code < 400) {
                return fail(&format!("status {code}"));
            }
        } else if let Some(n) = number_after(url, "/bytes/") {
            if n > max_bytes {
                if kind != Some("body_too_large") || bytes != Some(max_bytes + 1) {
                    return fail(&format!("body_too_large after reading {} bytes", max_bytes + 1));
                }
            } else if status != Some(200) || bytes != Some(n) || !ok || e.output != Some(n) {
                return fail(&format!("200 with {n} bytes"));
            }
        } else if url.contains("/delay/") {
            if status != Some(200) || !ok {
                return fail("200");
            }
        } else {
            continue;
        }
        checked += 1;
    }
    Ok(checked)
}

/// The server's two peaks: requests served at once with a client waiting, 1..=workers;
/// and all requests served at once, abandoned ones included, which is at least that. Returns
/// (open, all).
fn server_within_workers(run: &Run<'_>) -> Result<(u64, u64), String> {
    let workers = run.summary()?.workers as u64;
    let open = run.count("server_peak_open_requests")?;
    let all = run.count("server_peak_concurrency")?;
    if open == 0 || open > workers {
        return Err(format!(
            "server_peak_open_requests {open}, expected 1..={workers}"
        ));
    }
    if all < open {
        return Err(format!(
            "server_peak_concurrency {all} < server_peak_open_requests {open}"
        ));
    }
    Ok((open, all))
}

fn finished_for<'a>(run: &'a Run<'_>, needle: &str) -> Result<&'a Finished, String> {
    run.events()?
        .finished()
        .find(|e| text(e, "url").is_some_and(|u| u.contains(needle)))
        .ok_or_else(|| format!("no finished event for a URL with {needle:?}"))
}

/// After a Ctrl-C (SIGINT or SIGTERM): interrupted, some URLs not started, none cancelled (requests
/// in flight finish or time out), no ideal time or efficiency, and the server's bound held.
fn stopped_cleanly(run: &Run<'_>) -> Result<(), String> {
    let s = run.summary()?;
    if !s.interrupted {
        return Err("summary interrupted is not true".to_owned());
    }
    if s.not_started == 0 {
        return Err("expected URLs reported not_started after the signal".to_owned());
    }
    expect("cancelled", s.cancelled, 0)?;
    if s.ideal_ms.is_some() || s.efficiency.is_some() {
        return Err(format!(
            "after a stop ideal_ms and efficiency must be null, got {:?} and {:?}",
            s.ideal_ms, s.efficiency
        ));
    }
    if run.events()?.not_started().any(|n| !n.detail.contains_key("url")) {
        return Err("a not_started event without its url".to_owned());
    }
    server_within_workers(run).map(|_| ())
}

/// A signal in the first instants: exit 130 with a summary, every URL accounted (I1, checked by
/// the runner), and interrupted set.
fn interrupted(run: &Run<'_>) -> Result<(), String> {
    match run.summary()?.interrupted {
        true => Ok(()),
        false => Err("summary interrupted is not true".to_owned()),
    }
}

const URL_FILE: &str = "\
# a list with bad lines: comments and blank lines are skipped, bad URLs fail alone

{server}/delay/10
not a url
ftp://127.0.0.1/file
   {server}/status/418
{server}/bytes/2048
{server}/bytes/5000
http://127.0.0.1:1/
http://
";

/// A long run of equal delays, to interrupt.
const LONG: &[&str] = &["--mix delay", "--jobs 200", "--workers 4", "--work-ms 50"];

/// Splits "--flag value" items into arguments, so each scenario reads as one line.
fn args(items: &[&str]) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| i.split_whitespace())
        .map(str::to_owned)
        .collect()
}

fn run(name: &str, items: &[&str], exit_code: i32) -> Scenario {
    let owned = args(items);
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    Scenario::run(name, &refs, exit_code)
}

pub fn scenarios() -> Vec<Scenario> {
    let long = args(LONG);
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    vec![
        // 100 URLs, 10 workers, the generated list: 93 ok, four 404s, two 500s, one /slow
        // timeout (1 s with the generated list). Exit 1: some URLs failed, on purpose.
        run("defaults", &[], 1).check(|run| {
            expect("routes checked", routes_match(run, 1 << 20)? as u64, 100)?;
            expect("ok", run.summary()?.ok, 93)?;
            for (key, n) in [("http_error", 6), ("timeout", 1), ("other", 0)] {
                expect(key, run.count(key)?, n)?;
            }
            server_within_workers(run).map(|_| ())
        }),
        // A long list of equal delays and no timeouts: the server sees exactly `workers` requests
        // at once, with or without abandoned ones (there are none).
        run(
            "server-peak-equals-workers",
            &["--mix delay --jobs 48 --workers 6 --work-ms 40"],
            0,
        )
        .check(|run| {
            routes_match(run, 1 << 20)?;
            let (open, all) = server_within_workers(run)?;
            expect("server_peak_open_requests", open, 6)?;
            expect("server_peak_concurrency", all, 6)?;
            expect("server_abandoned", run.count("server_abandoned")?, 0)?;
            expect("server_requests", run.count("server_requests")?, 48)
        }),
        // Requests that time out on the client and are retried while the server still
        // serves the abandoned attempt. The open peak stays within the workers; the all-requests
        // peak may exceed them (it is what the server really carried).
        run(
            "timeouts-and-retries-keep-the-server-bound",
            &[
                "--workers 3 --timeout-ms 80 --retries 2",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
                "{server}/delay/2000 {server}/delay/5 {server}/slow",
            ],
            1,
        )
        .check(|run| {
            server_within_workers(run)?;
            for e in run.events()?.finished() {
                let url = text(e, "url").unwrap_or_default();
                let timed_out = text(e, "error_kind") == Some("timeout");
                if (url.contains("/slow") || url.contains("/delay/2000"))
                    && (!timed_out || number(e, "attempts") != Some(3))
                {
                    return Err(format!("{url}: expected a timeout after 3 requests, got {e:?}"));
                }
            }
            if run.count("timeout")? < 12 || run.count("server_abandoned")? == 0 {
                return Err("expected 12 timeouts or more, and abandoned requests on the server".into());
            }
            let (requests, served) = (run.count("requests")?, run.count("server_requests")?);
            match served <= requests {
                true => Ok(()),
                false => Err(format!(
                    "the server served {served} requests, the client sent {requests}"
                )),
            }
        }),
        // A URL file with comments, blank lines, malformed URLs, a refused connection and a body
        // over --max-bytes, plus one URL as an argument: each bad line fails alone.
        run(
            "url-file-with-bad-lines",
            &["--urls {dir}/urls.txt --workers 3 --max-bytes 4096 --timeout-ms 3000 {server}/status/201"],
            1,
        )
        .partial_concurrency()
        .setup(|dir| Ok(std::fs::write(dir.join("urls.txt"), URL_FILE)?))
        .check(|run| {
            expect("submitted", run.summary()?.submitted, 9)?;
            expect("ok", run.summary()?.ok, 3)?;
            expect("routes checked", routes_match(run, 4096)? as u64, 5)?;
            for bad in ["not a url", "ftp://127.0.0.1/file", "http://"] {
                let e = run
                    .events()?
                    .finished()
                    .find(|e| text(e, "url") == Some(bad))
                    .ok_or_else(|| format!("no finished event for {bad:?}"))?;
                let reason = e.reason.as_deref().unwrap_or_default();
                if text(e, "error_kind") != Some("invalid_url") || !reason.starts_with("invalid URL") {
                    return Err(format!("{bad}: expected invalid_url, got {e:?}"));
                }
            }
            let refused = finished_for(run, "127.0.0.1:1/")?;
            match text(refused, "error_kind") {
                Some("connection_refused") => Ok(()),
                _ => Err(format!("expected connection_refused, got {refused:?}")),
            }
        }),
        // --retries 2: a route failing twice succeeds on the third request; one failing three
        // times is reported with its last status after 3 requests; a 404 is not retried.
        run(
            "retries",
            &["--retries 2 --workers 3 {server}/flaky/a/2 {server}/flaky/b/3 {server}/status/404"],
            1,
        )
        .check(|run| {
            for (needle, status, attempts) in [
                ("/flaky/a/2", 200, 3),
                ("/flaky/b/3", 503, 3),
                ("/status/404", 404, 1),
            ] {
                let e = finished_for(run, needle)?;
                if number(e, "status") != Some(status) || number(e, "attempts") != Some(attempts) {
                    return Err(format!(
                        "{needle}: expected status {status} after {attempts} request(s), got {e:?}"
                    ));
                }
            }
            expect("ok", run.summary()?.ok, 1)?;
            expect("requests", run.count("requests")?, 7)?;
            expect("server_requests", run.count("server_requests")?, 7)
        }),
        run("zero-urls", &["--jobs 0"], 0),
        // Ctrl-C and SIGTERM mid-run: dispatching stops, requests in flight finish, the rest are
        // not started; exit 130 with the summary, every thread joined (I5).
        Scenario::run("sigint", &long, 130)
            .partial_concurrency()
            .interrupt(Interrupt::AfterStarted(8))
            .timeout(Duration::from_secs(30))
            .check(stopped_cleanly),
        Scenario::run("sigterm", &long, 130)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterStarted(Signal::Term, 8))
            .timeout(Duration::from_secs(30))
            .check(stopped_cleanly),
        // Ctrl-C while requests are timing out with retries left: the attempt in flight ends (a
        // timeout) and is not retried after the stop.
        run(
            "sigint-no-retry-after-stop",
            &["--workers 2 --timeout-ms 300 --retries 3 --urls {dir}/slow.txt"],
            130,
        )
        .partial_concurrency()
        .setup(|dir| {
            Ok(std::fs::write(
                dir.join("slow.txt"),
                "{server}/slow\n".repeat(20),
            )?)
        })
        .interrupt(Interrupt::AfterStarted(2))
        .timeout(Duration::from_secs(30))
        .check(|run| {
            stopped_cleanly(run)?;
            match run
                .events()?
                .finished()
                .find(|e| number(e, "attempts") != Some(1))
            {
                None => Ok(()),
                Some(e) => Err(format!("a request was retried after the stop: {e:?}")),
            }
        }),
        // A signal in the first instants (before or while the server starts): still a summary
        // and exit 130.
        Scenario::run("sigint-at-start", &[], 130)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterMs(Signal::Int, 1))
            .check(interrupted),
        Scenario::run("sigterm-at-start", &[], 130)
            .partial_concurrency()
            .interrupt(Interrupt::SignalAfterMs(Signal::Term, 2))
            .check(interrupted),
        // A second Ctrl-C exits at once with 130 (no summary required).
        Scenario::exit_only("double-sigint", &long, 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, 4)),
        Scenario::bad_input(
            "bad-input/missing-url-file",
            &["--urls", "{dir}/no-such-file.txt"],
        ),
        Scenario::bad_input("bad-input/timeout-abc", &["--timeout-ms", "abc"]),
        Scenario::bad_input("bad-input/timeout-0", &["--timeout-ms", "0"]),
        Scenario::bad_input("bad-input/retries-too-many", &["--retries", "99"]),
        Scenario::bad_input("bad-input/max-bytes-0", &["--max-bytes", "0"]),
        Scenario::bad_input("bad-input/max-bytes-negative", &["--max-bytes", "-1"]),
    ]
}
