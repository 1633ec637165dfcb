//! What one stress run does: the example's flags, drawn from the run's own seeded generator within
//! ranges chosen per example, and the fault it meets (nothing, a signal at a random moment, or
//! `kill -9`).
//!
//! A flag is passed only if the example's `--help` lists it (read from the built binary at
//! startup), so the plans follow the examples as their flags change; the value ranges are ours.

use std::collections::BTreeSet;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{RngExt as _, SeedableRng as _};

use crate::check::OutputRule;
use harness::{Interrupt, Signal};

/// The fault a run meets.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    None,
    /// SIGINT, SIGTERM or two SIGINTs, by time or after N `started` events.
    Signal(Interrupt),
    /// SIGKILL after this many milliseconds (db-batch, image-resize): no handler can run.
    Kill9 {
        after_ms: u64,
    },
}

/// The example-specific checks a run gets on top of I1–I6.
#[derive(Debug, Clone)]
pub enum Extra {
    None,
    /// The database file and the batch size; `whole_batches` when no row can be rejected.
    DbBatch {
        db: String,
        rows: u64,
        batch_size: u64,
        bad_rows: u64,
    },
    /// The output folder and the box.
    ImageResize {
        output: String,
        size: (u32, u32),
        exact: bool,
        /// `--enlarge`: every output touches a side of the box.
        enlarge: bool,
    },
}

/// One run, fully decided before it starts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub example: String,
    /// The flags (without `--json`, which the runner adds).
    pub args: Vec<String>,
    pub fault: Fault,
    pub outputs: Option<OutputRule>,
    /// `--quiet`: only the summary is printed.
    pub quiet: bool,
    pub extra: Extra,
    pub timeout_s: u64,
    /// `--mistake NAME`: the run reproduces that mistake on purpose, and must report it as that
    /// mistake (its summary names it; exit 3 after the watchdog, 1 for a broken invariant), never
    /// as a crash.
    pub mistake: Option<String>,
}

/// How often a run of an example that has `--mistake` makes one of its mistakes.
const MISTAKE_RUNS: f64 = 0.08;

/// The flags an example's `--help` lists (`--jobs`, `--panic-every`, …).
pub type Flags = BTreeSet<String>;

/// Reads the flags from `--help` text.
pub fn parse_help(help: &str) -> Flags {
    let mut flags = Flags::new();
    for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
        let Some(name) = word.strip_prefix("--") else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.len() > 1 && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

/// The names `--help` lists under `--mistake`'s possible values (clap's long help: a `- name:`
/// line per value, up to the next flag).
pub fn parse_mistakes(help: &str) -> Vec<String> {
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--mistake"));
    let mut names = Vec::new();
    let _ = lines.next();
    for line in lines {
        let line = line.trim_start();
        if line.starts_with("--") || line.starts_with("-h,") {
            break;
        }
        if let Some((name, _)) = line.strip_prefix("- ").and_then(|l| l.split_once(':'))
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// SplitMix64: spreads (seed, run, stream) over the seed space, so run K's draws do not depend on
/// the runs before it (`--skip K --runs 1` repeats run K exactly).
pub fn mix(seed: u64, run: u64, stream: u64) -> u64 {
    let mut z = seed
        .wrapping_add(run.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which of `examples` run `run` of `seed` exercises.
pub fn pick_example(seed: u64, run: u64, examples: &[String]) -> usize {
    let n = examples.len().max(1) as u64;
    usize::try_from(mix(seed, run, 1) % n).unwrap_or(0)
}

/// Builds the argument list, keeping only flags the example has.
struct Args<'a> {
    flags: &'a Flags,
    args: Vec<String>,
}

impl Args<'_> {
    fn set(&mut self, flag: &str, value: impl ToString) {
        if self.flags.contains(flag) {
            self.args.push(flag.to_owned());
            self.args.push(value.to_string());
        }
    }

    fn switch(&mut self, flag: &str, on: bool) {
        if on && self.flags.contains(flag) {
            self.args.push(flag.to_owned());
        }
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }
}

/// What the simulated-job flags came out as (the example-specific part uses them).
struct Pool {
    jobs: u64,
    workers: u64,
    workload: &'static str,
}

/// The plan of run `run` of `seed` for `example`; `dir` is the run's fresh scratch folder.
pub fn plan(seed: u64, run: u64, example: &str, flags: &Flags, mistakes: &[String], dir: &Path) -> Plan {
    let mut rng = StdRng::seed_from_u64(mix(seed, run, 2));
    // From a stream of its own, so that the other draws (and the plans of examples without
    // mistakes) stay what they were.
    let mistake = {
        let mut rng = StdRng::seed_from_u64(mix(seed, run, 3));
        if !mistakes.is_empty() && rng.random_bool(MISTAKE_RUNS) {
            mistakes.choose(&mut rng).cloned()
        } else {
            None
        }
    };
    let mut a = Args {
        flags,
        args: Vec::new(),
    };
    let dir_s = dir.display().to_string();
    let mut extra = Extra::None;
    let mut outputs = None;
    let mut timeout_s = 60;
    let mut kill9_ok = false;
    let mut pool = Pool {
        jobs: 0,
        workers: 1,
        workload: "sleep",
    };

    match example {
        "db-batch" => {
            let rows: u64 = *[0, 1, 10, 999, 1000, 5_000, 20_000]
                .choose(&mut rng)
                .unwrap_or(&1000);
            let rows = if rng.random_bool(0.5) {
                rng.random_range(0..=20_000)
            } else {
                rows
            };
            let batch_size = match rng.random_range(0..4) {
                0 => 1 + rows / 1500, // many small batches, at most ~1,500 of them
                1 => rng.random_range(1..=rows.max(1)).max(1 + rows / 1500),
                2 => rows.max(1) + rng.random_range(0..10), // one batch (or more than all rows)
                _ => rng.random_range(10..=2_000).max(1 + rows / 1500),
            };
            let bad_rows = if rows > 0 && rng.random_bool(0.25) {
                rng.random_range(1..=rows.min(5))
            } else {
                0
            };
            let db = format!("{dir_s}/t.sqlite");
            a.set("--db", &db);
            a.set("--rows", rows);
            a.set("--batch-size", batch_size);
            a.set("--bad-rows", bad_rows);
            let workers = rng.random_range(1..=16u64);
            a.set("--workers", workers);
            if rng.random_bool(0.3) {
                a.set("--work-ms", rng.random_range(0..=10u64));
            }
            buffer(&mut a, &mut rng, rows / batch_size + 1);
            a.switch("--fresh", rng.random_bool(0.2));
            if rng.random_bool(0.1) {
                a.set("--mode", "single-tx");
            }
            extra = Extra::DbBatch {
                db,
                rows,
                batch_size,
                bad_rows,
            };
            kill9_ok = bad_rows == 0;
        }
        "image-resize" => {
            // Samples are generated once per (count, seed) and cached: keep the set small.
            let count = *[1u64, 2, 3, 6, 12].choose(&mut rng).unwrap_or(&3);
            a.set("--generate", count);
            a.set("--seed", rng.random_range(1..=3u64));
            let output = format!("{dir_s}/out");
            a.set("--output", &output);
            let size = if rng.random_bool(0.3) {
                (rng.random_range(1..=16u32), rng.random_range(1..=16u32))
            } else {
                (rng.random_range(16..=1000u32), rng.random_range(16..=1000u32))
            };
            a.set("--size", format!("{}x{}", size.0, size.1));
            let exact = rng.random_bool(0.2);
            a.switch("--exact", exact);
            let enlarge = rng.random_bool(0.5);
            a.switch("--enlarge", enlarge);
            let workers = rng.random_range(1..=8u64);
            a.set("--workers", workers);
            buffer(&mut a, &mut rng, count);
            extra = Extra::ImageResize {
                output,
                size,
                exact,
                enlarge,
            };
            timeout_s = 120;
            kill9_ok = true;
        }
        "http-fetch" => {
            let jobs = rng.random_range(0..=200u64);
            a.set("--jobs", jobs);
            let workers = workers(&mut rng);
            a.set("--workers", workers);
            a.set("--work-ms", rng.random_range(0..=50u64));
            buffer(&mut a, &mut rng, jobs);
            if rng.random_bool(0.5) {
                a.set("--timeout-ms", rng.random_range(100..=2_000u64));
            }
            a.set("--retries", rng.random_range(0..=2u64));
            if rng.random_bool(0.3) {
                a.set("--max-bytes", rng.random_range(1..=100_000u64));
            }
            a.set("--mix", if rng.random_bool(0.7) { "mixed" } else { "delay" });
            timeout_s = 120;
        }
        "queue-consumer" => {
            // A private redis-server per run (no REDIS_URL): produce, then the pool consumes.
            let messages = rng.random_range(0..=2_000u64);
            a.set("--messages", messages);
            let workers = workers(&mut rng);
            a.set("--workers", workers);
            a.set("--work-ms", rng.random_range(0..=20u64));
            if rng.random_bool(0.5) {
                a.set("--count", rng.random_range(1..=64u64));
            }
            if rng.random_bool(0.5) {
                a.set("--ack-batch", rng.random_range(1..=64u64));
            }
            if rng.random_bool(0.3) {
                a.set("--grace-ms", rng.random_range(0..=200u64));
            }
            timeout_s = 120;
            outputs = Some(OutputRule::Double);
        }
        "prime-pipeline" => {
            let take = rng.random_range(0..=60u64);
            let finders = rng.random_range(1..=8u64);
            let check = if rng.random_bool(0.5) { "naive" } else { "sqrt" };
            // The naive check is O(n): keep n small enough for a debug-friendly run.
            let max = if check == "naive" {
                rng.random_range(100..=200_000u64)
            } else {
                rng.random_range(100..=5_000_000u64)
            };
            a.set("--take", take);
            a.set("--finders", finders);
            a.set("--max", max);
            a.set("--check", check);
            a.set("--seed", rng.random_range(0..=u64::from(u32::MAX)));
            if rng.random_bool(0.5) {
                a.set("--buffer", *[0u64, 1, 1000].choose(&mut rng).unwrap_or(&0));
            }
            outputs = Some(OutputRule::IsPrime);
        }
        _ => {
            a.args.extend(
                harness::registry::stress_args(example)
                    .iter()
                    .map(|s| (*s).to_owned()),
            );
            pool = simulated(&mut a, &mut rng, example, mistake.as_deref());
            // Only an example that takes --workload runs the cpu work.
            outputs = Some(if pool.workload == "cpu" && a.has("--workload") {
                OutputRule::IsPrime
            } else {
                OutputRule::Double
            });
        }
    }
    let quiet = rng.random_bool(0.08);
    a.switch("--quiet", quiet);

    let fault = fault(&mut rng, kill9_ok, pool.jobs, pool.workers);
    if let Some(name) = &mistake {
        a.set("--mistake", name);
    }
    Plan {
        example: example.to_owned(),
        args: a.args,
        fault,
        outputs,
        quiet,
        extra,
        timeout_s,
        mistake,
    }
}

/// 1…64 workers, half the time 1…8.
fn workers(rng: &mut StdRng) -> u64 {
    if rng.random_bool(0.5) {
        rng.random_range(1..=8)
    } else {
        rng.random_range(1..=64)
    }
}

/// `--buffer`: the default, 0 (rendezvous), 1, or large.
fn buffer(a: &mut Args<'_>, rng: &mut StdRng, jobs: u64) {
    match rng.random_range(0..4) {
        0 => {}
        1 => a.set("--buffer", 0),
        2 => a.set("--buffer", 1),
        _ => a.set(
            "--buffer",
            rng.random_range(jobs.max(2)..=jobs.max(2) * 2 + 10_000),
        ),
    }
}

/// The simulated-job examples (`common::PoolArgs`) and their own flags.
fn simulated(a: &mut Args<'_>, rng: &mut StdRng, example: &str, mistake: Option<&str>) -> Pool {
    let workload = *["sleep", "sleep", "sleep", "dispatch", "dispatch", "cpu"]
        .choose(rng)
        .unwrap_or(&"sleep");
    // async-pool's block-runtime needs jobs that wait before they work.
    let workload = if mistake == Some("block-runtime") {
        "sleep"
    } else {
        workload
    };
    let jobs: u64 = match rng.random_range(0..20) {
        0 => 0,
        1..=7 => rng.random_range(1..=20),
        8..=15 => rng.random_range(20..=500),
        _ => rng.random_range(500..=5_000),
    };
    // The naive prime check costs milliseconds per job: keep cpu runs to a few hundred jobs.
    let jobs = if workload == "cpu" { jobs.min(150) } else { jobs };
    let workers = workers(rng);
    a.set("--jobs", jobs);
    a.set("--workers", workers);
    a.set("--workload", workload);
    a.set("--seed", rng.random_range(0..=u64::from(u32::MAX)));
    buffer(a, rng, jobs);
    if rng.random_bool(0.3) {
        a.set("--fail-every", rng.random_range(1..=10u64));
    }
    let mut in_flight = workers;
    match example {
        "basic" => a.switch("--group-by-worker", rng.random_bool(0.2)),
        "struct-pool" => {
            a.switch("--ordered", rng.random_bool(0.3));
            // --try-submit and --batch exclude each other.
            let try_submit = rng.random_bool(0.3);
            a.switch("--try-submit", try_submit);
            if !try_submit && rng.random_bool(0.4) {
                a.set("--batch", rng.random_range(1..=50u64));
            }
            if rng.random_bool(0.35) {
                a.set("--panic-every", rng.random_range(1..=10u64));
            }
        }
        "waitgroup" => {
            // The mistake is a Go-style WaitGroup's: it needs that style.
            let style = if rng.random_bool(0.5) || mistake == Some("wait-too-early") {
                "waitgroup"
            } else {
                "scope"
            };
            a.set("--style", style);
        }
        "context-cancel" => {
            let deadline = if rng.random_bool(0.2) {
                rng.random_range(0..=50u64)
            } else {
                rng.random_range(50..=3_000u64)
            };
            a.set("--deadline-ms", deadline);
            if rng.random_bool(0.5) {
                a.set("--grace-ms", rng.random_range(0..=200u64));
            }
        }
        "rate-limit" => {
            let concurrency = rng.random_range(1..=16u64);
            a.set("--concurrency", concurrency);
            in_flight = in_flight.min(concurrency);
            if a.has("--rate") && rng.random_bool(0.5) {
                let rate = rng.random_range(20..=2_000u64);
                a.set("--rate", rate);
                if rng.random_bool(0.5) {
                    a.set("--burst", rng.random_range(1..=10u64));
                }
                // Keep the run under ~2 s of rate limiting: cap the jobs.
                let cap = rate * 2;
                if jobs > cap
                    && let Some(i) = a.args.iter().position(|x| x == "--jobs")
                {
                    a.args[i + 1] = cap.to_string();
                }
            }
            if rng.random_bool(0.35) {
                a.set("--panic-every", rng.random_range(1..=10u64));
            }
        }
        "elastic-pool" => {
            // A burst waits for the pool to go quiet and then --gap-ms (500 by default): short gaps
            // and at most about a hundred bursts keep a run of thousands of jobs to seconds.
            if rng.random_bool(0.4) {
                a.set("--arrivals", "steady");
            } else {
                a.set("--arrivals", "bursts");
                let least = (jobs / 100).max(1);
                a.set("--burst", rng.random_range(least..=least.max(64)));
                a.set("--gap-ms", rng.random_range(0..=20u64));
            }
            if rng.random_bool(0.5) {
                a.set("--keep-alive-ms", rng.random_range(0..=50u64));
            }
            if rng.random_bool(0.3) {
                a.set("--min", rng.random_range(0..=workers.min(4)));
            }
            let queue = rng.random_bool(0.3).then(|| rng.random_range(0..=64u64));
            a.set(
                "--grow",
                if rng.random_bool(0.5) {
                    "spawn-first"
                } else {
                    "queue-first"
                },
            );
            let on_full = ["block", "abort", "caller-runs", "drop-oldest", "drop-newest"]
                .choose(&mut *rng)
                .copied()
                .unwrap_or("block");
            a.set("--on-full", on_full);
            if let Some(queue) = queue {
                // drop-oldest needs a queue to drop from: --queue 0 with it is a usage error.
                let least = u64::from(on_full == "drop-oldest");
                a.set("--queue", queue.max(least));
            }
            // --resize-at (repeatable): up to three moves of the bounds in the first 300 ms.
            if rng.random_bool(0.3) {
                for _ in 0..rng.random_range(1..=3u64) {
                    let max = rng.random_range(1..=16u64);
                    let min = rng.random_range(0..=max.min(4));
                    a.set(
                        "--resize-at",
                        format!("{}:{min}:{max}", rng.random_range(0..=300u64)),
                    );
                }
            }
        }
        "async-pool" => {
            let style = ["workers", "buffer-unordered", "joinset"]
                .choose(&mut *rng)
                .copied()
                .unwrap_or("workers");
            a.set("--style", style);
            if rng.random_bool(0.3) {
                a.set("--deadline-ms", rng.random_range(0..=2_000u64));
            }
            if rng.random_bool(0.3) {
                a.set("--panic-every", rng.random_range(1..=10u64));
            }
        }
        _ => {}
    }
    // --work-ms so that the whole run stays around a second or two.
    let work_ms = if workload == "sleep" {
        let budget = 1_500 * in_flight / jobs.max(1);
        rng.random_range(0..=budget.clamp(0, 200))
    } else {
        0
    };
    a.set("--work-ms", work_ms);
    Pool {
        jobs,
        workers,
        workload,
    }
}

/// Nothing (45%), a signal (50%: a third of them in the first 5 ms), or `kill -9` where allowed.
fn fault(rng: &mut StdRng, kill9_ok: bool, jobs: u64, _workers: u64) -> Fault {
    if kill9_ok && rng.random_bool(0.15) {
        return Fault::Kill9 {
            after_ms: rng.random_range(0..=400),
        };
    }
    if rng.random_bool(0.45) {
        return Fault::None;
    }
    let signal = match rng.random_range(0..20) {
        0..=8 => Signal::Int,
        9..=15 => Signal::Term,
        _ => Signal::IntTwice,
    };
    let when = match rng.random_range(0..10) {
        0..=3 => Interrupt::SignalAfterSpawnMs(signal, rng.random_range(0..=5)),
        4..=6 => Interrupt::SignalAfterSpawnMs(signal, rng.random_range(5..=400)),
        _ if jobs >= 2 => Interrupt::SignalAfterStarted(signal, rng.random_range(1..=jobs.min(50)) as usize),
        _ => Interrupt::SignalAfterStarted(signal, 1),
    };
    Fault::Signal(when)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Flags {
        parse_help(
            "Options:\n      --jobs <JOBS>\n  --workers <W>\n  --work-ms <MS>\n  --buffer <N>\n \
             --seed <S>\n --workload <W>\n --fail-every <N>\n --json\n --quiet\n --panic-every <N>\n \
             --ordered\n -h, --help\n",
        )
    }

    #[test]
    fn help_text_gives_the_flags() {
        let f = flags();
        for flag in ["--jobs", "--panic-every", "--ordered", "--quiet", "--help"] {
            assert!(f.contains(flag), "{flag} missing from {f:?}");
        }
        assert!(!f.contains("--batch"));
    }

    #[test]
    fn the_same_seed_and_run_give_the_same_plan() {
        let dir = Path::new("/tmp/x");
        for run in 0..50 {
            let a = plan(7, run, "struct-pool", &flags(), &[], dir);
            let b = plan(7, run, "struct-pool", &flags(), &[], dir);
            assert_eq!(a.args, b.args);
            assert_eq!(format!("{:?}", a.fault), format!("{:?}", b.fault));
        }
        let differ = (0..20).any(|run| {
            plan(7, run, "struct-pool", &flags(), &[], dir).args
                != plan(8, run, "struct-pool", &flags(), &[], dir).args
        });
        assert!(differ, "another seed gives other runs");
    }

    #[test]
    fn only_listed_flags_are_passed() {
        let dir = Path::new("/tmp/x");
        for run in 0..200 {
            let p = plan(1, run, "struct-pool", &flags(), &[], dir);
            for arg in p.args.iter().filter(|a| a.starts_with("--")) {
                assert!(flags().contains(arg), "{arg} is not in the help");
            }
            let jobs: u64 = p.args[1].parse().expect("a number after --jobs");
            assert!(jobs <= 5_000);
        }
    }

    #[test]
    fn early_signals_are_common() {
        let dir = Path::new("/tmp/x");
        let early = (0..1000)
            .filter(|run| {
                matches!(
                    plan(3, *run, "basic", &flags(), &[], dir).fault,
                    Fault::Signal(Interrupt::SignalAfterSpawnMs(_, ms)) if ms <= 5
                )
            })
            .count();
        assert!(
            early > 100,
            "only {early} of 1000 runs get a signal in the first 5 ms"
        );
    }

    #[test]
    fn a_run_picks_the_same_example_from_the_same_list() {
        let list: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let picks: Vec<usize> = (0..30).map(|r| pick_example(5, r, &list)).collect();
        assert_eq!(
            picks,
            (0..30).map(|r| pick_example(5, r, &list)).collect::<Vec<_>>()
        );
        assert!(picks.iter().collect::<BTreeSet<_>>().len() == 3);
    }

    #[test]
    fn help_text_gives_the_mistakes() {
        let help = "      --mistake <NAME>\n          Reproduce a common mistake on purpose\n\n          \
                    Possible values:\n          - keep-sender:          Go: forgetting close(jobs). Main\n            \
                    wait forever: for more\n          - thread-per-job: one goroutine per job\n\n      \
                    --watchdog-ms <MS>\n          - not-a-mistake: after the next flag\n  -h, --help\n";
        assert_eq!(parse_mistakes(help), ["keep-sender", "thread-per-job"]);
        assert!(parse_mistakes("  --jobs <N>\n  -h, --help\n").is_empty());
    }

    #[test]
    fn some_runs_make_a_mistake_where_the_example_has_them() {
        let dir = Path::new("/tmp/x");
        let mistakes = ["keep-sender".to_owned(), "thread-per-job".to_owned()];
        let mut with_mistake = flags();
        with_mistake.insert("--mistake".to_owned());
        let made: Vec<Plan> = (0..400)
            .map(|run| plan(5, run, "basic", &with_mistake, &mistakes, dir))
            .filter(|p| p.mistake.is_some())
            .collect();
        assert!((10..=60).contains(&made.len()), "{} of 400 runs", made.len());
        for p in &made {
            let name = p.mistake.as_deref().unwrap_or_default();
            assert!(mistakes.iter().any(|m| m == name));
            assert!(p.args.windows(2).any(|w| w[0] == "--mistake" && w[1] == name));
        }
        // Without mistakes in its help, no run of it makes one.
        assert!((0..400).all(|run| plan(5, run, "basic", &flags(), &[], dir).mistake.is_none()));
    }
}
