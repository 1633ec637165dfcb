//! The tables (markdown-ish, or one JSON object per row) and the efficiency of each row.

use serde_json::json;

use super::runner::{Row, times_jobs};
use super::workloads::Spec;

pub fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k/s", r / 1e3)
    } else {
        format!("{r:.0} /s")
    }
}

/// A job latency in the table: three significant digits or more (0.0123, 5.08, 312.4).
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.4}")
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The efficiency of each row against the ideal: sleep and waits = ceil(jobs / workers) × work /
/// wall; cpu = (serial wall / workers) / wall, with the serial row of the same table.
pub fn efficiencies(rows: &[Row], spec: &Spec, workers: usize) -> Vec<Option<f64>> {
    let ideal_ms = match spec.child {
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

pub fn print_rows(rows: &[Row], kind: &str, json: bool, spec: &Spec, workers: usize) {
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
                "cpu_ms": r.cpu_ms().map(round3),
                "cpu_ms_runs": r.runs.iter().map(|x| x.cpu_ms.map(round3)).collect::<Vec<_>>(),
                "jobs_per_s": r.jobs_per_s().map(f64::round),
                "job_p50_ms": r.latency_p50_ms().map(round3),
                "job_p99_ms": r.latency_p99_ms().map(round3),
                "peak_in_flight": r.peak_in_flight(),
                "peak_rss_kib": r.rss_kib(),
                "peak_os_threads": r.threads(),
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
        "\n{} — {}: {} jobs{}, {} workers, queue {}, median of {} run(s){}",
        kind,
        spec.workload,
        spec.jobs,
        match (spec.work_ms, spec.dist) {
            (0, _) => String::new(),
            (ms, common::WorkDist::Fixed) => format!(" of {ms} ms"),
            (ms, dist) => format!(" of {ms} ms on average ({dist:?} durations)").to_lowercase(),
        },
        workers,
        spec.buffer,
        runs,
        if times_jobs(spec) {
            "; job ms = a job's time from its started to its finished event (its work and any wait \
             for a core; not its wait in the queue), 50th and 99th percentile"
        } else {
            ""
        }
    );
    println!(
        "| {:<27} | {:>10} | {:>10} | {:>11} | {:>11} | {:>11} | {:>14} | {:>13} | {:>10} | {:>10} |",
        "variant",
        "wall ms",
        "CPU ms",
        "jobs/s",
        "job p50 ms",
        "job p99 ms",
        "peak in flight",
        "peak RSS MiB",
        "OS threads",
        "efficiency"
    );
    println!(
        "|{:-<29}|{:->12}|{:->12}|{:->13}|{:->13}|{:->13}|{:->16}|{:->15}|{:->12}|{:->12}|",
        "", ":", ":", ":", ":", ":", ":", ":", ":", ":"
    );
    for (r, eff) in rows.iter().zip(&effs) {
        if let Some(why) = &r.skipped {
            println!("| {:<27} | skipped: {why} |", r.variant);
            continue;
        }
        let dash = || "-".to_owned();
        println!(
            "| {:<27} | {:>10} | {:>10} | {:>11} | {:>11} | {:>11} | {:>14} | {:>13} | {:>10} | {:>10} |",
            r.variant,
            r.wall_ms().map_or_else(dash, |w| format!("{w:.1}")),
            r.cpu_ms().map_or_else(dash, |c| format!("{c:.0}")),
            r.jobs_per_s().map_or_else(dash, fmt_rate),
            r.latency_p50_ms().map_or_else(dash, fmt_ms),
            r.latency_p99_ms().map_or_else(dash, fmt_ms),
            r.peak_in_flight().map_or_else(dash, |p| p.to_string()),
            r.rss_kib()
                .map_or_else(dash, |k| format!("{:.1}", k as f64 / 1024.0)),
            r.threads().map_or_else(dash, |t| t.to_string()),
            eff.map_or_else(dash, |e| format!("{:.1}%", e * 100.0)),
        );
        for p in r.problems() {
            println!("|   ! {p}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::runner::RunOutcome;
    use super::super::workloads::{CPU, DISPATCH, SLEEP, WAITS};
    use super::*;

    fn row(name: &str, wall: f64) -> Row {
        Row {
            variant: name.into(),
            workload: "cpu",
            workers: 2,
            jobs: 10,
            buffer: 4,
            runs: vec![RunOutcome {
                wall_ms: wall,
                peak_in_flight: 2,
                rss_kib: Some(1),
                ..RunOutcome::default()
            }],
            skipped: None,
        }
    }

    #[test]
    fn efficiency_uses_the_serial_row_for_cpu_and_the_sleep_ideal() {
        let rows = [row("basic", 500.0), row("serial", 1000.0)];
        assert_eq!(efficiencies(&rows, &CPU, 2), [Some(1.0), Some(0.5)]);
        let sleep = Spec { jobs: 10, ..SLEEP };
        // ceil(10 / 2) × 5 ms = 25 ms ideal.
        assert_eq!(efficiencies(&[row("basic", 50.0)], &sleep, 2), [Some(0.5)]);
        assert_eq!(efficiencies(&[row("basic", 50.0)], &DISPATCH, 2), [None]);
    }

    #[test]
    fn waits_efficiency_is_against_jobs_over_concurrency_waits() {
        // 20,000 jobs at 1,000 concurrent: 20 rounds of 100 ms = 2,000 ms ideal.
        assert_eq!(
            efficiencies(&[row("async-pool joinset", 2500.0)], &WAITS, 1000),
            [Some(0.8)]
        );
    }
}
