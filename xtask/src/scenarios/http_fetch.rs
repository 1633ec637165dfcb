//! http-fetch: every scenario runs against the example's own embedded server on 127.0.0.1 (the
//! default list, or URLs written with the `{server}` placeholder); nothing leaves the machine.
//! Each route's outcome must match what the server was told to return, the server's peak of
//! concurrent requests stays within the workers, and every URL is accounted for.

use std::time::Duration;

use serde_json::Value;

use super::{Interrupt, Run, Scenario};

/// The number after `marker` in `url` (up to `/`, `?` or the end).
fn number_after(url: &str, marker: &str) -> Option<u64> {
    let rest = &url[url.find(marker)? + marker.len()..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Every finished URL on the embedded server ended as its route says: `/delay` 200 ok,
/// `/status/N` status N (a failure of kind http_status from 400), `/bytes/N` exactly N bytes (or
/// body_too_large with max_bytes + 1 read when N > max_bytes), `/slow` a timeout. Returns how
/// many events it checked.
fn routes_match(run: &Run<'_>, max_bytes: u64) -> Result<usize, String> {
    let mut checked = 0;
    for e in run.events()?.named("finished") {
        let url = e["url"]
            .as_str()
            .ok_or_else(|| format!("finished without url: {e}"))?;
        let (status, bytes, kind, outcome) = (
            e["status"].as_u64(),
            e["bytes"].as_u64(),
            e["error_kind"].as_str(),
            e["outcome"].as_str(),
        );
        let fail = |what: &str| Err(format!("{url}: expected {what}, got {e}"));
        if url.contains("/slow") {
            if kind != Some("timeout") || outcome != Some("failed") {
                return fail("a timeout");
            }
        } else if let Some(code) = number_after(url, "/status/") {
            let want_kind = (code >= 400).then_some("http_status");
            let want_outcome = if code >= 400 { "failed" } else { "ok" };
            if status != Some(code) || kind != want_kind || outcome != Some(want_outcome) {
                return fail(&format!("status {code}"));
            }
        } else if let Some(n) = number_after(url, "/bytes/") {
            if n > max_bytes {
                if kind != Some("body_too_large") || bytes != Some(max_bytes + 1) {
                    return fail(&format!("body_too_large after reading {} bytes", max_bytes + 1));
                }
            } else if status != Some(200) || bytes != Some(n) || outcome != Some("ok") {
                return fail(&format!("200 with {n} bytes"));
            }
        } else if url.contains("/delay/") {
            if status != Some(200) || outcome != Some("ok") {
                return fail("200");
            }
        } else {
            continue;
        }
        checked += 1;
    }
    Ok(checked)
}

/// The server never saw more requests at once than there are workers.
fn server_within_workers(run: &Run<'_>) -> Result<u64, String> {
    let peak = run
        .summary("server_peak_concurrency")?
        .as_u64()
        .ok_or("server_peak_concurrency is not a count")?;
    let workers = run.summary("workers")?.as_u64().ok_or("workers is not a count")?;
    if peak == 0 || peak > workers {
        return Err(format!("server peak concurrency {peak}, expected 1..={workers}"));
    }
    Ok(peak)
}

fn finished_for<'a>(run: &'a Run<'_>, needle: &str) -> Result<&'a Value, String> {
    run.events()?
        .named("finished")
        .find(|e| e["url"].as_str().is_some_and(|u| u.contains(needle)))
        .ok_or_else(|| format!("no finished event for a URL with {needle:?}"))
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

pub fn scenarios() -> Vec<Scenario> {
    vec![
        // 100 URLs, 10 workers, the embedded default list: 93 ok, four 404s, two 500s, one
        // /slow timeout (1 s with the default list). Exit 1: some URLs failed, on purpose.
        Scenario::run("defaults", &[], 1).check(|run| {
            let checked = routes_match(run, 1 << 20)?;
            if checked != 100 {
                return Err(format!("checked {checked} routes, expected 100"));
            }
            for (key, n) in [("ok", 93), ("http_error", 6), ("timeout", 1), ("other", 0)] {
                run.expect_count(key, n)?;
            }
            // A request the client timed out on may linger on the server until it notices
            // (≤ 25 ms), so only the upper bound is checked here.
            server_within_workers(run).map(|_| ())
        }),
        // A long list of equal delays: the server sees exactly `workers` requests at once.
        Scenario::run(
            "server-peak-equals-workers",
            &[
                "--mix",
                "delay",
                "--jobs",
                "48",
                "--workers",
                "6",
                "--work-ms",
                "40",
            ],
            0,
        )
        .check(|run| {
            routes_match(run, 1 << 20)?;
            let peak = server_within_workers(run)?;
            if peak != 6 {
                return Err(format!("server peak concurrency {peak}, expected 6 = workers"));
            }
            run.expect_count("server_requests", 48)
        }),
        // A URL file with comments, blank lines, malformed URLs, a refused connection and a body
        // over --max-bytes, plus one URL as an argument: each bad line fails alone.
        Scenario::run(
            "url-file-with-bad-lines",
            &[
                "--urls",
                "{dir}/urls.txt",
                "--workers",
                "3",
                "--max-bytes",
                "4096",
                "--timeout-ms",
                "3000",
                "{server}/status/201",
            ],
            1,
        )
        .partial_concurrency()
        .setup(|dir| Ok(std::fs::write(dir.join("urls.txt"), URL_FILE)?))
        .check(|run| {
            run.expect_count("submitted", 9)?;
            run.expect_count("ok", 3)?;
            let checked = routes_match(run, 4096)?;
            if checked != 5 {
                return Err(format!("checked {checked} routes, expected 5"));
            }
            for needle in ["not a url", "ftp://", "\"http://\""] {
                let e = run
                    .events()?
                    .named("finished")
                    .find(|e| e.to_string().contains(needle))
                    .ok_or_else(|| format!("no finished event for {needle}"))?;
                let reason = e["reason"].as_str().unwrap_or_default();
                if e["error_kind"] != "invalid_url" || !reason.starts_with("invalid URL") {
                    return Err(format!("{needle}: expected invalid_url, got {e}"));
                }
            }
            let refused = finished_for(run, "127.0.0.1:1/")?;
            if refused["error_kind"] != "connection_refused" {
                return Err(format!("expected connection_refused, got {refused}"));
            }
            Ok(())
        }),
        // --retries 2: a route failing twice succeeds on the third request; one failing three
        // times is reported with its last status after 3 requests; a 404 is not retried.
        Scenario::run(
            "retries",
            &[
                "--retries",
                "2",
                "--workers",
                "3",
                "{server}/flaky/a/2",
                "{server}/flaky/b/3",
                "{server}/status/404",
            ],
            1,
        )
        .check(|run| {
            for (needle, status, attempts) in [
                ("/flaky/a/2", 200, 3),
                ("/flaky/b/3", 503, 3),
                ("/status/404", 404, 1),
            ] {
                let e = finished_for(run, needle)?;
                if e["status"].as_u64() != Some(status) || e["attempts"].as_u64() != Some(attempts) {
                    return Err(format!(
                        "{needle}: expected status {status} after {attempts} request(s), got {e}"
                    ));
                }
            }
            run.expect_count("ok", 1)?;
            run.expect_count("requests", 7)?;
            run.expect_count("server_requests", 7)
        }),
        Scenario::run("zero-urls", &["--jobs", "0"], 0),
        // Ctrl-C mid-run: dispatching stops, requests in flight finish, the rest are not started.
        Scenario::run(
            "sigint",
            &[
                "--mix",
                "delay",
                "--jobs",
                "200",
                "--workers",
                "4",
                "--work-ms",
                "50",
            ],
            130,
        )
        .partial_concurrency()
        .interrupt(Interrupt::AfterStarted(8))
        .timeout(Duration::from_secs(30))
        .check(|run| {
            let not_started = run.summary("not_started")?.as_u64().unwrap_or(0);
            if not_started == 0 {
                return Err("expected URLs reported not_started after Ctrl-C".to_owned());
            }
            if run.summary("interrupted")? != &Value::Bool(true) {
                return Err("summary interrupted is not true".to_owned());
            }
            run.expect_count("cancelled", 0)
        }),
        Scenario::bad_input(
            "bad-input/missing-url-file",
            &["--urls", "{dir}/no-such-file.txt"],
        ),
        Scenario::bad_input("bad-input/timeout-abc", &["--timeout-ms", "abc"]),
        Scenario::bad_input("bad-input/timeout-0", &["--timeout-ms", "0"]),
        Scenario::bad_input("bad-input/retries-too-many", &["--retries", "99"]),
    ]
}
