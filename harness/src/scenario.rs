//! A scenario: a command line (always run with `--json`), the exit code it must end with, the
//! standard invariants that apply (`check.rs`), a signal to send at a chosen moment, and any
//! checks of its own. [`run_scenario`] runs one and returns every broken promise.

use std::path::Path;
use std::time::Duration;

use common::event::RunSummary;

use crate::check::{self, Events, Expect, Output, OutputRule};

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
    /// handler yet (the stress harness: a signal in the loader's instants kills any program; the
    /// runner reads whether the handler was in place as it sends it, `process::SignalSent`).
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

/// A command line written as one string (no argument here contains a space).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The run was stopped by the signal: `interrupted` is true, and where jobs remained when it
/// arrived, some were reported `not_started`. (Exit 130, the summary, full accounting and no
/// thread alive are the checker's I1–I5.)
pub fn stopped(jobs_remain: bool) -> impl Fn(&Run<'_>) -> Result<(), String> {
    move |run| {
        let s = &run.events()?.summary;
        if !s.interrupted {
            return Err("summary interrupted is not true".to_owned());
        }
        if jobs_remain && s.not_started == 0 {
            return Err("jobs remained when the signal came, but none was reported not_started".into());
        }
        Ok(())
    }
}

/// When the "first instant" signal is sent: this many ms after the process installed its
/// handler (`Interrupt::SignalAfterMs` counts from there; a signal before the handler exists, in
/// the loader or runtime start-up, kills any program), before any job of these runs could end.
pub const FIRST_INSTANT_MS: u64 = 1;

/// The Ctrl-C cases of a pool example, by what they send and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtrlC {
    /// SIGINT after some jobs started; jobs remain.
    SigintMidRun,
    /// SIGTERM (what a service manager sends) after some jobs started.
    SigtermMidRun,
    /// SIGINT [`FIRST_INSTANT_MS`] after the handler is installed, before any job could end.
    SigintFirstInstant,
    /// Two SIGINTs: the second exits 130 at once (no summary needed).
    DoubleSigint,
}

/// One Ctrl-C scenario: `mid` is a run with jobs left after `after` jobs started (for the
/// mid-run and double cases), `first` a run that cannot end within the first instant.
pub fn ctrl_c(case: CtrlC, mid: &str, after: usize, jobs_remain: bool, first: &str) -> Scenario {
    let signalled = |n: &str, args: &str, when: Interrupt, remain: bool| {
        Scenario::run(n, &words(args), 130)
            .partial_concurrency()
            .interrupt(when)
            .check(stopped(remain))
    };
    match case {
        CtrlC::SigintMidRun => signalled(
            "ctrl-c/sigint-mid-run",
            mid,
            Interrupt::SignalAfterStarted(Signal::Int, after),
            jobs_remain,
        ),
        CtrlC::SigtermMidRun => signalled(
            "ctrl-c/sigterm-mid-run",
            mid,
            Interrupt::SignalAfterStarted(Signal::Term, after),
            jobs_remain,
        ),
        CtrlC::SigintFirstInstant => signalled(
            "ctrl-c/sigint-first-instant",
            first,
            Interrupt::SignalAfterMs(Signal::Int, FIRST_INSTANT_MS),
            false,
        ),
        CtrlC::DoubleSigint => Scenario::exit_only("ctrl-c/double-sigint", &words(mid), 130)
            .interrupt(Interrupt::SignalAfterStarted(Signal::IntTwice, after)),
    }
}

/// Runs `scenario` on `program` in the scratch folder `dir` (emptied first; `{dir}` in the
/// arguments becomes it, and it is the child's working folder). Returns every broken promise
/// (empty: the run kept them all) and a shell command that repeats the run.
pub fn run_scenario(program: &Path, scenario: &Scenario, dir: &Path) -> (Vec<String>, String) {
    let dir_text = dir.display().to_string();
    let mut args: Vec<String> = scenario
        .args
        .iter()
        .map(|a| a.replace("{dir}", &dir_text))
        .collect();
    if scenario.expect.is_some() {
        args.push("--json".into());
    }
    let rerun = format!(
        "(cd {} && {} {})",
        shell_quote(&dir_text),
        shell_quote(&program.display().to_string()),
        args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    );
    let prepared = std::fs::remove_dir_all(dir)
        .or_else(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
        .and_then(|()| std::fs::create_dir_all(dir))
        .map_err(anyhow::Error::from)
        .and_then(|()| scenario.setup.as_ref().map_or(Ok(()), |setup| setup(dir)));
    if let Err(e) = prepared {
        return (vec![format!("setup failed: {e:#}")], rerun);
    }
    let output = match crate::process::run_watched(program, &args, dir, scenario.timeout, scenario.interrupt)
    {
        Ok(output) => output,
        Err(e) => return (vec![format!("could not run: {e:#}")], rerun),
    };
    let Some(expect) = &scenario.expect else {
        return (check::check_bad_input(&output), rerun);
    };
    let (events, mut why) = check::check_run(&output, expect);
    let run = Run {
        output: &output,
        events: events.as_ref(),
        dir,
    };
    for check in &scenario.checks {
        if let Err(reason) = check(&run) {
            why.push(format!("scenario check: {reason}"));
        }
    }
    if !why.is_empty() {
        why.push(stderr_tail(&output));
    }
    (why, rerun)
}

fn stderr_tail(output: &Output) -> String {
    let lines: Vec<&str> = output.stderr.lines().collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(
        "stderr (last lines): {}",
        if tail.is_empty() {
            "(empty)".to_owned()
        } else {
            tail.join(" | ")
        }
    )
}

/// `arg` as one shell word.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
