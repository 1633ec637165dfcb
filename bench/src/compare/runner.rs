//! Building the variants in release and running them: one child per run through the examples'
//! test runner (`harness::process`), figures from the child's own JSON summary
//! (`harness::check::parse`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::workloads::{BASELINES_PACKAGE, SEED, Spec, Variant, all_variants, runs_on, skip_reason};
use crate::workspace::{cargo, examples};

/// One run's figures, from the child's summary line (and its threads, sampled from `/proc`).
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub wall_ms: f64,
    /// The child's CPU time, user + system, all its threads (`getrusage` of the reaped child),
    /// for the whole process: its start-up too, which the summary's `wall_ms` leaves out (a few
    /// milliseconds). Steadier than the wall time where the machine's other load (or a VM's
    /// stolen time) comes and goes: it counts what the variant itself spent.
    pub cpu_ms: Option<f64>,
    pub peak_in_flight: u64,
    /// The child's own `peak_rss_kb` (`VmHWM`).
    pub rss_kib: Option<u64>,
    /// The most OS threads seen at once (`Threads:` in `/proc/<pid>/status`, sampled).
    pub threads: Option<usize>,
    /// Why this run does not count (empty: every job accounted for and ok).
    pub problems: Vec<String>,
    /// The child refused the workload as bad input (exit 2): its one line.
    pub refused: Option<String>,
    /// The wrapper itself gave up (valgrind aborting inside the program): the run says nothing
    /// about the variant. Why, in one line.
    pub wrapper_gave_up: Option<String>,
    /// The jobs' latency (started → finished), where the run printed its per-job events
    /// ([`times_jobs`]).
    pub latency: Option<JobLatency>,
}

/// How long the jobs of one run took from their `started` event to their `finished` event: the
/// time a job held its worker (its work, plus any time its thread waited for a core). Not the
/// time it waited in a queue before: the events carry no submit instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobLatency {
    /// How many jobs had both events.
    pub jobs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Whether the runs of `spec` print their per-job events, for the latency columns: the workloads
/// whose jobs do work (cpu, sleep, custom). `dispatch` (a job is a multiplication: printing it
/// would be most of the run) and `waits` (20,000 jobs in flight at once, where printing would be
/// part of what is measured) stay `--quiet`.
pub fn times_jobs(spec: &Spec) -> bool {
    matches!(spec.workload, "cpu" | "sleep" | "custom")
}

/// The latency of each job that has both a `started` and a `finished` event in `events`, as
/// [`JobLatency`] (`None` if no job has both).
pub fn job_latency(events: &harness::check::Events) -> Option<JobLatency> {
    let started: std::collections::HashMap<u64, f64> = events.started().map(|s| (s.job, s.t_ms)).collect();
    let mut ms: Vec<f64> = events
        .finished()
        .filter_map(|f| Some((f.t_ms - started.get(&f.job)?).max(0.0)))
        .collect();
    Some(JobLatency {
        jobs: ms.len(),
        p50_ms: percentile(&mut ms, 50.0)?,
        p99_ms: percentile(&mut ms, 99.0)?,
    })
}

/// The `p`th percentile of `values` (nearest rank: the smallest value with at least `p`% of
/// them at or below it); `None` if empty. Sorts `values`.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
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

    pub fn cpu_ms(&self) -> Option<f64> {
        median(self.good().filter_map(|r| r.cpu_ms).collect())
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
        median(self.good().filter_map(|r| r.rss_kib).map(|k| k as f64).collect()).map(|k| k as u64)
    }

    /// The median over the runs of each run's median job latency (ms).
    pub fn latency_p50_ms(&self) -> Option<f64> {
        median(self.good().filter_map(|r| r.latency).map(|l| l.p50_ms).collect())
    }

    /// The median over the runs of each run's 99th-percentile job latency (ms).
    pub fn latency_p99_ms(&self) -> Option<f64> {
        median(self.good().filter_map(|r| r.latency).map(|l| l.p99_ms).collect())
    }

    pub fn threads(&self) -> Option<usize> {
        self.good().filter_map(|r| r.threads).max()
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

pub fn median(mut values: Vec<f64>) -> Option<f64> {
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

/// Variants that were not run, with the reason.
pub type Skipped = Vec<(String, String)>;

/// Builds the variants' packages with cargo profile `profile`, whose binaries land in `bin_dir`
/// (the Go programs are built there too): all at once, or one by one if that fails so a broken
/// package only skips its own variants. Returns the variants built and the ones skipped.
pub fn build_variants(
    root: &Path,
    variants: &[Variant],
    profile: &str,
    bin_dir: &Path,
) -> anyhow::Result<(Vec<Variant>, Skipped)> {
    let present = examples(root)?;
    let mut skipped = Vec::new();
    let mut wanted: Vec<Variant> = Vec::new();
    // The Go rows: built once, or left out with one line saying why (how to get Go).
    let go_built = variants.iter().any(|v| v.package == super::go::PACKAGE) && {
        match super::go::build(root, bin_dir) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("compare: no go:* rows: {e}");
                false
            }
        }
    };
    for v in variants {
        if v.package == super::go::PACKAGE {
            if go_built {
                wanted.push(v.clone());
            }
        } else if v.package == BASELINES_PACKAGE || present.contains(&v.package) {
            wanted.push(v.clone());
        } else if !skipped.iter().any(|(n, _)| n == &v.name) {
            skipped.push((v.name.clone(), format!("crates/{} does not exist yet", v.package)));
        }
    }
    let mut packages: Vec<&str> = wanted
        .iter()
        .map(|v| v.package.as_str())
        .filter(|p| *p != BASELINES_PACKAGE && *p != super::go::PACKAGE)
        .collect();
    packages.dedup();
    // bench's own binaries the variants run (`baselines`, `bare-pool`).
    let mut bench_bins: Vec<&str> = wanted
        .iter()
        .filter(|v| v.package == BASELINES_PACKAGE)
        .map(|v| v.binary.as_str())
        .collect();
    bench_bins.sort_unstable();
    bench_bins.dedup();
    let baselines = !bench_bins.is_empty();
    let build = |pkgs: &[&str], baselines: bool| -> bool {
        let mut ok = true;
        if !pkgs.is_empty() {
            let mut cmd = Command::new(cargo());
            cmd.args(["build", "--profile", profile, "--quiet"])
                .current_dir(root);
            for p in pkgs {
                cmd.args(["-p", p]);
            }
            ok &= cmd.status().is_ok_and(|s| s.success());
        }
        if baselines {
            ok &= Command::new(cargo())
                .args(["build", "--profile", profile, "--quiet", "-p", BASELINES_PACKAGE])
                .args(bench_bins.iter().flat_map(|&bin| ["--bin", bin]))
                .current_dir(root)
                .status()
                .is_ok_and(|s| s.success());
        }
        ok
    };
    eprintln!(
        "compare: cargo build --profile {profile} ({})",
        packages.join(", ")
    );
    if build(&packages, baselines) {
        return Ok((wanted, skipped));
    }
    eprintln!("compare: the {profile} build failed; building one package at a time to skip the broken ones");
    let mut broken = Vec::new();
    for p in &packages {
        if !build(&[p], false) {
            broken.push((*p).to_owned());
        }
    }
    if baselines && !build(&[], true) {
        broken.push(BASELINES_PACKAGE.to_owned());
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

/// A program that runs a variant's binary: the binary's path and arguments follow `args`.
#[derive(Debug, Clone)]
pub struct Wrapper {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Reads a failed run's stderr: why the wrapper itself gave up, if it did (not the program).
    pub gave_up: fn(&str) -> Option<String>,
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
        let runnable: Vec<&Variant> = variants.iter().filter(|v| runs_on(v, &spec)).collect();
        let mut rows: Vec<Row> = runnable
            .iter()
            .map(|v| Row {
                variant: v.name.clone(),
                workload: spec.workload,
                workers,
                jobs: spec.jobs,
                buffer: spec.buffer,
                runs: Vec::new(),
                skipped: skip_reason(v, &spec, workers),
            })
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
                let run = self.run_once(v, spec, workers);
                if let Some(why) = &run.refused {
                    row.skipped = Some(format!("refused: {why}"));
                    row.runs.clear();
                } else {
                    row.runs.push(run);
                }
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
                .any(|v| &v.name == name && runs_on(v, &spec))
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
        self.run_wrapped(v, spec, workers, None)
    }

    /// [`Ctx::run_once`], with the variant's binary run by `wrapper` (valgrind, say) if given.
    pub fn run_wrapped(
        &self,
        v: &Variant,
        spec: Spec,
        workers: usize,
        wrapper: Option<&Wrapper>,
    ) -> RunOutcome {
        let binary = self.bin_dir.join(&v.binary);
        let (program, mut args) = match wrapper {
            Some(w) => {
                let mut args = w.args.clone();
                args.push(binary.display().to_string());
                (w.program.clone(), args)
            }
            None => (binary, Vec::new()),
        };
        args.extend(
            v.args
                .iter()
                .map(|a| a.replace("{workers}", &workers.to_string())),
        );
        args.extend(
            [
                "--workload",
                spec.child,
                "--jobs",
                &spec.jobs.to_string(),
                "--workers",
                // Beyond common's cap only `--concurrency` (async-pool) says how many; the Go
                // programs take any count of goroutines up to theirs.
                &workers.min(v.max_workers).to_string(),
                "--work-ms",
                &spec.work_ms.to_string(),
                "--buffer",
                &spec.buffer.to_string(),
                "--seed",
                &SEED.to_string(),
                "--json",
            ]
            .map(str::to_owned),
        );
        // Per-job events only where the latency columns need them (and never under a wrapper,
        // which counts instructions of the dispatch workload).
        if !times_jobs(&spec) || wrapper.is_some() {
            args.push("--quiet".to_owned());
        }
        if spec.dist != common::WorkDist::Fixed {
            args.push("--work-dist".to_owned());
            args.push(format!("{:?}", spec.dist).to_lowercase());
        }
        // Generous: the slowest fixed run (cpu, serial) takes some seconds on 2 cores.
        let timeout = Duration::from_secs(600);
        let mut out = RunOutcome::default();
        // Runs go one at a time, so what the reaped children's CPU time grew by is this child's.
        let children_cpu_before = children_cpu_ms();
        let watched = match harness::process::run(&program, &args, self.root, timeout, None) {
            Ok(watched) => watched,
            Err(e) => {
                out.problems
                    .push(format!("could not run {}: {e:#}", program.display()));
                return out;
            }
        };
        out.threads = watched.peak_threads;
        out.cpu_ms = children_cpu_before
            .zip(children_cpu_ms())
            .map(|(before, after)| after - before)
            .filter(|_| wrapper.is_none());
        let child = watched.output;
        if child.code != Some(0)
            && let Some(why) = wrapper.and_then(|w| (w.gave_up)(&child.stderr))
        {
            out.wrapper_gave_up = Some(why);
            return out;
        }
        let last_err = child.stderr.lines().last().unwrap_or("").to_owned();
        if child.code == Some(2) && child.stdout.trim().is_empty() {
            out.refused = Some(last_err);
            return out;
        }
        if child.timed_out {
            out.problems.push(format!("killed after {} s", timeout.as_secs()));
        }
        if child.code != Some(0) {
            out.problems
                .push(format!("exit code {:?} (stderr: {last_err})", child.code));
        }
        let s = match harness::check::parse(&child.stdout) {
            Ok(events) => {
                out.latency = job_latency(&events);
                events.summary
            }
            Err(e) => {
                out.problems.push(e);
                return out;
            }
        };
        out.wall_ms = s.wall_ms;
        out.peak_in_flight = s.peak_in_flight as u64;
        out.rss_kib = s.peak_rss_kb;
        if s.submitted != spec.jobs || s.ok != spec.jobs || s.accounted() != spec.jobs {
            out.problems.push(format!(
                "accounting: submitted {}, ok {}, accounted {} of {} jobs",
                s.submitted,
                s.ok,
                s.accounted(),
                spec.jobs
            ));
        }
        out
    }
}

/// CPU time, user + system, of every child this process has reaped so far (`RUSAGE_CHILDREN`).
fn children_cpu_ms() -> Option<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1e3 + t.tv_usec() as f64 / 1e3;
    Some(ms(usage.user_time()) + ms(usage.system_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_childs_cpu_time_is_counted() {
        let before = children_cpu_ms().expect("getrusage");
        let status = Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"])
            .status()
            .expect("sh");
        assert!(status.success());
        let after = children_cpu_ms().expect("getrusage");
        assert!(
            after > before,
            "{before} ms before, {after} ms after a busy child"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut ten: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut ten, 50.0), Some(5.0));
        assert_eq!(percentile(&mut ten, 99.0), Some(10.0));
        assert_eq!(percentile(&mut ten, 0.0), Some(1.0));
        let mut hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut hundred, 99.0), Some(99.0));
        assert_eq!(percentile(&mut [7.0], 50.0), Some(7.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn latency_pairs_each_finished_job_with_its_start() {
        let lines = [
            r#"{"event":"started","job":1,"worker":1,"value":1,"t_ms":1.0}"#,
            r#"{"event":"started","job":2,"worker":2,"value":2,"t_ms":1.5}"#,
            r#"{"event":"finished","job":2,"worker":2,"value":2,"outcome":"ok","output":4,"t_ms":2.0}"#,
            r#"{"event":"finished","job":1,"worker":1,"value":1,"outcome":"ok","output":2,"t_ms":11.0}"#,
            r#"{"event":"not_started","job":3,"value":3,"t_ms":11.0}"#,
            r#"{"event":"summary","pattern":"basic","submitted":3,"ok":2,"failed":0,"cancelled":0,"not_started":1,"workers":2,"peak_in_flight":2,"wall_ms":12.0,"ideal_ms":null,"efficiency":null,"interrupted":false,"threads_alive_at_exit":0,"peak_rss_kb":null}"#,
        ];
        let events = harness::check::parse(&lines.join("\n")).expect("valid events");
        assert_eq!(
            job_latency(&events),
            Some(JobLatency {
                jobs: 2,
                p50_ms: 0.5,
                p99_ms: 10.0
            })
        );
        // A quiet run: the summary only.
        let quiet = harness::check::parse(lines[5]).expect("a summary");
        assert_eq!(job_latency(&quiet), None);
    }

    #[test]
    fn only_the_workloads_with_work_print_their_events() {
        use super::super::workloads::{CPU, CUSTOM, DISPATCH, SLEEP, WAITS};
        assert!(times_jobs(&CPU) && times_jobs(&SLEEP) && times_jobs(&CUSTOM));
        assert!(!times_jobs(&DISPATCH) && !times_jobs(&WAITS));
    }
}
