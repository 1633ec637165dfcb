//! The one list of examples the tools run: for each, its short run (thread-limit sweeps and
//! smoke runs), the rows it gives `compare`, and the programs its tests need besides cargo (for
//! verify's preflight). Adding an example is its crate, its `tests/`, and one entry here; a test
//! below fails while a folder of `crates/` has no entry or no `tests/`.
//!
//! What stress does with each example is read from its `--help` (the flags it has), plus the
//! domain examples' own plans in `xtask/src/stress/plan.rs`.

/// One example of `crates/`.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Its folder and package name.
    pub name: &'static str,
    /// A short, complete run with few threads (thread-limit sweeps it as `nobody`).
    pub quick_args: &'static [&'static str],
    /// Its rows in `compare`'s tables (empty: it runs no simulated jobs, so has none).
    pub compare: &'static [CompareRow],
    /// Programs its tests start besides its own binary, by Debian package: `(program, package)`.
    pub needs: &'static [(&'static str, &'static str)],
}

/// One row of `compare`: the example run with these extra arguments (`{workers}` is replaced).
#[derive(Debug, Clone, Copy)]
pub struct CompareRow {
    /// The row's name in tables (`basic`, `struct-pool --batch 256`).
    pub row: &'static str,
    pub args: &'static [&'static str],
    /// Only on the dispatch workload (a variant that measures pure hand-off cost).
    pub dispatch_only: bool,
    /// Its workers are tasks, not OS threads (not capped at common's 4,096 workers).
    pub tasks: bool,
}

const fn row(row: &'static str, args: &'static [&'static str]) -> CompareRow {
    CompareRow {
        row,
        args,
        dispatch_only: false,
        tasks: false,
    }
}

const fn task_row(row: &'static str, args: &'static [&'static str]) -> CompareRow {
    CompareRow {
        row,
        args,
        dispatch_only: false,
        tasks: true,
    }
}

/// A few short jobs on two workers: the teaching examples' short run.
const SIMULATED_QUICK: &[&str] = &["--jobs", "6", "--work-ms", "1", "--workers", "2"];

/// Every example, in reading order.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "basic",
        quick_args: SIMULATED_QUICK,
        compare: &[row("basic", &[])],
        needs: &[],
    },
    Example {
        name: "struct-pool",
        quick_args: SIMULATED_QUICK,
        compare: &[
            row("struct-pool", &[]),
            CompareRow {
                dispatch_only: true,
                ..row("struct-pool --batch 256", &["--batch", "256"])
            },
        ],
        needs: &[],
    },
    Example {
        name: "waitgroup",
        quick_args: SIMULATED_QUICK,
        compare: &[row("waitgroup", &[])],
        needs: &[],
    },
    Example {
        name: "context-cancel",
        quick_args: SIMULATED_QUICK,
        // No deadline: the largest its parser takes (a day).
        compare: &[row("context-cancel", &["--deadline-ms", "86400000"])],
        needs: &[],
    },
    Example {
        name: "rate-limit",
        quick_args: SIMULATED_QUICK,
        // The semaphore's cap equals the workers, and no rate limit.
        compare: &[row("rate-limit", &["--concurrency", "{workers}"])],
        needs: &[],
    },
    Example {
        name: "keyed-pool",
        quick_args: SIMULATED_QUICK,
        // Uniform keys, many more than workers: what per-key order costs against an unkeyed pool.
        compare: &[
            row("keyed-pool dynamic", &["--strategy", "dynamic", "--keys", "1000"]),
            row("keyed-pool shards", &["--strategy", "shards", "--keys", "1000"]),
        ],
        needs: &[],
    },
    Example {
        name: "elastic-pool",
        // All at once (no idle gaps to wait through), on up to two workers.
        quick_args: &[
            "--jobs",
            "6",
            "--work-ms",
            "1",
            "--max",
            "2",
            "--arrivals",
            "steady",
        ],
        // compare's workloads arrive all at once (steady): from --min 1 it grows to --workers on
        // the first jobs and stays there; its queue as deep as the others' channels. Its bursty
        // case is `cargo bench -p elastic-pool --bench bursty` (docs/elastic-pool.md).
        compare: &[row(
            "elastic-pool",
            &["--arrivals", "steady", "--min", "1", "--queue", "1024"],
        )],
        needs: &[],
    },
    Example {
        name: "prime-pipeline",
        quick_args: &[],
        compare: &[],
        needs: &[],
    },
    Example {
        name: "http-fetch",
        quick_args: &[
            "--jobs",
            "6",
            "--work-ms",
            "1",
            "--workers",
            "2",
            "--mix",
            "delay",
        ],
        compare: &[],
        needs: &[],
    },
    Example {
        name: "db-batch",
        quick_args: &["--rows", "200", "--batch-size", "50", "--workers", "2"],
        compare: &[],
        needs: &[("initdb", "postgresql")],
    },
    Example {
        name: "pg-queue",
        quick_args: &["--jobs", "6", "--workers", "2"],
        compare: &[],
        needs: &[("initdb", "postgresql")],
    },
    Example {
        name: "image-resize",
        quick_args: &["--generate", "3", "--workers", "2"],
        compare: &[],
        needs: &[],
    },
    Example {
        name: "queue-consumer",
        quick_args: &["--messages", "6", "--workers", "2"],
        compare: &[],
        needs: &[("redis-server", "redis-server"), ("redis-cli", "redis-tools")],
    },
    Example {
        name: "async-pool",
        quick_args: SIMULATED_QUICK,
        // `--concurrency` sets the tasks in flight; it overrides common's `--workers`.
        compare: &[
            task_row(
                "async-pool workers",
                &["--style", "workers", "--concurrency", "{workers}"],
            ),
            task_row(
                "async-pool buffer-unordered",
                &["--style", "buffer-unordered", "--concurrency", "{workers}"],
            ),
            task_row(
                "async-pool joinset",
                &["--style", "joinset", "--concurrency", "{workers}"],
            ),
        ],
        needs: &[],
    },
    Example {
        name: "errgroup",
        // The default task: 6 paginated fetches from the loopback server, job 4 answers 500
        // (exit 1 by design).
        quick_args: &["--jobs", "6", "--work-ms", "20", "--limit", "2"],
        // `--limit` is the bound. No `--style scope` row: it starts a thread per job, so the
        // million dispatch jobs would measure thread creation, not the group.
        compare: &[
            row(
                "errgroup tokio",
                &["--task", "simulated", "--style", "tokio", "--limit", "{workers}"],
            ),
            row(
                "errgroup rayon",
                &["--task", "simulated", "--style", "rayon", "--limit", "{workers}"],
            ),
        ],
        needs: &[],
    },
];

/// Arguments stress always passes to an example before its random ones, where its default task
/// is not the shared simulated jobs (their outputs are what stress checks).
const STRESS_ARGS: &[(&str, &[&str])] = &[("errgroup", &["--task", "simulated"])];

/// The fixed arguments of the example's stress runs (see [`STRESS_ARGS`]).
pub fn stress_args(name: &str) -> &'static [&'static str] {
    STRESS_ARGS
        .iter()
        .find(|(example, _)| *example == name)
        .map_or(&[], |(_, args)| args)
}

/// Examples the thread-limit sweep leaves out, with the reason it says.
const NO_THREAD_LIMIT_SWEEP: &[(&str, &str)] = &[(
    "pg-queue",
    "its private PostgreSQL cluster runs as the same user, so the limit on processes refuses the \
     cluster's server processes before the example's own threads",
)];

/// Why the thread-limit sweep leaves the example out, if it does.
pub fn no_thread_limit_sweep(name: &str) -> Option<&'static str> {
    NO_THREAD_LIMIT_SWEEP
        .iter()
        .find(|(example, _)| *example == name)
        .map(|(_, why)| *why)
}

/// The entry of the example named `name`.
pub fn example(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_example_folder_has_an_entry_and_tests_and_every_entry_a_folder() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
        let mut folders: Vec<String> = std::fs::read_dir(&crates)
            .expect("crates/ lists")
            .flatten()
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        for name in &folders {
            assert!(
                example(name).is_some(),
                "crates/{name} has no entry in harness/src/registry.rs"
            );
            assert!(
                crates.join(name).join("tests").is_dir(),
                "crates/{name} has no tests/ folder: its scenarios are its integration tests"
            );
        }
        for e in EXAMPLES {
            assert!(
                folders.iter().any(|f| f == e.name),
                "registry entry {} has no folder crates/{}",
                e.name,
                e.name
            );
        }
    }

    #[test]
    fn names_and_rows_are_unique() {
        let mut names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        let mut rows: Vec<&str> = EXAMPLES.iter().flat_map(|e| e.compare).map(|r| r.row).collect();
        let (n, r) = (names.len(), rows.len());
        names.sort_unstable();
        names.dedup();
        rows.sort_unstable();
        rows.dedup();
        assert_eq!((names.len(), rows.len()), (n, r));
    }
}
