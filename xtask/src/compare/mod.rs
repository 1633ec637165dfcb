//! `cargo xtask compare`: every general variant and the baselines on the same seeded jobs.
//!
//! Builds in release, then runs each variant as a child process with `--json --quiet` and reads
//! its summary line, plus its peak RSS (`ru_maxrss` from `wait4`). Runs go in turns (A B C A B C
//! …) so machine drift hits every variant alike; each row is the median of `--runs`.
//!
//! - `--workload dispatch|cpu|sleep|all` (default all): the fixed workloads of [`Spec`];
//! - `--sweep 1,2,4,…`: throughput against worker count for `cpu` and `sleep`, charted (PNG and
//!   SVG, plotters with the DejaVu Sans font in `xtask/assets/`) under `target/compare/`;
//! - `--queue-sweep 0,1,16,…`: `dispatch` throughput against the queue capacity (`--buffer`);
//! - `--json`: one JSON object per row instead of tables.
//!
//! Variants that are not in `crates/` yet, or do not build, are skipped with a note.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::{cargo, workspace_root};

const USAGE: &str = "usage: cargo xtask compare [--workload dispatch|cpu|sleep|all] [--workers N] \
[--runs N] [--jobs N] [--only NAME,...] [--sweep 1,2,4,...] [--queue-sweep 0,1,16,...] [--json]";

/// A fixed workload: the same numbers every time, so figures stay comparable across versions.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub workload: &'static str,
    pub jobs: u64,
    pub work_ms: u64,
    pub buffer: usize,
}

pub const DISPATCH: Spec = Spec {
    workload: "dispatch",
    jobs: 1_000_000,
    work_ms: 0,
    buffer: 1024,
};
pub const CPU: Spec = Spec {
    workload: "cpu",
    jobs: 2_000,
    work_ms: 0,
    buffer: 1024,
};
pub const SLEEP: Spec = Spec {
    workload: "sleep",
    jobs: 1_000,
    work_ms: 5,
    buffer: 1024,
};
const SEED: u64 = 42;

/// One program to compare: an example crate or a baseline strategy.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    /// The binary's name in the target folder.
    pub binary: String,
    /// The package that builds it.
    pub package: String,
    /// Arguments beyond the shared ones; `{workers}` becomes the worker count.
    pub args: Vec<String>,
    /// Only for the `dispatch` workload (batched submit).
    pub dispatch_only: bool,
    /// Has a job queue whose capacity `--buffer` sets (for the queue sweep).
    pub has_queue: bool,
    /// A baseline (not a pool).
    pub baseline: bool,
}

fn variant(name: &str, package: &str, args: &[&str]) -> Variant {
    Variant {
        name: name.to_owned(),
        binary: package.to_owned(),
        package: package.to_owned(),
        args: args.iter().map(|&a| a.to_owned()).collect(),
        dispatch_only: false,
        has_queue: true,
        baseline: false,
    }
}

fn baseline(strategy: &str) -> Variant {
    Variant {
        name: strategy.to_owned(),
        binary: "baselines".to_owned(),
        package: "xtask".to_owned(),
        args: vec!["--strategy".to_owned(), strategy.to_owned()],
        dispatch_only: false,
        has_queue: false,
        baseline: true,
    }
}

/// Every variant compare knows, in table order.
pub fn all_variants() -> Vec<Variant> {
    vec![
        variant("basic", "basic", &[]),
        variant("struct-pool", "struct-pool", &[]),
        Variant {
            dispatch_only: true,
            ..variant("struct-pool --batch 256", "struct-pool", &["--batch", "256"])
        },
        variant("waitgroup", "waitgroup", &[]),
        // No deadline: the largest its parser takes (a day).
        variant("context-cancel", "context-cancel", &["--deadline-ms", "86400000"]),
        // The semaphore's cap equals the workers, and no rate limit.
        variant("rate-limit", "rate-limit", &["--concurrency", "{workers}"]),
        baseline("thread-per-job"),
        baseline("rayon"),
        baseline("serial"),
    ]
}

/// One run's figures, from the child's summary line and `wait4`.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub wall_ms: f64,
    pub peak_in_flight: u64,
    pub rss_kib: u64,
    /// Why this run does not count (empty: every job accounted for and ok).
    pub problems: Vec<String>,
    pub stderr: String,
}

/// A row of a table: one variant on one workload at one worker count and queue capacity.
#[derive(Debug, Clone)]
pub struct Row {
    pub variant: String,
    pub workload: &'static str,
    pub workers: usize,
    pub jobs: u64,
    pub buffer: usize,
    pub runs: Vec<RunOutcome>,
    /// Set when the variant was not run at all (not built, or refused the workload).
    pub skipped: Option<String>,
}

impl Row {
    pub fn complete(&self) -> bool {
        self.skipped.is_none() && !self.runs.is_empty() && self.runs.iter().all(|r| r.problems.is_empty())
    }

    fn good(&self) -> impl Iterator<Item = &RunOutcome> {
        self.runs.iter().filter(|r| r.problems.is_empty())
    }

    pub fn wall_ms(&self) -> Option<f64> {
        median(self.good().map(|r| r.wall_ms).collect())
    }

    pub fn jobs_per_s(&self) -> Option<f64> {
        self.wall_ms()
            .filter(|&ms| ms > 0.0)
            .map(|ms| self.jobs as f64 / (ms / 1000.0))
    }

    pub fn peak_in_flight(&self) -> Option<u64> {
        self.good().map(|r| r.peak_in_flight).max()
    }

    pub fn rss_kib(&self) -> Option<u64> {
        median(self.good().map(|r| r.rss_kib as f64).collect()).map(|k| k as u64)
    }

    pub fn problems(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .runs
            .iter()
            .flat_map(|r| r.problems.iter().cloned())
            .collect();
        all.dedup();
        all
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

#[derive(Debug)]
struct Options {
    workloads: Vec<Spec>,
    workers: usize,
    runs: usize,
    jobs: Option<u64>,
    only: Option<Vec<String>>,
    sweep: Option<Vec<usize>>,
    queue_sweep: Option<Vec<usize>>,
    json: bool,
}

fn parse_list<T: std::str::FromStr>(flag: &str, value: &str) -> anyhow::Result<Vec<T>> {
    value
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("{flag}: '{v}' is not a number"))
        })
        .collect()
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        workloads: vec![DISPATCH, CPU, SLEEP],
        workers: 2,
        runs: 5,
        jobs: None,
        only: None,
        sweep: None,
        queue_sweep: None,
        json: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value ({USAGE})"))
        };
        match flag.as_str() {
            "--workload" => {
                o.workloads = match value()?.as_str() {
                    "dispatch" => vec![DISPATCH],
                    "cpu" => vec![CPU],
                    "sleep" => vec![SLEEP],
                    "all" => vec![DISPATCH, CPU, SLEEP],
                    other => bail!("--workload: '{other}' is not dispatch, cpu, sleep or all"),
                }
            }
            "--workers" => o.workers = value()?.parse().context("--workers")?,
            "--runs" => o.runs = value()?.parse().context("--runs")?,
            "--jobs" => o.jobs = Some(value()?.parse().context("--jobs")?),
            "--only" => o.only = Some(value()?.split(',').map(|s| s.trim().to_owned()).collect()),
            "--sweep" => o.sweep = Some(parse_list("--sweep", value()?)?),
            "--queue-sweep" => o.queue_sweep = Some(parse_list("--queue-sweep", value()?)?),
            "--json" => o.json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} ({USAGE})"),
        }
    }
    anyhow::ensure!((1..=4096).contains(&o.workers), "--workers must be 1..=4096");
    anyhow::ensure!(o.runs >= 1, "--runs must be at least 1");
    if let Some(list) = &o.sweep {
        anyhow::ensure!(
            !list.is_empty() && list.iter().all(|w| (1..=4096).contains(w)),
            "--sweep: worker counts must be 1..=4096"
        );
    }
    Ok(o)
}

/// `cargo xtask compare ...`
pub fn compare(args: &[String]) -> anyhow::Result<()> {
    let o = parse_options(args)?;
    let root = workspace_root();
    let mut variants = all_variants();
    if let Some(only) = &o.only {
        for name in only {
            anyhow::ensure!(
                variants.iter().any(|v| &v.name == name),
                "--only: no variant {name:?} (have: {})",
                variants
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        variants.retain(|v| only.contains(&v.name));
    }
    let target = crate::verify::target_dir(&root)?;
    let (available, skipped) = build_release(&root, &variants)?;
    for (name, why) in &skipped {
        eprintln!("compare: skipping {name}: {why}");
    }
    let bin_dir = target.join("release");
    let ctx = Ctx {
        root: &root,
        bin_dir: &bin_dir,
        skipped: &skipped,
        progress: true,
    };

    let mut failures = 0usize;
    for spec in &o.workloads {
        let spec = Spec {
            jobs: o.jobs.unwrap_or(spec.jobs),
            ..*spec
        };
        let rows = ctx.table(&available, spec, o.workers, o.runs);
        failures += rows
            .iter()
            .filter(|r| r.skipped.is_none() && !r.complete())
            .count();
        print_rows(&rows, "table", o.json, &spec, o.workers);
    }

    let out_dir = target.join("compare");
    if let Some(list) = &o.sweep {
        std::fs::create_dir_all(&out_dir)?;
        for spec in o.workloads.iter().filter(|s| s.workload != "dispatch") {
            let spec = Spec {
                jobs: o.jobs.unwrap_or(spec.jobs),
                ..*spec
            };
            let swept: Vec<Variant> = available
                .iter()
                .filter(|v| !v.dispatch_only && v.name != "serial" && v.name != "thread-per-job")
                .cloned()
                .collect();
            let mut all_rows = Vec::new();
            for &w in list {
                let rows = ctx.table(&swept, spec, w, o.runs);
                failures += rows
                    .iter()
                    .filter(|r| r.skipped.is_none() && !r.complete())
                    .count();
                print_rows(&rows, "sweep", o.json, &spec, w);
                all_rows.extend(rows);
            }
            // The ideal: sleep = jobs / (ceil(jobs / w) × work); cpu = the serial rate × min(w, cores).
            let serial_rate = if spec.workload == "cpu" && available.iter().any(|v| v.name == "serial") {
                let serial: Vec<Variant> = available.iter().filter(|v| v.name == "serial").cloned().collect();
                ctx.table(&serial, spec, 1, 1).first().and_then(Row::jobs_per_s)
            } else {
                None
            };
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            let ideal: Vec<(usize, f64)> = list
                .iter()
                .filter_map(|&w| {
                    let rate = match spec.workload {
                        "sleep" => {
                            spec.jobs as f64 / (spec.jobs.div_ceil(w as u64) * spec.work_ms) as f64 * 1000.0
                        }
                        _ => serial_rate? * w.min(cores) as f64,
                    };
                    Some((w, rate))
                })
                .collect();
            let chart = Chart {
                title: format!(
                    "{}: {} jobs{} — throughput by worker count ({} cores)",
                    spec.workload,
                    spec.jobs,
                    if spec.workload == "sleep" {
                        format!(" of {} ms", spec.work_ms)
                    } else {
                        " (O(n) prime check)".to_owned()
                    },
                    cores
                ),
                x_label: "workers".into(),
                y_label: "jobs per second".into(),
                ticks: list.iter().map(usize::to_string).collect(),
                series: series_by(
                    &all_rows,
                    |r| list.iter().position(|&w| w == r.workers),
                    Some((
                        "ideal",
                        ideal
                            .iter()
                            .filter_map(|&(w, y)| Some((list.iter().position(|&x| x == w)?, y)))
                            .collect(),
                    )),
                ),
            };
            let stem = out_dir.join(format!("sweep-{}", spec.workload));
            chart.write(&stem)?;
            eprintln!("compare: wrote {}.png and .svg", stem.display());
        }
    }
    if let Some(list) = &o.queue_sweep {
        std::fs::create_dir_all(&out_dir)?;
        let spec = Spec {
            jobs: o.jobs.unwrap_or(DISPATCH.jobs),
            ..DISPATCH
        };
        let queued: Vec<Variant> = available.iter().filter(|v| v.has_queue).cloned().collect();
        let mut all_rows = Vec::new();
        for &capacity in list {
            let spec = Spec {
                buffer: capacity,
                ..spec
            };
            let rows = ctx.table(&queued, spec, o.workers, o.runs);
            failures += rows
                .iter()
                .filter(|r| r.skipped.is_none() && !r.complete())
                .count();
            print_rows(&rows, "queue_sweep", o.json, &spec, o.workers);
            all_rows.extend(rows);
        }
        let chart = Chart {
            title: format!(
                "dispatch: {} jobs on {} workers — throughput by queue capacity",
                spec.jobs, o.workers
            ),
            x_label: "queue capacity (--buffer)".into(),
            y_label: "jobs per second".into(),
            ticks: list.iter().map(usize::to_string).collect(),
            series: series_by(&all_rows, |r| list.iter().position(|&c| c == r.buffer), None),
        };
        let stem = out_dir.join("queue-dispatch");
        chart.write(&stem)?;
        eprintln!("compare: wrote {}.png and .svg", stem.display());
    }
    anyhow::ensure!(
        failures == 0,
        "{failures} row(s) did not complete with every job accounted for"
    );
    Ok(())
}

/// Builds the variants' packages in release: all at once, or one by one if that fails so a
/// broken package only skips its own variants. Returns the variants built and the ones skipped.
/// Variants that were not run, with the reason.
type Skipped = Vec<(String, String)>;

fn build_release(root: &Path, variants: &[Variant]) -> anyhow::Result<(Vec<Variant>, Skipped)> {
    let present = crate::examples(root)?;
    let mut skipped = Vec::new();
    let mut wanted: Vec<Variant> = Vec::new();
    for v in variants {
        if v.package == "xtask" || present.contains(&v.package) {
            wanted.push(v.clone());
        } else {
            skipped.push((v.name.clone(), format!("crates/{} does not exist yet", v.package)));
        }
    }
    let mut packages: Vec<&str> = wanted
        .iter()
        .map(|v| v.package.as_str())
        .filter(|p| *p != "xtask")
        .collect();
    packages.dedup();
    let baselines = wanted.iter().any(|v| v.baseline);
    let build = |pkgs: &[&str], baselines: bool| -> bool {
        let mut ok = true;
        if !pkgs.is_empty() {
            let mut cmd = Command::new(cargo());
            cmd.args(["build", "--release", "--quiet"]).current_dir(root);
            for p in pkgs {
                cmd.args(["-p", p]);
            }
            ok &= cmd.status().is_ok_and(|s| s.success());
        }
        if baselines {
            ok &= Command::new(cargo())
                .args([
                    "build",
                    "--release",
                    "--quiet",
                    "-p",
                    "xtask",
                    "--bin",
                    "baselines",
                ])
                .current_dir(root)
                .status()
                .is_ok_and(|s| s.success());
        }
        ok
    };
    eprintln!("compare: cargo build --release ({})", packages.join(", "));
    if build(&packages, baselines) {
        return Ok((wanted, skipped));
    }
    eprintln!("compare: the release build failed; building one package at a time to skip the broken ones");
    let mut broken = Vec::new();
    for p in &packages {
        if !build(&[p], false) {
            broken.push((*p).to_owned());
        }
    }
    if baselines && !build(&[], true) {
        broken.push("xtask".to_owned());
    }
    let (ok, bad): (Vec<Variant>, Vec<Variant>) =
        wanted.into_iter().partition(|v| !broken.contains(&v.package));
    for v in bad {
        skipped.push((
            v.name,
            format!("package {} does not build (see above)", v.package),
        ));
    }
    Ok((ok, skipped))
}

/// Where the binaries are, and what to say about the variants that were not built.
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub bin_dir: &'a Path,
    pub skipped: &'a [(String, String)],
    pub progress: bool,
}

impl Ctx<'_> {
    /// Runs `variants` on `spec` at `workers`, `runs` times in turns; one row per variant (the
    /// skipped ones included, with their reason).
    pub fn table(&self, variants: &[Variant], spec: Spec, workers: usize, runs: usize) -> Vec<Row> {
        let mut rows: Vec<Row> = variants
            .iter()
            .filter(|v| !v.dispatch_only || spec.workload == "dispatch")
            .map(|v| Row {
                variant: v.name.clone(),
                workload: spec.workload,
                workers,
                jobs: spec.jobs,
                buffer: spec.buffer,
                runs: Vec::new(),
                skipped: (v.name == "thread-per-job" && spec.jobs > 4096).then(|| {
                    format!(
                        "{} jobs would be {} threads at once, above the cap of 4096",
                        spec.jobs, spec.jobs
                    )
                }),
            })
            .collect();
        let runnable: Vec<&Variant> = variants
            .iter()
            .filter(|v| !v.dispatch_only || spec.workload == "dispatch")
            .collect();
        for turn in 0..runs {
            for (v, row) in runnable.iter().zip(rows.iter_mut()) {
                if row.skipped.is_some() {
                    continue;
                }
                if self.progress {
                    eprint!(
                        "\rcompare: {} w={workers} q={} run {}/{runs}: {:<28}",
                        spec.workload,
                        spec.buffer,
                        turn + 1,
                        v.name
                    );
                }
                row.runs.push(self.run_once(v, spec, workers));
            }
        }
        if self.progress {
            eprint!("\r{:100}\r", "");
        }
        for (name, why) in self.skipped {
            if variants.iter().any(|v| &v.name == name) {
                continue;
            }
            if all_variants()
                .iter()
                .any(|v| &v.name == name && (!v.dispatch_only || spec.workload == "dispatch"))
            {
                rows.push(Row {
                    variant: name.clone(),
                    workload: spec.workload,
                    workers,
                    jobs: spec.jobs,
                    buffer: spec.buffer,
                    runs: Vec::new(),
                    skipped: Some(why.clone()),
                });
            }
        }
        rows
    }

    /// Runs one variant once and checks its accounting.
    pub fn run_once(&self, v: &Variant, spec: Spec, workers: usize) -> RunOutcome {
        let program = self.bin_dir.join(&v.binary);
        let mut args: Vec<String> = v
            .args
            .iter()
            .map(|a| a.replace("{workers}", &workers.to_string()))
            .collect();
        args.extend(
            [
                "--workload",
                spec.workload,
                "--jobs",
                &spec.jobs.to_string(),
                "--workers",
                &workers.to_string(),
                "--work-ms",
                &spec.work_ms.to_string(),
                "--buffer",
                &spec.buffer.to_string(),
                "--seed",
                &SEED.to_string(),
                "--json",
                "--quiet",
            ]
            .map(str::to_owned),
        );
        // Generous: the slowest fixed run (cpu, serial) takes some seconds on 2 cores.
        let timeout = Duration::from_secs(600);
        let mut out = RunOutcome {
            wall_ms: 0.0,
            peak_in_flight: 0,
            rss_kib: 0,
            problems: Vec::new(),
            stderr: String::new(),
        };
        let child = match run_child(&program, &args, self.root, timeout) {
            Ok(child) => child,
            Err(e) => {
                out.problems
                    .push(format!("could not run {}: {e:#}", program.display()));
                return out;
            }
        };
        out.rss_kib = child.max_rss_kib;
        out.stderr = child.stderr;
        if child.timed_out {
            out.problems.push(format!("killed after {} s", timeout.as_secs()));
        }
        if child.exit_code != Some(0) {
            out.problems.push(format!(
                "exit code {:?} (stderr: {})",
                child.exit_code,
                out.stderr.lines().last().unwrap_or("")
            ));
        }
        let summary: Option<Value> = child
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .filter(|v: &Value| v["event"] == "summary");
        let Some(s) = summary else {
            out.problems.push("no JSON summary line on stdout".into());
            return out;
        };
        let n = |k: &str| s[k].as_u64();
        out.wall_ms = s["wall_ms"].as_f64().unwrap_or(0.0);
        out.peak_in_flight = n("peak_in_flight").unwrap_or(0);
        let (submitted, ok) = (n("submitted"), n("ok"));
        let accounted = ["ok", "failed", "cancelled", "not_started"]
            .iter()
            .map(|k| n(k).unwrap_or(0))
            .sum::<u64>();
        if submitted != Some(spec.jobs) || ok != Some(spec.jobs) || accounted != spec.jobs {
            out.problems.push(format!(
                "accounting: submitted {submitted:?}, ok {ok:?}, accounted {accounted} of {} jobs",
                spec.jobs
            ));
        }
        out
    }
}

struct ChildRun {
    exit_code: Option<i32>,
    timed_out: bool,
    max_rss_kib: u64,
    stdout: String,
    stderr: String,
}

/// Runs `program` to its end, with its output captured and its peak RSS read from `wait4`.
fn run_child(program: &Path, args: &[String], dir: &Path, timeout: Duration) -> anyhow::Result<ChildRun> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {}", program.display()))?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let pid = libc::pid_t::try_from(child.id()).context("pid")?;
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let (status, max_rss_kib) = loop {
        if let Some(done) = wait4(pid, false)? {
            break done;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            match wait4(pid, true)? {
                Some(done) => break done,
                None => bail!("child {pid} did not end after kill"),
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(ChildRun {
        exit_code,
        timed_out,
        max_rss_kib,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Reaps child `pid` (blocking or not): its wait status and its peak RSS in KiB (`ru_maxrss`).
/// `None` if it is still running (non-blocking only).
#[allow(unsafe_code)]
fn wait4(pid: libc::pid_t, block: bool) -> anyhow::Result<Option<(i32, u64)>> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: `wait4` only writes to the two out-pointers, which point to live locals for the
    // whole call; `pid` is our own child, not reaped yet (std's `Child` never waited for it).
    let got = unsafe { libc::wait4(pid, &raw mut status, flags, &raw mut usage) };
    if got == 0 {
        return Ok(None);
    }
    if got < 0 {
        return Err(std::io::Error::last_os_error()).context("wait4");
    }
    Ok(Some((status, u64::try_from(usage.ru_maxrss).unwrap_or(0))))
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k/s", r / 1e3)
    } else {
        format!("{r:.0} /s")
    }
}

/// The efficiency of each row against the ideal: sleep = ceil(jobs / workers) × work / wall;
/// cpu = (serial wall / workers) / wall, with the serial row of the same table.
fn efficiencies(rows: &[Row], spec: &Spec, workers: usize) -> Vec<Option<f64>> {
    let ideal_ms = match spec.workload {
        "sleep" => Some((spec.jobs.div_ceil(workers as u64) * spec.work_ms) as f64),
        "cpu" => rows
            .iter()
            .find(|r| r.variant == "serial")
            .and_then(Row::wall_ms)
            .map(|serial| serial / workers as f64),
        _ => None,
    };
    rows.iter()
        .map(|r| Some(ideal_ms? / r.wall_ms().filter(|&w| w > 0.0)?))
        .collect()
}

fn print_rows(rows: &[Row], kind: &str, json: bool, spec: &Spec, workers: usize) {
    let effs = efficiencies(rows, spec, workers);
    if json {
        for (r, eff) in rows.iter().zip(&effs) {
            let line = json!({
                "kind": kind,
                "workload": r.workload,
                "variant": r.variant,
                "jobs": r.jobs,
                "workers": r.workers,
                "buffer": r.buffer,
                "runs": r.runs.len(),
                "complete": r.complete(),
                "wall_ms": r.wall_ms(),
                "wall_ms_runs": r.runs.iter().map(|x| x.wall_ms).collect::<Vec<_>>(),
                "jobs_per_s": r.jobs_per_s().map(f64::round),
                "peak_in_flight": r.peak_in_flight(),
                "peak_rss_kib": r.rss_kib(),
                "efficiency": eff.map(|e| (e * 1000.0).round() / 1000.0),
                "skipped": r.skipped,
                "problems": r.problems(),
            });
            println!("{line}");
        }
        return;
    }
    let runs = rows.iter().map(|r| r.runs.len()).max().unwrap_or(0);
    println!(
        "\n{} — {}: {} jobs{}, {} workers, queue {}, median of {} run(s)",
        kind,
        spec.workload,
        spec.jobs,
        if spec.work_ms > 0 {
            format!(" of {} ms", spec.work_ms)
        } else {
            String::new()
        },
        workers,
        spec.buffer,
        runs
    );
    println!(
        "| {:<24} | {:>10} | {:>11} | {:>14} | {:>13} | {:>10} |",
        "variant", "wall ms", "jobs/s", "peak in flight", "peak RSS MiB", "efficiency"
    );
    println!(
        "|{:-<26}|{:->12}|{:->13}|{:->16}|{:->15}|{:->12}|",
        "", ":", ":", ":", ":", ":"
    );
    for (r, eff) in rows.iter().zip(&effs) {
        if let Some(why) = &r.skipped {
            println!("| {:<24} | skipped: {why}", r.variant);
            continue;
        }
        let dash = || "-".to_owned();
        println!(
            "| {:<24} | {:>10} | {:>11} | {:>14} | {:>13} | {:>10} |",
            r.variant,
            r.wall_ms().map_or_else(dash, |w| format!("{w:.1}")),
            r.jobs_per_s().map_or_else(dash, fmt_rate),
            r.peak_in_flight().map_or_else(dash, |p| p.to_string()),
            r.rss_kib()
                .map_or_else(dash, |k| format!("{:.1}", k as f64 / 1024.0)),
            eff.map_or_else(dash, |e| format!("{:.1}%", e * 100.0)),
        );
        for p in r.problems() {
            println!("|   ! {p}");
        }
    }
}

/// Groups rows into chart series (one per variant): x = the index `x_of` gives, y = jobs/s.
fn series_by(
    rows: &[Row],
    x_of: impl Fn(&Row) -> Option<usize>,
    extra: Option<(&str, Vec<(usize, f64)>)>,
) -> Vec<(String, Vec<(usize, f64)>)> {
    let mut by: BTreeMap<usize, (String, Vec<(usize, f64)>)> = BTreeMap::new();
    let order: Vec<String> = all_variants().into_iter().map(|v| v.name).collect();
    for r in rows {
        let (Some(x), Some(y)) = (x_of(r), r.jobs_per_s()) else {
            continue;
        };
        let key = order.iter().position(|n| *n == r.variant).unwrap_or(usize::MAX);
        by.entry(key)
            .or_insert_with(|| (r.variant.clone(), Vec::new()))
            .1
            .push((x, y));
    }
    let mut series: Vec<_> = by.into_values().collect();
    if let Some((name, points)) = extra
        && !points.is_empty()
    {
        series.push((name.to_owned(), points));
    }
    series
}

/// A line chart: categories on x (worker counts, capacities), jobs/s on y.
struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    ticks: Vec<String>,
    series: Vec<(String, Vec<(usize, f64)>)>,
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

impl Chart {
    /// Writes `<stem>.png` and `<stem>.svg`.
    fn write(&self, stem: &Path) -> anyhow::Result<()> {
        use plotters::prelude::*;
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| anyhow::anyhow!("the bundled font does not load"))?;
        let size = (960, 600);
        let png = stem.with_extension("png");
        let svg = stem.with_extension("svg");
        self.draw(BitMapBackend::new(&png, size).into_drawing_area())?;
        self.draw(SVGBackend::new(&svg, size).into_drawing_area())?;
        Ok(())
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        area: plotters::drawing::DrawingArea<DB, plotters::coord::Shift>,
    ) -> anyhow::Result<()> {
        use plotters::prelude::*;
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("chart: {e}");
        area.fill(&WHITE).map_err(|e| err(&e))?;
        let y_max = self
            .series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
            .fold(1.0f64, f64::max)
            * 1.1;
        let n = self.ticks.len();
        let mut chart = ChartBuilder::on(&area)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.3f64..(n as f64 - 0.7), 0f64..y_max)
            .map_err(|e| err(&e))?;
        let ticks = self.ticks.clone();
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(n * 2 + 1)
            .x_label_formatter(&move |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    ticks.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y: &f64| fmt_rate(*y))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = if name == "ideal" {
                BLACK.mix(0.5)
            } else {
                Palette99::pick(i).mix(1.0)
            };
            let pts: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x as f64, y)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        area.present().map_err(|e| err(&e))?;
        Ok(())
    }
}

/// verify's check that compare cannot rot: the variants and baselines on a tiny `dispatch` and
/// `sleep` workload, one run each, with the debug binaries in `bin_dir` (already built). Returns
/// one line per row that did not complete with every job accounted for (timings are not judged).
pub fn smoke(root: &Path, bin_dir: &Path) -> Vec<String> {
    let present = crate::examples(root).unwrap_or_default();
    let variants: Vec<Variant> = all_variants()
        .into_iter()
        .filter(|v| v.package == "xtask" || present.contains(&v.package))
        .collect();
    let ctx = Ctx {
        root,
        bin_dir,
        skipped: &[],
        progress: false,
    };
    let mut why = Vec::new();
    for spec in [
        Spec {
            jobs: 300,
            ..DISPATCH
        },
        Spec {
            jobs: 200,
            work_ms: 1,
            buffer: 16,
            ..SLEEP
        },
    ] {
        for row in ctx.table(&variants, spec, 4, 1) {
            if let Some(skipped) = &row.skipped {
                why.push(format!("{} on {}: skipped: {skipped}", row.variant, row.workload));
            } else if !row.complete() {
                why.push(format!(
                    "{} on {}: {}",
                    row.variant,
                    row.workload,
                    row.problems().join("; ")
                ));
            }
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn options_parse_and_reject() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let o = parse_options(&args("--workload cpu --runs 3 --sweep 1,2,4 --json")).expect("valid");
        assert_eq!((o.workloads.len(), o.runs, o.json), (1, 3, true));
        assert_eq!(o.sweep, Some(vec![1, 2, 4]));
        for bad in [
            "--workload gpu",
            "--runs 0",
            "--sweep 1,x",
            "--sweep 0",
            "--frobnicate",
            "--runs",
        ] {
            assert!(parse_options(&args(bad)).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn efficiency_uses_the_serial_row_for_cpu_and_the_sleep_ideal() {
        let row = |name: &str, wall: f64| Row {
            variant: name.into(),
            workload: "cpu",
            workers: 2,
            jobs: 10,
            buffer: 4,
            runs: vec![RunOutcome {
                wall_ms: wall,
                peak_in_flight: 2,
                rss_kib: 1,
                problems: Vec::new(),
                stderr: String::new(),
            }],
            skipped: None,
        };
        let rows = [row("basic", 500.0), row("serial", 1000.0)];
        assert_eq!(efficiencies(&rows, &CPU, 2), [Some(1.0), Some(0.5)]);
        let sleep = Spec { jobs: 10, ..SLEEP };
        // ceil(10 / 2) × 5 ms = 25 ms ideal.
        assert_eq!(efficiencies(&[row("basic", 50.0)], &sleep, 2), [Some(0.5)]);
        assert_eq!(efficiencies(&[row("basic", 50.0)], &DISPATCH, 2), [None]);
    }
}
