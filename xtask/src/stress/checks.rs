//! Running one stress plan and checking what it left: the invariant checker of `check.rs`
//! (I1–I5; every plan is valid input, so exit 2 is a failure here), the signal rules, and the
//! database and image outputs.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::event::RunSummary;

use super::plan::{Extra, Fault, Plan};
use crate::check::{self, Expect, Output};
use harness::process::SignalSent;
use harness::{Interrupt, Signal};

/// What a run gave.
#[derive(Debug, Default)]
pub struct RunResult {
    pub errors: Vec<String>,
    /// The signal arrived after the run had its result (or after it exited).
    pub late: bool,
    /// The signal killed the process, and it was sent before the process had its handler (its
    /// bit was not in `SigCgt` when the runner read it, just before sending), while it was still
    /// one thread that had printed nothing: before `main` could install it, a window no program
    /// can close. Tallied, not failed.
    pub pre_main: bool,
}

/// What `process::run_watched` writes to stderr when the run ended before the interrupt was due.
const ENDED_FIRST: &str = "[xtask] the run ended before the SIGINT was due";

/// How long after a signal a run may still go on before "it ignored the signal" is a failure.
const SIGNAL_SLACK_MS: f64 = 1_500.0;

pub fn execute(program: &Path, plan: &Plan, root: &Path, bin_dir: &Path) -> RunResult {
    let mut args = plan.args.clone();
    args.push("--json".to_owned());
    let timeout = Duration::from_secs(plan.timeout_s);
    let mut result = RunResult::default();
    match plan.fault {
        Fault::None => match crate::process::run_watched(program, &args, root, timeout, None) {
            Ok(out) => result.errors = check_completed(&out, plan, None, bin_dir),
            Err(e) => result.errors.push(format!("could not run: {e:#}")),
        },
        Fault::Signal(interrupt) => {
            match crate::process::run(program, &args, root, timeout, Some(interrupt)) {
                Ok(run) => result = check_signalled(&run.output, plan, interrupt, run.signal_sent, bin_dir),
                Err(e) => result.errors.push(format!("could not run: {e:#}")),
            }
        }
        Fault::Kill9 { after_ms } => {
            result.errors = kill9(program, &args, plan, root, timeout, after_ms, bin_dir);
        }
    }
    result
}

/// The exit code the convention gives a summary (a `--mistake` run's verdict included: the
/// watchdog's `no_progress` is exit 3, a `broken_invariant` exit 1).
fn code_for(s: &RunSummary) -> i32 {
    if s.interrupted {
        130
    } else if s.extra.contains_key("no_progress") {
        3
    } else if s.extra.contains_key("broken_invariant")
        || s.failed + s.cancelled + s.not_started > 0
        || s.accounted() != s.submitted
    {
        1
    } else {
        0
    }
}

fn expect(plan: &Plan, exit_code: i32) -> Expect {
    Expect {
        exit_code,
        // Random flags cannot promise that every worker overlaps (dispatch jobs, 64 workers on
        // 2 cores): the bound is checked, reaching it is verify's business.
        full_concurrency: false,
        outputs: plan.outputs,
        events: !plan.quiet,
        summary: true,
    }
}

/// Exit codes outside the convention, and panic text. Exit 3 (no progress) belongs to the
/// watchdog, which only a `--mistake` arms in these runs.
fn general(out: &Output, plan: &Plan) -> Vec<String> {
    let mut errors = Vec::new();
    let allowed: &[i32] = if plan.mistake.is_some() {
        &[0, 1, 2, 3, 130, -1]
    } else {
        &[0, 1, 2, 130, -1]
    };
    if let Some(code) = out.code
        && !allowed.contains(&code)
    {
        let what = if plan.mistake.is_some() {
            "{0, 1, 2, 3, 130}"
        } else {
            "{0, 1, 2, 130}"
        };
        errors.push(format!("exit code {code} is outside {what}"));
    }
    if out.code.is_none() && !out.timed_out {
        errors.push("killed by a signal (no handler, or it was installed too late)".to_owned());
    }
    if out.code == Some(2) {
        errors.push(format!(
            "a valid command was refused (exit 2): {}",
            out.stderr.lines().next().unwrap_or("")
        ));
    }
    for needle in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if out.stderr.contains(needle) {
            let line = out.stderr.lines().find(|l| l.contains(needle)).unwrap_or("");
            errors.push(format!("panic text on stderr: {line}"));
            break;
        }
    }
    errors
}

/// A run that was not signalled (or whose signal came too late to matter): the exit code follows
/// from its own summary.
fn check_completed(out: &Output, plan: &Plan, also: Option<i32>, bin_dir: &Path) -> Vec<String> {
    let mut errors = general(out, plan);
    let code = match check::parse(&out.stdout) {
        Ok(ev) => {
            let want = code_for(&ev.summary);
            if let Some(alt) = also
                && out.code == Some(alt)
            {
                alt
            } else {
                want
            }
        }
        Err(_) => 0,
    };
    let (events, why) = check::check_run(out, &expect(plan, code));
    errors.extend(why);
    if let Some(ev) = &events {
        if ev.summary.interrupted {
            errors.push("the summary says interrupted, but no signal was sent".to_owned());
        }
        errors.extend(extra_checks(plan, &ev.summary, bin_dir, true));
    }
    dedup(errors)
}

fn check_signalled(
    out: &Output,
    plan: &Plan,
    interrupt: Interrupt,
    sent: Option<SignalSent>,
    bin_dir: &Path,
) -> RunResult {
    let mut result = RunResult::default();
    if out.code.is_none() && !out.timed_out {
        // Killed by our signal: the kernel found no handler for it when it was sent.
        match killed_by_signal(out, interrupt.signal(), sent) {
            Ok(()) => result.pre_main = true,
            Err(e) => result.errors.push(e),
        }
        return result;
    }
    // The run ended before the signal was due: check it as a normal run, without its exit code
    // (run_watched does not keep it then).
    if out.code == Some(-1) && out.stderr.contains(ENDED_FIRST) {
        result.late = true;
        let mut errors = general(out, plan);
        match check::parse(&out.stdout) {
            Ok(ev) => {
                errors.extend(check::check_events(&ev, &expect(plan, 0)));
                errors.extend(extra_checks(plan, &ev.summary, bin_dir, true));
            }
            Err(e) => errors.push(e),
        }
        result.errors = dedup(errors);
        return result;
    }
    let parsed = check::parse(&out.stdout).ok();
    if interrupt.signal() == Signal::IntTwice {
        // The second SIGINT exits at once: exit 130, no summary required. A summary that says
        // "not interrupted" means both signals came after the run had its result.
        if out.code == Some(130) {
            let mut errors = general(out, plan);
            errors.extend(check::check_run(out, &exit_only(130)).1);
            errors.extend(left_behind(plan, bin_dir, "a second SIGINT"));
            result.errors = dedup(errors);
        } else if let Some(ev) = parsed.filter(|ev| !ev.summary.interrupted) {
            result.late = true;
            result.errors = check_late(out, plan, interrupt, sent, &ev.summary, bin_dir);
        } else {
            let mut errors = general(out, plan);
            errors.push(format!(
                "I4 exit code: expected 130 after two SIGINTs, got {:?}",
                out.code
            ));
            result.errors = dedup(errors);
        }
        return result;
    }
    match parsed {
        Some(ev) if !ev.summary.interrupted => {
            result.late = true;
            result.errors = check_late(out, plan, interrupt, sent, &ev.summary, bin_dir);
        }
        _ => {
            // After a signal: exit 130, the summary, full accounting (I1), no thread alive (I5).
            let mut errors = general(out, plan);
            let (events, why) = check::check_run(out, &expect(plan, 130));
            errors.extend(why);
            if let Some(ev) = &events {
                errors.extend(extra_checks(plan, &ev.summary, bin_dir, false));
            }
            result.errors = dedup(errors);
        }
    }
    result
}

fn exit_only(code: i32) -> Expect {
    Expect {
        exit_code: code,
        full_concurrency: false,
        outputs: None,
        events: false,
        summary: false,
    }
}

/// A run the signal killed: fine only if, when it was sent, the process had no handler for it yet
/// and showed no sign of having reached `main` (one thread, nothing printed).
fn killed_by_signal(out: &Output, signal: Signal, sent: Option<SignalSent>) -> Result<(), String> {
    let name = match signal {
        Signal::Term => "SIGTERM",
        Signal::Int | Signal::IntTwice => "SIGINT",
    };
    let Some(sent) = sent else {
        return Err(format!("killed by a signal, but no {name} was sent"));
    };
    let at = sent.after.as_secs_f64() * 1e3;
    match (sent.handler_installed, sent.threads) {
        (Some(true), _) => Err(format!(
            "killed by the {name} sent at {at:.1} ms, although its handler was installed then (SigCgt)"
        )),
        (Some(false), Some(1)) if out.stdout.is_empty() => Ok(()),
        (Some(false), threads) => Err(format!(
            "killed by the {name} sent at {at:.1} ms: it had no handler yet, but had already {}: install the handler first thing in main",
            if out.stdout.is_empty() {
                format!(
                    "{} threads",
                    threads.map_or_else(|| "?".to_owned(), |n| n.to_string())
                )
            } else {
                "printed output".to_owned()
            }
        )),
        (None, _) => Err(format!(
            "killed by the {name} sent at {at:.1} ms; /proc/<pid>/status could not be read then"
        )),
    }
}

/// The summary says "not interrupted": fine if the signal came when the run was (nearly) done,
/// a failure if the run went on well past it.
fn check_late(
    out: &Output,
    plan: &Plan,
    interrupt: Interrupt,
    sent: Option<SignalSent>,
    summary: &RunSummary,
    bin_dir: &Path,
) -> Vec<String> {
    let mut errors = check_completed(out, plan, Some(130), bin_dir);
    let sent_at = match interrupt {
        // When it was sent (from the spawn: a little more than the run's own clock says).
        Interrupt::SignalAfterSpawnMs(_, ms) => Some(sent.map_or(ms as f64, |s| s.after.as_secs_f64() * 1e3)),
        Interrupt::SignalAfterMs(..) => None, // counted from the handler: not used by stress
        Interrupt::AfterStarted(n) | Interrupt::SignalAfterStarted(_, n) => check::parse(&out.stdout)
            .ok()
            .and_then(|ev| ev.started().nth(n.saturating_sub(1)).map(|s| s.t_ms)),
    };
    if let Some(t) = sent_at
        && summary.wall_ms > t + SIGNAL_SLACK_MS
    {
        errors.push(format!(
            "the signal was sent at about {t:.0} ms, the run went on to {:.0} ms and reported interrupted: false",
            summary.wall_ms
        ));
    }
    errors
}

/// The example-specific state after a run that printed its summary.
fn extra_checks(plan: &Plan, summary: &RunSummary, bin_dir: &Path, completed: bool) -> Vec<String> {
    let mut errors = Vec::new();
    // A mistake made on purpose is reported as that mistake, and only then.
    let named = summary.extra.get("mistake").and_then(|v| v.as_str());
    if named != plan.mistake.as_deref() {
        errors.push(format!(
            "the summary names mistake {named:?}, the run made {:?}",
            plan.mistake
        ));
    }
    match &plan.extra {
        Extra::None => {}
        Extra::DbBatch {
            db,
            rows,
            batch_size,
            bad_rows,
        } => {
            let durable = summary.count("durable_rows");
            let before = summary.count("rows_before").unwrap_or(0);
            let inserted = summary.count("rows_inserted").unwrap_or(0);
            match durable {
                None => errors.push("db-batch: the summary has no durable_rows".to_owned()),
                Some(d) => {
                    if d != before + inserted {
                        errors.push(format!(
                            "db-batch: durable_rows {d} != rows_before {before} + rows_inserted {inserted}"
                        ));
                    }
                    match count_only(bin_dir, Path::new(db)) {
                        _ if d == 0 && !Path::new(db).exists() => {} // stopped before the file
                        Ok(counted) if counted == d => {}
                        Ok(counted) => errors.push(format!(
                            "db-batch: a second process counts {counted} rows, the run reported durable_rows {d}"
                        )),
                        Err(e) => errors.push(format!("db-batch --count-only: {e}")),
                    }
                    if *bad_rows == 0 {
                        errors.extend(whole_batches(plan, d, *rows, *batch_size));
                    }
                    if completed && *bad_rows == 0 && summary.not_started == 0 && d != *rows {
                        errors.push(format!("db-batch: a run that finished holds {d} rows of {rows}"));
                    }
                }
            }
        }
        Extra::ImageResize { .. } => errors.extend(image_outputs(plan, Some(summary.ok))),
    }
    errors
}

/// The files a run that ended at once left (`how`: a second SIGINT, which skips the summary, or
/// kill -9): no destructor ran, yet the database and the output folder must still hold.
fn left_behind(plan: &Plan, bin_dir: &Path, how: &str) -> Vec<String> {
    match &plan.extra {
        Extra::DbBatch {
            db,
            rows,
            batch_size,
            bad_rows,
        } => db_left_behind(plan, bin_dir, db, (*rows, *batch_size, *bad_rows), how),
        // A temporary file being written may stay (the next run into the folder removes it).
        Extra::ImageResize { output, .. } => image_left_behind(Path::new(output), how),
        Extra::None => Vec::new(),
    }
}

/// The output folder after a run ended abruptly (`how`: kill -9, a second SIGINT): temporary
/// files may stay, but every file under its final name is a complete image.
fn image_left_behind(output: &Path, how: &str) -> Vec<String> {
    let mut errors = Vec::new();
    for entry in std::fs::read_dir(output).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".tmp") || name.starts_with('.'))
            && let Err(e) = image_fits(&entry.path(), (u32::MAX, u32::MAX), false, false).or_else(|e| {
                if e.contains("does not fit") {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        {
            errors.push(format!(
                "image-resize: after {how}, {name} is under its final name but {e}"
            ));
        }
    }
    errors
}

/// The SQLite file a run ended abruptly on (`how`: a second SIGINT, kill -9) opens cleanly, and
/// without bad rows holds whole batches only. A run stopped before it created the table leaves a
/// file with no `orders` table: it opens and holds no rows (`--count-only` exits 2 on it, saying
/// "no such table").
fn db_left_behind(
    plan: &Plan,
    bin_dir: &Path,
    db: &str,
    (rows, batch_size, bad_rows): (u64, u64, u64),
    how: &str,
) -> Vec<String> {
    if !Path::new(db).exists() {
        return Vec::new();
    }
    match count_only(bin_dir, Path::new(db)) {
        Ok(d) if bad_rows == 0 => whole_batches(plan, d, rows, batch_size),
        Ok(_) => Vec::new(),
        Err(e) if e.contains("no such table") => Vec::new(),
        Err(e) => vec![format!(
            "db-batch: after {how} the database does not open cleanly: {e}"
        )],
    }
}

/// Every batch commits whole: the rows are a number of full batches, plus maybe the short last one.
fn whole_batches(plan: &Plan, durable: u64, rows: u64, batch_size: u64) -> Vec<String> {
    let single_tx = plan.args.iter().any(|a| a == "single-tx");
    let ok = if single_tx {
        durable == 0 || durable == rows
    } else {
        let short = rows % batch_size;
        let full = durable - durable.min(short);
        durable.is_multiple_of(batch_size)
            || (short > 0 && durable >= short && full.is_multiple_of(batch_size))
    };
    if ok {
        Vec::new()
    } else {
        vec![format!(
            "db-batch: {durable} durable rows are not whole batches of {batch_size} (of {rows} rows{})",
            if single_tx { ", single-tx" } else { "" }
        )]
    }
}

/// The rows in the file, counted by `db-batch --count-only --json` in a second process.
fn count_only(bin_dir: &Path, db: &Path) -> Result<u64, String> {
    let out = Command::new(bin_dir.join("db-batch"))
        .arg("--db")
        .arg(db)
        .args(["--count-only", "--json"])
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let events = check::parse(&stdout)?;
    events
        .summary
        .count("durable_rows")
        .ok_or_else(|| "no durable_rows in its summary".to_owned())
}

/// The output folder: no temporary or partial file; every file decodes in full and fits the box;
/// `ok` files when the run reported its count.
fn image_outputs(plan: &Plan, ok: Option<u64>) -> Vec<String> {
    let Extra::ImageResize {
        output,
        size,
        exact,
        enlarge,
    } = &plan.extra
    else {
        return Vec::new();
    };
    let dir = Path::new(output);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // A run stopped before it created its output folder.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && ok.unwrap_or(0) == 0 => {
            return Vec::new();
        }
        Err(e) => return vec![format!("image-resize: {}: {e}", dir.display())],
    };
    let mut errors = Vec::new();
    let mut files = 0u64;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") || name.starts_with('.') {
            errors.push(format!("image-resize: a temporary file was left: {name}"));
            continue;
        }
        files += 1;
        if let Err(e) = image_fits(&entry.path(), *size, *exact, *enlarge) {
            errors.push(format!("image-resize: {name}: {e}"));
        }
    }
    if let Some(ok) = ok
        && files != ok
    {
        errors.push(format!(
            "image-resize: {} holds {files} images, the summary says ok = {ok}",
            dir.display()
        ));
    }
    errors
}

/// Decodes the whole file (and checks it ends with its format's end marker: a decoder may fill a
/// truncated image in silently), then the size against the box.
/// `enlarge`: the run filled the box (`--enlarge`); without it an image already inside the box
/// keeps its size, so an output need only fit inside.
fn image_fits(path: &Path, (bw, bh): (u32, u32), exact: bool, enlarge: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let complete = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        bytes.len() >= 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND"
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        bytes.ends_with(&[0xFF, 0xD9])
    } else {
        return Err("neither PNG nor JPEG".to_owned());
    };
    if !complete {
        return Err("truncated (no end marker)".to_owned());
    }
    let img = image::load_from_memory(&bytes).map_err(|e| format!("does not decode: {e}"))?;
    let (w, h) = (img.width(), img.height());
    let inside = w <= bw && h <= bh && w > 0 && h > 0;
    let fits = if exact {
        (w, h) == (bw, bh)
    } else if enlarge {
        inside && (w == bw || h == bh)
    } else {
        inside
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "is {w}x{h}, which does not {} {bw}x{bh}",
            if exact { "equal" } else { "fit" }
        ))
    }
}

/// Runs the plan and kills it with SIGKILL after `after_ms`, then checks the files and runs the
/// same command again to completion: the database opens and holds whole batches, then every row;
/// no image under a final name is partial, and the next run leaves no temporary file.
fn kill9(
    program: &Path,
    args: &[String],
    plan: &Plan,
    root: &Path,
    timeout: Duration,
    after_ms: u64,
    bin_dir: &Path,
) -> Vec<String> {
    let mut child = match Command::new(program)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return vec![format!("could not run: {e}")],
    };
    // Drain the pipes so the child never blocks on a full one.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let begin = Instant::now();
    let mut errors = Vec::new();
    let mut killed = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => {
                errors.push(format!("wait: {e}"));
                break;
            }
        }
        if !killed && begin.elapsed() >= Duration::from_millis(after_ms) {
            let _ = child.kill();
            killed = true;
        }
        if begin.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            errors.push("the watchdog fired before kill -9".to_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = out.join();
    if let Ok(stderr) = err.join()
        && stderr.contains("panicked")
    {
        errors.push("panic text on stderr before kill -9".to_owned());
    }
    // The state the kill left.
    errors.extend(left_behind(plan, bin_dir, "kill -9"));
    // The next run, to completion, on the same files.
    match crate::process::run_watched(program, args, root, timeout, None) {
        Ok(next) => {
            for e in check_completed(&next, plan, None, bin_dir) {
                errors.push(format!("the run after kill -9: {e}"));
            }
        }
        Err(e) => errors.push(format!("the run after kill -9 could not run: {e:#}")),
    }
    dedup(errors)
}

fn dedup(mut errors: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    errors.retain(|e| seen.insert(e.clone()));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_plan(single: bool) -> Plan {
        Plan {
            example: "db-batch".into(),
            args: if single {
                vec!["--mode".into(), "single-tx".into()]
            } else {
                vec![]
            },
            fault: Fault::None,
            outputs: None,
            quiet: false,
            extra: Extra::None,
            timeout_s: 1,
            mistake: None,
        }
    }

    #[test]
    fn whole_batches_allow_the_short_last_batch_only() {
        let p = db_plan(false);
        assert!(whole_batches(&p, 0, 1050, 100).is_empty());
        assert!(whole_batches(&p, 300, 1050, 100).is_empty());
        assert!(whole_batches(&p, 350, 1050, 100).is_empty());
        assert!(whole_batches(&p, 1050, 1050, 100).is_empty());
        assert!(!whole_batches(&p, 320, 1050, 100).is_empty());
        assert!(!whole_batches(&p, 20, 1000, 100).is_empty());
        let single = db_plan(true);
        assert!(whole_batches(&single, 1000, 1000, 7).is_empty());
        assert!(!whole_batches(&single, 7, 1000, 7).is_empty());
    }

    #[test]
    fn exit_codes_follow_the_summary() {
        let line = r#"{"event":"summary","pattern":"t","submitted":2,"ok":1,"failed":1,"cancelled":0,"not_started":0,"workers":1,"peak_in_flight":1,"wall_ms":1.0,"ideal_ms":null,"efficiency":null,"interrupted":false,"threads_alive_at_exit":0,"peak_rss_kb":null}"#;
        let ev = check::parse(line).expect("a summary");
        assert_eq!(code_for(&ev.summary), 1);
        let ok = line.replace(r#""ok":1,"failed":1"#, r#""ok":2,"failed":0"#);
        let hung = ok.replace(
            r#""peak_rss_kb":null"#,
            r#""peak_rss_kb":null,"mistake":"keep-sender","no_progress":"no progress for 2.0 s""#,
        );
        let broken = ok.replace(
            r#""peak_rss_kb":null"#,
            r#""peak_rss_kb":null,"mistake":"thread-per-job","broken_invariant":"I2 bound""#,
        );
        assert_eq!(code_for(&check::parse(&ok).expect("a summary").summary), 0);
        assert_eq!(code_for(&check::parse(&hung).expect("a summary").summary), 3);
        assert_eq!(code_for(&check::parse(&broken).expect("a summary").summary), 1);
    }

    #[test]
    fn exit_3_and_a_named_mistake_only_in_a_mistake_run() {
        let hung = Output {
            code: Some(3),
            ..Output::default()
        };
        let mut p = db_plan(false);
        assert!(general(&hung, &p).iter().any(|e| e.contains("outside")));
        p.mistake = Some("keep-sender".into());
        assert!(general(&hung, &p).is_empty());
    }

    #[test]
    fn a_signal_death_or_panic_is_a_failure() {
        let dead = Output {
            code: None,
            ..Output::default()
        };
        let p = db_plan(false);
        assert!(
            general(&dead, &p)
                .iter()
                .any(|e| e.contains("killed by a signal"))
        );
        let panicked = Output {
            code: Some(101),
            stderr: "thread 'w' panicked at src/x.rs".into(),
            ..Output::default()
        };
        let errors = general(&panicked, &p);
        assert!(errors.iter().any(|e| e.contains("outside")));
        assert!(errors.iter().any(|e| e.contains("panic text")));
    }

    #[test]
    fn a_signal_death_is_pre_main_only_without_a_handler_and_before_main() {
        let dead = Output {
            code: None,
            ..Output::default()
        };
        let sent = |handler_installed, threads| {
            Some(SignalSent {
                after: Duration::from_millis(1),
                handler_installed,
                threads,
            })
        };
        assert!(killed_by_signal(&dead, Signal::Term, sent(Some(false), Some(1))).is_ok());
        let caught = killed_by_signal(&dead, Signal::Term, sent(Some(true), Some(1)));
        assert!(caught.is_err_and(|e| e.contains("SIGTERM") && e.contains("installed then")));
        let threads = killed_by_signal(&dead, Signal::Int, sent(Some(false), Some(3)));
        assert!(threads.is_err_and(|e| e.contains("3 threads")));
        let printed = Output {
            code: None,
            stdout: "{\"event\":\"started\"}\n".into(),
            ..Output::default()
        };
        let printed = killed_by_signal(&printed, Signal::IntTwice, sent(Some(false), Some(1)));
        assert!(printed.is_err_and(|e| e.contains("SIGINT") && e.contains("printed output")));
        assert!(killed_by_signal(&dead, Signal::Int, sent(None, None)).is_err());
        assert!(killed_by_signal(&dead, Signal::Int, None).is_err());
    }

    #[test]
    fn truncated_images_are_caught() {
        let dir = std::env::temp_dir().join(format!("xtask-stress-img-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let img = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]));
        let png = dir.join("a.png");
        img.save(&png).expect("save png");
        assert!(image_fits(&png, (40, 40), false, true).is_ok());
        assert!(image_fits(&png, (40, 30), true, false).is_ok());
        assert!(image_fits(&png, (20, 20), false, false).is_err());
        // Inside the box without touching a side: kept its size, unless the run enlarged.
        assert!(image_fits(&png, (50, 50), false, false).is_ok());
        assert!(image_fits(&png, (50, 50), false, true).is_err());
        let bytes = std::fs::read(&png).expect("read");
        std::fs::write(&png, &bytes[..bytes.len() * 2 / 3]).expect("write");
        assert!(image_fits(&png, (40, 40), false, false).is_err());
        let jpg = dir.join("a.jpg");
        img.save(&jpg).expect("save jpeg");
        assert!(image_fits(&jpg, (40, 30), true, false).is_ok());
        let bytes = std::fs::read(&jpg).expect("read");
        std::fs::write(&jpg, &bytes[..bytes.len() * 2 / 3]).expect("write");
        let e = image_fits(&jpg, (40, 30), true, false).expect_err("truncated");
        assert!(e.contains("truncated"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
