//! What the deadline and the Ctrl-C tests share: running a scenario on context-cancel, and the
//! checks of a cancellation (its cause, and that the grace was kept).

use common::event::{Event, OutcomeKind};
use harness::{Run, Scenario};

pub fn check(scenario: Scenario) {
    harness::assert_scenario(
        env!("CARGO_BIN_EXE_context-cancel"),
        env!("CARGO_TARGET_TMPDIR"),
        scenario,
    );
}

/// A summary field as a number of milliseconds.
fn ms(run: &Run<'_>, key: &str) -> Result<f64, String> {
    run.summary()?
        .number(key)
        .ok_or_else(|| format!("summary field \"{key}\" is missing or not a number"))
}

/// The summary's `cancelled_by` is `expected` (`None`: present and null).
pub fn cancelled_by(run: &Run<'_>, expected: Option<&str>) -> Result<(), String> {
    let by = run.summary()?.extra.get("cancelled_by");
    let got = by.and_then(|v| v.as_str());
    if got == expected && (expected.is_some() || by.is_some_and(|v| v.is_null())) {
        Ok(())
    } else {
        Err(format!("expected cancelled_by {expected:?}, got {by:?}"))
    }
}

/// After a cancellation: the cancel instant and the latency are reported, the abort came no
/// sooner than cancel + grace, and no job ended ok or failed after the abort. The `cancel` event
/// is printed once, with the summary's cause and grace.
pub fn cancel_was_kept(run: &Run<'_>) -> Result<(), String> {
    let cancelled_at = ms(run, "cancelled_at_ms")?;
    let grace = ms(run, "grace_ms")?;
    let latency = ms(run, "cancel_latency_ms")?;
    if latency < 0.0 {
        return Err(format!("negative cancel latency {latency}"));
    }
    let aborted_at = run.summary()?.number("aborted_at_ms");
    if let Some(aborted_at) = aborted_at
        && aborted_at + 0.002 < cancelled_at + grace
    {
        return Err(format!(
            "aborted at {aborted_at} ms, before cancel {cancelled_at} ms + grace {grace} ms"
        ));
    }
    // Without an abort every worker exited within the grace.
    let limit = aborted_at.unwrap_or(cancelled_at + grace);
    for e in run.events()?.finished() {
        if e.outcome != OutcomeKind::Cancelled && e.t_ms > limit {
            return Err(format!(
                "job {} ended {:?} at {} ms, after cancel + grace ({limit} ms)",
                e.job, e.outcome, e.t_ms
            ));
        }
    }
    let cancels: Vec<_> = run
        .events()?
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cancel(c) => Some(c),
            _ => None,
        })
        .collect();
    let by = run.summary()?.extra.get("cancelled_by").and_then(|v| v.as_str());
    match cancels.as_slice() {
        [c] if Some(c.by.name()) == by && c.grace_ms as f64 == grace => Ok(()),
        _ => Err(format!(
            "expected one cancel event by {by:?} with grace {grace}, got {cancels:?}"
        )),
    }
}
