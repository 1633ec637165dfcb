//! The scenarios each example is run through by `cargo xtask verify`: one file per example.
//!
//! A scenario is a command line (always run with `--json`), the exit code it must end with, the
//! standard invariants that apply (see `check.rs`) and any checks of its own. Every example also
//! gets the standard bad-input scenarios (I6) without listing them. An example folder in `crates/`
//! with no entry in [`for_example`] fails verify, so no new example can be forgotten.

use std::path::Path;
use std::time::Duration;

use common::event::RunSummary;

use crate::check::{Events, Expect, Output, OutputRule};

mod async_pool;
mod basic;
mod context_cancel;
mod db_batch;
mod http_fetch;
mod image_resize;
mod prime_pipeline;
mod queue_consumer;
mod rate_limit;
mod struct_pool;
mod waitgroup;

/// The scenarios of the example in `crates/<name>`, or `None` if it has none.
pub fn for_example(name: &str) -> Option<Vec<Scenario>> {
    let scenarios = match name {
        "basic" => basic::scenarios(),
        "struct-pool" => struct_pool::scenarios(),
        "waitgroup" => waitgroup::scenarios(),
        "context-cancel" => context_cancel::scenarios(),
        "rate-limit" => rate_limit::scenarios(),
        "http-fetch" => http_fetch::scenarios(),
        "db-batch" => db_batch::scenarios(),
        "image-resize" => image_resize::scenarios(),
        "prime-pipeline" => prime_pipeline::scenarios(),
        "queue-consumer" => queue_consumer::scenarios(),
        "async-pool" => async_pool::scenarios(),
        _ => return None,
    };
    (!scenarios.is_empty()).then_some(scenarios)
}

/// Bad input every example must refuse with exit code 2 and one line on stderr (I6).
pub fn standard_bad_input() -> Vec<Scenario> {
    vec![
        Scenario::bad_input("bad-input/workers-0", &["--workers", "0"]),
        Scenario::bad_input("bad-input/jobs-negative", &["--jobs", "-1"]),
        Scenario::bad_input("bad-input/jobs-abc", &["--jobs", "abc"]),
        Scenario::bad_input("bad-input/unknown-flag", &["--no-such-flag"]),
    ]
}

/// What a scenario's own check gets: the run's output, its parsed events (when stdout parsed),
/// and the scenario's scratch folder.
pub struct Run<'a> {
    pub output: &'a Output,
    pub events: Option<&'a Events>,
    pub dir: &'a Path,
}

impl Run<'_> {
    /// The parsed events; an error if stdout did not parse (already reported as I1).
    pub fn events(&self) -> Result<&Events, String> {
        self.events.ok_or_else(|| "no parsed events".to_owned())
    }

    /// The run's summary (its standard fields are typed: `run.summary()?.not_started`).
    pub fn summary(&self) -> Result<&RunSummary, String> {
        Ok(&self.events()?.summary)
    }

    /// One of the example's own summary fields, as a count (`durable_rows`, `timeout`, …).
    pub fn count(&self, key: &str) -> Result<u64, String> {
        self.summary()?
            .count(key)
            .ok_or_else(|| format!("the summary has no count {key:?}"))
    }

    /// Fails unless the example's own summary count `key` is `want`.
    pub fn expect_count(&self, key: &str, want: u64) -> Result<(), String> {
        expect_eq(key, self.count(key)?, want)
    }
}

/// Fails unless `got` is `want`, naming `what`.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {what} = {want:?}, got {got:?}"))
    }
}

pub type Check = Box<dyn Fn(&Run<'_>) -> Result<(), String>>;
pub type Setup = Box<dyn Fn(&Path) -> anyhow::Result<()>>;

/// When to interrupt the running example, and with what.
#[derive(Debug, Clone, Copy)]
pub enum Interrupt {
    /// SIGINT after this many JSON events with `"event": "started"` have been printed: tied to
    /// progress, not to a clock, so it holds on a slow or busy machine.
    AfterStarted(usize),
    /// `signal` after this many `started` events.
    SignalAfterStarted(Signal, usize),
    /// `signal` this many milliseconds after the process installed its signal handler (seen in
    /// `/proc/<pid>/status`), for the first instants of a run, before any event: from then on a
    /// signal must end in a summary. A program that never installs one gets the signal after 3 s.
    SignalAfterMs(Signal, u64),
    /// `signal` this many milliseconds after the process was spawned, whether or not it has a
    /// handler yet (the stress harness: a signal in the loader's instants kills any program, which
    /// the harness tells apart from a handler installed too late).
    SignalAfterSpawnMs(Signal, u64),
}

impl Interrupt {
    /// The signal to send.
    pub fn signal(self) -> Signal {
        match self {
            Interrupt::AfterStarted(_) => Signal::Int,
            Interrupt::SignalAfterStarted(signal, _)
            | Interrupt::SignalAfterMs(signal, _)
            | Interrupt::SignalAfterSpawnMs(signal, _) => signal,
        }
    }
}

/// What a scenario sends to interrupt a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C.
    Int,
    /// `kill`'s default, what a service manager sends.
    Term,
    /// Two SIGINTs in a row: the second must exit at once with 130.
    IntTwice,
}

pub struct Scenario {
    pub name: String,
    /// Arguments; `{dir}` in any of them becomes the scenario's scratch folder.
    pub args: Vec<String>,
    /// `None` for bad-input scenarios (checked by I6 instead).
    pub expect: Option<Expect>,
    pub timeout: Duration,
    pub interrupt: Option<Interrupt>,
    pub setup: Option<Setup>,
    pub checks: Vec<Check>,
}

impl Scenario {
    /// A run that must exit with `exit_code` and keep I1–I5 (`--json` is added).
    pub fn run(name: &str, args: &[&str], exit_code: i32) -> Self {
        Scenario {
            name: name.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            expect: Some(Expect {
                exit_code,
                full_concurrency: true,
                outputs: None,
                events: true,
                summary: true,
            }),
            timeout: Duration::from_secs(60),
            interrupt: None,
            setup: None,
            checks: Vec::new(),
        }
    }

    /// A run that must exit with `exit_code` and need not print a summary (a second Ctrl-C exits
    /// at once): only the exit code and the absence of a panic are checked.
    pub fn exit_only(name: &str, args: &[&str], exit_code: i32) -> Self {
        let mut scenario = Scenario::run(name, args, exit_code);
        if let Some(e) = &mut scenario.expect {
            e.summary = false;
            e.events = false;
        }
        scenario
    }

    /// Bad input: must exit 2 with one line on stderr and no panic (I6).
    pub fn bad_input(name: &str, args: &[&str]) -> Self {
        Scenario {
            expect: None,
            timeout: Duration::from_secs(30),
            ..Scenario::run(name, args, 2)
        }
    }

    /// I3: check every ok output against this rule.
    pub fn outputs(mut self, rule: OutputRule) -> Self {
        if let Some(e) = &mut self.expect {
            e.outputs = Some(rule);
        }
        self
    }

    /// I2: the peak need not reach the bound (for example, when a deadline cuts the run short).
    pub fn partial_concurrency(mut self) -> Self {
        if let Some(e) = &mut self.expect {
            e.full_concurrency = false;
        }
        self
    }

    /// Per-job events are not printed (a `--quiet` run): only the summary is checked.
    pub fn summary_only(mut self) -> Self {
        if let Some(e) = &mut self.expect {
            e.events = false;
        }
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn interrupt(mut self, when: Interrupt) -> Self {
        self.interrupt = Some(when);
        self
    }

    /// Prepares the scratch folder before the run (writes input files, for example).
    pub fn setup(mut self, setup: impl Fn(&Path) -> anyhow::Result<()> + 'static) -> Self {
        self.setup = Some(Box::new(setup));
        self
    }

    /// A check of the scenario's own, run after the standard invariants.
    pub fn check(mut self, check: impl Fn(&Run<'_>) -> Result<(), String> + 'static) -> Self {
        self.checks.push(Box::new(check));
        self
    }
}
