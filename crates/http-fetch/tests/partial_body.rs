//! A body that fails part-way, a run of the real binary against its test server's
//! `/truncated/{n}/{k}` route (it promises `n` bytes and closes the connection after `k`): the job
//! fails, and reports the `k` bytes it received before the error, in `bytes` and in its reason.

use common::event::{Finished, OutcomeKind};
use harness::{Run, Scenario, expect_eq};

fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_http-fetch"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

fn finished<'a>(run: &'a Run<'_>, url_ends: &str) -> Result<&'a Finished, String> {
    run.events()?
        .finished()
        .find(|e| {
            e.detail
                .get("url")
                .and_then(|v| v.as_str())
                .is_some_and(|u| u.ends_with(url_ends))
        })
        .ok_or_else(|| format!("no finished event for a URL ending in {url_ends:?}"))
}

#[test]
fn a_body_cut_short_reports_the_bytes_received() {
    // Bodies cut after 20,000 of 50,000 bytes, after 0 of 100, and after 5,000 of 8,000 under
    // --max-bytes 6000 (cut before the cap): each fails with what arrived before the error.
    check(
        Scenario::run(
            "partial-body",
            &harness::words(
                "--workers 4 --max-bytes 30000 {server}/truncated/50000/20000 {server}/truncated/100/0 {server}/truncated/8000/5000",
            ),
            1,
        )
        .check(|run| {
            for (url, received) in [
                ("/truncated/50000/20000", 20_000),
                ("/truncated/100/0", 0),
                ("/truncated/8000/5000", 5_000),
            ] {
                let e = finished(run, url)?;
                let reason = e.reason.as_deref().unwrap_or_default();
                let got = (e.outcome, e.detail.get("bytes").and_then(|v| v.as_u64()));
                if got != (OutcomeKind::Failed, Some(received))
                    || !reason.contains(&format!("after {received} bytes"))
                {
                    return Err(format!(
                        "{url}: expected a failure after {received} bytes (in bytes and in the \
                         reason), got {e:?}"
                    ));
                }
            }
            expect_eq("ok", run.summary()?.ok, 0)
        }),
    );
}

#[test]
fn a_body_over_the_cap_is_too_large_even_if_it_would_break_later() {
    // The cap is reached before the cut: body_too_large after max-bytes + 1, as for any long body.
    check(
        Scenario::run(
            "partial-body-over-the-cap",
            &harness::words("--workers 4 --max-bytes 1000 {server}/truncated/50000/20000"),
            1,
        )
        .check(|run| {
            let e = finished(run, "/truncated/50000/20000")?;
            let got = (
                e.detail.get("error_kind").and_then(|v| v.as_str()),
                e.detail.get("bytes").and_then(|v| v.as_u64()),
            );
            expect_eq("(error_kind, bytes)", got, (Some("body_too_large"), Some(1001)))
        }),
    );
}
