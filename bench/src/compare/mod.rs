//! `compare` (`cargo xtask compare`): every general variant and the baselines on the same seeded
//! jobs.
//!
//! Builds with `--profile` (`dist`, the root manifest's release plus fat LTO, unless
//! `--profile release`), then runs each variant as a child process with `--json --quiet` through
//! the examples' test runner (`harness::process`) and reads its summary line: wall time, peak in
//! flight and its own peak RSS (`peak_rss_kb`); the runner samples its OS threads from `/proc`. Runs go in
//! turns (A B C A B C …) so machine drift hits every variant alike; each row is the median of
//! `--runs`.
//!
//! - `options.rs`: the flags (`--workload dispatch|cpu|sleep|waits|all`, `--sweep`, …);
//! - `workloads.rs`: the fixed workloads and the variants;
//! - `runner.rs`: the build and the runs;
//! - `table.rs`: tables, JSON rows, efficiency, and the jobs' latency (p50 and p99 of started →
//!   finished, read from the children's per-job events on cpu, sleep and custom);
//!   `chart.rs`: the charts (under `target/compare/`);
//! - `instructions.rs`: `--instructions`, instructions per job counted by callgrind, not timed.
//!
//! Variants that are not in `crates/` yet, or do not build, are skipped with a note.

mod chart;
mod go;
mod instructions;
mod options;
mod runner;
mod table;
mod workloads;

use std::path::Path;

pub use options::CompareArgs;
use options::WorkloadChoice;
pub use runner::{JobLatency, job_latency, percentile};

use chart::{Chart, series_by};
use runner::{Ctx, Row};
use table::{efficiencies, fmt_rate, print_rows};
use workloads::{DISPATCH, SLEEP, Spec, Variant, WAITS_CONCURRENCY, all_variants};

use crate::workspace::{examples, target_dir, workspace_root};

/// `compare ...` (`cargo xtask compare ...`)
pub fn compare(o: &CompareArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !o.instructions || matches!(o.workload, WorkloadChoice::Dispatch | WorkloadChoice::All),
        "--instructions counts the dispatch workload only (the others spend their time in the work or waiting)"
    );
    let root = workspace_root();
    let mut variants = all_variants();
    if !o.only.is_empty() {
        for name in &o.only {
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
        variants.retain(|v| o.only.contains(&v.name));
    }
    let target = target_dir(&root)?;
    let profile = o.profile.name();
    let bin_dir = target.join(profile);
    let (available, skipped) = runner::build_variants(&root, &variants, profile, &bin_dir)?;
    for (name, why) in &skipped {
        eprintln!("compare: skipping {name}: {why}");
    }
    let ctx = Ctx {
        root: &root,
        bin_dir: &bin_dir,
        skipped: &skipped,
        progress: true,
    };
    let out_dir = target.join("compare");
    let incomplete = |rows: &[Row]| {
        rows.iter()
            .filter(|r| r.skipped.is_none() && !r.complete())
            .count()
    };

    let mut failures = 0usize;
    if o.instructions {
        failures = instructions::compare(&ctx, &available, o.jobs, o.workers, o.json, &out_dir)?;
        anyhow::ensure!(
            failures == 0,
            "{failures} row(s) did not complete with every job accounted for"
        );
        return Ok(());
    }
    for spec in o.workloads() {
        let spec = o.sized(spec);
        if spec.workload == "waits" {
            failures += waits(&ctx, &available, spec, o, &out_dir)?;
            continue;
        }
        let rows = ctx.table(&available, spec, o.workers, o.runs);
        failures += incomplete(&rows);
        print_rows(&rows, "table", o.json, &spec, o.workers);
    }

    if !o.sweep.is_empty() {
        std::fs::create_dir_all(&out_dir)?;
        for spec in o
            .workloads()
            .into_iter()
            .filter(|s| ["cpu", "sleep"].contains(&s.workload))
        {
            let spec = o.sized(spec);
            let list = &o.sweep;
            let swept: Vec<Variant> = available
                .iter()
                .filter(|v| !v.dispatch_only && v.name != "serial" && v.name != "thread-per-job")
                .cloned()
                .collect();
            let mut all_rows = Vec::new();
            for &w in list {
                let rows = ctx.table(&swept, spec, w, o.runs);
                failures += incomplete(&rows);
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
                .enumerate()
                .filter_map(|(i, &w)| {
                    let rate = match spec.workload {
                        "sleep" => {
                            spec.jobs as f64 / (spec.jobs.div_ceil(w as u64) * spec.work_ms) as f64 * 1000.0
                        }
                        _ => serial_rate? * w.min(cores) as f64,
                    };
                    Some((i, rate))
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
                    Row::jobs_per_s,
                    Some(("ideal", ideal)),
                ),
                y_format: fmt_rate,
                legend_bottom: false,
            };
            let stem = out_dir.join(format!("sweep-{}", spec.workload));
            chart.write(&stem)?;
            eprintln!("compare: wrote {}.png and .svg", stem.display());
        }
    }
    if !o.queue_sweep.is_empty() {
        std::fs::create_dir_all(&out_dir)?;
        let list = &o.queue_sweep;
        let spec = o.sized(DISPATCH);
        let queued: Vec<Variant> = available.iter().filter(|v| v.has_queue).cloned().collect();
        let mut all_rows = Vec::new();
        for &capacity in list {
            let spec = Spec {
                buffer: capacity,
                ..spec
            };
            let rows = ctx.table(&queued, spec, o.workers, o.runs);
            failures += incomplete(&rows);
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
            series: series_by(
                &all_rows,
                |r| list.iter().position(|&c| c == r.buffer),
                Row::jobs_per_s,
                None,
            ),
            y_format: fmt_rate,
            legend_bottom: false,
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

/// The `waits` workload: a table per concurrency level, then two charts (efficiency and peak
/// RSS by concurrency). Returns the rows that did not complete.
fn waits(
    ctx: &Ctx<'_>,
    available: &[Variant],
    spec: Spec,
    o: &CompareArgs,
    out_dir: &Path,
) -> anyhow::Result<usize> {
    let mut failures = 0;
    let mut all: Vec<(Row, Option<f64>)> = Vec::new();
    for w in WAITS_CONCURRENCY {
        let rows = ctx.table(available, spec, w, o.runs);
        failures += rows
            .iter()
            .filter(|r| r.skipped.is_none() && !r.complete())
            .count();
        print_rows(&rows, "waits", o.json, &spec, w);
        let effs = efficiencies(&rows, &spec, w);
        all.extend(rows.into_iter().zip(effs));
    }
    std::fs::create_dir_all(out_dir)?;
    let ticks: Vec<String> = WAITS_CONCURRENCY.iter().map(usize::to_string).collect();
    let x_of = |r: &Row| WAITS_CONCURRENCY.iter().position(|&w| w == r.workers);
    let rows: Vec<Row> = all.iter().map(|(r, _)| r.clone()).collect();
    let efficiency_of = |r: &Row| {
        all.iter()
            .find(|(x, _)| x.variant == r.variant && x.workers == r.workers)
            .and_then(|(_, e)| e.map(|e| e * 100.0))
    };
    let title = |what: &str| {
        format!(
            "waits: {} jobs of {} ms — {what} by concurrency (workers or tasks)",
            spec.jobs, spec.work_ms
        )
    };
    let charts = [
        (
            "waits-efficiency",
            Chart {
                title: title("efficiency"),
                x_label: "concurrency (--workers)".into(),
                y_label: "efficiency: ceil(jobs / N) × 100 ms / wall (%)".into(),
                ticks: ticks.clone(),
                series: series_by(&rows, x_of, efficiency_of, None),
                y_format: |y| format!("{y:.0}%"),
                legend_bottom: true,
            },
        ),
        (
            "waits-rss",
            Chart {
                title: title("peak RSS"),
                x_label: "concurrency (--workers)".into(),
                y_label: "peak RSS (MiB)".into(),
                ticks,
                series: series_by(&rows, x_of, |r| r.rss_kib().map(|k| k as f64 / 1024.0), None),
                y_format: |y| format!("{y:.0}"),
                legend_bottom: false,
            },
        ),
    ];
    for (name, chart) in charts {
        let stem = out_dir.join(name);
        chart.write(&stem)?;
        eprintln!("compare: wrote {}.png and .svg", stem.display());
    }
    Ok(failures)
}

/// verify's check that compare cannot rot (`compare smoke --bin-dir DIR`): the variants and baselines on a tiny `dispatch` and
/// `sleep` workload, one run each, with the debug binaries in `bin_dir` (already built). Returns
/// one line per row that did not complete with every job accounted for (timings are not judged).
pub fn smoke(root: &Path, bin_dir: &Path) -> Vec<String> {
    let present = examples(root).unwrap_or_default();
    // With Go installed, its reference programs are rows too, and must compute what the Rust
    // ports compute for the same seed; without it they are left out (verify does not need Go).
    let with_go = go::go().is_some();
    let mut why = Vec::new();
    if with_go {
        if let Err(e) = go::build(root, bin_dir) {
            why.push(e);
        } else {
            why.extend(go::same_outputs(root, bin_dir));
        }
    }
    let variants: Vec<Variant> = all_variants()
        .into_iter()
        .filter(|v| {
            v.package == workloads::BASELINES_PACKAGE
                || present.contains(&v.package)
                || (with_go && v.package == go::PACKAGE)
        })
        .collect();
    let ctx = Ctx {
        root,
        bin_dir,
        skipped: &[],
        progress: false,
    };
    if let Some(basic) = variants.iter().find(|v| v.name == "basic") {
        why.extend(instructions::smoke(&ctx, basic));
    }
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
    use super::runner::median;
    use super::workloads::{WAITS, all_variants, skip_reason};

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn waits_skips_thread_pools_above_the_thread_cap_but_runs_tasks() {
        let skipped = |name: &str, workers: usize| {
            let v = all_variants()
                .into_iter()
                .find(|v| v.name == name)
                .expect("a variant");
            skip_reason(&v, &WAITS, workers)
        };
        assert!(skipped("basic", 10_000).is_some_and(|why| why.contains("4096")));
        assert_eq!(skipped("basic", 1_000), None);
        assert_eq!(skipped("async-pool joinset", 10_000), None);
        assert!(skipped("serial", 100).is_some());
        assert!(skipped("thread-per-job", 100).is_some());
    }
}
