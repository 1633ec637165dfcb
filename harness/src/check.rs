//! The invariant checker: given what an example printed with `--json` and how it exited, decide
//! whether the run kept the workspace's promises. Each failure names its check (I1…I6).
//!
//! - I1 accounting: every submitted job id ends in exactly one terminal event (`finished` or
//!   `not_started`); the summary's counts add up to `submitted` and match the events; its
//!   `efficiency`, where present, is at most 1 (`ideal_ms` counts only the work that ran); one
//!   clock for the run: no event, and not the Ctrl-C (`interrupted_at_ms`), is later than `wall_ms`.
//! - I2 bound: peak in flight ≤ the bound (`max_in_flight` in the summary, else `workers`), both as
//!   reported and as reconstructed from the events' timestamps; = the bound when jobs ≥ bound.
//! - I3 outputs: every `ok` output is what the job's value should give.
//! - I4 exit code: the one the convention says, before the watchdog fired.
//! - I5 threads: `threads_alive_at_exit` = 0 (or ≤ `threads_leaked` in the summary of a
//!   `--mistake` run that leaks threads on purpose and names its `mistake`).
//! - I6 bad input: exit 2, exactly one line on stderr, no panic.

use std::collections::{BTreeMap, BTreeSet};

use common::event::{Event, Finished, NotStarted, Other, OutcomeKind, RunSummary, Started};

/// What an example printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// The exit code, or `None` if the process was killed by a signal.
    pub code: Option<i32>,
    /// The watchdog killed the process.
    pub timed_out: bool,
}

/// How a job's output relates to its value (I3).
#[derive(Debug, Clone, Copy)]
pub enum OutputRule {
    /// output = value × 2 (the Go originals' work).
    Double,
    /// output = 1 if value is prime, else 0 (the `cpu` workload).
    IsPrime,
}

impl OutputRule {
    fn expected(self, value: u64) -> u64 {
        match self {
            OutputRule::Double => value * 2,
            OutputRule::IsPrime => u64::from(common::work::is_prime_sqrt(value)),
        }
    }
}

/// Which standard invariants a run must keep.
#[derive(Debug, Clone)]
pub struct Expect {
    pub exit_code: i32,
    /// I2: the peak must equal the bound (enough jobs, nothing cancelled).
    pub full_concurrency: bool,
    /// I3.
    pub outputs: Option<OutputRule>,
    /// Per-job events are expected (false for `--quiet` runs, where only the summary is checked).
    pub events: bool,
    /// A summary is expected (false for a run ended by a second Ctrl-C, which exits at once:
    /// only the exit code and the absence of a panic are checked).
    pub summary: bool,
}

/// A parsed `--json` run: every event (typed, `common::event`), and the summary.
#[derive(Debug, Clone)]
pub struct Events {
    pub events: Vec<Event>,
    pub summary: RunSummary,
}

impl Events {
    /// The `started` events.
    pub fn started(&self) -> impl Iterator<Item = &Started> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Started(s) => Some(s),
            _ => None,
        })
    }

    /// The `finished` events.
    pub fn finished(&self) -> impl Iterator<Item = &Finished> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::Finished(f) => Some(f),
            _ => None,
        })
    }

    /// The `not_started` events.
    pub fn not_started(&self) -> impl Iterator<Item = &NotStarted> + '_ {
        self.events.iter().filter_map(|e| match e {
            Event::NotStarted(n) => Some(n),
            _ => None,
        })
    }

    /// How many events are named `name` (`"cancel"`, `"row_rejected"`, …).
    pub fn count_named(&self, name: &str) -> usize {
        self.events.iter().filter(|e| e.name() == name).count()
    }

    /// The events of an example's own kind `kind` (`"row_rejected"`, …), as the parser keeps them.
    pub fn other<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Other> + 'a {
        self.events.iter().filter_map(move |e| match e {
            Event::Other(o) if o.kind == kind => Some(o),
            _ => None,
        })
    }
}

/// The event kinds docs/events.md documents (its sample lines).
fn documented_kinds() -> Vec<&'static str> {
    include_str!("../../docs/events.md")
        .lines()
        .filter_map(|l| l.strip_prefix(r#"{"event":""#))
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// Parses stdout as JSON lines of `common::event::Event`; the last one must be the summary.
pub fn parse(stdout: &str) -> Result<Events, String> {
    let mut events = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = common::event::parse_line(line).map_err(|e| {
            format!(
                "I1 accounting: stdout line {} is not a known event ({e}): {line}",
                i + 1
            )
        })?;
        // The parser keeps any kind; a run may print only the kinds docs/events.md documents,
        // each with its time.
        if let Event::Other(o) = &event {
            if !documented_kinds().contains(&o.kind.as_str()) {
                return Err(format!(
                    "I1 accounting: stdout line {} is an event kind docs/events.md does not document: {line}",
                    i + 1
                ));
            }
            if o.number("t_ms").is_none() {
                return Err(format!(
                    "I1 accounting: stdout line {} has no numeric t_ms: {line}",
                    i + 1
                ));
            }
        }
        events.push(event);
    }
    let summaries = events.iter().filter(|e| matches!(e, Event::Summary(_))).count();
    match events.pop() {
        Some(Event::Summary(summary)) if summaries == 1 => Ok(Events { events, summary }),
        _ => Err(format!(
            "I1 accounting: expected exactly one summary, as the last line; found {summaries}"
        )),
    }
}

/// Checks a run against I1–I5. Returns every violation found (empty = the run is good).
pub fn check_run(out: &Output, expect: &Expect) -> (Option<Events>, Vec<String>) {
    let mut errors = Vec::new();
    // I4 first: a hang or a crash explains everything after it.
    if out.timed_out {
        errors.push("I4 exit code: the watchdog fired (the run hung or was too slow)".to_owned());
    } else if out.code != Some(expect.exit_code) {
        errors.push(format!(
            "I4 exit code: expected {}, got {:?}",
            expect.exit_code, out.code
        ));
    }
    if out.stderr.contains("panicked") {
        errors.push(format!(
            "I4 exit code: the run panicked: {}",
            first_line_with(&out.stderr, "panicked")
        ));
    }
    if !expect.summary {
        return (None, errors);
    }
    let events = match parse(&out.stdout) {
        Ok(events) => events,
        Err(e) => {
            errors.push(e);
            return (None, errors);
        }
    };
    errors.extend(check_events(&events, expect));
    (Some(events), errors)
}

fn first_line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// I1, I2, I3 and I5 over parsed events.
pub fn check_events(ev: &Events, expect: &Expect) -> Vec<String> {
    let mut errors = Vec::new();
    let s = &ev.summary;
    let (submitted, ok, failed, cancelled, not_started) =
        (s.submitted, s.ok, s.failed, s.cancelled, s.not_started);
    let peak = s.peak_in_flight as u64;

    // I1: the summary adds up.
    if s.accounted() != submitted {
        errors.push(format!(
            "I1 accounting: ok {ok} + failed {failed} + cancelled {cancelled} + not_started {not_started} != submitted {submitted}"
        ));
    }

    // I1: the ideal is the best possible wall time for the work that ran, so the wall time never
    // beats it. `efficiency` is rounded to 3 places, and rounding keeps a ratio ≤ 1 at most 1.
    if let Some(efficiency) = s.efficiency.filter(|e| *e > 1.0) {
        errors.push(format!(
            "I1 accounting: efficiency {efficiency} > 1: ideal_ms {:?} counts more work than ran in wall_ms {}",
            s.ideal_ms, s.wall_ms
        ));
    }

    // I1: one clock from the start of the run to its summary, which comes last: no event, and not
    // the Ctrl-C, after `wall_ms` (both rounded to 3 places, which keeps the order).
    let late = ev.events.iter().find(|e| e.t_ms().is_some_and(|t| t > s.wall_ms));
    if let Some(e) = late {
        errors.push(format!(
            "I1 accounting: a {} event at t_ms {:?} is later than the summary's wall_ms {}",
            e.name(),
            e.t_ms(),
            s.wall_ms
        ));
    }
    if let Some(at) = s.interrupted_at_ms.filter(|at| *at > s.wall_ms) {
        errors.push(format!(
            "I1 accounting: interrupted_at_ms {at} is later than wall_ms {}",
            s.wall_ms
        ));
    }

    // I5. The one exception: a `--mistake` run that leaks threads on purpose says so, naming its
    // `mistake` and counting them in `threads_leaked` (common::watchdog::Verdict); at most that
    // many may be alive (a thread it gave up joining may still end on its own before the count,
    // as the stages a Ctrl-C stopped do). Every other run must have none.
    let leaked_on_purpose = s
        .extra
        .get("mistake")
        .and_then(|m| m.as_str())
        .and(s.count("threads_leaked"))
        .filter(|n| *n > 0);
    match s.threads_alive_at_exit {
        Some(0) => {}
        Some(n) if leaked_on_purpose.is_some_and(|leaked| n as u64 <= leaked) => {}
        Some(n) => errors.push(format!("I5 threads: {n} thread(s) still alive at exit")),
        None => errors.push("I5 threads: threads_alive_at_exit is missing".to_owned()),
    }

    // I2: the reported peak.
    let bound = s.bound() as u64;
    if peak > bound {
        errors.push(format!(
            "I2 bound: peak in flight {peak} exceeds the bound {bound}"
        ));
    }
    let full_run = cancelled == 0 && not_started == 0 && submitted >= bound;
    if expect.full_concurrency && full_run && peak != bound {
        errors.push(format!(
            "I2 bound: peak in flight {peak} never reached the bound {bound} with {submitted} jobs"
        ));
    }

    if !expect.events {
        return errors;
    }

    // I1: one terminal event per submitted id, and the events agree with the summary.
    let mut started: BTreeMap<u64, u32> = BTreeMap::new();
    let mut terminal: BTreeMap<u64, u32> = BTreeMap::new();
    let mut outcome_counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut intervals: BTreeMap<u64, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for e in &ev.events {
        match e {
            Event::Started(e) => {
                *started.entry(e.job).or_default() += 1;
                intervals.entry(e.job).or_default().0 = Some(e.t_ms);
            }
            Event::Finished(e) => {
                let job = e.job;
                *terminal.entry(job).or_default() += 1;
                let outcome = match e.outcome {
                    OutcomeKind::Ok => "ok",
                    OutcomeKind::Failed => "failed",
                    OutcomeKind::Cancelled => "cancelled",
                };
                if e.outcome == OutcomeKind::Failed && e.reason.as_deref().is_none_or(str::is_empty) {
                    errors.push(format!("I1 accounting: job {job} failed without a reason"));
                }
                *outcome_counts.entry(outcome).or_default() += 1;
                intervals.entry(job).or_default().1 = Some(e.t_ms);
                if let (Some(rule), OutcomeKind::Ok) = (expect.outputs, e.outcome) {
                    match (e.value, e.output) {
                        (Some(value), Some(output)) if output == rule.expected(value) => {}
                        (Some(value), Some(output)) => errors.push(format!(
                            "I3 outputs: job {job}: value {value} gave {output}, expected {}",
                            rule.expected(value)
                        )),
                        _ => errors.push(format!("I3 outputs: job {job} has no value or output")),
                    }
                }
            }
            Event::NotStarted(e) => {
                *terminal.entry(e.job).or_default() += 1;
                *outcome_counts.entry("not_started").or_default() += 1;
                if started.contains_key(&e.job) {
                    errors.push(format!(
                        "I1 accounting: job {} is reported not_started but it started",
                        e.job
                    ));
                }
            }
            _ => {} // example-specific events
        }
    }
    let expected_ids: BTreeSet<u64> = (1..=submitted).collect();
    let missing: Vec<u64> = expected_ids
        .iter()
        .filter(|id| !terminal.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() {
        errors.push(format!(
            "I1 accounting: {} job(s) never ended: {}",
            missing.len(),
            preview(&missing)
        ));
    }
    let twice: Vec<u64> = terminal
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    if !twice.is_empty() {
        errors.push(format!(
            "I1 accounting: job(s) ended more than once: {}",
            preview(&twice)
        ));
    }
    let ran_twice: Vec<u64> = started
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    if !ran_twice.is_empty() {
        errors.push(format!(
            "I1 accounting: job(s) started more than once: {}",
            preview(&ran_twice)
        ));
    }
    let unknown: Vec<u64> = terminal
        .keys()
        .chain(started.keys())
        .filter(|id| !expected_ids.contains(id))
        .copied()
        .collect();
    if !unknown.is_empty() {
        errors.push(format!(
            "I1 accounting: events for job ids never submitted: {}",
            preview(&unknown)
        ));
    }
    for (name, reported) in [
        ("ok", ok),
        ("failed", failed),
        ("cancelled", cancelled),
        ("not_started", not_started),
    ] {
        let seen = outcome_counts.get(name).copied().unwrap_or(0);
        if seen != reported {
            errors.push(format!(
                "I1 accounting: the summary says {name} = {reported}, the events show {seen}"
            ));
        }
    }

    // I2 again, from the events: the most [started, finished] intervals that overlap.
    let stream_peak = overlap_peak(
        intervals
            .values()
            .filter_map(|(s, f)| Some((s.as_ref().copied()?, f.unwrap_or(f64::INFINITY)))),
    );
    if stream_peak as u64 > bound {
        errors.push(format!(
            "I2 bound: the events show {stream_peak} jobs in flight at once, over the bound {bound}"
        ));
    }
    errors
}

/// The most intervals open at one instant; an interval that ends exactly when another starts does
/// not overlap it.
pub fn overlap_peak(intervals: impl Iterator<Item = (f64, f64)>) -> usize {
    let mut points: Vec<(f64, i32)> = Vec::new();
    for (start, end) in intervals {
        points.push((start, 1));
        points.push((end, -1));
    }
    // At equal times, ends (-1) sort before starts (+1).
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, delta) in points {
        now += i64::from(delta);
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

fn preview(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(10).map(u64::to_string).collect();
    if ids.len() > 10 {
        format!("{} …", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// I6: bad input gets exit code 2 and exactly one line on stderr, and never a panic.
pub fn check_bad_input(out: &Output) -> Vec<String> {
    let mut errors = Vec::new();
    if out.timed_out {
        errors.push("I6 bad input: the watchdog fired".to_owned());
    } else if out.code != Some(2) {
        errors.push(format!("I6 bad input: expected exit code 2, got {:?}", out.code));
    }
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 1 {
        errors.push(format!(
            "I6 bad input: expected one line on stderr, got {}: {:?}",
            lines.len(),
            out.stderr
        ));
    }
    if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
        errors.push("I6 bad input: the program panicked".to_owned());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn expect() -> Expect {
        Expect {
            exit_code: 0,
            full_concurrency: true,
            outputs: Some(OutputRule::Double),
            events: true,
            summary: true,
        }
    }

    /// A good run: 4 jobs on 2 workers, two rounds.
    fn good_events() -> Vec<Value> {
        vec![
            json!({"event":"started","job":1,"worker":1,"value":5,"t_ms":0.0}),
            json!({"event":"started","job":2,"worker":2,"value":6,"t_ms":0.1}),
            json!({"event":"finished","job":1,"worker":1,"value":5,"outcome":"ok","output":10,"t_ms":10.0}),
            json!({"event":"started","job":3,"worker":1,"value":7,"t_ms":10.0}),
            json!({"event":"finished","job":2,"worker":2,"value":6,"outcome":"ok","output":12,"t_ms":10.1}),
            json!({"event":"started","job":4,"worker":2,"value":8,"t_ms":10.2}),
            json!({"event":"finished","job":3,"worker":1,"value":7,"outcome":"ok","output":14,"t_ms":20.0}),
            json!({"event":"finished","job":4,"worker":2,"value":8,"outcome":"ok","output":16,"t_ms":20.2}),
        ]
    }

    fn summary() -> Value {
        json!({"event":"summary","pattern":"t","submitted":4,"ok":4,"failed":0,"cancelled":0,"not_started":0,
               "workers":2,"peak_in_flight":2,"wall_ms":20.5,"ideal_ms":null,"efficiency":null,
               "interrupted":false,"threads_alive_at_exit":0,"peak_rss_kb":null})
    }

    fn stdout(events: &[Value], summary: &Value) -> String {
        events.iter().chain([summary]).map(|e| format!("{e}\n")).collect()
    }

    fn run(events: &[Value], summary: &Value) -> Vec<String> {
        let out = Output {
            stdout: stdout(events, summary),
            stderr: String::new(),
            code: Some(0),
            timed_out: false,
        };
        check_run(&out, &expect()).1
    }

    fn assert_fails(errors: &[String], check: &str, words: &str) {
        assert!(
            errors.iter().any(|e| e.starts_with(check) && e.contains(words)),
            "expected a {check} failure mentioning {words:?}, got {errors:?}"
        );
    }

    #[test]
    fn a_good_run_passes() {
        assert_eq!(run(&good_events(), &summary()), Vec::<String>::new());
    }

    #[test]
    fn an_example_kind_must_be_documented_and_timed() {
        let mut events = good_events();
        events.push(json!({"event":"row_rejected","job":1,"worker":1,"row":7,"reason":"x","t_ms":9.0}));
        assert_eq!(run(&events, &summary()), Vec::<String>::new());
        let parsed = parse(&stdout(&events, &summary())).expect("parses");
        assert_eq!(parsed.other("row_rejected").count(), 1);
        let mut undocumented = good_events();
        undocumented.push(json!({"event":"lease_lost","worker":1,"t_ms":9.0}));
        assert_fails(&run(&undocumented, &summary()), "I1", "does not document");
        let mut untimed = good_events();
        untimed.push(json!({"event":"row_rejected","job":1,"worker":1,"row":7,"reason":"x"}));
        assert_fails(&run(&untimed, &summary()), "I1", "no numeric t_ms");
    }

    #[test]
    fn a_lost_job_fails_i1() {
        let mut events = good_events();
        events.retain(|e| !(e["job"] == 4 && e["event"] == "finished"));
        let mut s = summary();
        s["ok"] = json!(3);
        assert_fails(&run(&events, &s), "I1", "never ended: 4");
    }

    #[test]
    fn a_duplicate_fails_i1() {
        let mut events = good_events();
        events.push(
            json!({"event":"finished","job":2,"worker":1,"value":6,"outcome":"ok","output":12,"t_ms":21.0}),
        );
        assert_fails(&run(&events, &summary()), "I1", "more than once: 2");
    }

    #[test]
    fn a_summary_that_does_not_add_up_fails_i1() {
        let mut s = summary();
        s["submitted"] = json!(5);
        assert_fails(&run(&good_events(), &s), "I1", "!= submitted 5");
    }

    #[test]
    fn a_run_over_the_cap_fails_i2() {
        let mut events = good_events();
        // job 3 starts before job 1 finishes: three jobs in flight on two workers.
        events[3]["t_ms"] = json!(5.0);
        assert_fails(&run(&events, &summary()), "I2", "3 jobs in flight");
        let mut s = summary();
        s["peak_in_flight"] = json!(3);
        assert_fails(&run(&good_events(), &s), "I2", "exceeds the bound 2");
    }

    #[test]
    fn a_wrong_output_fails_i3() {
        let mut events = good_events();
        events[6]["output"] = json!(15);
        assert_fails(&run(&events, &summary()), "I3", "value 7 gave 15");
    }

    #[test]
    fn a_wrong_exit_code_or_a_hang_fails_i4() {
        let out = Output {
            stdout: stdout(&good_events(), &summary()),
            code: Some(1),
            ..Output::default()
        };
        assert_fails(&check_run(&out, &expect()).1, "I4", "expected 0");
        let hung = Output {
            timed_out: true,
            ..out
        };
        assert_fails(&check_run(&hung, &expect()).1, "I4", "watchdog");
    }

    #[test]
    fn an_event_or_a_ctrl_c_after_wall_ms_fails_i1() {
        let mut s = summary();
        s["wall_ms"] = json!(20.2); // the last event's time: not later
        assert_eq!(run(&good_events(), &s), Vec::<String>::new());
        s["wall_ms"] = json!(15.0);
        assert_fails(
            &run(&good_events(), &s),
            "I1",
            "finished event at t_ms Some(20.0)",
        );
        let mut s = summary();
        (s["interrupted"], s["interrupted_at_ms"]) = (json!(true), json!(21.0));
        assert_fails(&run(&good_events(), &s), "I1", "interrupted_at_ms 21 is later");
    }

    #[test]
    fn an_efficiency_over_1_fails_i1() {
        // An ideal that counts a job which panicked before its work as a round of work (async-pool
        // `--jobs 4 --fail-every 2 --panic-every 3` on 3 tasks): 2 rounds against a wall of 1.
        let mut s = summary();
        s["ideal_ms"] = json!(20.0);
        s["wall_ms"] = json!(11.7);
        s["efficiency"] = json!(1.709);
        assert_fails(&run(&good_events(), &s), "I1", "efficiency 1.709 > 1");
        // At most 1 passes, exactly 1 included (a ratio just under 1, rounded up).
        s["ideal_ms"] = json!(20.0);
        s["wall_ms"] = json!(20.5);
        for efficiency in [0.976, 1.0] {
            s["efficiency"] = json!(efficiency);
            assert_eq!(run(&good_events(), &s), Vec::<String>::new());
        }
    }

    #[test]
    fn a_leaked_thread_fails_i5() {
        let mut s = summary();
        s["threads_alive_at_exit"] = json!(1);
        assert_fails(&run(&good_events(), &s), "I5", "1 thread");
    }

    #[test]
    fn only_a_named_mistake_may_leak_and_no_more_threads_than_it_counts() {
        let mut s = summary();
        s["threads_alive_at_exit"] = json!(5);
        s["threads_leaked"] = json!(5);
        assert_fails(&run(&good_events(), &s), "I5", "5 thread");
        s["mistake"] = json!("leak-generator");
        assert_eq!(run(&good_events(), &s), Vec::<String>::new());
        s["threads_alive_at_exit"] = json!(2);
        assert_eq!(run(&good_events(), &s), Vec::<String>::new());
        s["threads_alive_at_exit"] = json!(6);
        assert_fails(&run(&good_events(), &s), "I5", "6 thread");
    }

    #[test]
    fn bad_input_rules_i6() {
        let good = Output {
            stderr: "error: workers must be at least 1\n".into(),
            code: Some(2),
            ..Output::default()
        };
        assert!(check_bad_input(&good).is_empty());
        let panicked = Output {
            stderr: "thread 'main' panicked at x\nnote: run with RUST_BACKTRACE=1\n".into(),
            code: Some(101),
            ..Output::default()
        };
        let errors = check_bad_input(&panicked);
        assert_fails(&errors, "I6", "exit code 2");
        assert_fails(&errors, "I6", "one line");
        assert_fails(&errors, "I6", "panicked");
    }

    #[test]
    fn not_started_jobs_count_as_ended() {
        let mut events = good_events();
        events.truncate(5); // jobs 1, 2, 3 started; 1 and 2 finished
        events
            .push(json!({"event":"finished","job":3,"worker":1,"value":7,"outcome":"cancelled","t_ms":12.0}));
        events.push(json!({"event":"not_started","job":4,"value":8,"t_ms":12.1}));
        let mut s = summary();
        s["ok"] = json!(2);
        s["cancelled"] = json!(1);
        s["not_started"] = json!(1);
        assert_eq!(run(&events, &s), Vec::<String>::new());
    }

    #[test]
    fn an_unknown_event_or_a_renamed_field_fails_i1() {
        let mut events = good_events();
        events.push(json!({"event":"finished","job_id":4,"worker":2,"outcome":"ok","output":16,"t_ms":20.2}));
        assert_fails(&run(&events, &summary()), "I1", "not a known event");
    }

    #[test]
    fn overlap_peak_counts_touching_intervals_once() {
        assert_eq!(overlap_peak([(0.0, 1.0), (1.0, 2.0)].into_iter()), 1);
        assert_eq!(overlap_peak([(0.0, 1.5), (1.0, 2.0), (1.2, 1.3)].into_iter()), 3);
    }
}
