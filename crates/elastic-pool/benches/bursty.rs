//! `cargo bench -p elastic-pool --bench bursty`: the elastic pool on a bursty workload, side by
//! side with two fixed pools of the same binary (`--min` = `--max`): one of `--max` workers and
//! one of `--min`. Runs alternate (elastic, fixed max, fixed min, elastic, ...), so that a busy
//! machine's load falls on all three alike; the figures are medians over the rounds and the
//! per-round ratio elastic / fixed max.
//!
//! Reports, per variant: wall time, worker-seconds (every worker's lifetime, added up), peak
//! RSS; and for the elastic runs, the spawn-on-demand latency: from a `worker_spawned` (`grow`)
//! event, printed inside the submit that spawned the worker, to that worker's first `started`.
//!
//! `ELASTIC_BENCH_ROUNDS` (default 7) sets the rounds. Nothing here is a pass/fail test.

use std::process::Command;

use serde_json::Value;

const ROUNDS: usize = 7;
const MIN: usize = 1;
const MAX: usize = 8;

/// Ten bursts of 32 jobs of 20 ms, each after the pool went quiet and 400 ms more; keep-alive
/// 50 ms (well inside the gap, so the elastic pool is back at --min before each burst).
const WORKLOAD: &[&str] = &[
    "--arrivals",
    "bursts",
    "--jobs",
    "320",
    "--burst",
    "32",
    "--work-ms",
    "20",
    "--gap-ms",
    "400",
    "--keep-alive-ms",
    "50",
    "--json",
];

struct Variant {
    name: &'static str,
    min: usize,
    max: usize,
}

#[derive(Debug, Default, Clone)]
struct Figures {
    wall_ms: Vec<f64>,
    worker_s: Vec<f64>,
    rss_kb: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One run's latencies, in ms.
#[derive(Debug, Default)]
struct Latencies {
    /// `worker_spawned` (grow) to that worker's first `started`.
    spawn: Vec<f64>,
    /// A `burst` event (printed just before its first submit) to the burst's first `started`:
    /// the hand-over to a worker already alive and idle, for comparison.
    wake: Vec<f64>,
}

/// One run: its summary and its latencies.
fn run(v: &Variant) -> (Value, Latencies) {
    let out = Command::new(env!("CARGO_BIN_EXE_elastic-pool"))
        .args(WORKLOAD)
        .args(["--min", &v.min.to_string(), "--max", &v.max.to_string()])
        .output()
        .expect("the example runs");
    assert!(out.status.success(), "{} exited {:?}", v.name, out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    // A new worker's first `started` may be printed before its `worker_spawned` (which is
    // printed after the thread exists, but carries the time the spawn was asked for).
    let mut spawned_at = std::collections::HashMap::new();
    let mut first_start = std::collections::HashMap::new();
    let mut latencies = Latencies::default();
    let mut burst_at = None;
    let mut summary = Value::Null;
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let worker = e["worker"].as_u64();
        let t = e["t_ms"].as_f64();
        match e["event"].as_str() {
            Some("worker_spawned") if e["reason"] == "grow" => {
                if let (Some(w), Some(t)) = (worker, t) {
                    spawned_at.insert(w, t);
                }
            }
            Some("burst") => burst_at = t,
            Some("started") => {
                if let (Some(w), Some(t)) = (worker, t) {
                    first_start.entry(w).or_insert(t);
                }
                if let (Some(at), Some(t)) = (burst_at.take(), t) {
                    latencies.wake.push(t - at);
                }
            }
            Some("summary") => summary = e,
            _ => {}
        }
    }
    for (w, at) in spawned_at {
        if let Some(t) = first_start.get(&w) {
            latencies.spawn.push(t - at);
        }
    }
    (summary, latencies)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used.
    let rounds = std::env::var("ELASTIC_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS);
    let variants = [
        Variant {
            name: "elastic --min 1 --max 8",
            min: MIN,
            max: MAX,
        },
        Variant {
            name: "fixed --max (8)",
            min: MAX,
            max: MAX,
        },
        Variant {
            name: "fixed --min (1)",
            min: MIN,
            max: MIN,
        },
    ];
    println!(
        "bursty: {} --min/--max per variant; {rounds} rounds, alternating",
        WORKLOAD.join(" ")
    );
    println!("load average at start: {}", loadavg());
    let mut figures = vec![Figures::default(); variants.len()];
    let mut wall_ratio = Vec::new();
    let mut ws_ratio = Vec::new();
    let mut rss_ratio = Vec::new();
    let mut spawn = Vec::new();
    let mut wake = vec![Vec::new(); variants.len()];
    for round in 1..=rounds {
        let mut this = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let (s, lat) = run(v);
            let wall = s["wall_ms"].as_f64().unwrap_or(f64::NAN);
            let ws = s["worker_seconds"].as_f64().unwrap_or(f64::NAN);
            let rss = s["peak_rss_kb"].as_f64().unwrap_or(f64::NAN);
            assert_eq!(s["ok"].as_u64(), Some(320), "{}: every job ran", v.name);
            figures[i].wall_ms.push(wall);
            figures[i].worker_s.push(ws);
            figures[i].rss_kb.push(rss);
            if i == 0 {
                spawn.extend(lat.spawn);
            }
            wake[i].extend(lat.wake);
            this.push((wall, ws, rss));
        }
        wall_ratio.push(this[0].0 / this[1].0);
        ws_ratio.push(this[0].1 / this[1].1);
        rss_ratio.push(this[0].2 / this[1].2);
        println!(
            "round {round}: wall ms {:.0} / {:.0} / {:.0}, worker-s {:.2} / {:.2} / {:.2}, rss KiB {:.0} / {:.0} / {:.0} (elastic / fixed max / fixed min)",
            this[0].0, this[1].0, this[2].0, this[0].1, this[1].1, this[2].1, this[0].2, this[1].2, this[2].2
        );
    }
    println!("load average at end: {}", loadavg());
    println!();
    println!("| variant | wall ms (median) | worker-seconds (median) | peak RSS KiB (median) |");
    println!("|---|---:|---:|---:|");
    for (v, f) in variants.iter().zip(&figures) {
        println!(
            "| {} | {:.0} | {:.2} | {:.0} |",
            v.name,
            median(&f.wall_ms),
            median(&f.worker_s),
            median(&f.rss_kb)
        );
    }
    println!();
    let (w, ws, r) = (median(&wall_ratio), median(&ws_ratio), median(&rss_ratio));
    println!(
        "elastic / fixed max, median of per-round ratios: wall {w:.3} (target <= 1.05: {}), worker-seconds {ws:.3} (target <= 0.5: {}), peak RSS {r:.3} (target <= 1: {})",
        if w <= 1.05 { "met" } else { "missed" },
        if ws <= 0.5 { "met" } else { "missed" },
        if r <= 1.0 { "met" } else { "missed" },
    );
    println!(
        "wall ratio range {:.3}..{:.3}",
        percentile(&wall_ratio, 0.0),
        percentile(&wall_ratio, 1.0)
    );
    println!(
        "peak RSS ratio range {:.3}..{:.3}",
        percentile(&rss_ratio, 0.0),
        percentile(&rss_ratio, 1.0)
    );
    let show = |what: &str, v: &[f64]| {
        println!(
            "{what}, {} samples: median {:.3} ms, p90 {:.3} ms, max {:.3} ms",
            v.len(),
            median(v),
            percentile(v, 0.9),
            percentile(v, 1.0)
        );
    };
    show(
        "spawn-on-demand latency, elastic (worker_spawned grow -> its first started)",
        &spawn,
    );
    for (v, w) in variants.iter().zip(&wake) {
        show(
            &format!("hand-over to an idle worker, {} (burst -> first started)", v.name),
            w,
        );
    }
}
