//! Redirects, each a run of the real binary against its test server's redirect routes: every
//! job reports the redirects it followed (`redirects`) and where its answer came from
//! (`final_url`), every request is counted (the summary's `requests` equals the server's count,
//! each hop of each attempt included), `--redirects N` follows at most N (one more fails as
//! `too_many_redirects`) and `--redirects 0` reports the 3xx itself, with its `location`.

use common::event::{Finished, OutcomeKind};
use harness::{Run, Scenario, expect_eq};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_http-fetch"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// More workers than URLs in every run here: the concurrency bound is not what these test.
fn run(name: &str, line: &str, exit_code: i32) -> Scenario {
    Scenario::run(name, &harness::words(line), exit_code)
}

fn finished<'a>(run: &'a Run<'_>, url_ends: &str) -> Result<&'a Finished, String> {
    run.events()?
        .finished()
        .find(|e| text(e, "url").is_some_and(|u| u.ends_with(url_ends)))
        .ok_or_else(|| format!("no finished event for a URL ending in {url_ends:?}"))
}

fn text<'a>(e: &'a Finished, key: &str) -> Option<&'a str> {
    e.detail.get(key).and_then(|v| v.as_str())
}

fn number(e: &Finished, key: &str) -> Option<u64> {
    e.detail.get(key).and_then(|v| v.as_u64())
}

/// The job for the URL ending in `url_ends` ended with `outcome` and `status` after following
/// `redirects` in `requests` requests, its answer from the URL ending in `final_ends`.
fn job(
    run: &Run<'_>,
    url_ends: &str,
    (outcome, status): (OutcomeKind, u64),
    (redirects, requests): (u64, u64),
    final_ends: &str,
) -> Result<(), String> {
    let e = finished(run, url_ends)?;
    let final_url = text(e, "final_url").unwrap_or_default();
    let got = (
        e.outcome,
        number(e, "status"),
        number(e, "redirects"),
        number(e, "requests"),
    );
    if got != (outcome, Some(status), Some(redirects), Some(requests)) || !final_url.ends_with(final_ends) {
        return Err(format!(
            "{url_ends}: expected {outcome:?} {status} after {redirects} redirect(s) in {requests} \
             request(s), answered by …{final_ends}; got {e:?}"
        ));
    }
    Ok(())
}

/// The summary counts every request the client sent, and the server saw each of them.
fn every_request_counted(run: &Run<'_>, requests: u64, served: u64) -> Result<(), String> {
    expect_eq("requests", run.count("requests")?, requests)?;
    expect_eq("server_requests", run.count("server_requests")?, served)
}

#[test]
fn a_chain_is_followed_and_reported() {
    // The default follows up to 10: three 301s, then the 200; a URL without redirects beside it.
    check(
        run(
            "redirect-chain",
            "--workers 4 {server}/redirect/3 {server}/delay/1",
            0,
        )
        .check(|run| {
            job(run, "/redirect/3", (OutcomeKind::Ok, 200), (3, 4), "/redirect/0")?;
            job(run, "/delay/1", (OutcomeKind::Ok, 200), (0, 1), "/delay/1")?;
            expect_eq("max_redirects", run.count("max_redirects")?, 10)?;
            expect_eq("redirects", run.count("redirects")?, 3)?;
            every_request_counted(run, 5, 5)
        }),
    );
}

#[test]
fn redirects_0_reports_the_3xx() {
    // Nothing followed: the 301 is the outcome (a status below 400: ok), with where it points.
    check(
        run("redirects-0", "--workers 4 --redirects 0 {server}/redirect/2", 0).check(|run| {
            job(run, "/redirect/2", (OutcomeKind::Ok, 301), (0, 1), "/redirect/2")?;
            let e = finished(run, "/redirect/2")?;
            expect_eq("location", text(e, "location"), Some("/redirect/1"))?;
            every_request_counted(run, 1, 1)
        }),
    );
}

#[test]
fn a_loop_fails_after_the_limit() {
    // --redirects 5: a chain of exactly 5 is followed; a loop fails on the 6th 3xx, which is
    // reported (status, location), after 6 requests.
    check(
        run(
            "redirect-loop",
            "--workers 4 --redirects 5 {server}/redirect-loop {server}/redirect/5",
            1,
        )
        .check(|run| {
            job(run, "/redirect/5", (OutcomeKind::Ok, 200), (5, 6), "/redirect/0")?;
            job(
                run,
                "/redirect-loop",
                (OutcomeKind::Failed, 302),
                (5, 6),
                "/redirect-loop",
            )?;
            let e = finished(run, "/redirect-loop")?;
            expect_eq("error_kind", text(e, "error_kind"), Some("too_many_redirects"))?;
            expect_eq("location", text(e, "location"), Some("/redirect-loop"))?;
            expect_eq("redirects", run.count("redirects")?, 10)?;
            every_request_counted(run, 12, 12)
        }),
    );
}

#[test]
fn every_hop_of_every_attempt_is_counted() {
    // A redirect to a port nobody listens on, retried once: 2 attempts of 2 requests each, of
    // which the server saw the first of each. A relative Location is resolved against the URL
    // that answered it.
    check(
        run(
            "redirect-hops-counted",
            "--workers 4 --retries 1 {server}/redirect-to?url=http://127.0.0.1:1/gone {server}/redirect-to?url=delay/1",
            1,
        )
        .check(|run| {
            job(run, "url=delay/1", (OutcomeKind::Ok, 200), (1, 2), "/delay/1")?;
            let refused = finished(run, "url=http://127.0.0.1:1/gone")?;
            let got = (
                text(refused, "error_kind"),
                number(refused, "attempts"),
                number(refused, "redirects"),
                number(refused, "requests"),
                text(refused, "final_url"),
            );
            expect_eq(
                "the refused redirect (error_kind, attempts, redirects, requests, final_url)",
                got,
                (Some("connection_refused"), Some(2), Some(1), Some(4), Some("http://127.0.0.1:1/gone")),
            )?;
            every_request_counted(run, 6, 4)
        }),
    );
}
