//! What compare runs: the fixed workloads ([`Spec`]) and the variants ([`Variant`]).

use common::WorkDist;

/// A fixed workload: the same numbers every time, so figures stay comparable across versions.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// compare's name for it (`--workload`).
    pub workload: &'static str,
    /// The children's `--workload` (`waits` is `sleep` with many more jobs in flight).
    pub child: &'static str,
    pub jobs: u64,
    pub work_ms: u64,
    pub buffer: usize,
    /// The children's `--work-dist` (compare's `--work-dist`; `fixed` unless asked).
    pub dist: WorkDist,
}

pub const DISPATCH: Spec = Spec {
    workload: "dispatch",
    child: "dispatch",
    jobs: 1_000_000,
    work_ms: 0,
    buffer: 1024,
    dist: WorkDist::Fixed,
};
pub const CPU: Spec = Spec {
    workload: "cpu",
    child: "cpu",
    jobs: 2_000,
    work_ms: 0,
    buffer: 1024,
    dist: WorkDist::Fixed,
};
pub const SLEEP: Spec = Spec {
    workload: "sleep",
    child: "sleep",
    jobs: 1_000,
    work_ms: 5,
    buffer: 1024,
    dist: WorkDist::Fixed,
};
/// Your own job (`common/src/custom.rs`), as many times as `cpu` runs its check.
pub const CUSTOM: Spec = Spec {
    workload: "custom",
    child: "custom",
    jobs: 2_000,
    work_ms: 0,
    buffer: 1024,
    dist: WorkDist::Fixed,
};
/// Many concurrent waits: threads against tasks, at each of [`WAITS_CONCURRENCY`].
pub const WAITS: Spec = Spec {
    workload: "waits",
    child: "sleep",
    jobs: 20_000,
    work_ms: 100,
    buffer: 1024,
    dist: WorkDist::Fixed,
};
/// The concurrency levels (`--workers`) of the `waits` workload.
pub const WAITS_CONCURRENCY: [usize; 3] = [100, 1_000, 10_000];

/// The seed every child gets, so every variant runs the same job list.
pub const SEED: u64 = 42;

/// The most OS threads a variant that runs a thread per worker may start (common's `--workers`
/// cap).
pub const MAX_THREADS: usize = common::cli::MAX_WORKERS;

/// The package whose `baselines` binary runs the baseline strategies: this one.
pub const BASELINES_PACKAGE: &str = "bench";

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
    /// Runs one OS thread per worker (every pool but async-pool's tasks).
    pub thread_per_worker: bool,
    /// The most `--workers` the program accepts: common's cap for the Rust examples; the Go
    /// programs' workers are goroutines, which take up to 1,000,000.
    pub max_workers: usize,
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
        thread_per_worker: true,
        max_workers: MAX_THREADS,
    }
}

/// bench's `bare-pool` binary: a plain pool with no per-job bookkeeping (no in-flight gauge, no
/// events), the Rust twin of `go:seed-003`.
fn bare_pool() -> Variant {
    Variant {
        binary: "bare-pool".to_owned(),
        package: BASELINES_PACKAGE.to_owned(),
        ..variant("bare-pool", BASELINES_PACKAGE, &[])
    }
}

fn baseline(strategy: &str) -> Variant {
    Variant {
        name: strategy.to_owned(),
        binary: "baselines".to_owned(),
        package: BASELINES_PACKAGE.to_owned(),
        args: vec!["--strategy".to_owned(), strategy.to_owned()],
        dispatch_only: false,
        has_queue: false,
        baseline: true,
        thread_per_worker: true,
        max_workers: MAX_THREADS,
    }
}

/// Every variant compare knows, in table order: each example's rows as `harness::registry`
/// lists them, then the Go reference programs, then the baselines.
pub fn all_variants() -> Vec<Variant> {
    let mut list: Vec<Variant> = harness::registry::EXAMPLES
        .iter()
        .flat_map(|example| example.compare.iter().map(move |row| (example.name, row)))
        .map(|(package, row)| Variant {
            dispatch_only: row.dispatch_only,
            // Tasks, not OS threads: not capped at common's workers (async-pool's
            // `--concurrency` takes up to 1,000,000).
            thread_per_worker: !row.tasks,
            ..variant(row.row, package, row.args)
        })
        .collect();
    list.extend([
        // The Go reference programs (reference/go), where `go` is installed: goroutines, not OS
        // threads, so they are not capped at common's 4,096 workers.
        super::go::variant("basic", "basic", &[], false),
        super::go::variant("struct-pool", "structpool", &[], false),
        super::go::variant("waitgroup", "waitgroup", &[], false),
        super::go::variant(
            "context-cancel",
            "contextcancel",
            &["--deadline-ms", "86400000"],
            false,
        ),
        super::go::variant("semaphore", "semaphore", &["--concurrency", "{workers}"], false),
        // A group has no queue (a job waits for a slot in `Go`): not in the queue sweep.
        Variant {
            has_queue: false,
            ..super::go::variant("errgroup", "errgroup", &["--limit", "{workers}"], false)
        },
        // A goroutine per job under a semaphore of {workers} slots: async-pool joinset's Go form.
        super::go::variant("goroutines", "goroutines", &[], false),
        // The bare pools: Go original 003's shape with no per-job bookkeeping, in Go and in Rust,
        // beside the examples and references that keep it (basic, go:basic).
        super::go::variant("seed-003", "seed003", &[], false),
        bare_pool(),
        baseline("thread-per-job"),
        baseline("rayon"),
        baseline("serial"),
    ]);
    list
}

/// Why `v` is not run on `spec` at `workers`, if it is not.
pub fn skip_reason(v: &Variant, spec: &Spec, workers: usize) -> Option<String> {
    if v.name == "thread-per-job" && spec.jobs > MAX_THREADS as u64 {
        return Some(format!(
            "{} jobs would be {} threads at once, above the cap of {MAX_THREADS}",
            spec.jobs, spec.jobs
        ));
    }
    if v.name == "serial" && spec.workload == "waits" {
        return Some(format!(
            "one wait at a time: {} × {} ms = {} s",
            spec.jobs,
            spec.work_ms,
            spec.jobs * spec.work_ms / 1000
        ));
    }
    if v.package == super::go::PACKAGE && spec.child == "custom" {
        return Some("the Go references do not have your custom job (common/src/custom.rs)".to_owned());
    }
    if v.package == super::go::PACKAGE && spec.dist != WorkDist::Fixed {
        return Some("the Go references have fixed work per job only (no --work-dist)".to_owned());
    }
    if v.thread_per_worker && workers > MAX_THREADS {
        return Some(format!(
            "{workers} workers would be {workers} OS threads: common caps --workers at {MAX_THREADS}"
        ));
    }
    None
}

/// Whether `v` belongs in a table of `spec` at all.
pub fn runs_on(v: &Variant, spec: &Spec) -> bool {
    !v.dispatch_only || spec.workload == "dispatch"
}
